// The simulation: one requester (a JobStore) and N compute nodes (one ComputeStore each) driving
// jobs through the strict transition graphs of SPEC §2.9–§2.11. It mirrors the CLI's `simulate`
// (src/bin/bacalhau-state/simulate.rs): the driver keeps no state of its own; every tick it reads
// each in-progress job, its evaluations and executions (requester store) and each execution's
// local record (the node's compute store), picks exactly one next step per job and writes it.
// A tick's requester steps commit in one transaction, each node's compute steps in one per node.
// Every decision is a pure function of the seed and of where it is taken (job index, slot,
// attempt), so a store loaded from snapshots carries on exactly where it was.
//
// Differences from the CLI, for a live page: jobs arrive at a rate instead of from a fixed list,
// executions run for a simulated duration (the clock is manual and advanced by `tick`), and every
// long-running job (service, daemon) is stopped by its user after a while so the page does not
// fill up with jobs that never end.

// State numbers as the stores return them (src/state.rs; never renumbered).
export const EXEC_STATES = ['Undefined', 'New', 'AskForBid', 'AskForBidAccepted', 'AskForBidRejected', 'BidAccepted',
  'BidRejected', 'Completed', 'Failed', 'Cancelled'];
export const DESIRED_STATES = ['Pending', 'Running', 'Stopped'];
export const LOCAL_STATES = ['Undefined', 'Created', 'BidAccepted', 'Running', 'Publishing', 'Completed', 'Failed',
  'Cancelled'];
export const JOB_STATES = ['Pending', 'Running', 'Completed', 'Failed', 'Stopped'];

const X = Object.fromEntries(EXEC_STATES.map((n, i) => [n, i]));
const D = Object.fromEntries(DESIRED_STATES.map((n, i) => [n, i]));
const L = Object.fromEntries(LOCAL_STATES.map((n, i) => [n, i]));

const execTerminal = (c) => c === X.Completed || c === X.Failed || c === X.Cancelled || c === X.AskForBidRejected
  || c === X.BidRejected;
const localActive = (s) => s === L.Created || s === L.BidAccepted || s === L.Running || s === L.Publishing;
const jobTerminal = (s) => s === 'Completed' || s === 'Failed' || s === 'Stopped';
const longRunning = (t) => t === 'service' || t === 'daemon';

export const REQUESTER_ID = 'requester-0';
export const nodeId = (i) => `node-${i + 1}`;
/** Simulated time starts here (ns since the Unix epoch: 2024-02-07T10:00:00Z). */
export const T0 = 1_707_300_000_000_000_000n;
const MS = 1_000_000n;

