// The JS <-> wasm boundary (bindings/src/cbor.js): the exact JS types of results, including
// opaque values (task specs, resources, publisher params) that follow ciborium::Value's integer
// narrowing, and calls into the store from user code that runs in the middle of a conversion.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ComputeStore, JobStore } from './load.mjs';
import { exec, job, manual } from './fixtures.mjs';

test('opaque integers are numbers within 32 bits and bigints beyond; floats, bytes and nesting survive', () => {
  const s = new JobStore(manual);
  const params = {
    small: 7, neg: -129, u32: 4294967295, i32: -2147483648, over: 4294967296, under: -2147483649,
    huge: 2n ** 64n - 1n, low: -(2n ** 64n), half: 0.5, big: 1e300, bytes: new Uint8Array([1, 2, 3]),
    nested: [1, [2, { State: 3, New: 4 }]], nil: null, yes: true,
  };
  const j = s.createJob({ ...job(), Tasks: [{ Name: 'main', Engine: { Type: 'docker', Params: params }, State: 5 }] });
  const p = j.Tasks[0].Engine.Params;
  assert.deepEqual(
    [p.small, p.neg, p.u32, p.i32, p.over, p.under, p.huge, p.low, p.half, p.big],
    [7, -129, 4294967295, -2147483648, 4294967296n, -2147483649n, 2n ** 64n - 1n, -(2n ** 64n), 0.5, 1e300],
  );
  assert.ok(p.bytes instanceof Uint8Array);
  assert.deepEqual([...p.bytes], [1, 2, 3]);
  assert.deepEqual(p.nested, [1, [2, { New: 4, State: 3 }]]);
  assert.equal(p.nil, null);
  assert.equal(p.yes, true);
  assert.equal(j.Tasks[0].State, 5); // an opaque key named like a record field stays opaque
  assert.deepEqual(Object.keys(p), Object.keys(params).sort());
});

test('execution states are numbers and 64-bit fields bigints, in records, events, history and stats', () => {
  const s = new JobStore(manual);
  s.createJob(job());
  const e = s.createExecution({ ID: 'e-1', JobID: 'j-1', NodeID: 'n', ComputeState: { StateType: 'New' }, AllocatedResources: { Tasks: { main: { Memory: 536870912, State: 1 } } } });
  assert.equal(e.ComputeState.StateType, 1);
  assert.equal(e.DesiredState.StateType, 0);
  assert.equal(e.Revision, 1n);
  assert.equal(e.AllocatedResources.Tasks.main.Memory, 536870912);
  assert.equal(e.AllocatedResources.Tasks.main.State, 1);
  s.updateExecution({ executionId: 'e-1', patch: { computeState: 'AskForBid' } });
  const h = s.getJobHistory('j-1').items.findLast((x) => x.ExecutionState);
  assert.deepEqual(h.ExecutionState, { Previous: 1, New: 2 });
  assert.equal(typeof h.NewRevision, 'bigint');
  const ev = s.eventsAfter(0n).at(-1);
  assert.equal(ev.object.ComputeState.StateType, 2);
  // Stats are keyed by state names: "New" there is a count, a bigint.
  assert.equal(s.stats().executions.New, undefined);
  assert.equal(s.stats().executions.AskForBid, 1n);
  const c = new ComputeStore(manual);
  c.createExecution(exec());
  const r = c.updateExecutionState({ executionId: 'e-1', newState: 'BidAccepted' });
  assert.equal(r.State, 2);
  assert.equal(r.Version, 2n);
  const [hist] = c.getExecutionHistory('e-1').items.slice(-1);
  assert.deepEqual([hist.PreviousState, hist.NewState, hist.NewVersion], [1, 2, 2n]);
});

test('a getter that calls the store while its argument is converted', () => {
  const s = new ComputeStore(manual);
  s.createExecution(exec('e-0'));
  const rec = exec('e-1');
  Object.defineProperty(rec, 'LatestComment', { enumerable: true, get: () => s.getExecution('e-0').Execution.ID });
  const r = s.createExecution(rec);
  assert.equal(r.LatestComment, 'e-0');
  assert.equal(r.Execution.ID, 'e-1');
});

test('a setter on Object.prototype that calls the store while a result is built', () => {
  const s = new ComputeStore(manual);
  s.createExecution(exec('e-0'));
  s.createExecution(exec('e-1'));
  let seen = null;
  Object.defineProperty(Object.prototype, 'RequesterNodeID', {
    configurable: true,
    set(v) {
      delete Object.prototype.RequesterNodeID;
      seen = s.getExecution('e-0').Execution.ID;
      Object.defineProperty(this, 'RequesterNodeID', { value: v, enumerable: true, writable: true, configurable: true });
    },
  });
  try {
    const r = s.getExecution('e-1');
    assert.equal(seen, 'e-0');
    assert.equal(r.Execution.ID, 'e-1');
    assert.equal(r.Version, 1n);
  } finally {
    delete Object.prototype.RequesterNodeID;
  }
});
