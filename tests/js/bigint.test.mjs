// 64-bit integers come out as bigint and go in as number or bigint; nothing is truncated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ComputeStore, JobStore } from './load.mjs';
import { exec, job } from './fixtures.mjs';

const big = 9_007_199_254_740_993n; // 2^53 + 1: not representable as a number

test('sequence numbers, revisions, counts and nanosecond times are bigint', () => {
  const s = new JobStore({ clock: { start: 1_707_300_000_123_456_789n, step: 1n } });
  const j = s.createJob(job());
  assert.equal(typeof j.Revision, 'bigint');
  assert.equal(j.CreateTime, 1_707_300_000_123_456_789n);
  const [ev] = s.eventsAfter(0n);
  assert.equal(ev.seqNum, 1n);
  assert.equal(typeof ev.timestamp, 'bigint');
  assert.equal(s.getJobCount('Pending'), 1n);
  assert.equal(s.stats().lastEventSeq, 1n);
  assert.equal(s.getCheckpoint('nobody'), null);
  assert.equal(s.getJobs().nextToken, null);
});

test('a value above 2^53 round-trips exactly', () => {
  const s = new ComputeStore({ clock: { start: 0, step: 0 } });
  s.checkpoint('reader', big);
  assert.equal(s.getCheckpoint('reader'), big);
  s.checkpoint('max', 2n ** 64n - 1n);
  assert.equal(s.getCheckpoint('max'), 2n ** 64n - 1n);
  const j = new JobStore().createJob({ ...job(), Priority: -(2n ** 63n) });
  assert.equal(j.Priority, -(2n ** 63n));
});

test('number and bigint are interchangeable for integer inputs', () => {
  const s = new ComputeStore({ clock: { start: 5, step: 0 } });
  s.createExecution({ ...exec('e-1'), Version: 1n });
  s.createExecution({ ...exec('e-2'), Version: 1 });
  assert.equal(s.listExecutions({ limit: 1n }).items.length, 1);
  assert.equal(s.listExecutions({ limit: 1 }).items.length, 1);
  assert.equal(s.eventsAfter(1n, 1n).length, 1);
  assert.equal(s.eventsAfter(1, 1).length, 1);
  s.setTime(big); // 2^53 + 1 ns: the time below keeps every digit
  s.advanceTime(1);
  const r = s.updateExecutionState({ executionId: 'e-1', newState: 'BidAccepted', expectedVersion: 1n });
  assert.equal(r.Version, 2n);
  assert.equal(r.UpdateTime, '1970-04-15T05:59:59.254740994Z');
});

test('manual clock step advances per reading', () => {
  const s = new JobStore({ clock: { start: 1000n, step: 10n } });
  const a = s.createJob(job('a'));
  const b = s.createJob(job('b'));
  assert.ok(b.CreateTime > a.CreateTime);
});

test('the system clock is close to Date.now()', () => {
  const s = new JobStore();
  const j = s.createJob(job());
  const ms = Number(j.CreateTime / 1_000_000n);
  assert.ok(Math.abs(ms - Date.now()) < 60_000);
});
