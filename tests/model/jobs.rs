//! Job store vs model.

use std::collections::BTreeMap;
use std::sync::Arc;

use bacalhau_state::clock::ManualClock;
use bacalhau_state::event::{Event, EventObject, Operation};
use bacalhau_state::jobstore::{
    ExecutionPatch, GetExecutionsOptions, JobQuery, JobSnapshot, UpdateExecutionRequest, UpdateJobStateRequest,
    JOB_CREATED_COMMENT,
};
use bacalhau_state::kv::{memory::MemoryBackend, Backend};
use bacalhau_state::model::{Evaluation, Execution, Job, JobHistory, State, StateChange, Task};
use bacalhau_state::state::{
    ExecutionDesiredStateType as D, ExecutionStateType as X, JobHistoryType, JobStateType as J,
};
use bacalhau_state::time::Timestamp;
use bacalhau_state::{JobStore, JobStoreError, Policy, StoreBuilder};
use proptest::prelude::*;

// Declared once by the including crate root (tests/model.rs, fuzz/src/lib.rs).
use super::cases::cases;

// Each list is in key order, and its first ID is a prefix of the next two: a lookup by it is
// exact, a unique prefix or ambiguous depending on which records exist.
const JOB_IDS: [&str; 4] = ["j1", "j10", "j11", "team/j3"];
const EXEC_IDS: [&str; 5] = ["e1", "e10", "e11", "e2", "e3"];
const EVAL_IDS: [&str; 3] = ["v1", "v10", "v11"];
const NAMESPACES: [&str; 2] = ["default", "a/b"];
const NODES: [&str; 2] = ["n1", "n2"];
const CHECKPOINTS: [&str; 2] = ["indexer", "watcher"];

#[derive(Clone, Debug)]
pub enum Action {
    CreateJob {
        id: usize,
        ns: usize,
        gpu: bool,
    },
    UpdateJob {
        id: usize,
        to: J,
    },
    DeleteJob {
        id: usize,
    },
    CreateExec {
        id: usize,
        job: usize,
        node: usize,
    },
    UpdateExec {
        id: usize,
        compute: Option<X>,
        desired: Option<D>,
        node: Option<usize>,
    },
    CreateEval {
        id: usize,
        job: usize,
    },
    DeleteEval {
        id: usize,
    },
    /// Sets a consumer checkpoint (any number: the store does not check it against the log).
    Checkpoint {
        name: usize,
        seq: u64,
    },
    /// Trims the log through `back` events before its end.
    Trim {
        back: u64,
    },
    Txn {
        actions: Vec<Action>,
        rollback: bool,
    },
}

fn leaf() -> impl Strategy<Value = Action> {
    let job_state = prop::sample::select(J::ALL.to_vec());
    let exec_state = prop::sample::select(X::ALL.to_vec());
    let desired = prop::sample::select(D::ALL.to_vec());
    prop_oneof![
        2 => (0..JOB_IDS.len(), 0..NAMESPACES.len(), any::<bool>()).prop_map(|(id, ns, gpu)| Action::CreateJob { id, ns, gpu }),
        2 => (0..JOB_IDS.len(), job_state).prop_map(|(id, to)| Action::UpdateJob { id, to }),
        1 => (0..JOB_IDS.len()).prop_map(|id| Action::DeleteJob { id }),
        3 => (0..EXEC_IDS.len(), 0..JOB_IDS.len(), 0..NODES.len()).prop_map(|(id, job, node)| Action::CreateExec { id, job, node }),
        4 => (0..EXEC_IDS.len(), prop::option::of(exec_state), prop::option::of(desired), prop::option::of(0..NODES.len()))
            .prop_map(|(id, compute, desired, node)| Action::UpdateExec { id, compute, desired, node }),
        1 => (0..EVAL_IDS.len(), 0..JOB_IDS.len()).prop_map(|(id, job)| Action::CreateEval { id, job }),
        1 => (0..EVAL_IDS.len()).prop_map(|id| Action::DeleteEval { id }),
        1 => (0..CHECKPOINTS.len(), 0u64..40).prop_map(|(name, seq)| Action::Checkpoint { name, seq }),
        1 => (0u64..6).prop_map(|back| Action::Trim { back }),
    ]
}

pub fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        8 => leaf(),
        1 => (prop::collection::vec(leaf(), 1..5), any::<bool>()).prop_map(|(actions, rollback)| Action::Txn { actions, rollback }),
    ]
}

