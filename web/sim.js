// The page: runs the Simulation (engine.js) on a timer and shows what the stores hold.
//
// Each view (the requester's, one per node) starts from the store's records and then follows the
// store's event stream with `eventsAfter(checkpoint)`, storing its position with
// `checkpoint('view:…', seq)`; the counts shown are that view's, and `window.sim.storeCounts()`
// reads `stats()` from the stores directly, so the two can be compared (the e2e test does).
// A store error stops the simulation and is shown on the page and in the console, never swallowed.
import init, { JobStore, ComputeStore } from '/pkg/bacalhau_state_wasm.js';
import { Simulation, JOB_STATES, EXEC_STATES, LOCAL_STATES, T0 } from './engine.js';

const $ = (id) => document.getElementById(id);
const TICK_MS = 100;
const SHOWN_LOCAL = LOCAL_STATES.slice(1); // not Undefined
const SHOWN_EXEC = EXEC_STATES.slice(1);
const MAX_EVENTS = 150;

let engine = null;
let views = [];
let recent = []; // latest events, newest first
let running = false;
let timer = null;
const errors = [];

// ---------- views: records, then events after the view's checkpoint ----------
class View {
  constructor(name, store, requester) {
    this.name = name;
    this.store = store;
    this.requester = requester;
    this.checkpoint = `view:${requester ? 'requester' : 'node'}`;
    this.jobs = new Map(); // job ID -> state name
    this.execs = new Map(); // execution ID -> state number (compute state / local state)
    if (requester) {
      for (let page = { limit: 500 }; ;) {
        const { items, nextToken } = store.getJobs(page);
        for (const j of items) this.jobs.set(j.ID, j.State.StateType);
        if (!nextToken) break;
        page = { limit: 500, nextToken };
      }
      for (const e of store.getExecutions({})) this.execs.set(e.ID, e.ComputeState.StateType);
    } else {
      for (let page = { limit: 500 }; ;) {
        const { items, nextToken } = store.listExecutions(page);
        for (const r of items) this.execs.set(r.Execution.ID, r.State);
        if (!nextToken) break;
        page = { limit: 500, nextToken };
      }
    }
    // Events after the stored position re-apply states already read: harmless (each event
    // carries the record after the change, and they come in order).
    this.cursor = store.getCheckpoint(this.checkpoint) ?? 0n;
  }

  poll() {
    const events = this.store.eventsAfter(this.cursor);
    for (const ev of events) {
      const del = ev.operation === 'DELETE';
      const o = ev.object;
      if (ev.objectType === 'Job') del ? this.jobs.delete(o.ID) : this.jobs.set(o.ID, o.State.StateType);
      else if (ev.objectType === 'Execution') del ? this.execs.delete(o.ID) : this.execs.set(o.ID, o.ComputeState.StateType);
      else if (ev.objectType === 'LocalExecution') del ? this.execs.delete(o.Execution.ID) : this.execs.set(o.Execution.ID, o.State);
    }
    if (events.length) {
      this.cursor = events[events.length - 1].seqNum;
      this.store.checkpoint(this.checkpoint, this.cursor);
    }
    return events;
  }

  counts(names, of) {
    const out = Object.fromEntries(names.map((n) => [n, 0]));
    for (const s of of.values()) {
      const name = typeof s === 'number' ? names === SHOWN_EXEC ? EXEC_STATES[s] : LOCAL_STATES[s] : s;
      out[name] = (out[name] ?? 0) + 1;
    }
    return out;
  }
}

function makeViews() {
  views = engine.stores().map((s, i) => new View(s.name, s.store, i === 0));
  recent = [];
}

function syncViews() {
  // Nodes brought online since the last refresh get a view too.
  for (const s of engine.stores().slice(views.length)) views.push(new View(s.name, s.store, false));
  const fresh = [];
  for (const v of views) for (const ev of v.poll()) fresh.push([v.name, ev]);
  fresh.sort((a, b) => (a[1].timestamp < b[1].timestamp ? -1 : a[1].timestamp > b[1].timestamp ? 1 : 0));
  for (const f of fresh) recent.unshift(f);
  recent.length = Math.min(recent.length, MAX_EVENTS);
}

// ---------- rendering ----------
function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  e.append(...kids);
  return e;
}

const secs = (ns) => `${(Number(ns - T0) / 1e9).toFixed(1)}s`;

function describe(ev) {
  const o = ev.object;
  switch (ev.objectType) {
    case 'Job': return `${o.Name} ${o.Type} → ${o.State.StateType}`;
    case 'Evaluation': return `eval ${o.ID.slice(0, 14)}… ${o.TriggeredBy} → ${o.Status}`;
    case 'Execution': return `${o.Name} compute ${EXEC_STATES[o.ComputeState.StateType]}, desired ${['Pending', 'Running', 'Stopped'][o.DesiredState.StateType]}`;
    case 'LocalExecution': return `${o.Execution.Name} → ${LOCAL_STATES[o.State]}${o.LatestComment ? ` (${o.LatestComment})` : ''}`;
    default: return ev.objectType;
  }
}