// ---- seeded decisions (32-bit hashing; each decision has its own tag) ----
function fmix(h) {
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
export function mix(...parts) {
  let h = 0x6a09e667;
  for (const p of parts) h = fmix((h ^ fmix((p >>> 0) ^ Math.imul(Math.floor(p / 0x100000000) | 0, 0x9e3779b1))) + 0x9e3779b9);
  return h;
}
const unit = (...parts) => mix(...parts) / 0x100000000;
const hex8 = (n) => n.toString(16).padStart(8, '0');
function uuid(...parts) {
  const w = [0, 1, 2, 3].map((i) => hex8(mix(...parts, i)));
  return `${w[0]}-${w[1].slice(0, 4)}-4${w[1].slice(5)}-${(8 + (parseInt(w[2][0], 16) & 3)).toString(16)}${w[2].slice(1, 4)}-${w[2].slice(4)}${w[3]}`;
}

const T = { TYPE: 2, NS: 3, COUNT: 5, STOP: 6, EXEC_ID: 7, NODE: 8, DECLINE: 9, REJECT: 10, FAIL: 11, PUBLISH: 12, PRIO: 14, RUN: 15, LIFE: 16, JOB_ID: 1 };
const DECLINE_RATE = 0.04;
const REJECT_RATE = 0.04;
const FAILURE_TEXT = 'simulated failure: task exited with code 1';

/** What is decided about job `index` up front (`nodes`: the nodes online when it is submitted). */
export function jobPlan(seed, index, nodes) {
  const r = unit(seed, T.TYPE, index);
  const type = r < 0.55 ? 'batch' : r < 0.7 ? 'service' : r < 0.85 ? 'daemon' : 'ops';
  const k = Math.max(1, nodes);
  const slots = type === 'batch' ? 1 + (mix(seed, T.COUNT, index) % Math.min(k, 3))
    : type === 'service' ? 1 + (mix(seed, T.COUNT, index) % Math.min(k, 2)) : k;
  const id = `j-${uuid(seed, T.JOB_ID, index)}`;
  const job = {
    ID: id,
    Name: `sim-${String(index).padStart(5, '0')}-${type}`,
    Namespace: ['default', 'default', 'team-a', 'team-b'][mix(seed, T.NS, index) % 4],
    Type: type,
    Priority: mix(seed, T.PRIO, index) % 100,
    Count: type === 'ops' ? 0 : slots,
    Meta: { 'sim.seed': String(seed), 'sim.index': String(index), 'sim.slots': String(slots) },
    Labels: { tier: ['gold', 'silver', 'bronze'][mix(seed, T.NS, index, 1) % 3] },
    Tasks: [{ Name: 'main', Engine: { Type: mix(seed, T.NS, index, 2) % 7 === 0 ? 'wasm' : 'docker' } }],
    Version: 1,
  };
  return {
    index, id, type, slots, job,
    // Batch: 3% are stopped by their user while running; long-running jobs all are, after a while.
    userStop: type === 'batch' ? unit(seed, T.STOP, index) < 0.03 : longRunning(type),
    lifetimeNs: BigInt(3000 + (mix(seed, T.LIFE, index) % 7000)) * MS,
  };
}

/** The plan of a job read back from the store (its Meta carries the seed, index and slots). */
function planOf(job) {
  const seed = Number(job.Meta['sim.seed']);
  const index = Number(job.Meta['sim.index']);
  const slots = Number(job.Meta['sim.slots']);
  const p = jobPlan(seed, index, slots);
  p.slots = slots;
  p.seed = seed;
  return p;
}

/** What is decided about one execution attempt. */
function execPlan(plan, slot, attempt, nodes, failureRate) {
  const { seed, index } = plan;
  const k = Math.max(1, nodes);
  const node = plan.type === 'daemon' || plan.type === 'ops' ? slot % k : (mix(seed, T.NODE, index) + slot + attempt) % k;
  return {
    id: `e-${uuid(seed, T.EXEC_ID, index, slot, attempt)}`,
    node,
    declines: unit(seed, T.DECLINE, index, slot, attempt) < DECLINE_RATE,
    requesterRejects: unit(seed, T.REJECT, index, slot, attempt) < REJECT_RATE,
    fails: unit(seed, T.FAIL, index, slot, attempt) < failureRate,
    publishes: unit(seed, T.PUBLISH, index, slot, attempt) < 0.5,
    runNs: BigInt(500 + (mix(seed, T.RUN, index, slot, attempt) % 2500)) * MS,
  };
}

const SLOT_RE = /\/slot-(\d+)\/attempt-(\d+)$/;
const rank = (e) => {
  const c = e.ComputeState.StateType;
  const r = c === X.New ? 0 : c === X.AskForBid ? 1 : c === X.AskForBidAccepted ? 2 : c === X.BidAccepted ? 3 : 4;
  return r * 10 + e.DesiredState.StateType;
};

export class Simulation {
  /**
   * @param {object} lib the pkg module (`JobStore`, `ComputeStore`)
   * @param {{nodes?: number, jobRate?: number, failureRate?: number, maxRetries?: number, seed?: number, tickMs?: number}} opts
   */
  constructor(lib, opts = {}) {
    this.lib = lib;
    this.seed = opts.seed ?? 42;
    this.activeNodes = opts.nodes ?? 4;
    this.jobRate = opts.jobRate ?? 4; // jobs per simulated second
    this.failureRate = opts.failureRate ?? 0.15;
    this.maxRetries = opts.maxRetries ?? 2;
    this.tickNs = BigInt(opts.tickMs ?? 100) * MS;
    this.now = T0;
    this.nextIndex = 0;
    this.owed = 0; // fractional jobs due
    this.ticks = 0;
    this.viewOnly = false; // loaded without the compute stores the in-flight executions need
    this.jobs = this.#jobStore();
    this.nodes = []; // { id, store }
    // Jobs with steps left (like the CLI's in-flight list): every non-terminal job, and a
    // terminal one until its evaluations are processed and its executions have ended.
    this.active = new Set();
    this.setNodes(this.activeNodes);
  }

  #clock() {
    return { clock: { start: this.now, step: 1n }, strict: true };
  }
  #jobStore(bytes) {
    return bytes ? this.lib.JobStore.fromSnapshot(bytes, this.#clock()) : new this.lib.JobStore(this.#clock());
  }

  /** Brings `n` nodes online. Nodes taken offline keep their store (and finish their executions). */
  setNodes(n) {
    this.activeNodes = Math.max(1, Math.min(16, n | 0));
    while (this.nodes.length < this.activeNodes) {
      this.nodes.push({ id: nodeId(this.nodes.length), store: new this.lib.ComputeStore(this.#clock()) });
    }
  }

  /** Replaces the stores with ones loaded from snapshot bytes (one requester, any compute ones). */
  load(requesterBytes, computeBytes = []) {
    const jobs = this.#jobStore(requesterBytes);
    const nodes = [];
    for (const bytes of computeBytes) {
      const store = this.lib.ComputeStore.fromSnapshot(bytes, this.#clock());
      const first = store.listExecutions({ limit: 1 }).items[0];
      const id = first ? first.Execution.NodeID : null;
      nodes.push({ id, store });
    }
    const byId = new Map(nodes.filter((n) => n.id).map((n) => [n.id, n]));
    const ordered = [];
    const count = Math.max(byId.size, ...[...byId.keys()].map((id) => Number(id.split('-')[1]) || 0));
    for (let i = 0; i < count; i++) {
      ordered.push(byId.get(nodeId(i)) ?? { id: nodeId(i), store: new this.lib.ComputeStore(this.#clock()) });
    }
    for (const s of [this.jobs, ...this.nodes.map((n) => n.store)]) s.close();
    this.jobs = jobs;
    this.nodes = ordered;
    const stats = jobs.stats();
    this.nextIndex = Number(stats.jobTotal);
    this.active = new Set([
      ...jobs.getInProgressJobs().map((j) => j.ID),
      ...jobs.getExecutions({ inProgressOnly: true }).map((e) => e.JobID),
    ]);
    for (let page = { limit: 500 }; ;) {
      const { items, nextToken } = jobs.getJobs(page);
      for (const j of items) {
        if (!this.active.has(j.ID) && jobs.getEvaluations(j.ID).some((e) => e.Status === 'pending')) this.active.add(j.ID);
      }
      if (!nextToken) break;
      page = { limit: 500, nextToken };
    }
    const last = stats.lastEventSeq > 0n ? jobs.eventsAfter(stats.lastEventSeq - 1n, 1)[0] : null;
    this.now = last ? last.timestamp + this.tickNs : T0;
    // Resumable only when every in-flight execution's node store was loaded with it.
    this.viewOnly = false;
    for (const e of jobs.getExecutions({ inProgressOnly: true })) {
      if (!byId.has(e.NodeID)) this.viewOnly = true;
    }
    if (this.nodes.length === 0) this.setNodes(1);
    this.activeNodes = Math.max(1, this.nodes.length);
  }

  stores() {
    return [{ name: 'requester', store: this.jobs }, ...this.nodes.map((n) => ({ name: n.id, store: n.store }))];
  }

  /** One simulated tick: submit the jobs due, then one step per in-progress job. */
  tick() {
    if (this.viewOnly) throw new Error('loaded snapshot is view-only: the compute stores of its running executions were not loaded (reset to start a new simulation)');
    this.now += this.tickNs;
    this.ticks += 1;
    for (const s of this.stores()) s.store.setTime(this.now);
    const reqOps = [];
    const compOps = this.nodes.map(() => []);
    this.owed += this.jobRate * Number(this.tickNs) / 1e9;
    const submitted = [];
    for (; this.owed >= 1; this.owed -= 1) {
      const plan = jobPlan(this.seed, this.nextIndex++, this.activeNodes);
      reqOps.push(['createJob', plan.job], ['createEvaluation', this.#eval(plan.job, 0, 'job-register')]);
      submitted.push(plan.id);
    }
    for (const id of [...this.active]) {
      const job = this.jobs.getJob(id);
      const plan = planOf(job);
      const v = this.#observe(job, plan);
      const step = this.#decide(plan, v);
      if (!step) {
        if (jobTerminal(job.State.StateType)) this.active.delete(id);
        continue;
      }
      if (step.node !== undefined) compOps[step.node].push(step.op);
      else reqOps.push(...step.ops);
    }
    // Compute nodes act first; the requester's reports of what they did come a tick later.
    compOps.forEach((ops, n) => {
      if (ops.length) this.nodes[n].store.transaction((tx) => { for (const [m, a] of ops) tx[m](a); });
    });
    if (reqOps.length) this.jobs.transaction((tx) => { for (const [m, a] of reqOps) tx[m](a); });
    for (const id of submitted) this.active.add(id);
    return reqOps.length + compOps.reduce((s, o) => s + o.length, 0);
  }

  #eval(job, n, triggeredBy) {
    return {
      ID: `${job.ID.replace(/^j-/, 'v-')}-${String(n).padStart(3, '0')}`,
      Namespace: job.Namespace, JobID: job.ID, TriggeredBy: triggeredBy, Priority: job.Priority, Type: job.Type,
      Status: 'pending', CreateTime: this.now, ModifyTime: this.now,
    };
  }

  #observe(job, plan) {
    const execs = this.jobs.getExecutions({ jobId: job.ID });
    const evals = this.jobs.getEvaluations(job.ID);
    const attempts = new Map();
    const local = new Map();
    for (const e of execs) {
      const m = SLOT_RE.exec(e.Name);
      if (m) attempts.set(e.ID, [Number(m[1]), Number(m[2])]);
      if (execTerminal(e.ComputeState.StateType)) continue;
      const node = this.nodes.find((n) => n.id === e.NodeID);
      if (!node) continue;
      try {
        local.set(e.ID, node.store.getExecution(e.ID));
      } catch (err) {
        if (err.code !== 'ExecutionNotFound') throw err;
      }
    }
    return { job, execs, evals, attempts, local, plan };
  }

  #ep(plan, e, v) {
    const [slot, a] = v.attempts.get(e.ID);
    const ep = execPlan(plan, slot, a, this.nodes.length, this.failureRate);
    ep.node = this.nodes.findIndex((n) => n.id === e.NodeID);
    return ep;
  }

  /** The latest attempt of each slot: [attempt, execution] or undefined. */
  #latest(plan, v) {
    const out = new Array(plan.slots).fill(undefined);
    for (const e of v.execs) {
      const sa = v.attempts.get(e.ID);
      if (!sa) continue;
      const [slot, a] = sa;
      if (slot < out.length && (!out[slot] || a > out[slot][0])) out[slot] = [a, e];
    }
    return out;
  }

  #decide(plan, v) {
    const { job } = v;
    const pending = v.evals.filter((e) => e.Status === 'pending')
      .sort((a, b) => (a.CreateTime < b.CreateTime ? -1 : a.CreateTime > b.CreateTime ? 1 : a.ID < b.ID ? -1 : 1));
    if (pending.length) return { ops: this.#processEval(plan, v, pending[0]) };
    const cands = v.execs.filter((e) => !execTerminal(e.ComputeState.StateType) && v.attempts.has(e.ID))
      .sort((a, b) => rank(a) - rank(b) || (a.ID < b.ID ? -1 : 1));
    let step = null;
    for (const e of cands) {
      step = this.#stepExec(plan, v, e);
      if (step) break;
    }
    if (plan.userStop && job.State.StateType === 'Running' && this.#stopDue(plan, v, !step && cands.length > 0)) {
      return {
        ops: [
          ['updateJobState', { jobId: job.ID, newState: 'Stopped', unexpectedStates: ['Completed'], comment: 'job canceled by user' }],
          ['createEvaluation', this.#eval(job, v.evals.length, 'job-cancel')],
        ],
      };
    }
    return step;
  }

  #stopDue(plan, v, steady) {
    if (plan.type === 'batch') {
      const l = this.#latest(plan, v)[0];
      return !!l && l[1].ComputeState.StateType === X.BidAccepted && v.local.get(l[1].ID)?.State === L.Running;
    }
    return longRunning(plan.type) && steady && this.now - v.job.ModifyTime >= plan.lifetimeNs;
  }

  #processEval(plan, v, ev) {
    const { job } = v;
    const ops = [];
    const done = ['updateEvaluation', { evaluationId: ev.ID, newStatus: 'complete', expectedStatus: 'pending' }];
    const js = job.State.StateType;
    if (jobTerminal(js)) {
      ops.push(...this.#stopAll(v, js === 'Failed' ? 'overall job has failed' : 'execution not needed due to job update'));
      ops.push(done);
      return ops;
    }
    const creates = [];
    let fatal = null;
    let active = 0;
    this.#latest(plan, v).forEach((latest, slot) => {
      if (!latest) {
        creates.push([slot, 0]);
        return;
      }
      const [a, e] = latest;
      const c = e.ComputeState.StateType;
      if (!execTerminal(c)) {
        active += 1;
        return;
      }
      const skipped = (plan.type === 'daemon' || plan.type === 'ops') && c === X.AskForBidRejected;
      if (c === X.Completed || skipped) return;
      if (plan.type === 'ops' && c === X.Failed) {
        fatal = `execution ${e.ID} failed: ${e.ComputeState.Message ?? ''}`;
      } else if (a < this.maxRetries) {
        creates.push([slot, a + 1]);
      } else {
        fatal = `retries exhausted: execution ${e.ID} ended ${EXEC_STATES[c]}: ${e.ComputeState.Message || EXEC_STATES[c]}`;
      }
    });
    if (fatal) {
      ops.push(['updateJobState', { jobId: job.ID, newState: 'Failed', expectedRevision: job.Revision, comment: fatal }]);
      ops.push(...this.#stopAll(v, 'overall job has failed'));
    } else if (creates.length) {
      const preApproved = plan.type === 'daemon' || plan.type === 'ops';
      for (const [slot, a] of creates) {
        const ep = execPlan(plan, slot, a, this.activeNodes, this.failureRate);
        ops.push(['createExecution', {
          ID: ep.id, Namespace: job.Namespace, EvalID: ev.ID, Name: `${job.Name}/slot-${slot}/attempt-${a}`,
          NodeID: nodeId(ep.node), JobID: job.ID,
          DesiredState: { StateType: preApproved ? 'Running' : 'Pending' }, ComputeState: { StateType: 'New' },
        }]);
      }
      if (preApproved && js === 'Pending') {
        ops.push(['updateJobState', { jobId: job.ID, newState: 'Running', expectedRevision: job.Revision }]);
      }
    } else if (active === 0) {
      if (plan.type === 'batch' || plan.type === 'ops') {
        ops.push(['updateJobState', { jobId: job.ID, newState: 'Completed', expectedRevision: job.Revision }]);
      } else {
        ops.push(['updateJobState', {
          jobId: job.ID, newState: 'Failed', expectedRevision: job.Revision,
          comment: 'no nodes could be placed: every node declined',
        }]);
      }
    }
    ops.push(done);
    return ops;
  }

  /** Desired `Stopped` for every non-terminal execution not already stopping. */
  #stopAll(v, msg) {
    return v.execs
      .filter((e) => !execTerminal(e.ComputeState.StateType) && e.DesiredState.StateType !== D.Stopped)
      .map((e) => ['updateExecution', {
        executionId: e.ID, expectedRevision: e.Revision, comment: msg,
        patch: { desiredState: 'Stopped', desiredMessage: msg },
      }]);
  }

  /** The requester's report of an execution's end, with the evaluation it triggers while the job runs. */
  #end(v, req, trigger) {
    const ops = [['updateExecution', req]];
    if (!jobTerminal(v.job.State.StateType)) ops.push(['createEvaluation', this.#eval(v.job, v.evals.length, trigger)]);
    return { ops };
  }

  #completed(v, e, ep) {
    return this.#end(v, {
      executionId: e.ID, expectedStates: ['BidAccepted', 'AskForBidAccepted', 'New'],
      patch: {
        computeState: 'Completed', desiredState: 'Stopped', desiredMessage: 'execution completed',
        publishedResult: { Type: ep.publishes ? 's3' : 'local', Params: {} },
        runOutput: { Stdout: `${e.Name} done\n`, StdoutTruncated: false, stderr: '', StderrTruncated: false, ExitCode: 0, ErrorMsg: '' },
      },
    }, 'exec-update');
  }

  #failed(v, e) {
    return this.#end(v, {
      executionId: e.ID, unexpectedStates: ['Completed', 'Cancelled'],
      patch: { computeState: 'Failed', computeMessage: FAILURE_TEXT, desiredState: 'Stopped', desiredMessage: 'execution failed' },
    }, 'exec-failure');
  }

  #cancelled(v, e) {
    return this.#end(v, { executionId: e.ID, patch: { computeState: 'Cancelled' }, comment: e.DesiredState.Message ?? '' }, 'exec-update');
  }

  #declined(v, e) {
    return this.#end(v, {
      executionId: e.ID, expectedStates: ['AskForBid', 'New'],
      patch: {
        computeState: 'AskForBidRejected', computeMessage: 'node declined the bid: not enough resources',
        desiredState: 'Stopped', desiredMessage: 'bid rejected',
      },
    }, 'exec-update');
  }

  /** One step of one execution, or null when it waits (or runs steadily). */
  #stepExec(plan, v, e) {
    const { job } = v;
    const ep = this.#ep(plan, e, v);
    const n = ep.node;
    const l = v.local.get(e.ID)?.State;
    const c = e.ComputeState.StateType;
    const d = e.DesiredState.StateType;
    const comp = (m, a) => (n < 0 ? null : { node: n, op: [m, a] });
    const local = (newState, expectedStates, comment) => comp('updateExecutionState', {
      executionId: e.ID, newState, ...(expectedStates ? { expectedStates } : {}), ...(comment ? { comment } : {}),
    });
    const req = (r) => ({ ops: [['updateExecution', r]] });
    if (d === D.Stopped) {
      if (c === X.AskForBidAccepted) {
        if (l === L.Created) return local('Cancelled', ['Created'], `bid rejected due to: ${e.DesiredState.Message ?? ''}`);
        return this.#end(v, { executionId: e.ID, expectedStates: ['AskForBidAccepted'], patch: { computeState: 'BidRejected' } }, 'exec-update');
      }
      if (l !== undefined && localActive(l)) {
        return local('Cancelled', null, `execution canceled due to: ${e.DesiredState.Message ?? ''}`);
      }
      if (l === L.Completed && c === X.BidAccepted) return this.#completed(v, e, ep);
      if (l === L.Failed) return this.#failed(v, e);
      return this.#cancelled(v, e);
    }
    if (jobTerminal(job.State.StateType)) return null; // the pending evaluation stops it
    switch (c) {
      case X.New: {
        const approval = d === D.Pending;
        if (ep.declines) {
          if (approval) return req({ executionId: e.ID, expectedStates: ['New'], patch: { computeState: 'AskForBid' } });
          return this.#declined(v, e);
        }
        if (l === undefined) {
          return comp('createExecution', {
            Execution: { ...e, Job: job }, RequesterNodeID: REQUESTER_ID, State: approval ? 'Created' : 'BidAccepted', Version: 1,
          });
        }
        return req({ executionId: e.ID, expectedStates: ['New'], patch: { computeState: approval ? 'AskForBid' : 'BidAccepted' } });
      }
      case X.AskForBid:
        if (ep.declines) return this.#declined(v, e);
        return req({
          executionId: e.ID, expectedStates: ['AskForBid', 'New'],
          patch: { computeState: 'AskForBidAccepted', computeMessage: 'bid accepted by node' },
        });
      case X.AskForBidAccepted:
        if (d === D.Pending) {
          if (ep.requesterRejects) {
            const msg = 'execution is rejected in favor of another execution';
            return req({ executionId: e.ID, expectedRevision: e.Revision, comment: msg, patch: { desiredState: 'Stopped', desiredMessage: msg } });
          }
          const ops = [['updateExecution', { executionId: e.ID, expectedRevision: e.Revision, patch: { desiredState: 'Running' } }]];
          if (job.State.StateType === 'Pending') {
            ops.push(['updateJobState', { jobId: job.ID, newState: 'Running', expectedRevision: job.Revision }]);
          }
          return { ops };
        }
        if (l === L.Created) return local('BidAccepted', ['Created']);
        return req({ executionId: e.ID, expectedStates: ['AskForBidAccepted'], patch: { computeState: 'BidAccepted' } });
      case X.BidAccepted:
        switch (l) {
          case L.BidAccepted: return local('Running', ['BidAccepted', 'Running']);
          case L.Running:
            // Runs for its planned duration (counted from the requester's BidAccepted).
            if (this.now - e.ModifyTime < ep.runNs) return null;
            if (ep.fails) return local('Failed', null, FAILURE_TEXT);
            if (longRunning(plan.type)) return null;
            return local(ep.publishes ? 'Publishing' : 'Completed', ['Running']);
          case L.Publishing: return local('Completed', ['Publishing']);
          case L.Completed: return this.#completed(v, e, ep);
          case L.Failed: return this.#failed(v, e);
          case L.Cancelled: return this.#cancelled(v, e);
          default:
            throw new Error(`execution ${e.ID} of job ${job.ID} is BidAccepted on the requester but its record on ${e.NodeID} is ${l === undefined ? 'missing' : LOCAL_STATES[l]}`);
        }
      default:
        return null;
    }
  }
}