/// A job as the model knows it: what the store must hold for it, and its history so far.
#[derive(Clone, Debug)]
struct MJob {
    ns: usize,
    gpu: bool,
    state: J,
    revision: u64,
    created: i64,
    modified: i64,
    history: Vec<JobHistory>,
}

#[derive(Clone, Debug)]
struct MExec {
    job: usize,
    node: usize,
    compute: X,
    desired: D,
    revision: u64,
    created: i64,
    modified: i64,
}

#[derive(Clone, Debug, Default)]
struct Model {
    jobs: BTreeMap<usize, MJob>,
    execs: BTreeMap<usize, MExec>,
    /// Evaluation -> its job.
    evals: BTreeMap<usize, usize>,
    /// Every event ever appended; event `n` is `log[n - 1]`.
    log: Vec<Event>,
    /// Events up to this number are trimmed.
    trimmed: u64,
    checkpoints: BTreeMap<usize, u64>,
}

fn resolve<V>(map: &BTreeMap<usize, V>, ids: &[&str], id: usize, missing: &'static str) -> Result<usize, &'static str> {
    if map.contains_key(&id) {
        return Ok(id);
    }
    let m: Vec<usize> = map.keys().filter(|k| ids[**k].starts_with(ids[id])).copied().collect();
    match m.len() {
        0 => Err(missing),
        1 => Ok(m[0]),
        _ => Err("AmbiguousId"),
    }
}

impl Model {
    fn job(&self, id: usize) -> Result<usize, &'static str> {
        resolve(&self.jobs, &JOB_IDS, id, "JobNotFound")
    }

    fn exec(&self, id: usize) -> Result<usize, &'static str> {
        resolve(&self.execs, &EXEC_IDS, id, "ExecutionNotFound")
    }

    fn eval(&self, id: usize) -> Result<usize, &'static str> {
        resolve(&self.evals, &EVAL_IDS, id, "EvaluationNotFound")
    }

    /// The job record the store must hold for job `k`.
    fn job_record(&self, k: usize) -> Job {
        let m = &self.jobs[&k];
        let mut j = job(k, m.ns, m.gpu);
        j.state = State::new(m.state);
        j.revision = m.revision;
        j.create_time = m.created;
        j.modify_time = m.modified;
        j
    }

    fn exec_record(&self, k: usize) -> Execution {
        let m = &self.execs[&k];
        Execution {
            namespace: NAMESPACES[self.jobs[&m.job].ns].into(),
            desired_state: State::new(m.desired),
            compute_state: State::new(m.compute),
            revision: m.revision,
            create_time: m.created,
            modify_time: m.modified,
            ..execution(k, m.job, m.node)
        }
    }

    fn eval_record(&self, k: usize) -> Evaluation {
        let job = self.evals[&k];
        Evaluation { namespace: NAMESPACES[self.jobs[&job].ns].into(), ..evaluation(k, job) }
    }

    fn event(&mut self, operation: Operation, timestamp: i64, object: EventObject) {
        self.log.push(Event { seq_num: self.log.len() as u64 + 1, operation, timestamp, object });
    }

    fn history(&mut self, job: usize, mut entry: JobHistory) {
        let h = &mut self.jobs.get_mut(&job).expect("exists").history;
        entry.seq_num = h.len() as u64 + 1;
        h.push(entry);
    }

    /// The expected error code of `a` at time `now`, applying it when it succeeds.
    fn apply(&mut self, a: &Action, now: i64) -> Option<&'static str> {
        let time = Timestamp::from_unix_nanos(now);
        match *a {
            Action::CreateJob { id, ns, gpu } => {
                if self.jobs.contains_key(&id) {
                    return Some("JobAlreadyExists");
                }
                let m = MJob { ns, gpu, state: J::Pending, revision: 1, created: now, modified: now, history: vec![] };
                self.jobs.insert(id, m);
                self.history(
                    id,
                    JobHistory {
                        history_type: JobHistoryType::JobLevel,
                        job_id: JOB_IDS[id].into(),
                        job_state: Some(StateChange { previous: J::Undefined, new: J::Pending }),
                        new_revision: 1,
                        comment: JOB_CREATED_COMMENT.into(),
                        time,
                        ..Default::default()
                    },
                );
                self.event(Operation::Create, now, EventObject::Job(self.job_record(id)));
            }
            Action::UpdateJob { id, to } => {
                let id = match self.job(id) {
                    Ok(id) => id,
                    Err(c) => return Some(c),
                };
                let j = self.jobs.get_mut(&id).expect("resolved");
                if j.state.is_terminal() {
                    return Some("AlreadyTerminal");
                }
                if to == J::Undefined {
                    return Some("InvalidTransition");
                }
                let previous = j.state;
                j.state = to;
                j.revision += 1;
                j.modified = now;
                let entry = JobHistory {
                    history_type: JobHistoryType::JobLevel,
                    job_id: JOB_IDS[id].into(),
                    job_state: Some(StateChange { previous, new: to }),
                    new_revision: j.revision,
                    time,
                    ..Default::default()
                };
                self.history(id, entry);
                self.event(Operation::Update, now, EventObject::Job(self.job_record(id)));
            }
            Action::DeleteJob { id } => {
                let id = match self.job(id) {
                    Ok(id) => id,
                    Err(c) => return Some(c),
                };
                // The cascade's events: executions, then evaluations (each in ID order), then
                // the job, each showing the record as it was.
                let execs: Vec<usize> = self.execs.iter().filter(|(_, e)| e.job == id).map(|(k, _)| *k).collect();
                let evals: Vec<usize> = self.evals.iter().filter(|(_, j)| **j == id).map(|(k, _)| *k).collect();
                for k in execs {
                    self.event(Operation::Delete, now, EventObject::Execution(self.exec_record(k)));
                    self.execs.remove(&k);
                }
                for k in evals {
                    self.event(Operation::Delete, now, EventObject::Evaluation(self.eval_record(k)));
                    self.evals.remove(&k);
                }
                self.event(Operation::Delete, now, EventObject::Job(self.job_record(id)));
                self.jobs.remove(&id);
            }
            Action::CreateExec { id, job, node } => {
                let job = match self.job(job) {
                    Ok(j) => j,
                    Err(c) => return Some(c),
                };
                if self.execs.contains_key(&id) {
                    return Some("ExecutionAlreadyExists");
                }
                let m =
                    MExec { job, node, compute: X::New, desired: D::Pending, revision: 1, created: now, modified: now };
                self.execs.insert(id, m);
                let entry = JobHistory {
                    history_type: JobHistoryType::ExecutionLevel,
                    job_id: JOB_IDS[job].into(),
                    node_id: NODES[node].into(),
                    execution_id: EXEC_IDS[id].into(),
                    execution_state: Some(StateChange { previous: X::Undefined, new: X::New }),
                    new_revision: 1,
                    time,
                    ..Default::default()
                };
                self.history(job, entry);
                self.event(Operation::Create, now, EventObject::Execution(self.exec_record(id)));
            }
            Action::UpdateExec { id, compute, desired, node } => {
                let id = match self.exec(id) {
                    Ok(id) => id,
                    Err(c) => return Some(c),
                };
                let e = self.execs.get_mut(&id).expect("resolved");
                if e.compute.is_terminal() {
                    return Some("AlreadyTerminal");
                }
                if compute == Some(X::Undefined) {
                    return Some("InvalidTransition");
                }
                let (was, wanted) = (e.compute, e.desired);
                e.compute = compute.unwrap_or(e.compute);
                e.desired = desired.unwrap_or(e.desired);
                e.node = node.unwrap_or(e.node);
                e.revision += 1;
                e.modified = now;
                let entry = JobHistory {
                    history_type: JobHistoryType::ExecutionLevel,
                    job_id: JOB_IDS[e.job].into(),
                    node_id: NODES[e.node].into(),
                    execution_id: EXEC_IDS[id].into(),
                    execution_state: Some(StateChange { previous: was, new: e.compute }),
                    // A desired-state entry only when it changed.
                    desired_state: (e.desired != wanted).then_some(StateChange { previous: wanted, new: e.desired }),
                    new_revision: e.revision,
                    time,
                    ..Default::default()
                };
                let job = e.job;
                self.history(job, entry);
                self.event(Operation::Update, now, EventObject::Execution(self.exec_record(id)));
            }
            Action::CreateEval { id, job } => {
                let job = match self.job(job) {
                    Ok(j) => j,
                    Err(c) => return Some(c),
                };
                if self.evals.contains_key(&id) {
                    return Some("EvaluationAlreadyExists");
                }
                self.evals.insert(id, job);
                self.event(Operation::Create, now, EventObject::Evaluation(self.eval_record(id)));
            }
            Action::DeleteEval { id } => {
                let id = match self.eval(id) {
                    Ok(id) => id,
                    Err(c) => return Some(c),
                };
                self.event(Operation::Delete, now, EventObject::Evaluation(self.eval_record(id)));
                self.evals.remove(&id);
            }
            Action::Checkpoint { name, seq } => {
                self.checkpoints.insert(name, seq);
            }
            Action::Trim { back } => {
                self.trimmed = self.trimmed.max((self.log.len() as u64).saturating_sub(back));
            }
            Action::Txn { .. } => unreachable!("transactions are applied by the runner"),
        }
        None
    }

    fn count<T: Ord + Copy>(
        states: impl Iterator<Item = T>,
        name: impl Fn(T) -> &'static str,
    ) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for s in states {
            *out.entry(name(s).to_string()).or_default() += 1;
        }
        out
    }

    /// The records of `keys`, ordered by creation time then ID (the job queries' order).
    fn jobs_by_creation(&self, keep: impl Fn(&MJob) -> bool) -> Vec<Job> {
        let mut keys: Vec<(i64, usize)> =
            self.jobs.iter().filter(|(_, j)| keep(j)).map(|(k, j)| (j.created, *k)).collect();
        keys.sort_by_key(|&(t, k)| (t, JOB_IDS[k]));
        keys.into_iter().map(|(_, k)| self.job_record(k)).collect()
    }

    /// What a snapshot of the store must hold.
    fn snapshot(&self) -> JobSnapshot {
        JobSnapshot {
            jobs: self.jobs.keys().map(|&k| self.job_record(k)).collect(),
            executions: self.execs.keys().map(|&k| self.exec_record(k)).collect(),
            evaluations: self.evals.keys().map(|&k| self.eval_record(k)).collect(),
            history: self
                .jobs
                .iter()
                .flat_map(|(k, j)| j.history.iter().map(|h| (JOB_IDS[*k].to_string(), h.seq_num, h.clone())))
                .collect(),
            events: self.log[self.trimmed as usize..].to_vec(),
            checkpoints: self.checkpoints.iter().map(|(n, s)| (CHECKPOINTS[*n].to_string(), *s)).collect(),
            last_event_seq: self.log.len() as u64,
        }
    }
}

