//! Compute store vs model.

use std::collections::BTreeMap;
use std::sync::Arc;

use bacalhau_state::clock::ManualClock;
use bacalhau_state::compute::{ComputeSnapshot, CREATED_COMMENT};
use bacalhau_state::event::{Event, EventObject, Operation};
use bacalhau_state::kv::{memory::MemoryBackend, Backend};
use bacalhau_state::model::{Execution, LocalExecutionState, LocalStateHistory};
use bacalhau_state::state::LocalExecutionStateType as L;
use bacalhau_state::time::Timestamp;
use bacalhau_state::{ComputeError, ExecutionStore, PageRequest, Policy, StoreBuilder, UpdateExecutionStateRequest};
use proptest::prelude::*;

// Declared once by the including crate root (tests/model.rs, fuzz/src/lib.rs).
use super::cases::cases;

// In key order; "e1" is a prefix of the next two, so a lookup by it is exact, a unique prefix
// or ambiguous depending on which records exist.
const IDS: [&str; 5] = ["e1", "e10", "e11", "e2", "e3"];
const JOBS: [&str; 3] = ["j1", "j2", "j3"];
const CHECKPOINTS: [&str; 2] = ["indexer", "watcher"];

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
    /// Sets a consumer checkpoint (any number: the store does not check it against the log).
    Checkpoint {
        name: usize,
        seq: u64,
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
        1 => (0..CHECKPOINTS.len(), 0u64..40).prop_map(|(name, seq)| Action::Checkpoint { name, seq }),
    ]
}

pub fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        8 => leaf(),
        1 => (prop::collection::vec(leaf(), 1..5), any::<bool>()).prop_map(|(actions, rollback)| Action::Txn { actions, rollback }),
    ]
}

/// A record as the model knows it: what the store must hold for it, and its history so far.
#[derive(Clone, Debug)]
struct Rec {
    job: usize,
    pre_approved: bool,
    state: L,
    version: u64,
    updated: Timestamp,
    history: Vec<LocalStateHistory>,
}

#[derive(Clone, Debug, Default)]
struct Model {
    recs: BTreeMap<usize, Rec>,
    /// Every event ever appended; event `n` is `log[n - 1]`.
    log: Vec<Event>,
    /// Events up to this number are trimmed.
    trimmed: u64,
    checkpoints: BTreeMap<usize, u64>,
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

    /// The record the store must hold for `k`.
    fn record(&self, k: usize) -> LocalExecutionState {
        let r = &self.recs[&k];
        LocalExecutionState {
            state: r.state,
            version: r.version,
            update_time: r.updated,
            ..record(k, r.job, r.pre_approved)
        }
    }

    fn event(&mut self, operation: Operation, timestamp: i64, k: usize) {
        let object = EventObject::LocalExecution(self.record(k));
        self.log.push(Event { seq_num: self.log.len() as u64 + 1, operation, timestamp, object });
    }

    /// The expected error code of `a` at time `now`, applying it when it succeeds.
    fn apply(&mut self, a: &Action, now: i64) -> Option<&'static str> {
        match *a {
            Action::Create { id, job, pre_approved } => {
                if self.recs.contains_key(&id) {
                    return Some("ExecutionAlreadyExists");
                }
                // The caller's record carries its own times; the store keeps them.
                let r = record(id, job, pre_approved);
                let created = LocalStateHistory {
                    execution_id: IDS[id].into(),
                    previous_state: L::Undefined,
                    new_state: r.state,
                    new_version: 1,
                    comment: CREATED_COMMENT.into(),
                    time: r.update_time,
                };
                let rec = Rec {
                    job,
                    pre_approved,
                    state: r.state,
                    version: 1,
                    updated: r.update_time,
                    history: vec![created],
                };
                self.recs.insert(id, rec);
                self.event(Operation::Create, now, id);
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
                let time = Timestamp::from_unix_nanos(now);
                r.history.push(LocalStateHistory {
                    execution_id: IDS[id].into(),
                    previous_state: r.state,
                    new_state: to,
                    new_version: r.version + 1,
                    comment: String::new(),
                    time,
                });
                r.state = to;
                r.version += 1;
                r.updated = time;
                self.event(Operation::Update, now, id);
            }
            Action::Delete { id } => {
                let id = match self.resolve(id) {
                    Ok(id) => id,
                    Err(code) => return Some(code),
                };
                // The event shows the record as it was.
                self.event(Operation::Delete, now, id);
                self.recs.remove(&id);
            }
            Action::Trim { back } => {
                self.trimmed = self.trimmed.max((self.log.len() as u64).saturating_sub(back));
            }
            Action::Checkpoint { name, seq } => {
                self.checkpoints.insert(name, seq);
            }
            Action::Txn { .. } => unreachable!("transactions are applied by the runner"),
        }
        None
    }

    /// Records ordered as the job and live queries return them: by update time, then ID.
    fn by_update_time(&self, keep: impl Fn(&Rec) -> bool) -> Vec<LocalExecutionState> {
        let mut out: Vec<LocalExecutionState> =
            self.recs.iter().filter(|(_, r)| keep(r)).map(|(k, _)| self.record(*k)).collect();
        out.sort_by(|a, b| (a.update_time, a.id()).cmp(&(b.update_time, b.id())));
        out
    }

    /// What a snapshot of the store must hold.
    fn snapshot(&self) -> ComputeSnapshot {
        ComputeSnapshot {
            executions: self.recs.keys().map(|&k| self.record(k)).collect(),
            history: self
                .recs
                .iter()
                .flat_map(|(k, r)| r.history.iter().zip(1..).map(|(h, seq)| (IDS[*k].to_string(), seq, h.clone())))
                .collect(),
            events: self.log[self.trimmed as usize..].to_vec(),
            checkpoints: self.checkpoints.iter().map(|(n, s)| (CHECKPOINTS[*n].to_string(), *s)).collect(),
            last_event_seq: self.log.len() as u64,
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
            Action::Checkpoint { name, seq } => $target.checkpoint(CHECKPOINTS[name], seq),
            Action::Txn { .. } => unreachable!(),
        }
    };
}