function render() {
  const req = views[0];
  const jobCounts = req.counts(JOB_STATES, req.jobs);
  $('jobs').replaceChildren(
    ...JOB_STATES.map((s) => el('div', { class: 'card', 'data-state': s },
      el('div', { class: 'n', 'data-count': `job:${s}`, text: String(jobCounts[s]) }), el('div', { class: 'l', text: s }))),
    el('div', { class: 'card', 'data-state': 'total' },
      el('div', { class: 'n', 'data-count': 'job:total', text: String(req.jobs.size) }), el('div', { class: 'l', text: 'submitted' })),
  );
  const execCounts = req.counts(SHOWN_EXEC, req.execs);
  $('req-execs').replaceChildren(...SHOWN_EXEC.map((s) => el('span', { class: 'chip' },
    `${s} `, el('b', { 'data-count': `exec:${s}`, text: String(execCounts[s]) }))));

  const table = $('nodes-table');
  table.tHead.replaceChildren(el('tr', {}, el('th', { text: 'node' }), ...SHOWN_LOCAL.map((s) => el('th', { text: s })),
    el('th', { text: 'total' }), el('th', { text: 'snapshot' })));
  table.tBodies[0].replaceChildren(...views.slice(1).map((v, i) => {
    const c = v.counts(SHOWN_LOCAL, v.execs);
    const dl = el('a', { href: '#', 'data-download': v.name, title: `exportSnapshot() of ${v.name}`, text: '⬇' });
    dl.addEventListener('click', (e) => { e.preventDefault(); downloadStore(v.name); });
    return el('tr', { class: i < engine.activeNodes ? '' : 'offline', 'data-node': v.name },
      el('td', { text: v.name }),
      ...SHOWN_LOCAL.map((s) => el('td', { class: c[s] ? '' : 'zero', 'data-count': `${v.name}:${s}`, text: String(c[s]) })),
      el('td', { text: String(v.execs.size) }), el('td', {}, dl));
  }));

  $('events').replaceChildren(...recent.map(([store, ev]) => el('li', {},
    el('span', { class: 't', text: secs(ev.timestamp) }),
    el('span', { text: store }),
    el('span', { class: `op-${ev.operation}`, text: ev.operation }),
    el('span', { text: ev.objectType }),
    el('span', { class: 'what', text: describe(ev) }))));

  const status = $('status');
  const state = errors.length ? 'error' : running ? 'running' : 'paused';
  status.dataset.state = state;
  status.textContent = `${state}${engine.viewOnly ? ' (loaded snapshot: view only)' : ''} · simulated time ${secs(engine.now)} · `
    + `${engine.ticks} ticks · ${engine.nodes.length} node store(s) · ${engine.active.size} job(s) in flight`;
  $('pause').textContent = running ? 'Pause' : 'Resume';
  $('pause').disabled = engine.viewOnly || errors.length > 0;
  $('step').disabled = running || engine.viewOnly || errors.length > 0;
}

function fail(err) {
  stop();
  const msg = `${err?.name ?? 'Error'}${err?.code ? ` [${err.code}]` : ''}: ${err?.message ?? err}`;
  errors.push(msg);
  console.error('simulation stopped:', msg, err);
  $('error-list').append(el('li', { text: msg }));
  $('errors').hidden = false;
  try { render(); } catch { /* the banner is what matters */ }
}

// ---------- the loop ----------
function refresh() {
  syncViews();
  render();
}

function steps(n) {
  for (let i = 0; i < n; i++) engine.tick();
  refresh();
}

function loop() {
  try {
    steps(Number($('speed').value));
  } catch (err) {
    fail(err);
  }
}

function start() {
  if (running || engine.viewOnly || errors.length) return;
  running = true;
  timer = setInterval(loop, TICK_MS);
  render();
}

function stop() {
  running = false;
  if (timer !== null) clearInterval(timer);
  timer = null;
}

function options() {
  return { nodes: Number($('nodes').value), jobRate: Number($('rate').value), failureRate: Number($('fail').value) };
}

function reset() {
  stop();
  errors.length = 0;
  $('error-list').replaceChildren();
  $('errors').hidden = true;
  for (const s of engine?.stores() ?? []) s.store.close();
  engine = new Simulation({ JobStore, ComputeStore }, options());
  makeViews();
  $('load-status').textContent = '';
  refresh();
}