fn job(id: usize, ns: usize, gpu: bool) -> Job {
    let mut j = Job {
        id: JOB_IDS[id].into(),
        name: "model".into(),
        namespace: NAMESPACES[ns].into(),
        job_type: "batch".into(),
        tasks: vec![Task::new("main", "docker")],
        ..Default::default()
    };
    if gpu {
        j.labels.insert("GPU".into(), "true".into());
    }
    j
}

/// The execution a `CreateExec` sends (its job named by `job`, possibly a prefix).
fn execution(id: usize, job: usize, node: usize) -> Execution {
    Execution {
        id: EXEC_IDS[id].into(),
        job_id: JOB_IDS[job].into(),
        node_id: NODES[node].into(),
        compute_state: State::new(X::New),
        ..Default::default()
    }
}

fn evaluation(id: usize, job: usize) -> Evaluation {
    Evaluation { id: EVAL_IDS[id].into(), job_id: JOB_IDS[job].into(), ..Default::default() }
}

macro_rules! apply_leaf {
    ($t:expr, $a:expr) => {
        match *$a {
            Action::CreateJob { id, ns, gpu } => $t.create_job(job(id, ns, gpu)).map(drop),
            Action::UpdateJob { id, to } => $t.update_job_state(UpdateJobStateRequest::new(JOB_IDS[id], to)).map(drop),
            Action::DeleteJob { id } => $t.delete_job(JOB_IDS[id]),
            Action::CreateExec { id, job, node } => $t.create_execution(execution(id, job, node)).map(drop),
            Action::UpdateExec { id, compute, desired, node } => {
                let patch = ExecutionPatch {
                    compute_state: compute,
                    desired_state: desired,
                    node_id: node.map(|n| NODES[n].to_string()),
                    ..Default::default()
                };
                $t.update_execution(UpdateExecutionRequest::new(EXEC_IDS[id], patch)).map(drop)
            }
            Action::CreateEval { id, job } => $t.create_evaluation(evaluation(id, job)).map(drop),
            Action::DeleteEval { id } => $t.delete_evaluation(EVAL_IDS[id]),
            Action::Checkpoint { name, seq } => $t.checkpoint(CHECKPOINTS[name], seq),
            Action::Trim { back } => match $t.stats() {
                Ok(s) => $t.trim_events(s.last_event_seq.saturating_sub(back)).map(drop),
                Err(e) => Err(e),
            },
            Action::Txn { .. } => unreachable!(),
        }
    };
}

