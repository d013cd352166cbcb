//! Compute store vs model.

use std::collections::{BTreeMap, BTreeSet};

use bacalhau_state::clock::ManualClock;
use bacalhau_state::event::EventObject;
use bacalhau_state::kv::{memory::MemoryBackend, Backend};
use bacalhau_state::model::{Execution, LocalExecutionState};
use bacalhau_state::state::LocalExecutionStateType as L;
use bacalhau_state::time::Timestamp;
use bacalhau_state::{ComputeError, ExecutionStore, Policy, StoreBuilder, UpdateExecutionStateRequest};
use proptest::prelude::*;

const IDS: [&str; 5] = ["e1", "e10", "e2", "e3", "e4"];
const JOBS: [&str; 3] = ["j1", "j2", "j3"];

#[derive(Clone, Debug)]
pub enum Action {
    Create {
        id: usize,
        job: usize,
        pre_approved: bool,
    },
    Update {
        id: usize,
        to: L,
        expect: Option<L>,
        expect_version: u64,
    },
    Delete {
        id: usize,
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

fn state() -> impl Strategy<Value = L> {
    prop::sample::select(L::ALL.to_vec())
}

fn leaf() -> impl Strategy<Value = Action> {
    prop_oneof![
        2 => (0..IDS.len(), 0..JOBS.len(), any::<bool>()).prop_map(|(id, job, pre_approved)| Action::Create { id, job, pre_approved }),
        4 => (0..IDS.len(), state(), prop::option::of(state()), 0u64..4)
            .prop_map(|(id, to, expect, expect_version)| Action::Update { id, to, expect, expect_version }),
        1 => (0..IDS.len()).prop_map(|id| Action::Delete { id }),
        1 => (0u64..6).prop_map(|back| Action::Trim { back }),
    ]
}

pub fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        8 => leaf(),
        1 => (prop::collection::vec(leaf(), 1..5), any::<bool>()).prop_map(|(actions, rollback)| Action::Txn { actions, rollback }),
    ]
}

#[derive(Clone, Debug, Default)]
struct Rec {
    job: usize,
    state: L,
    version: u64,
    history: usize,
}

/// What an event shows: (ID, job, state, version) of the record after the change (before, for a
/// deletion).
type Shown = (usize, usize, L, u64);

#[derive(Clone, Debug, Default)]
struct Model {
    recs: BTreeMap<usize, Rec>,
    events: u64,
    /// Every event ever appended, numbered from 1.
    log: Vec<Shown>,
    /// Events up to this number are trimmed.
    trimmed: u64,
}

impl Model {
    /// Exact ID first, then a unique prefix: the store's rule, stated independently.
    fn resolve(&self, id: usize) -> Result<usize, &'static str> {
        if self.recs.contains_key(&id) {
            return Ok(id);
        }
        let m: Vec<usize> = self.recs.keys().filter(|k| IDS[**k].starts_with(IDS[id])).copied().collect();
        match m.len() {
            0 => Err("ExecutionNotFound"),
            1 => Ok(m[0]),
            _ => Err("AmbiguousId"),
        }
    }

    fn append(&mut self, shown: Shown) {
        self.log.push(shown);
        self.events += 1;
    }

    /// The expected error code of `a`, applying it when it succeeds.
    fn apply(&mut self, a: &Action) -> Option<&'static str> {
        match *a {
            Action::Create { id, job, pre_approved } => {
                if self.recs.contains_key(&id) {
                    return Some("ExecutionAlreadyExists");
                }
                let state = if pre_approved { L::BidAccepted } else { L::Created };
                self.recs.insert(id, Rec { job, state, version: 1, history: 1 });
                self.append((id, job, state, 1));
                None
            }
            Action::Update { id, to, expect, expect_version } => {
                let id = match self.resolve(id) {
                    Ok(id) => id,
                    Err(code) => return Some(code),
                };
                let r = self.recs.get_mut(&id).expect("resolved");
                if expect.is_some_and(|e| e != r.state) {
                    return Some("InvalidState");
                }
                if expect_version != 0 && expect_version != r.version {
                    return Some("RevisionMismatch");
                }
                if r.state.is_terminal() {
                    return Some("AlreadyTerminal");
                }
                if to == L::Undefined {
                    return Some("InvalidTransition");
                }
                r.state = to;
                r.version += 1;
                r.history += 1;
                let shown = (id, r.job, r.state, r.version);
                self.append(shown);
                None
            }
            Action::Delete { id } => {
                let (id, r) = match self.resolve(id) {
                    Ok(id) => (id, self.recs.remove(&id).expect("resolved")),
                    Err(code) => return Some(code),
                };
                self.append((id, r.job, r.state, r.version));
                None
            }
            Action::Trim { back } => {
                self.trimmed = self.trimmed.max(self.events.saturating_sub(back));
                None
            }
            Action::Txn { .. } => unreachable!("transactions are applied by the runner"),
        }
    }
}

fn record(id: usize, job: usize, pre_approved: bool) -> LocalExecutionState {
    let exec =
        Execution { id: IDS[id].into(), job_id: JOBS[job].into(), namespace: "default".into(), ..Default::default() };
    let mut s = LocalExecutionState::new(exec, "requester", Timestamp::from_unix_nanos(1));
    if pre_approved {
        s.state = L::BidAccepted;
    }
    s
}

