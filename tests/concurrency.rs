//! Concurrency (native): the stores are `Send + Sync`; threads doing conditional
//! updates on shared records lose no update and see only typed conflicts; readers never observe
//! a half-applied transaction; event sequence numbers stay gap-free and in commit order. Every
//! test runs on the memory backend and on redb.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bacalhau_state::jobstore::{ExecutionPatch, UpdateExecutionRequest};
use bacalhau_state::kv::memory::MemoryBackend;
use bacalhau_state::kv::Backend;
use bacalhau_state::model::{Execution, Job, LocalExecutionState, State, Task};
use bacalhau_state::state::{ExecutionStateType as X, LocalExecutionStateType as L};
use bacalhau_state::time::Timestamp;
use bacalhau_state::{ExecutionStore, JobStore, Policy, StoreBuilder, UpdateExecutionStateRequest};

const THREADS: usize = 8;
const OPS_PER_THREAD: usize = 60;
const SHARED: usize = 3;
/// Conflicts the conditional-update tests must see: without contention they prove nothing.
/// Threads keep going past `OPS_PER_THREAD` until there were this many, up to
/// `MAX_OPS_PER_THREAD` each (a bound on work, not on time, so a loaded machine only makes the
/// test slower).
const MIN_CONFLICTS: u64 = 20;
const MAX_OPS_PER_THREAD: usize = 20_000;
/// Reads the readers must make while the store is between the writers' first and last commit.
const MIN_READS: u64 = 20;

/// Counts a thread as running until it returns or panics.
struct Running<'a>(&'a AtomicU64);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[test]
fn stores_are_send_and_sync_on_every_backend() {
    fn check<T: Send + Sync>() {}
    check::<ExecutionStore<MemoryBackend>>();
    check::<JobStore<MemoryBackend>>();
    #[cfg(feature = "redb")]
    {
        use bacalhau_state::kv::redb::RedbBackend;
        check::<ExecutionStore<RedbBackend>>();
        check::<JobStore<RedbBackend>>();
    }
}

fn local(id: &str) -> LocalExecutionState {
    let exec = Execution { id: id.into(), job_id: "j".into(), namespace: "default".into(), ..Default::default() };
    let mut s = LocalExecutionState::new(exec, "r", Timestamp::from_unix_nanos(1));
    s.state = L::BidAccepted;
    s
}

/// Every code a conditional update may lose with: anything else is a bug.
fn is_conflict(code: &str) -> bool {
    matches!(code, "RevisionMismatch" | "InvalidState" | "AlreadyTerminal")
}