fn code(r: Result<(), JobStoreError>) -> Option<&'static str> {
    r.err().map(|e| e.code())
}

/// The store's answer for a lookup the model resolves to `want` (a key or an error code).
fn same<T: PartialEq + std::fmt::Debug>(got: Result<T, JobStoreError>, want: Result<T, &'static str>, at: &str) {
    match (got, want) {
        (Ok(g), Ok(w)) => assert_eq!(g, w, "{at}"),
        (Err(e), Err(c)) => assert_eq!(e.code(), c, "{at}: {e}"),
        (g, w) => panic!("{at}: store {g:?} vs model {w:?}"),
    }
}

/// Compares everything a reader can see, on the store or inside a transaction, with the model:
/// counts, every record field by field, every index, history and events by content, checkpoints,
/// and the store's own consistency check.
macro_rules! compare {
    ($s:expr, $m:expr, $at:expr) => {{
        let (s, m, at): (_, &Model, &str) = ($s, $m, $at);
        let stats = s.stats().unwrap();
        let jc = Model::count(m.jobs.values().map(|j| j.state), |s| s.name());
        let ec = Model::count(m.execs.values().map(|e| e.compute), |s| s.name());
        assert_eq!((&stats.jobs, &stats.executions), (&jc, &ec), "{at}: counts");
        assert_eq!((stats.job_total, stats.execution_total), (m.jobs.len() as u64, m.execs.len() as u64), "{at}");
        assert_eq!(stats.last_event_seq, m.log.len() as u64, "{at}: last event");
        for &st in J::ALL {
            assert_eq!(s.get_job_count(st).unwrap(), jc.get(st.name()).copied().unwrap_or(0), "{at}: {st:?} jobs");
        }
        for &st in X::ALL {
            let want = ec.get(st.name()).copied().unwrap_or(0);
            assert_eq!(s.get_execution_count(st).unwrap(), want, "{at}: {st:?} executions");
        }
        let want = m.snapshot();
        let snap = s.snapshot().unwrap();
        assert_eq!(snap.jobs, want.jobs, "{at}: jobs");
        assert_eq!(snap.executions, want.executions, "{at}: executions");
        assert_eq!(snap.evaluations, want.evaluations, "{at}: evaluations");
        assert_eq!(snap.history, want.history, "{at}: history");
        assert_eq!(snap.events, want.events, "{at}: snapshot events");
        assert_eq!(snap.checkpoints, want.checkpoints, "{at}: checkpoints");
        assert_eq!(snap.last_event_seq, want.last_event_seq, "{at}: snapshot last event");
        super::log::check_log(
            at,
            (&m.log, m.trimmed),
            &m.checkpoints,
            &CHECKPOINTS,
            |after, limit| s.events_after(after, limit).unwrap(),
            |name| s.get_checkpoint(name).unwrap(),
        );
        // Lookups by every ID the actions use: exact, by unique prefix, or the error the model
        // predicts (not found, ambiguous).
        for (i, id) in JOB_IDS.iter().enumerate() {
            let k = m.job(i);
            same(s.get_job(id), k.map(|k| m.job_record(k)), &format!("{at}: job {id}"));
            same(
                s.get_job_history(id, &Default::default()).map(|p| p.items),
                k.map(|k| m.jobs[&k].history.clone()),
                &format!("{at}: history of {id}"),
            );
            same(
                s.get_evaluations(id),
                k.map(|k| m.evals.iter().filter(|(_, j)| **j == k).map(|(e, _)| m.eval_record(*e)).collect()),
                &format!("{at}: evaluations of {id}"),
            );
            same(
                s.get_executions(&GetExecutionsOptions { job_id: Some(id.to_string()), ..Default::default() }),
                k.map(|k| m.execs.iter().filter(|(_, e)| e.job == k).map(|(x, _)| m.exec_record(*x)).collect()),
                &format!("{at}: executions of {id}"),
            );
        }
        for (i, id) in EXEC_IDS.iter().enumerate() {
            same(s.get_execution(id), m.exec(i).map(|k| m.exec_record(k)), &format!("{at}: execution {id}"));
        }
        for (i, id) in EVAL_IDS.iter().enumerate() {
            same(s.get_evaluation(id), m.eval(i).map(|k| m.eval_record(k)), &format!("{at}: evaluation {id}"));
        }
        let mut want: Vec<Job> =
            m.jobs.iter().filter(|(_, j)| !j.state.is_terminal()).map(|(k, _)| m.job_record(*k)).collect();
        want.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(s.get_in_progress_jobs().unwrap(), want, "{at}: jobs in progress");
        for (n, ns) in NAMESPACES.iter().enumerate() {
            let q = JobQuery { namespace: ns.to_string(), ..Default::default() };
            assert_eq!(s.get_jobs(&q).unwrap().items, m.jobs_by_creation(|j| j.ns == n), "{at}: namespace {ns}");
        }
        let q = JobQuery { include_tags: vec!["gpu".into()], limit: 1, ..Default::default() };
        let mut got = Vec::new();
        let mut page = s.get_jobs(&q).unwrap();
        loop {
            got.append(&mut page.items);
            match page.next_token.take() {
                Some(t) => page = s.get_jobs(&JobQuery { next_token: Some(t), ..q.clone() }).unwrap(),
                None => break,
            }
        }
        assert_eq!(got, m.jobs_by_creation(|j| j.gpu), "{at}: tag gpu, paged by one");
        for (n, node) in NODES.iter().enumerate() {
            let want: Vec<Execution> =
                m.execs.iter().filter(|(_, e)| e.node == n).map(|(k, _)| m.exec_record(*k)).collect();
            let got = s
                .get_executions(&GetExecutionsOptions { node_id: Some(node.to_string()), ..Default::default() })
                .unwrap();
            assert_eq!(got, want, "{at}: executions on {node}");
        }
        // In progress: neither terminal nor meant to stop.
        let want: Vec<Execution> = m
            .execs
            .iter()
            .filter(|(_, e)| !e.compute.is_terminal() && e.desired != D::Stopped)
            .map(|(k, _)| m.exec_record(*k))
            .collect();
        let got = s.get_executions(&GetExecutionsOptions { in_progress_only: true, ..Default::default() }).unwrap();
        assert_eq!(got, want, "{at}: executions in progress");
        let report = s.check().unwrap();
        assert!(report.problems.is_empty(), "{at}: {:?}", report.problems);
    }};
}