fn code(r: Result<(), ComputeError>) -> Option<&'static str> {
    r.err().map(|e| e.code())
}

/// The store's answer for a lookup the model resolves to `want` (a value or an error code).
fn same<T: PartialEq + std::fmt::Debug>(got: Result<T, ComputeError>, want: Result<T, &'static str>, at: &str) {
    match (got, want) {
        (Ok(g), Ok(w)) => assert_eq!(g, w, "{at}"),
        (Err(e), Err(c)) => assert_eq!(e.code(), c, "{at}: {e}"),
        (g, w) => panic!("{at}: store {g:?} vs model {w:?}"),
    }
}

/// Compares everything a reader can see, on the store or inside a transaction, with the model:
/// counts, every record field by field, every index, history and events by content (operation
/// included), checkpoints, and the store's own consistency check.
macro_rules! compare {
    ($s:expr, $m:expr, $at:expr) => {{
        let (s, m, at): (_, &Model, &str) = ($s, $m, $at);
        let stats = s.stats().unwrap();
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for r in m.recs.values() {
            *counts.entry(r.state.name().into()).or_default() += 1;
        }
        assert_eq!(stats.counts, counts, "{at}: counts");
        assert_eq!(stats.total, m.recs.len() as u64, "{at}: total");
        assert_eq!(stats.last_event_seq, m.log.len() as u64, "{at}: last event");
        for &st in L::ALL {
            let want = counts.get(st.name()).copied().unwrap_or(0);
            assert_eq!(s.get_execution_count(st).unwrap(), want, "{at}: {st:?} count");
        }
        let want = m.snapshot();
        let snap = s.snapshot().unwrap();
        assert_eq!(snap.executions, want.executions, "{at}: records");
        assert_eq!(snap.history, want.history, "{at}: history");
        assert_eq!(snap.events, want.events, "{at}: snapshot events");
        assert_eq!(snap.checkpoints, want.checkpoints, "{at}: checkpoints");
        assert_eq!(snap.last_event_seq, want.last_event_seq, "{at}: snapshot last event");
        // Every kept event shows its own incarnation of the record (IDs are reused with other
        // jobs after deletions), whatever the backend keeps on disk.
        super::log::check_log(
            at,
            (&m.log, m.trimmed),
            &m.checkpoints,
            &CHECKPOINTS,
            |after, limit| s.events_after(after, limit).unwrap(),
            |name| s.get_checkpoint(name).unwrap(),
        );
        // Lookups by every ID the actions use: exact, by unique prefix, or the error the model
        // predicts (a missing history is its own code).
        for (i, id) in IDS.iter().enumerate() {
            let k = m.resolve(i);
            same(s.get_execution(id), k.map(|k| m.record(k)), &format!("{at}: {id}"));
            let history = k.map(|k| m.recs[&k].history.clone()).map_err(|c| {
                if c == "ExecutionNotFound" {
                    "ExecutionHistoryNotFound"
                } else {
                    c
                }
            });
            same(
                s.get_execution_history(id, &PageRequest::default()).map(|p| p.items),
                history,
                &format!("{at}: history of {id}"),
            );
        }
        for (j, job) in JOBS.iter().enumerate() {
            let want = m.by_update_time(|r| r.job == j);
            let want = if want.is_empty() { Err("ExecutionsNotFoundForJob") } else { Ok(want) };
            same(s.get_executions(job), want.clone(), &format!("{at}: executions of {job}"));
            // The active one is the most recently updated active record.
            let active = want.map(|w| w.into_iter().rev().find(|r| r.state.is_active()));
            same(s.get_active_execution(job), active, &format!("{at}: active execution of {job}"));
        }
        assert_eq!(s.get_live_executions().unwrap(), m.by_update_time(|r| r.state.is_executing()), "{at}: live");
        let mut listed = Vec::new();
        let mut req = PageRequest { limit: 2, next_token: None };
        loop {
            let mut page = s.list_executions(&req).unwrap();
            listed.append(&mut page.items);
            match page.next_token {
                Some(t) => req.next_token = Some(t),
                None => break,
            }
        }
        assert_eq!(listed, want.executions, "{at}: listed by two");
        let report = s.check().unwrap();
        assert!(report.problems.is_empty(), "{at}: {:?}", report.problems);
    }};
}

/// Runs `actions` on the store `open` makes (with the model's builder) and on the model,
/// comparing after every step, and inside a transaction after every action of it.
pub fn run<B: Backend>(open: impl FnOnce(StoreBuilder) -> ExecutionStore<B>, actions: &[Action]) {
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
    fn compute_store_on_memory_agrees_with_the_model(actions in prop::collection::vec(action(), 1..60)) {
        run(|b| b.compute(MemoryBackend::new()), &actions);
    }
}

#[cfg(feature = "redb")]
proptest! {
    #![proptest_config(ProptestConfig { cases: cases(16), ..ProptestConfig::default() })]
    #[test]
    fn compute_store_on_redb_agrees_with_the_model(actions in prop::collection::vec(action(), 1..40)) {
        use bacalhau_state::kv::{redb::{RedbBackend, RedbOptions}, StoreKind};
        let dir = tempfile::tempdir().unwrap();
        let backend = RedbBackend::open(&dir.path().join("c.redb"), StoreKind::Compute, &RedbOptions::default()).unwrap();
        run(|b| b.compute(backend), &actions);
    }
}