// ---------- snapshots ----------
function save(bytes, name) {
  const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
  const a = el('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function downloadStore(name) {
  try {
    const s = engine.stores().find((x) => x.name === name);
    save(s.store.exportSnapshot(), `bacalhau-${name}-t${engine.ticks}.snapshot`);
  } catch (err) {
    fail(err);
  }
}

/** 'requester' or 'compute', by importing into a scratch store of each kind; throws for neither. */
function snapshotKind(bytes, name) {
  let first = null;
  for (const [kind, Store] of [['requester', JobStore], ['compute', ComputeStore]]) {
    const scratch = new Store();
    try {
      scratch.importSnapshot(bytes);
      return kind;
    } catch (err) {
      if (err.code !== 'SnapshotInvalid') throw Object.assign(new Error(`${name}: ${err.message}`), { code: err.code });
      first ??= err;
    } finally {
      scratch.free();
    }
  }
  throw Object.assign(new Error(`${name}: ${first.message}`), { code: first.code });
}

/** Sorts snapshot files into the requester's and the nodes' by trying each kind of store. */
async function loadFiles(files) {
  const status = $('load-status');
  let requester = null;
  const compute = [];
  for (const f of files) {
    const bytes = new Uint8Array(await f.arrayBuffer());
    const kind = snapshotKind(bytes, f.name);
    if (kind === 'requester') {
      if (requester) throw new Error('more than one requester snapshot');
      requester = bytes;
    } else {
      compute.push(bytes);
    }
  }
  if (!requester) throw new Error('no requester snapshot among the files (download it with "Download snapshot")');
  stop();
  engine.load(requester, compute);
  engine.jobRate = Number($('rate').value);
  engine.failureRate = Number($('fail').value);
  $('nodes').value = String(engine.activeNodes);
  makeViews();
  status.textContent = `loaded ${files.length} snapshot(s)${engine.viewOnly ? ': view only (the running executions\' node snapshots were not loaded)' : ''}`;
  refresh();
}

// ---------- the window.sim API (used by the e2e test) ----------
const num = (o) => Object.fromEntries(Object.entries(o).filter(([, v]) => Number(v) > 0).map(([k, v]) => [k, Number(v)]));

/** The counts as the page shows them (read back from the DOM), zeros left out. */
function counts() {
  const out = { jobs: {}, jobTotal: 0, executions: {}, nodes: {} };
  for (const e of document.querySelectorAll('[data-count]')) {
    const [scope, state] = e.dataset.count.split(':');
    const n = Number(e.textContent);
    if (scope === 'job' && state === 'total') out.jobTotal = n;
    else if (n === 0) continue;
    else if (scope === 'job') out.jobs[state] = n;
    else if (scope === 'exec') out.executions[state] = n;
    else (out.nodes[scope] ??= {})[state] = n;
  }
  for (const v of views.slice(1)) out.nodes[v.name] ??= {};
  return out;
}

/** The same counts from the stores' own `stats()`. */
function storeCounts() {
  const r = engine.jobs.stats();
  return {
    jobs: num(r.jobs),
    jobTotal: Number(r.jobTotal),
    executions: num(r.executions),
    nodes: Object.fromEntries(engine.nodes.map((n) => [n.id, num(n.store.stats().counts)])),
  };
}

window.sim = {
  counts,
  storeCounts,
  check: () => engine.stores().map((s) => {
    const c = s.store.check();
    return { store: s.name, records: Number(c.records), events: Number(c.events), problems: c.problems };
  }),
  pause: () => { stop(); refresh(); },
  resume: start,
  step: (n = 1) => { try { steps(n); } catch (err) { fail(err); throw err; } },
  reset,
  get running() { return running; },
  get errors() { return [...errors]; },
  get engine() { return engine; },
};

// ---------- wiring ----------
async function main() {
  await init();
  const rate = () => { $('rate-out').value = `${$('rate').value}/s`; engine.jobRate = Number($('rate').value); };
  const failure = () => {
    $('fail-out').value = `${Math.round(Number($('fail').value) * 100)}%`;
    engine.failureRate = Number($('fail').value);
  };
  $('rate').addEventListener('input', rate);
  $('fail').addEventListener('input', failure);
  $('nodes').addEventListener('change', () => { engine.setNodes(Number($('nodes').value)); refresh(); });
  $('pause').addEventListener('click', () => (running ? window.sim.pause() : start()));
  $('step').addEventListener('click', () => window.sim.step(1));
  $('reset').addEventListener('click', () => { reset(); start(); });
  $('download').addEventListener('click', () => downloadStore('requester'));
  $('load').addEventListener('change', (e) => {
    const files = [...e.target.files];
    if (!files.length) return;
    loadFiles(files).catch((err) => {
      // A bad file is the user's mistake, not a store failure: say so next to the input.
      $('load-status').textContent = `could not load: ${err.code ? `[${err.code}] ` : ''}${err.message}`;
    }).finally(() => { e.target.value = ''; });
  });
  reset(); // reads the controls (a reload may have restored them)
  rate();
  failure();
  const params = new URLSearchParams(location.search);
  if (params.get('paused') === null) start();
  window.sim.ready = true;
}

window.addEventListener('error', (e) => fail(e.error ?? e.message));
window.addEventListener('unhandledrejection', (e) => fail(e.reason));
main().catch(fail);