/// Threads read a shared execution, then update it expecting the version they read. The
/// permissive policy lets every live state move to any other, so conflicts are the only failure.
fn compute_conditional_updates<B: Backend + Sync>(store: ExecutionStore<B>) {
    for k in 0..SHARED {
        store.create_execution(local(&format!("e{k}"))).unwrap();
    }
    let successes: Vec<AtomicU64> = (0..SHARED).map(|_| AtomicU64::new(0)).collect();
    let conflicts = AtomicU64::new(0);
    let attempts = AtomicU64::new(0);
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let (store, successes, conflicts, attempts) = (&store, &successes, &conflicts, &attempts);
            scope.spawn(move || {
                for i in 0..MAX_OPS_PER_THREAD {
                    if i >= OPS_PER_THREAD && conflicts.load(Ordering::SeqCst) >= MIN_CONFLICTS {
                        break;
                    }
                    attempts.fetch_add(1, Ordering::SeqCst);
                    let k = (t + i) % SHARED;
                    let id = format!("e{k}");
                    let seen = store.get_execution(&id).unwrap();
                    // Give other threads the chance to update between our read and our write.
                    std::thread::yield_now();
                    let to = if seen.state == L::Running { L::BidAccepted } else { L::Running };
                    let req = UpdateExecutionStateRequest::new(&id, to)
                        .expecting_version(seen.version)
                        .with_comment(format!("t{t} i{i} from v{}", seen.version));
                    match store.update_execution_state(req) {
                        Ok(s) => {
                            assert_eq!(s.version, seen.version + 1, "a success moves exactly one version on");
                            successes[k].fetch_add(1, Ordering::SeqCst);
                        }
                        Err(e) => {
                            assert!(is_conflict(e.code()), "untyped conflict: {e}");
                            conflicts.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }
            });
        }
    });
    let mut total = 0;
    for (k, n) in successes.iter().enumerate() {
        let n = n.load(Ordering::SeqCst);
        let id = format!("e{k}");
        let s = store.get_execution(&id).unwrap();
        assert_eq!(s.version, 1 + n, "{id}: final version = 1 + successes (no lost update)");
        let history = store.get_execution_history(&id, &Default::default()).unwrap().items;
        assert_eq!(history.len() as u64, 1 + n, "{id}: every success is in the history");
        for (i, h) in history.iter().enumerate() {
            assert_eq!(h.new_version, i as u64 + 1, "{id}: history in version order");
        }
        total += n;
    }
    let conflicts = conflicts.load(Ordering::SeqCst);
    let attempts = attempts.load(Ordering::SeqCst);
    assert_eq!(total + conflicts, attempts, "every attempt either succeeded or lost with a typed conflict");
    assert!(conflicts >= MIN_CONFLICTS, "only {conflicts} conflicts in {attempts} attempts: no contention to test");
    assert_log_gap_free(store.events_after(0, 0).unwrap().iter().map(|e| e.seq_num), SHARED as u64 + total);
    assert!(store.check().unwrap().problems.is_empty());
    println!(
        "compute: {THREADS} threads, {attempts} conditional updates: {total} succeeded, {conflicts} typed conflicts"
    );
}

fn assert_log_gap_free(seqs: impl Iterator<Item = u64>, expected: u64) {
    let seqs: Vec<u64> = seqs.collect();
    assert_eq!(seqs, (1..=expected).collect::<Vec<_>>(), "event log gap-free, one event per committed change");
}

/// The same on the job store's executions (revision-conditional patches).
fn job_conditional_updates<B: Backend + Sync>(store: JobStore<B>) {
    let job = Job {
        id: "j".into(),
        name: "n".into(),
        namespace: "default".into(),
        job_type: "batch".into(),
        tasks: vec![Task::new("main", "docker")],
        ..Default::default()
    };
    store.create_job(job).unwrap();
    for k in 0..SHARED {
        let x = Execution {
            id: format!("x{k}"),
            job_id: "j".into(),
            node_id: "n".into(),
            compute_state: State::new(X::New),
            ..Default::default()
        };
        store.create_execution(x).unwrap();
    }
    let successes = AtomicU64::new(0);
    let conflicts = AtomicU64::new(0);
    let attempts = AtomicU64::new(0);
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let (store, successes, conflicts, attempts) = (&store, &successes, &conflicts, &attempts);
            scope.spawn(move || {
                for i in 0..MAX_OPS_PER_THREAD {
                    if i >= OPS_PER_THREAD && conflicts.load(Ordering::SeqCst) >= MIN_CONFLICTS {
                        break;
                    }
                    attempts.fetch_add(1, Ordering::SeqCst);
                    let id = format!("x{}", (t + i) % SHARED);
                    let seen = store.get_execution(&id).unwrap();
                    std::thread::yield_now();
                    let to = if seen.compute_state.state_type == X::AskForBid { X::BidAccepted } else { X::AskForBid };
                    let req =
                        UpdateExecutionRequest::new(&id, ExecutionPatch::compute(to)).expecting_revision(seen.revision);
                    match store.update_execution(req) {
                        Ok(x) => {
                            assert_eq!(x.revision, seen.revision + 1);
                            successes.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(e) => {
                            assert!(is_conflict(e.code()), "untyped conflict: {e}");
                            conflicts.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }
            });
        }
    });
    let n = successes.load(Ordering::SeqCst);
    let (conflicts, attempts) = (conflicts.load(Ordering::SeqCst), attempts.load(Ordering::SeqCst));
    assert_eq!(n + conflicts, attempts, "every attempt either succeeded or lost with a typed conflict");
    assert!(conflicts >= MIN_CONFLICTS, "only {conflicts} conflicts in {attempts} attempts: no contention to test");
    let revisions: u64 = (0..SHARED).map(|k| store.get_execution(&format!("x{k}")).unwrap().revision - 1).sum();
    assert_eq!(revisions, n, "sum of revision increments = successes (no lost update)");
    let history = store.get_job_history("j", &Default::default()).unwrap().items;
    assert_eq!(history.len() as u64, 1 + SHARED as u64 + n, "every success is in the job's history");
    assert_log_gap_free(store.events_after(0, 0).unwrap().iter().map(|e| e.seq_num), 1 + SHARED as u64 + n);
    assert!(store.check().unwrap().problems.is_empty());
    println!("jobs: {THREADS} threads, {attempts} conditional updates: {n} succeeded, {conflicts} typed conflicts");
}

