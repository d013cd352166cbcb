// transaction(fn): one core transaction; a throw rolls everything back and is rethrown; the
// handle dies with the callback; the store itself is Reentrant inside it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ComputeStore, JobStore, thrown } from './load.mjs';
import { exec, job, execution, manual } from './fixtures.mjs';

test('operations in a transaction commit together and see each other', () => {
  const s = new JobStore(manual);
  const out = s.transaction((tx) => {
    tx.createJob(job('j-1'));
    tx.createExecution(execution('e-1', 'j-1'));
    assert.equal(tx.getJob('j-1').ID, 'j-1');
    assert.equal(tx.getExecutions({ jobId: 'j-1' }).length, 1);
    return 'done';
  });
  assert.equal(out, 'done');
  assert.equal(s.stats().jobTotal, 1n);
  assert.equal(s.eventsAfter(0).length, 2);
});

test('a throw rolls back every operation and is rethrown as is', () => {
  const s = new ComputeStore(manual);
  const mine = new Error('mine');
  const e = thrown(() => s.transaction((tx) => {
    tx.createExecution(exec('e-1'));
    tx.createExecution(exec('e-2'));
    throw mine;
  }));
  assert.equal(e, mine);
  assert.equal(s.stats().total, 0n);
  assert.deepEqual(s.eventsAfter(0), []);
  // The store is usable afterwards, the rolled-back IDs free again.
  s.createExecution(exec('e-1'));
  assert.equal(s.stats().total, 1n);
  assert.equal(s.eventsAfter(0).length, 1);
});

test('a failed operation inside leaves nothing while the others commit', () => {
  const s = new ComputeStore(manual);
  s.transaction((tx) => {
    tx.createExecution(exec('e-1'));
    assert.equal(thrown(() => tx.createExecution(exec('e-1'))).code, 'ExecutionAlreadyExists');
    tx.createExecution(exec('e-2'));
  });
  assert.equal(s.stats().total, 2n);
});

test('a store error thrown out of the callback rolls back and keeps its code', () => {
  const s = new JobStore(manual);
  const e = thrown(() => s.transaction((tx) => {
    tx.createJob(job('j-1'));
    tx.getJob('missing');
  }));
  assert.equal(e.code, 'JobNotFound');
  assert.equal(s.stats().jobTotal, 0n);
  s.createJob(job('j-1'));
  assert.equal(s.stats().jobTotal, 1n);
});

test('the handle is unusable after the callback returns or throws', () => {
  const s = new ComputeStore(manual);
  let kept;
  s.transaction((tx) => { kept = tx; });
  assert.equal(thrown(() => kept.getLiveExecutions()).code, 'Closed');
  thrown(() => s.transaction((tx) => { kept = tx; throw new Error('x'); }));
  assert.equal(thrown(() => kept.createExecution(exec())).code, 'Closed');
});

test('using the store inside its own transaction throws Reentrant and rolls back', () => {
  const s = new ComputeStore(manual);
  const e = thrown(() => s.transaction((tx) => {
    tx.createExecution(exec('e-1'));
    s.createExecution(exec('e-2'));
  }));
  assert.equal(e.code, 'Reentrant');
  assert.equal(s.stats().total, 0n);
  assert.equal(thrown(() => s.transaction(() => s.transaction(() => 1))).code, 'Reentrant');
  // Neither refusal leaves the store locked.
  s.createExecution(exec('e-2'));
  assert.equal(s.transaction((tx) => tx.getExecution('e-2').Execution.ID), 'e-2');
});

test('a nested transaction on another store is independent', () => {
  const a = new ComputeStore(manual);
  const b = new ComputeStore(manual);
  thrown(() => a.transaction((ta) => {
    ta.createExecution(exec('e-1'));
    b.transaction((tb) => tb.createExecution(exec('e-1')));
    throw new Error('roll back a only');
  }));
  assert.equal(a.stats().total, 0n);
  assert.equal(b.stats().total, 1n);
});

test('an async callback is refused and nothing commits', () => {
  const s = new ComputeStore(manual);
  const e = thrown(() => s.transaction(async (tx) => { tx.createExecution(exec()); }));
  assert.equal(e.code, 'InvalidArgument');
  assert.equal(s.stats().total, 0n);
  s.transaction((tx) => tx.createExecution(exec()));
  assert.equal(s.stats().total, 1n);
});

test('freeing the store inside its transaction throws instead of freeing memory in use', () => {
  const s = new ComputeStore(manual);
  const e = thrown(() => s.transaction((tx) => {
    tx.createExecution(exec('e-1'));
    s.free();
  }));
  // wasm-bindgen's own refusal to free a value a call is still using: it has no store error
  // code, so its message is what identifies it (anything else would be a different failure).
  assert.ok(e instanceof Error);
  assert.match(e.message, /attempted to take ownership of Rust value while it was borrowed/);
  // The module is intact: other stores keep working, transactions included.
  const t = new ComputeStore(manual);
  t.transaction((tx) => tx.createExecution(exec()));
  assert.equal(t.stats().total, 1n);
});

// wasm-bindgen's generated free() clears the object's handle before the Rust side refuses, so
// the store is left detached: every later call throws "null pointer passed to rust", and its
// memory is never released. Fixing that needs the bindings to keep free() from reaching a store
// in use; until then this records the expected behaviour instead of asserting the broken one.
test('the store keeps working after a refused free inside its transaction', {
  todo: 'the refused free() detaches the store (wasm-bindgen clears the handle first)',
}, () => {
  const s = new ComputeStore(manual);
  thrown(() => s.transaction(() => s.free()));
  s.createExecution(exec('e-1'));
  assert.equal(s.stats().total, 1n);
});