/// Runs `actions` on the store `open` makes (with the model's builder) and on the model,
/// comparing after every step, and inside a transaction after every action of it.
pub fn run<B: Backend>(open: impl FnOnce(StoreBuilder) -> JobStore<B>, actions: &[Action]) {
    // Time stands still within an action and moves on between actions, so the model knows
    // every time the store writes without knowing how often the store reads its clock.
    let clock = Arc::new(ManualClock::new(0));
    let store = open(StoreBuilder::new().policy(Policy::Permissive).clock(clock.clone()));
    let mut now = 0;
    let mut tick = || {
        now += 1_000;
        clock.set(now);
        now
    };
    let mut model = Model::default();
    for (step, a) in actions.iter().enumerate() {
        match a {
            Action::Txn { actions, rollback } => {
                let mut shadow = model.clone();
                let r: Result<(), Box<dyn std::error::Error>> = store.transaction(|tx| {
                    for (i, a) in actions.iter().enumerate() {
                        let now = tick();
                        let want = shadow.apply(a, now);
                        assert_eq!(code(apply_leaf!(tx, a)), want, "step {step}.{i}: nested {a:?}");
                        compare!(&*tx, &shadow, &format!("step {step}.{i} (in a transaction)"));
                    }
                    if *rollback {
                        Err("rollback".into())
                    } else {
                        Ok(())
                    }
                });
                assert_eq!(r.is_err(), *rollback);
                if !rollback {
                    model = shadow;
                }
            }
            leaf => {
                let want = model.apply(leaf, tick());
                assert_eq!(code(apply_leaf!(store, leaf)), want, "step {step}: {leaf:?}");
            }
        }
        compare!(&store, &model, &format!("step {step}"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(96), ..ProptestConfig::default() })]
    #[test]
    fn job_store_on_memory_agrees_with_the_model(actions in prop::collection::vec(action(), 1..60)) {
        run(|b| b.jobs(MemoryBackend::new()), &actions);
    }
}

#[cfg(feature = "redb")]
proptest! {
    #![proptest_config(ProptestConfig { cases: cases(16), ..ProptestConfig::default() })]
    #[test]
    fn job_store_on_redb_agrees_with_the_model(actions in prop::collection::vec(action(), 1..40)) {
        use bacalhau_state::kv::{redb::{RedbBackend, RedbOptions}, StoreKind};
        let dir = tempfile::tempdir().unwrap();
        let backend = RedbBackend::open(&dir.path().join("j.redb"), StoreKind::Requester, &RedbOptions::default()).unwrap();
        run(|b| b.jobs(backend), &actions);
    }
}
