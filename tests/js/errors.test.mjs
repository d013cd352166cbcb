// Every error code reachable through JS, and malformed arguments: always a real Error with
// `name` and `code`, never a trap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ComputeStore, JobStore, thrown } from './load.mjs';
import { exec, job, execution, evaluation, manual } from './fixtures.mjs';

function expectCode(fn, code, { name, field, contains } = {}) {
  const e = thrown(fn);
  assert.ok(e instanceof Error, `not an Error: ${String(e)}`);
  assert.equal(e.code, code, e.message);
  if (name) assert.equal(e.name, name);
  if (field) assert.equal(e.field, field);
  if (contains) assert.ok(e.message.includes(contains), e.message);
  return e;
}

const compute = () => {
  const s = new ComputeStore(manual);
  s.createExecution(exec('e-1'));
  return s;
};
const jobs = () => {
  const s = new JobStore(manual);
  s.createJob(job('j-1'));
  return s;
};

const cases = {
  ExecutionNotFound: () => compute().getExecution('nope'),
  ExecutionsNotFoundForJob: () => compute().getExecutions('nope'),
  ExecutionAlreadyExists: () => compute().createExecution(exec('e-1')),
  ExecutionHistoryNotFound: () => compute().getExecutionHistory('nope'),
  AmbiguousId: () => { const s = compute(); s.createExecution(exec('e-2')); s.getExecution('e-'); },
  Validation: () => compute().createExecution({ Execution: { ID: '' }, State: 'Created', Version: 1 }),
  InvalidState: () => compute().updateExecutionState({ executionId: 'e-1', newState: 'BidAccepted', expectedStates: ['Running'] }),
  RevisionMismatch: () => compute().updateExecutionState({ executionId: 'e-1', newState: 'BidAccepted', expectedVersion: 7 }),
  AlreadyTerminal: () => { const s = compute(); s.updateExecutionState({ executionId: 'e-1', newState: 'Cancelled' }); s.updateExecutionState({ executionId: 'e-1', newState: 'BidAccepted' }); },
  InvalidTransition: () => compute().updateExecutionState({ executionId: 'e-1', newState: 'Completed' }),
  InvalidToken: () => compute().listExecutions({ limit: 1, nextToken: 'garbage!' }),
  Closed: () => { const s = compute(); s.close(); s.getExecution('e-1'); },
  Reentrant: () => { const s = compute(); s.transaction(() => s.getExecution('e-1')); },
  JobNotFound: () => jobs().getJob('nope'),
  JobAlreadyExists: () => jobs().createJob(job('j-1')),
  EvaluationNotFound: () => jobs().getEvaluation('nope'),
  EvaluationAlreadyExists: () => { const s = jobs(); s.createEvaluation(evaluation()); s.createEvaluation(evaluation()); },
  UnexpectedState: () => jobs().updateJobState({ jobId: 'j-1', newState: 'Running', unexpectedStates: ['Pending'] }),
  SnapshotInvalid: () => new ComputeStore().importSnapshot(new Uint8Array([1, 2, 3])),
  StoreNotEmpty: () => { const s = compute(); s.importSnapshot(compute().exportSnapshot()); },
};

for (const [code, fn] of Object.entries(cases)) {
  test(`error code ${code} reaches JS as an Error with that code`, () => {
    const e = expectCode(fn, code);
    assert.match(e.name, /^(ComputeError|JobStoreError)$/);
    assert.ok(e.message.length > 0);
  });
}

test('job store execution errors carry the JobStoreError name', () => {
  const s = jobs();
  expectCode(() => s.getExecution('nope'), 'ExecutionNotFound', { name: 'JobStoreError' });
  s.createExecution(execution());
  expectCode(() => s.createExecution(execution()), 'ExecutionAlreadyExists', { name: 'JobStoreError' });
});

