//! Job store vs model.

use std::collections::{BTreeMap, BTreeSet};

use bacalhau_state::clock::ManualClock;
use bacalhau_state::jobstore::{
    ExecutionPatch, GetExecutionsOptions, JobQuery, UpdateExecutionRequest, UpdateJobStateRequest,
};
use bacalhau_state::kv::{memory::MemoryBackend, Backend};
use bacalhau_state::model::{Evaluation, Execution, Job, Task};
use bacalhau_state::state::{ExecutionDesiredStateType as D, ExecutionStateType as X, JobStateType as J};
use bacalhau_state::{JobStore, JobStoreError, Policy, StoreBuilder};
use proptest::prelude::*;

const JOB_IDS: [&str; 4] = ["j1", "j10", "j2", "team/j3"];
const EXEC_IDS: [&str; 5] = ["e1", "e10", "e2", "e3", "e4"];
const EVAL_IDS: [&str; 3] = ["v1", "v2", "v3"];
const NAMESPACES: [&str; 2] = ["default", "a/b"];
const NODES: [&str; 2] = ["n1", "n2"];

#[derive(Clone, Debug)]
pub enum Action {
    CreateJob { id: usize, ns: usize, gpu: bool },
    UpdateJob { id: usize, to: J },
    DeleteJob { id: usize },
    CreateExec { id: usize, job: usize, node: usize },
    UpdateExec { id: usize, compute: Option<X>, desired: Option<D>, node: Option<usize> },
    CreateEval { id: usize, job: usize },
    DeleteEval { id: usize },
    Txn { actions: Vec<Action>, rollback: bool },
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
    ]
}

pub fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        8 => leaf(),
        1 => (prop::collection::vec(leaf(), 1..5), any::<bool>()).prop_map(|(actions, rollback)| Action::Txn { actions, rollback }),
    ]
}

#[derive(Clone, Debug)]
struct MJob {
    ns: usize,
    gpu: bool,
    state: J,
    revision: u64,
    created: u64,
    history: usize,
}

#[derive(Clone, Debug)]
struct MExec {
    job: usize,
    node: usize,
    compute: X,
    desired: D,
    revision: u64,
}

#[derive(Clone, Debug, Default)]
struct Model {
    jobs: BTreeMap<usize, MJob>,
    execs: BTreeMap<usize, MExec>,
    evals: BTreeMap<usize, usize>,
    events: u64,
    creations: u64,
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