macro_rules! apply_leaf {
    ($target:expr, $a:expr) => {
        match *$a {
            Action::Create { id, job, pre_approved } => {
                $target.create_execution(record(id, job, pre_approved)).map(drop)
            }
            Action::Update { id, to, expect, expect_version } => {
                let mut req = UpdateExecutionStateRequest::new(IDS[id], to).expecting_version(expect_version);
                if let Some(e) = expect {
                    req = req.expecting(&[e]);
                }
                $target.update_execution_state(req).map(drop)
            }
            Action::Delete { id } => $target.delete_execution(IDS[id]),
            Action::Trim { back } => match $target.stats() {
                Ok(s) => $target.trim_events(s.last_event_seq.saturating_sub(back)).map(drop),
                Err(e) => Err(e),
            },
            Action::Txn { .. } => unreachable!(),
        }
    };
}

fn code(r: Result<(), ComputeError>) -> Option<&'static str> {
    r.err().map(|e| e.code())
}

fn compare<B: Backend>(store: &ExecutionStore<B>, model: &Model, step: usize) {
    let stats = store.stats().unwrap();
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for r in model.recs.values() {
        *counts.entry(r.state.name().into()).or_default() += 1;
    }
    assert_eq!(stats.counts, counts, "step {step}: counts");
    assert_eq!(stats.last_event_seq, model.events, "step {step}: events");
    // Every kept event shows its own incarnation of the record (IDs are reused with other jobs
    // after deletions), whatever the backend keeps on disk.
    let shown: Vec<(u64, String, String, L, u64)> = store
        .events_after(0, 0)
        .unwrap()
        .into_iter()
        .map(|e| match e.object {
            EventObject::LocalExecution(r) => {
                (e.seq_num, r.id().to_string(), r.job_id().to_string(), r.state, r.version)
            }
            other => panic!("step {step}: {other:?}"),
        })
        .collect();
    let want: Vec<(u64, String, String, L, u64)> = (model.trimmed + 1..)
        .zip(&model.log[model.trimmed as usize..])
        .map(|(seq, &(id, job, state, version))| (seq, IDS[id].to_string(), JOBS[job].to_string(), state, version))
        .collect();
    assert_eq!(shown, want, "step {step}: events");
    for (i, id) in IDS.iter().enumerate() {
        match (store.get_execution(id), model.resolve(i).ok().and_then(|i| model.recs.get(&i))) {
            (Ok(s), Some(r)) => {
                assert_eq!((s.state, s.version, s.job_id()), (r.state, r.version, JOBS[r.job]), "step {step}: {id}");
                let h = store.get_execution_history(id, &Default::default()).unwrap();
                assert_eq!(h.items.len(), r.history, "step {step}: history of {id}");
            }
            (Err(e), None) => {
                assert!(matches!(e, ComputeError::ExecutionNotFound { .. } | ComputeError::AmbiguousId { .. }))
            }
            (got, want) => panic!("step {step}: {id}: store {got:?} vs model {want:?}"),
        }
    }
    for (j, job) in JOBS.iter().enumerate() {
        let want: BTreeSet<&str> = model.recs.iter().filter(|(_, r)| r.job == j).map(|(i, _)| IDS[*i]).collect();
        let got: BTreeSet<String> = match store.get_executions(job) {
            Ok(v) => v.iter().map(|s| s.id().to_string()).collect(),
            Err(ComputeError::ExecutionsNotFoundForJob { .. }) => BTreeSet::new(),
            Err(e) => panic!("step {step}: {e}"),
        };
        assert_eq!(got.iter().map(String::as_str).collect::<BTreeSet<_>>(), want, "step {step}: executions of {job}");
    }
    let live: BTreeSet<String> = store.get_live_executions().unwrap().iter().map(|s| s.id().to_string()).collect();
    let want: BTreeSet<String> =
        model.recs.iter().filter(|(_, r)| r.state.is_executing()).map(|(i, _)| IDS[*i].to_string()).collect();
    assert_eq!(live, want, "step {step}: live");
    let report = store.check().unwrap();
    assert!(report.problems.is_empty(), "step {step}: {:?}", report.problems);
}

pub fn run<B: Backend>(store: ExecutionStore<B>, actions: &[Action]) {
    let mut model = Model::default();
    for (step, a) in actions.iter().enumerate() {
        match a {
            Action::Txn { actions, rollback } => {
                let mut shadow = model.clone();
                let mut expected = Vec::new();
                let r: Result<(), Box<dyn std::error::Error>> = store.transaction(|tx| {
                    for a in actions {
                        let want = shadow.apply(a);
                        let got = code(apply_leaf!(tx, a));
                        expected.push((want, got));
                    }
                    if *rollback {
                        Err("rollback".into())
                    } else {
                        Ok(())
                    }
                });
                for (want, got) in expected {
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
    fn compute_store_on_memory_agrees_with_the_model(actions in prop::collection::vec(action(), 1..60)) {
        run(builder().compute(MemoryBackend::new()), &actions);
    }
}

#[cfg(feature = "redb")]
proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]
    #[test]
    fn compute_store_on_redb_agrees_with_the_model(actions in prop::collection::vec(action(), 1..40)) {
        use bacalhau_state::kv::{redb::{RedbBackend, RedbOptions}, StoreKind};
        let dir = tempfile::tempdir().unwrap();
        let backend = RedbBackend::open(&dir.path().join("c.redb"), StoreKind::Compute, &RedbOptions::default()).unwrap();
        run(builder().compute(backend), &actions);
    }
}
