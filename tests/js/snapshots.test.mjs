// exportSnapshot / importSnapshot / fromSnapshot: round trips, and typed errors for bad bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ComputeStore, JobStore, thrown } from './load.mjs';
import { exec, job, execution, evaluation, manual } from './fixtures.mjs';

function filledJobs() {
  const s = new JobStore(manual);
  s.createJob(job('j-1'));
  s.createExecution(execution('e-1', 'j-1'));
  s.createEvaluation(evaluation('v-1', 'j-1'));
  s.updateJobState({ jobId: 'j-1', newState: 'Running' });
  s.checkpoint('reader', 3);
  return s;
}

test('a job store round-trips through bytes', () => {
  const a = filledJobs();
  const bytes = a.exportSnapshot();
  assert.ok(bytes instanceof Uint8Array && bytes.length > 16);
  const b = JobStore.fromSnapshot(bytes, manual);
  assert.deepEqual(b.getJob('j-1'), a.getJob('j-1'));
  assert.deepEqual(b.eventsAfter(0), a.eventsAfter(0));
  assert.deepEqual(b.stats(), a.stats());
  assert.equal(b.getCheckpoint('reader'), 3n);
  assert.deepEqual(b.check().problems, []);
  assert.deepEqual(b.exportSnapshot(), bytes);
});

test('a compute store round-trips, also into an existing empty store', () => {
  const a = new ComputeStore(manual);
  a.createExecution(exec('e-1'));
  a.updateExecutionState({ executionId: 'e-1', newState: 'BidAccepted' });
  const b = new ComputeStore(manual);
  b.importSnapshot(a.exportSnapshot());
  assert.deepEqual(b.getExecution('e-1'), a.getExecution('e-1'));
  assert.deepEqual(b.getExecutionHistory('e-1'), a.getExecutionHistory('e-1'));
});

test('truncated, altered and foreign bytes are SnapshotInvalid and import nothing', () => {
  const bytes = filledJobs().exportSnapshot();
  const cases = [
    bytes.slice(0, bytes.length - 1),
    bytes.slice(0, 8),
    new Uint8Array(0),
    (() => { const c = bytes.slice(); c[c.length >> 1] ^= 0x40; return c; })(),
    (() => { const c = bytes.slice(); c[0] ^= 0xff; return c; })(),
  ];
  for (const c of cases) {
    const s = new JobStore(manual);
    const e = thrown(() => s.importSnapshot(c));
    assert.ok(e instanceof Error);
    assert.equal(e.code, 'SnapshotInvalid', e.message);
    assert.equal(s.stats().jobTotal, 0n);
    assert.equal(thrown(() => JobStore.fromSnapshot(c)).code, 'SnapshotInvalid');
  }
  assert.equal(thrown(() => ComputeStore.fromSnapshot(bytes)).code, 'SnapshotInvalid');
});

test('a snapshot can be taken inside a transaction', () => {
  const s = filledJobs();
  const inside = s.transaction((tx) => tx.exportSnapshot());
  assert.deepEqual(inside, s.exportSnapshot());
});
