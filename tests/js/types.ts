// Type-checked by `tsc --noEmit` (just js-test): the package's .d.ts must type records, options
// and results. Every @ts-expect-error below fails the check if the types regress to `any`.
import { ComputeStore, JobStore, type Job, type LocalExecutionState, type Page, type Event, type StoreError } from '../../pkg/bacalhau_state_wasm.js';

const jobs = new JobStore({ strict: true, clock: { start: 0n, step: 1n } });
const j: Job = jobs.createJob({ ID: 'j-1', Name: 'n', Type: 'batch', Count: 1, Tasks: [{ Name: 'main', Engine: { Type: 'docker' } }] });
const rev: bigint = j.Revision;
const page: Page<Job> = jobs.getJobs({ namespace: 'default', limit: 10 });
const token: string | null = page.nextToken;
const events: Event[] = jobs.eventsAfter(0n, 100);
for (const e of events) {
  if (e.objectType === 'Job') {
    const name: string = e.object.Name;
    void name;
  }
}
const compute = new ComputeStore();
const rec: LocalExecutionState | null = compute.getActiveExecution('j-1');
const n: bigint = compute.getExecutionCount('Running');
const bytes: Uint8Array = compute.exportSnapshot();
const copy: ComputeStore = ComputeStore.fromSnapshot(bytes, { strict: false });
compute.transaction((tx) => tx.createExecution({ Execution: { ID: 'e', JobID: 'j' }, State: 'Created', Version: 1 }));

try {
  jobs.getJob('x');
} catch (err) {
  const code: string = (err as StoreError).code;
  void code;
}

// @ts-expect-error: the revision is a bigint, not a string
const wrong: string = j.Revision;
// @ts-expect-error: an ID is a string
jobs.getJob(42);
// @ts-expect-error: unknown state name
compute.getExecutionCount('Sleeping');
// @ts-expect-error: unknown option
new JobStore({ strikt: true });
// @ts-expect-error: records are not any
const nope: number = rec?.Execution;

void [rev, token, n, copy, wrong, nope];