    fn apply(&mut self, a: &Action) -> Option<&'static str> {
        match *a {
            Action::CreateJob { id, ns, gpu } => {
                if self.jobs.contains_key(&id) {
                    return Some("JobAlreadyExists");
                }
                self.creations += 1;
                self.jobs
                    .insert(id, MJob { ns, gpu, state: J::Pending, revision: 1, created: self.creations, history: 1 });
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
                j.state = to;
                j.revision += 1;
                j.history += 1;
            }
            Action::DeleteJob { id } => {
                let id = match self.job(id) {
                    Ok(id) => id,
                    Err(c) => return Some(c),
                };
                self.jobs.remove(&id);
                let before = self.execs.len() + self.evals.len();
                self.execs.retain(|_, e| e.job != id);
                self.evals.retain(|_, j| *j != id);
                self.events += (before - self.execs.len() - self.evals.len()) as u64;
            }
            Action::CreateExec { id, job, node } => {
                let job = match self.job(job) {
                    Ok(j) => j,
                    Err(c) => return Some(c),
                };
                if self.execs.contains_key(&id) {
                    return Some("ExecutionAlreadyExists");
                }
                self.execs.insert(id, MExec { job, node, compute: X::New, desired: D::Pending, revision: 1 });
                self.jobs.get_mut(&job).expect("exists").history += 1;
            }
            Action::UpdateExec { id, compute, desired, node } => {
                let id = match resolve(&self.execs, &EXEC_IDS, id, "ExecutionNotFound") {
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
                e.compute = compute.unwrap_or(e.compute);
                e.desired = desired.unwrap_or(e.desired);
                e.node = node.unwrap_or(e.node);
                e.revision += 1;
                let job = e.job;
                self.jobs.get_mut(&job).expect("exists").history += 1;
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
            }
            Action::DeleteEval { id } => {
                let id = match resolve(&self.evals, &EVAL_IDS, id, "EvaluationNotFound") {
                    Ok(id) => id,
                    Err(c) => return Some(c),
                };
                self.evals.remove(&id);
            }
            Action::Txn { .. } => unreachable!("transactions are applied by the runner"),
        }
        self.events += 1;
        None
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

macro_rules! apply_leaf {
    ($t:expr, $a:expr) => {
        match *$a {
            Action::CreateJob { id, ns, gpu } => $t.create_job(job(id, ns, gpu)).map(drop),
            Action::UpdateJob { id, to } => $t.update_job_state(UpdateJobStateRequest::new(JOB_IDS[id], to)).map(drop),
            Action::DeleteJob { id } => $t.delete_job(JOB_IDS[id]),
            Action::CreateExec { id, job, node } => $t
                .create_execution(Execution {
                    id: EXEC_IDS[id].into(),
                    job_id: JOB_IDS[job].into(),
                    node_id: NODES[node].into(),
                    compute_state: bacalhau_state::model::State::new(X::New),
                    ..Default::default()
                })
                .map(drop),
            Action::UpdateExec { id, compute, desired, node } => {
                let patch = ExecutionPatch {
                    compute_state: compute,
                    desired_state: desired,
                    node_id: node.map(|n| NODES[n].to_string()),
                    ..Default::default()
                };
                $t.update_execution(UpdateExecutionRequest::new(EXEC_IDS[id], patch)).map(drop)
            }
            Action::CreateEval { id, job } => $t
                .create_evaluation(Evaluation {
                    id: EVAL_IDS[id].into(),
                    job_id: JOB_IDS[job].into(),
                    ..Default::default()
                })
                .map(drop),
            Action::DeleteEval { id } => $t.delete_evaluation(EVAL_IDS[id]),
            Action::Txn { .. } => unreachable!(),
        }
    };
}

fn code(r: Result<(), JobStoreError>) -> Option<&'static str> {
    r.err().map(|e| e.code())
}

fn ids<T>(v: &[T], f: impl Fn(&T) -> &str) -> Vec<String> {
    v.iter().map(|x| f(x).to_string()).collect()
}

fn compare<B: Backend>(store: &JobStore<B>, m: &Model, step: usize) {
    let stats = store.stats().unwrap();
    let mut jc: BTreeMap<String, u64> = BTreeMap::new();
    for j in m.jobs.values() {
        *jc.entry(j.state.name().into()).or_default() += 1;
    }
    let mut ec: BTreeMap<String, u64> = BTreeMap::new();
    for e in m.execs.values() {
        *ec.entry(e.compute.name().into()).or_default() += 1;
    }
    assert_eq!((stats.jobs, stats.executions), (jc, ec), "step {step}: counts");
    assert_eq!(stats.last_event_seq, m.events, "step {step}: events");
    for (i, id) in JOB_IDS.iter().enumerate() {
        if let Some(j) = m.jobs.get(&i) {
            let got = store.get_job(id).unwrap();
            assert_eq!((got.state.state_type, got.revision), (j.state, j.revision), "step {step}: job {id}");
            let h = store.get_job_history(id, &Default::default()).unwrap();
            assert_eq!(h.items.len(), j.history, "step {step}: history of {id}");
            let want: Vec<&str> = m.execs.iter().filter(|(_, e)| e.job == i).map(|(k, _)| EXEC_IDS[*k]).collect();
            let got = store
                .get_executions(&GetExecutionsOptions { job_id: Some(id.to_string()), ..Default::default() })
                .unwrap();
            assert_eq!(ids(&got, |e| &e.id), want, "step {step}: executions of {id}");
            let want: BTreeSet<&str> = m.evals.iter().filter(|(_, j)| **j == i).map(|(k, _)| EVAL_IDS[*k]).collect();
            let got = store.get_evaluations(id).unwrap();
            assert_eq!(
                ids(&got, |e| &e.id).iter().map(String::as_str).collect::<BTreeSet<_>>(),
                want,
                "step {step}: evals"
            );
        }
    }
    let want: Vec<&str> = m.jobs.iter().filter(|(_, j)| !j.state.is_terminal()).map(|(k, _)| JOB_IDS[*k]).collect();
    let mut want: Vec<&str> = want;
    want.sort();
    assert_eq!(ids(&store.get_in_progress_jobs().unwrap(), |j| &j.id), want, "step {step}: in progress");
    for (n, ns) in NAMESPACES.iter().enumerate() {
        let mut want: Vec<(u64, &str)> =
            m.jobs.iter().filter(|(_, j)| j.ns == n).map(|(k, j)| (j.created, JOB_IDS[*k])).collect();
        want.sort();
        let want: Vec<&str> = want.into_iter().map(|(_, id)| id).collect();
        let q = JobQuery { namespace: ns.to_string(), ..Default::default() };
        assert_eq!(ids(&store.get_jobs(&q).unwrap().items, |j| &j.id), want, "step {step}: namespace {ns}");
    }
    let mut want: Vec<(u64, &str)> =
        m.jobs.iter().filter(|(_, j)| j.gpu).map(|(k, j)| (j.created, JOB_IDS[*k])).collect();
    want.sort();
    let want: Vec<&str> = want.into_iter().map(|(_, id)| id).collect();
    let q = JobQuery { include_tags: vec!["gpu".into()], limit: 1, ..Default::default() };
    let mut got = Vec::new();
    let mut page = store.get_jobs(&q).unwrap();
    loop {
        got.extend(ids(&page.items, |j| &j.id));
        match page.next_token.take() {
            Some(t) => page = store.get_jobs(&JobQuery { next_token: Some(t), ..q.clone() }).unwrap(),
            None => break,
        }
    }
    assert_eq!(got, want, "step {step}: tag gpu, paged by one");
    for (n, node) in NODES.iter().enumerate() {
        let want: Vec<&str> = m.execs.iter().filter(|(_, e)| e.node == n).map(|(k, _)| EXEC_IDS[*k]).collect();
        let got = store
            .get_executions(&GetExecutionsOptions { node_id: Some(node.to_string()), ..Default::default() })
            .unwrap();
        assert_eq!(ids(&got, |e| &e.id), want, "step {step}: node {node}");
    }
    let report = store.check().unwrap();
    assert!(report.problems.is_empty(), "step {step}: {:?}", report.problems);
}

pub fn run<B: Backend>(store: JobStore<B>, actions: &[Action]) {
    let mut model = Model::default();
    for (step, a) in actions.iter().enumerate() {
        match a {
            Action::Txn { actions, rollback } => {
                let mut shadow = model.clone();
                let mut outcomes = Vec::new();
                let r: Result<(), Box<dyn std::error::Error>> = store.transaction(|tx| {
                    for a in actions {
                        outcomes.push((shadow.apply(a), code(apply_leaf!(tx, a)), a.clone()));
                    }
                    if *rollback {
                        Err("rollback".into())
                    } else {
                        Ok(())
                    }
                });
                for (want, got, a) in outcomes {
                    assert_eq!(got, want, "step {step}: nested {a:?}");
                }
                assert_eq!(r.is_err(), *rollback);
                if !rollback {
                    model = shadow;
                }
            }
            leaf => {
                let want = model.apply(leaf);
                assert_eq!(code(apply_leaf!(store, leaf)), want, "step {step}: {leaf:?}");
            }
        }
        compare(&store, &model, step);
    }
}

fn builder() -> StoreBuilder {
    StoreBuilder::new().policy(Policy::Permissive).clock(ManualClock::stepping(1_000, 1_000))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]
    #[test]
    fn job_store_on_memory_agrees_with_the_model(actions in prop::collection::vec(action(), 1..60)) {
        run(builder().jobs(MemoryBackend::new()), &actions);
    }
}

#[cfg(feature = "redb")]
proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]
    #[test]
    fn job_store_on_redb_agrees_with_the_model(actions in prop::collection::vec(action(), 1..40)) {
        use bacalhau_state::kv::{redb::{RedbBackend, RedbOptions}, StoreKind};
        let dir = tempfile::tempdir().unwrap();
        let backend = RedbBackend::open(&dir.path().join("j.redb"), StoreKind::Requester, &RedbOptions::default()).unwrap();
        run(builder().jobs(backend), &actions);
    }
}
