// The conformance scenarios of tests/conformance/*.json through the JS API, implementing
// tests/conformance/README.md: one test() per scenario; `reopen` (durable) scenarios are skipped
// because the package only has the memory backend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { ComputeStore, JobStore } from './load.mjs';

const dir = new URL('../conformance/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

const hex = (bytes) => Buffer.from(bytes).toString('hex');
const unhex = (s) => new Uint8Array(Buffer.from(s ?? '', 'hex'));
const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const isNum = (v) => typeof v === 'number' || typeof v === 'bigint';

/** Numbers compare numerically across number/bigint; integers exactly. */
function numEq(e, a) {
  if (Number.isInteger(e) || typeof e === 'bigint') {
    try {
      return BigInt(e) === BigInt(a);
    } catch {
      return false;
    }
  }
  return Number(e) === Number(a);
}

function match(e, a, path) {
  if (e === '$any') return a === null || a === undefined ? path : null;
  if (e === '$absent') return a === null || a === undefined ? null : path;
  if (isObj(e)) {
    // A missing result is not an object without the expected keys, even when all of them are
    // expected '$absent' (tests/conformance/README.md, Matching).
    if (!isObj(a)) return path;
    for (const [k, ev] of Object.entries(e)) {
      const bad = match(ev, a[k] ?? null, `${path}.${k}`);
      if (bad) return bad;
    }
    return null;
  }
  if (Array.isArray(e)) {
    if (!Array.isArray(a)) return path;
    if (e.length !== a.length) return `${path} (length ${e.length} != ${a.length})`;
    for (let i = 0; i < e.length; i++) {
      const bad = match(e[i], a[i], `${path}[${i}]`);
      if (bad) return bad;
    }
    return null;
  }
  if (isNum(e) && isNum(a)) return numEq(e, a) ? null : path;
  if (e === null) return a === null || a === undefined ? null : path;
  return e === a ? null : path;
}

function merge(base, set) {
  if (isObj(base) && isObj(set)) {
    for (const [k, v] of Object.entries(set)) base[k] = k in base ? merge(base[k], v) : structuredClone(v);
    return base;
  }
  return structuredClone(set);
}

function lookupPath(v, path) {
  let cur = v;
  for (const p of path.split('.')) {
    if (cur === null || cur === undefined) return null;
    cur = Array.isArray(cur) && /^\d+$/.test(p) ? cur[Number(p)] : cur[p];
  }
  return cur ?? null;
}

// The keys a scenario and each kind of step may have (tests/conformance/README.md, Strictness):
// a misspelt key would otherwise be ignored, and the check it was meant to make skipped.
const SCENARIO_KEYS = ['name', 'spec', 'store', 'policy', 'clock', 'durable', 'defs', 'steps'];
const OP_KEYS = ['op', 'args', 'expect', 'expectAt', 'expectLen', 'error', 'errorContains', 'save', 'repeat'];

function stepKeys(step) {
  if ('setTime' in step) return ['setTime'];
  if ('advanceTime' in step) return ['advanceTime'];
  if ('reopen' in step) return ['reopen'];
  if ('transaction' in step) return ['transaction', 'rollback'];
  return OP_KEYS;
}

function knownKeys(at, value, allowed) {
  assert.ok(isObj(value), `${at}: not an object`);
  for (const k of Object.keys(value)) {
    assert.ok(allowed.includes(k), `${at}: unknown key ${JSON.stringify(k)} (allowed here: ${allowed.join(', ')})`);
  }
}

const show = (v) => JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? `${x}n` : x));

class Run {
  constructor(sc, name) {
    this.name = name;
    this.defs = sc.defs ?? {};
    this.saved = {};
    const options = {
      strict: sc.policy !== 'permissive',
      clock: { start: BigInt(sc.clock?.start ?? 0), step: BigInt(sc.clock?.step ?? 0) },
    };
    this.store = sc.store === 'compute' ? new ComputeStore(options) : new JobStore(options);
  }