const bad = [
  ['number where an ID string is expected', (c) => c.getExecution(42), 'id'],
  ['missing ID argument', (c) => c.getExecution(), 'id'],
  ['string where an object is expected', (c) => c.createExecution('e-1'), 'record'],
  ['array where an object is expected', (c) => c.updateExecutionState([]), 'request'],
  ['null record', (c) => c.createExecution(null), 'record'],
  ['unknown state name', (c) => c.getExecutionCount('Bogus'), 'state'],
  ['unknown state name inside a request', (c) => c.updateExecutionState({ executionId: 'e-1', newState: 'Bogus' }), 'request'],
  ['wrong field type inside a record', (c) => c.createExecution({ ...exec('e-9'), Version: 'one' }), 'record'],
  ['NaN as a sequence number', (c) => c.eventsAfter(NaN), 'after'],
  ['2**70 as a number', (c) => c.eventsAfter(2 ** 70), 'after'],
  ['fraction as a sequence number', (c) => c.checkpoint('r', 1.5), 'seq'],
  ['negative sequence number', (c) => c.trimEvents(-1), 'through'],
  ['bigint beyond u64', (c) => c.checkpoint('r', 2n ** 64n), 'seq'],
  ['limit beyond u32 as bigint', (c) => c.listExecutions({ limit: 2n ** 40n }), 'page.limit'],
  ['2**70 as Version', (c) => c.createExecution({ ...exec('e-9'), Version: 2 ** 70 }), 'record'],
  ['string where a page request is expected', (c) => c.listExecutions('all'), 'page'],
  ['non-function transaction callback', (c) => c.transaction({}), 'callback'],
  ['Uint8Array expected', (c) => c.importSnapshot('bytes'), 'bytes'],
  ['setTime on the system clock', () => new ComputeStore().setTime(1), 'clock'],
  ['unknown option', () => new ComputeStore({ strikt: false }), 'options.strikt'],
  ['non-boolean strict', () => new JobStore({ strict: 'yes' }), 'options.strict'],
  ['bad clock', () => new JobStore({ clock: 'manual' }), 'options.clock'],
  ['fractional clock start', () => new JobStore({ clock: { start: 0.5 } }), 'options.clock.start'],
];

for (const [what, fn, field] of bad) {
  test(`bad argument: ${what} -> InvalidArgument naming ${field}`, () => {
    const e = expectCode(() => fn(compute()), 'InvalidArgument', { field });
    assert.ok(e.message.includes(field), e.message);
  });
}

test('integers out of range are named with their exact digits, however long', () => {
  const c = compute();
  const cases = [
    [() => c.checkpoint('r', 2n ** 64n), '18446744073709551616 is out of range for an unsigned 64-bit integer'],
    [() => c.checkpoint('r', -(10n ** 30n)), '-1000000000000000000000000000000 is out of the 64-bit range'],
    [() => c.createExecution({ ...exec('e-9'), Version: 2n ** 70n }), '1180591620717411303424 is out of the 64-bit range'],
    [() => c.createExecution({ ...exec('e-9'), Version: -(2n ** 64n) - 1n }), 'integer -18446744073709551617 is out of the 64-bit range'],
  ];
  for (const [fn, text] of cases) {
    const e = expectCode(fn, 'InvalidArgument');
    assert.ok(e.message.includes(text), e.message);
  }
});

test('the module keeps working after every bad call (no trap)', () => {
  const s = compute();
  for (const [, fn] of bad) thrown(() => fn(s));
  assert.equal(s.getExecution('e-1').Execution.ID, 'e-1');
});

test('job store: bad arguments in queries and requests', () => {
  const s = jobs();
  expectCode(() => s.getJobs({ sortBy: 'size' }), 'InvalidArgument', { field: 'query' });
  expectCode(() => s.getJobs({ selector: 'a in (' }), 'InvalidArgument', { field: 'query' });
  expectCode(() => s.getJobCount('Sleeping'), 'InvalidArgument', { field: 'state' });
  expectCode(() => s.updateExecution({ executionId: 'x', patch: { computeState: 'Nope' } }), 'InvalidArgument', { field: 'request' });
  expectCode(() => s.getJobHistory('j-1', { since: 1.25 }), 'InvalidArgument', { field: 'query' });
});