/// Writers move two records together in one transaction (both to Running, then both back),
/// while readers check in single read transactions that they never see them apart, that the
/// per-state counts equal the records, and that `check()` finds nothing. Event numbers seen by
/// a reader never go back. Halfway through, each writer waits until the readers have made
/// `MIN_READS` reads of a store between its first and last transaction, so the reads the test
/// relies on happen however the threads are scheduled.
fn readers_never_see_half_a_transaction<B: Backend + Sync>(store: ExecutionStore<B>) {
    const COMMITS_PER_WRITER: u64 = 40;
    store.create_execution(local("a")).unwrap();
    store.create_execution(local("b")).unwrap();
    let stop = AtomicBool::new(false);
    let reads = AtomicU64::new(0);
    // Reads that saw some but not all of the writers' transactions.
    let reads_between = AtomicU64::new(0);
    let commits = AtomicU64::new(0);
    let readers = AtomicU64::new(2);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            let (store, stop, reads, reads_between, readers) = (&store, &stop, &reads, &reads_between, &readers);
            scope.spawn(move || {
                let _running = Running(readers);
                let mut last_seq = 0;
                while !stop.load(Ordering::SeqCst) {
                    // One read transaction per check: a snapshot of one commit.
                    let snap = store.snapshot().unwrap();
                    let a = snap.executions.iter().find(|s| s.id() == "a").unwrap();
                    let b = snap.executions.iter().find(|s| s.id() == "b").unwrap();
                    assert_eq!((a.state, a.version), (b.state, b.version), "a reader saw half a transaction");
                    assert!(snap.last_event_seq >= last_seq, "event numbers went back");
                    last_seq = snap.last_event_seq;
                    let stats = store.stats().unwrap();
                    assert_eq!(stats.counts.values().sum::<u64>(), stats.total);
                    assert_eq!(stats.total, 2);
                    assert!(stats.counts.values().all(|n| *n == 2), "counts split: {:?}", stats.counts);
                    let report = store.check().unwrap();
                    assert!(report.problems.is_empty(), "{:?}", report.problems);
                    reads.fetch_add(1, Ordering::SeqCst);
                    if snap.last_event_seq > 2 && snap.last_event_seq < 2 + 4 * COMMITS_PER_WRITER {
                        reads_between.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
        let writers: Vec<_> = (0..2)
            .map(|w| {
                let (store, commits, reads_between, readers) = (&store, &commits, &reads_between, &readers);
                scope.spawn(move || {
                    for i in 0..COMMITS_PER_WRITER {
                        // This writer has committed and not finished, so every read now sees the
                        // store between the first and the last commit: wait for enough of them
                        // (unless a reader failed, which fails the test anyway).
                        if i == COMMITS_PER_WRITER / 2 {
                            while reads_between.load(Ordering::SeqCst) < MIN_READS
                                && readers.load(Ordering::SeqCst) == 2
                            {
                                std::thread::yield_now();
                            }
                        }
                        let r: Result<(), bacalhau_state::ComputeError> = store.transaction(|tx| {
                            let a = tx.get_execution("a")?;
                            let to = if a.state == L::Running { L::BidAccepted } else { L::Running };
                            for id in ["a", "b"] {
                                tx.update_execution_state(
                                    UpdateExecutionStateRequest::new(id, to).with_comment(format!("w{w} i{i}")),
                                )?;
                            }
                            Ok(())
                        });
                        r.unwrap();
                        commits.fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        // Writers finish (or fail); then readers stop.
        let finished: Vec<_> = writers.into_iter().map(|w| w.join()).collect();
        stop.store(true, Ordering::SeqCst);
        for f in finished {
            if let Err(panic) = f {
                std::panic::resume_unwind(panic);
            }
        }
    });
    assert_eq!(commits.load(Ordering::SeqCst), 2 * COMMITS_PER_WRITER);
    let (reads, between) = (reads.load(Ordering::SeqCst), reads_between.load(Ordering::SeqCst));
    assert!(between >= MIN_READS, "only {between} of {reads} reads saw the writers at work");
    let events = store.events_after(0, 0).unwrap();
    assert_log_gap_free(events.iter().map(|e| e.seq_num), 2 + 4 * COMMITS_PER_WRITER);
    // Commit order: the two events of one transaction are adjacent (a then b, same version).
    for pair in events[2..].chunks(2) {
        let v = |e: &bacalhau_state::event::Event| match &e.object {
            bacalhau_state::event::EventObject::LocalExecution(s) => (s.id().to_string(), s.version),
            _ => unreachable!(),
        };
        let (a, b) = (v(&pair[0]), v(&pair[1]));
        assert_eq!((a.0.as_str(), b.0.as_str()), ("a", "b"));
        assert_eq!(a.1, b.1, "one transaction's events are adjacent");
    }
    println!(
        "readers: {reads} consistent reads ({between} between the writers' first and last commit) during 2 writers x {COMMITS_PER_WRITER} two-record transactions"
    );
}

fn permissive() -> StoreBuilder {
    StoreBuilder::new().policy(Policy::Permissive)
}

#[test]
fn conditional_updates_from_many_threads_lose_nothing_on_memory() {
    compute_conditional_updates(permissive().compute(MemoryBackend::new()));
    job_conditional_updates(permissive().jobs(MemoryBackend::new()));
}

#[test]
fn readers_never_observe_a_half_applied_transaction_on_memory() {
    readers_never_see_half_a_transaction(permissive().compute(MemoryBackend::new()));
}

#[cfg(feature = "redb")]
mod on_redb {
    use super::*;
    use bacalhau_state::kv::redb::{RedbBackend, RedbOptions};
    use bacalhau_state::kv::StoreKind;

    fn open(dir: &tempfile::TempDir, kind: StoreKind) -> RedbBackend {
        RedbBackend::open(&dir.path().join("s.redb"), kind, &RedbOptions::default()).unwrap()
    }

    #[test]
    fn conditional_updates_from_many_threads_lose_nothing_on_redb() {
        let d = tempfile::tempdir().unwrap();
        compute_conditional_updates(permissive().compute(open(&d, StoreKind::Compute)));
        let d = tempfile::tempdir().unwrap();
        job_conditional_updates(permissive().jobs(open(&d, StoreKind::Requester)));
    }

    #[test]
    fn readers_never_observe_a_half_applied_transaction_on_redb() {
        let d = tempfile::tempdir().unwrap();
        readers_never_see_half_a_transaction(permissive().compute(open(&d, StoreKind::Compute)));
    }
}