  resolve(v) {
    if (typeof v === 'string' && v.startsWith('$saved:')) {
      const [root, ...rest] = v.slice('$saved:'.length).split('.');
      assert.ok(root in this.saved, `${this.name}: nothing saved as ${root}`);
      return rest.length ? lookupPath(this.saved[root], rest.join('.')) : this.saved[root];
    }
    if (isObj(v) && '$def' in v) {
      assert.ok(v.$def in this.defs, `${this.name}: no def ${v.$def}`);
      const base = structuredClone(this.resolve(this.defs[v.$def]));
      return 'set' in v ? merge(base, this.resolve(v.set)) : base;
    }
    if (isObj(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, this.resolve(x)]));
    if (Array.isArray(v)) return v.map((x) => this.resolve(x));
    return v;
  }

  /** Calls an op on the store or a transaction handle; snapshot bytes travel as hex. */
  call(target, op, args) {
    assert.equal(typeof target[op], 'function', `${this.name}: no method ${op}`);
    if (op === 'importSnapshot') return target.importSnapshot(unhex(args[0]));
    if (op === 'exportSnapshot') return hex(target.exportSnapshot());
    return target[op](...args);
  }

  outcome(target, op, args) {
    try {
      return { ok: this.call(target, op, args) };
    } catch (err) {
      assert.ok(err instanceof Error, `${this.name}: ${op} threw a non-Error ${String(err)}`);
      assert.equal(typeof err.code, 'string', `${this.name}: ${op} threw an Error without code: ${err.message}`);
      return { err };
    }
  }

  check(at, step, { ok, err }) {
    if (step.error !== undefined) {
      assert.ok(err, `${at}: expected error ${step.error}, got ${show(ok)}`);
      assert.equal(err.code, step.error, `${at}: wrong error code (${err.message})`);
      if (step.errorContains) assert.ok(err.message.includes(step.errorContains), `${at}: message ${err.message} lacks ${step.errorContains}`);
      return;
    }
    assert.ok(!err, `${at}: unexpected error ${err?.code}: ${err?.message}`);
    const v = ok === undefined ? null : ok;
    if ('expect' in step) {
      const expected = this.resolve(step.expect);
      const bad = match(expected, v, '$');
      assert.ok(!bad, `${at}: mismatch at ${bad}\n expected: ${show(expected)}\n actual:   ${show(v)}`);
    }
    for (const [p, e] of Object.entries(step.expectAt ?? {})) {
      const actual = lookupPath(v, p);
      const bad = match(this.resolve(e), actual, p);
      assert.ok(!bad, `${at}: mismatch at ${bad}: expected ${show(e)}, actual ${show(actual)}`);
    }
    if ('expectLen' in step) {
      const list = isObj(v) && 'items' in v ? v.items : v;
      assert.ok(Array.isArray(list), `${at}: not a list: ${show(v)}`);
      assert.equal(list.length, step.expectLen, `${at}: wrong length; actual ${show(v)}`);
    }
    if (step.save) this.saved[step.save] = v;
  }

  step(i, step) {
    const at = `${this.name} [step ${i}: ${show(step).slice(0, 200)}]`;
    knownKeys(at, step, stepKeys(step));
    if ('setTime' in step) return this.store.setTime(BigInt(step.setTime));
    if ('advanceTime' in step) return this.store.advanceTime(BigInt(step.advanceTime));
    if ('transaction' in step) return this.transaction(at, step.transaction, step.rollback === true);
    if ('repeat' in step) {
      const once = { ...step };
      delete once.repeat;
      for (let n = 0; n < step.repeat; n++) this.step(i, once);
      return;
    }
    assert.ok(step.op, `${at}: step without op`);
    const args = (step.args ?? []).map((a) => this.resolve(a));
    this.check(at, step, this.outcome(this.store, step.op, args));
  }

  transaction(at, steps, rollback) {
    const ROLLBACK = new Error('rollback requested by the scenario');
    const outcomes = [];
    // A nested step with `repeat` runs that many times, as at the top level.
    steps.forEach((s, i) => knownKeys(`${at} [nested ${i}]`, s, OP_KEYS));
    const prepared = steps.flatMap((s, i) =>
      Array.from({ length: s.repeat ?? 1 }, () => [`${at} [nested ${i}]`, s, (s.args ?? []).map((a) => this.resolve(a))]),
    );
    try {
      this.store.transaction((tx) => {
        for (const [where, s, args] of prepared) outcomes.push([where, s, this.outcome(tx, s.op, args)]);
        if (rollback) throw ROLLBACK;
      });
      assert.ok(!rollback, `${at}: transaction committed though rollback was requested`);
    } catch (e) {
      if (e !== ROLLBACK) throw e;
    }
    for (const [where, s, o] of outcomes) this.check(where, s, o);
  }
}

test('an expectation of absent fields needs an object', () => {
  // A missing result is not an object whose keys are all absent, so an operation that wrongly
  // returns nothing cannot pass.
  assert.ok(match({ nextToken: '$absent' }, null, '$'));
  assert.ok(match({ nextToken: '$absent' }, undefined, '$'));
  assert.ok(match({ a: null }, null, '$'));
  assert.equal(match({ nextToken: '$absent' }, { items: [] }, '$'), null);
  assert.equal(match({ a: '$absent' }, { a: null }, '$'), null);
});

test('the scenario directory holds scenario files', () => {
  assert.ok(files.length > 0, 'no *.json files in tests/conformance');
});

for (const file of files) {
  const scenarios = JSON.parse(readFileSync(new URL(file, dir), 'utf8'));
  test(`${file} holds scenarios`, () => assert.ok(scenarios.length > 0, `${file}: no scenarios`));
  for (const sc of scenarios) {
    const name = `${file}: ${sc.name}`;
    const durable = sc.durable === true || sc.steps.some((s) => 'reopen' in s);
    test(name, { skip: durable && 'needs a durable backend (reopen)' }, () => {
      knownKeys(name, sc, SCENARIO_KEYS);
      const run = new Run(sc, name);
      sc.steps.forEach((s, i) => run.step(i, s));
    });
  }
}
