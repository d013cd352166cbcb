//! Fault injection under the redb backend and its commit journal.
//!
//! The stores run over a redb `StorageBackend` and a journal file that keep their bytes in
//! shared memory (so a test can "reopen the files" after a failure), opened through the same
//! recovery and commit path as a store opened by path, and one fault plan fails reads, writes,
//! syncs or `set_len`/truncation of either file on command (calls are counted across both): the Nth call of a kind once, every call of a kind from the Nth on (a dead disk),
//! "disk full" (every write and `set_len` from the Nth on fails with ENOSPC), or at random with a
//! seed. For a fixed workload (tests/crash/workload.rs) every failure point of every kind is
//! tried, for both stores. At each one:
//!
//! * the failing call returns a typed storage error (`Storage` / `StorageFull`, or
//!   `CommitUncertain` when the commit itself failed), never panics;
//! * no later call panics, with the fault still active or after it healed;
//! * in the same process, a read either fails with a typed storage error (redb refuses further
//!   use after an I/O error) or shows exactly the state before the failed transaction, or, only
//!   when the error was `CommitUncertain`, the state after it;
//! * reopened over the same bytes on a healthy backend, the store holds the state before the
//!   failed transaction (or, only when the failure hit the commit's last steps, the state after
//!   it: see `commit_outcome_after_a_failed_sync` below), `check()` finds nothing, and the rest
//!   of the workload runs to exactly the state a fault-free run reaches.
//!
//! Set `FAULTS_SEED` to replay the random sweep with one seed; the seeds used are printed.

#![cfg(feature = "redb")]

#[path = "crash/workload.rs"]
mod workload;

use std::fmt::Debug;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use bacalhau_state::clock::ManualClock;
use bacalhau_state::compute::ComputeSnapshot;
use bacalhau_state::jobstore::JobSnapshot;
use bacalhau_state::kv::redb::{JournalFile, MemoryJournal, OpenError, RedbBackend, RedbOptions};
use bacalhau_state::kv::StoreKind;
use bacalhau_state::{ExecutionStore, JobStore, Policy, StoreBuilder};
use redb::StorageBackend;

// ---- the backend ----

/// Bytes shared between every backend opened over them: the "file".
#[derive(Clone, Debug, Default)]
struct Bytes(Arc<RwLock<Vec<u8>>>);

fn out_of_range() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "out of range")
}

impl StorageBackend for Bytes {
    fn len(&self) -> io::Result<u64> {
        Ok(self.0.read().unwrap().len() as u64)
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        let g = self.0.read().unwrap();
        let start = usize::try_from(offset).map_err(|_| out_of_range())?;
        out.copy_from_slice(g.get(start..start + out.len()).ok_or_else(out_of_range)?);
        Ok(())
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.0.write().unwrap().resize(usize::try_from(len).map_err(|_| out_of_range())?, 0);
        Ok(())
    }
    fn sync_data(&self) -> io::Result<()> {
        Ok(())
    }
    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let mut g = self.0.write().unwrap();
        let start = usize::try_from(offset).map_err(|_| out_of_range())?;
        g.get_mut(start..start + data.len()).ok_or_else(out_of_range)?.copy_from_slice(data);
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Read,
    Write,
    Sync,
    SetLen,
}

const KINDS: [Kind; 4] = [Kind::Read, Kind::Write, Kind::Sync, Kind::SetLen];

#[derive(Clone, Copy, Debug)]
enum Plan {
    /// Count calls, fail none.
    Off,
    /// Call number `n` (0-based, from arming) of `kind` fails; the ones after it succeed.
    Once(Kind, u64),
    /// Every call of `kind` from number `n` on fails (a device that died).
    From(Kind, u64),
    /// Every write and `set_len` from the `n`-th of them on fails with ENOSPC.
    DiskFull(u64),
    /// Each call fails with probability 1/`one_in` (xorshift, seeded).
    Random { seed: u64, one_in: u64 },
}

#[derive(Debug)]
struct Faults {
    plan: Mutex<Plan>,
    armed: AtomicBool,
    calls: [AtomicU64; 4],
    /// Writes and set_len together (the disk-full counter).
    growth: AtomicU64,
    fired: AtomicU64,
    rng: AtomicU64,
}

impl Faults {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            plan: Mutex::new(Plan::Off),
            armed: AtomicBool::new(false),
            calls: Default::default(),
            growth: AtomicU64::new(0),
            fired: AtomicU64::new(0),
            rng: AtomicU64::new(1),
        })
    }

    /// Starts counting (and failing) from zero with `plan`.
    fn arm(&self, plan: Plan) {
        *self.plan.lock().unwrap() = plan;
        for c in &self.calls {
            c.store(0, Ordering::SeqCst);
        }
        self.growth.store(0, Ordering::SeqCst);
        self.fired.store(0, Ordering::SeqCst);
        if let Plan::Random { seed, .. } = plan {
            self.rng.store(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1, Ordering::SeqCst);
        }
        self.armed.store(true, Ordering::SeqCst);
    }

    /// Stops failing (the fault healed) and counting.
    fn heal(&self) {
        self.armed.store(false, Ordering::SeqCst);
    }

    fn count(&self, kind: Kind) -> u64 {
        self.calls[kind as usize].load(Ordering::SeqCst)
    }

    fn fired(&self) -> u64 {
        self.fired.load(Ordering::SeqCst)
    }

    fn check(&self, kind: Kind) -> io::Result<()> {
        if !self.armed.load(Ordering::SeqCst) {
            return Ok(());
        }
        let n = self.calls[kind as usize].fetch_add(1, Ordering::SeqCst);
        let grows = matches!(kind, Kind::Write | Kind::SetLen);
        let g = if grows { self.growth.fetch_add(1, Ordering::SeqCst) } else { 0 };
        let fail = match *self.plan.lock().unwrap() {
            Plan::Off => None,
            Plan::Once(k, at) => (k == kind && n == at).then(|| injected(kind, n)),
            Plan::From(k, at) => (k == kind && n >= at).then(|| injected(kind, n)),
            Plan::DiskFull(at) => (grows && g >= at).then(|| io::Error::from_raw_os_error(28)),
            Plan::Random { one_in, .. } => {
                let mut x = self.rng.load(Ordering::SeqCst);
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                self.rng.store(x, Ordering::SeqCst);
                (x % one_in == 0).then(|| injected(kind, n))
            }
        };
        match fail {
            Some(e) => {
                self.fired.fetch_add(1, Ordering::SeqCst);
                // FAULTS_TRACE=1 shows where each injected fault hit (to explain an outcome).
                if std::env::var_os("FAULTS_TRACE").is_some() {
                    eprintln!("injected {kind:?} fault:\n{}", std::backtrace::Backtrace::force_capture());
                }
                Err(e)
            }
            None => Ok(()),
        }
    }
}

fn injected(kind: Kind, n: u64) -> io::Error {
    io::Error::other(format!("injected {kind:?} fault at call {n}"))
}

/// [`Bytes`] behind a fault plan.
#[derive(Debug)]
struct Faulty {
    bytes: Bytes,
    faults: Arc<Faults>,
}

impl StorageBackend for Faulty {
    fn len(&self) -> io::Result<u64> {
        self.bytes.len()
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        self.faults.check(Kind::Read)?;
        self.bytes.read(offset, out)
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.faults.check(Kind::SetLen)?;
        self.bytes.set_len(len)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.faults.check(Kind::Sync)?;
        self.bytes.sync_data()
    }
    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.faults.check(Kind::Write)?;
        self.bytes.write(offset, data)
    }
}

/// The journal's bytes behind the same fault plan as the store file's.
#[derive(Debug)]
struct FaultyJournal {
    bytes: MemoryJournal,
    faults: Arc<Faults>,
}

impl JournalFile for FaultyJournal {
    fn size(&self) -> io::Result<u64> {
        self.bytes.size()
    }
    fn read_at(&self, at: u64, buf: &mut [u8]) -> io::Result<()> {
        self.faults.check(Kind::Read)?;
        self.bytes.read_at(at, buf)
    }
    fn write_at(&self, at: u64, data: &[u8]) -> io::Result<()> {
        self.faults.check(Kind::Write)?;
        self.bytes.write_at(at, data)
    }
    fn sync(&self) -> io::Result<()> {
        self.faults.check(Kind::Sync)?;
        self.bytes.sync()
    }
    fn replace(&self, bytes: &[u8]) -> io::Result<()> {
        self.faults.check(Kind::Write)?;
        self.bytes.replace(bytes)
    }
    fn truncate(&self, len: u64) -> io::Result<()> {
        self.faults.check(Kind::SetLen)?;
        self.bytes.truncate(len)
    }
}

/// A store's two files: the redb file and its journal.
#[derive(Clone, Debug, Default)]
struct Files {
    store: Bytes,
    journal: MemoryJournal,
}

impl Files {
    fn faulty(&self, faults: &Arc<Faults>) -> (Faulty, FaultyJournal) {
        (
            Faulty { bytes: self.store.clone(), faults: faults.clone() },
            FaultyJournal { bytes: self.journal.clone(), faults: faults.clone() },
        )
    }
    fn healthy(&self) -> (Bytes, MemoryJournal) {
        (self.store.clone(), self.journal.clone())
    }
    fn deep_copy(&self) -> Files {
        let journal = MemoryJournal::default();
        journal.set_bytes(self.journal.bytes());
        Files { store: Bytes(Arc::new(RwLock::new(self.store.0.read().unwrap().clone()))), journal }
    }
}

// ---- the two stores behind one interface ----

/// redb's page cache size: `None` (redb's default, 1 GiB) keeps every page in memory after the
/// first read, so a workload makes almost no reads; a small cache makes it read (and write)
/// pages as a node with a large store does.
type Cache = Option<usize>;

/// A cache small enough to make every operation read pages.
const SMALL_CACHE: Cache = Some(32 * 1024);

fn options(cache: Cache) -> RedbOptions {
    RedbOptions { lock_timeout: std::time::Duration::ZERO, cache_size: cache, ..RedbOptions::default() }
}

/// A constant clock: a failed operation may read the clock a different number of times than a
/// successful one, and the snapshots of two runs must still compare equal.
fn builder(policy: Policy) -> StoreBuilder {
    StoreBuilder::new().policy(policy).clock(ManualClock::new(1_700_000_000_000_000_000))
}

trait Subject {
    type Store;
    type Snap: PartialEq + Debug + Clone;
    const NAME: &'static str;
    const OPS: usize;
    fn open(files: (impl StorageBackend, impl JournalFile + 'static), cache: Cache) -> Result<Self::Store, OpenError>;
    /// Runs operation `i`: `Err((code, message))` on failure.
    fn op(s: &Self::Store, i: usize) -> Result<(), (&'static str, String)>;
    fn snapshot(s: &Self::Store) -> Result<Self::Snap, &'static str>;
    fn problems(s: &Self::Store) -> Result<Vec<String>, &'static str>;
    fn close(s: &Self::Store) -> Result<(), &'static str>;
}

struct Compute;
impl Subject for Compute {
    type Store = ExecutionStore<RedbBackend>;
    type Snap = ComputeSnapshot;
    const NAME: &'static str = "compute";
    const OPS: usize = workload::COMPUTE_OPS;
    fn open(files: (impl StorageBackend, impl JournalFile + 'static), cache: Cache) -> Result<Self::Store, OpenError> {
        let b = RedbBackend::open_with_backend(files.0, files.1, StoreKind::Compute, &options(cache))?;
        Ok(builder(Policy::Strict).compute(b))
    }
    fn op(s: &Self::Store, i: usize) -> Result<(), (&'static str, String)> {
        workload::compute_op(s, i).map_err(|e| (e.code(), e.to_string()))
    }
    fn snapshot(s: &Self::Store) -> Result<Self::Snap, &'static str> {
        s.snapshot().map_err(|e| e.code())
    }
    fn problems(s: &Self::Store) -> Result<Vec<String>, &'static str> {
        s.check().map(|r| r.problems).map_err(|e| e.code())
    }
    fn close(s: &Self::Store) -> Result<(), &'static str> {
        s.close().map_err(|e| e.code())
    }
}

struct Jobs;
impl Subject for Jobs {
    type Store = JobStore<RedbBackend>;
    type Snap = JobSnapshot;
    const NAME: &'static str = "jobs";
    const OPS: usize = workload::JOB_OPS;
    fn open(files: (impl StorageBackend, impl JournalFile + 'static), cache: Cache) -> Result<Self::Store, OpenError> {
        let b = RedbBackend::open_with_backend(files.0, files.1, StoreKind::Requester, &options(cache))?;
        Ok(builder(Policy::Permissive).jobs(b))
    }
    fn op(s: &Self::Store, i: usize) -> Result<(), (&'static str, String)> {
        workload::job_op(s, i).map_err(|e| (e.code(), e.to_string()))
    }
    fn snapshot(s: &Self::Store) -> Result<Self::Snap, &'static str> {
        s.snapshot().map_err(|e| e.code())
    }
    fn problems(s: &Self::Store) -> Result<Vec<String>, &'static str> {
        s.check().map(|r| r.problems).map_err(|e| e.code())
    }
    fn close(s: &Self::Store) -> Result<(), &'static str> {
        s.close().map_err(|e| e.code())
    }
}

/// Codes a failing storage layer may produce.
fn is_storage_code(code: &str) -> bool {
    matches!(code, "Storage" | "StorageFull" | "CommitUncertain")
}

/// Runs `f`, turning a panic into a test failure that names where it happened.
fn no_panic<R>(what: &str, f: impl FnOnce() -> R) -> R {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("{what} panicked: {msg}");
        }
    }
}

// ---- the sweep ----

/// A fault-free run: the state after each operation (`[0]` = freshly created store) and the
/// number of writes and `set_len` calls the operations make (the disk-full counter).
struct Reference<S: Subject> {
    cache: Cache,
    states: Vec<S::Snap>,
    growth: u64,
}

fn reference<S: Subject>(cache: Cache) -> Reference<S> {
    let faults = Faults::new();
    let store = S::open(Files::default().faulty(&faults), cache).expect("open");
    let mut states = vec![S::snapshot(&store).unwrap()];
    for i in 0..S::OPS {
        faults.arm_keep_counts();
        S::op(&store, i).unwrap_or_else(|c| panic!("{} op {i} failed without faults: {c:?}", S::NAME));
        faults.heal();
        states.push(S::snapshot(&store).unwrap());
    }
    assert!(S::problems(&store).unwrap().is_empty());
    Reference { cache, states, growth: faults.growth.load(Ordering::SeqCst) }
}

impl Faults {
    /// Resumes counting without resetting (the reference run counts only inside operations).
    fn arm_keep_counts(&self) {
        self.armed.store(true, Ordering::SeqCst);
    }
}

/// What happened at one failure point.
#[derive(Debug, Default, Clone, Copy)]
struct Outcome {
    /// The plan fired and an operation failed.
    failed: bool,
    /// The plan fired but every operation succeeded (redb retried or did not need the call).
    absorbed: bool,
    /// In-process reads after the failure were refused with a storage error.
    poisoned: bool,
    /// After reopen the failed operation's effect was present (commit reached its last step).
    landed: bool,
    /// In this process, after the failure, the failed operation's effect was visible.
    visible: bool,
    /// How many faults the plan injected.
    fired: u64,
}

#[derive(Default, Debug)]
struct Tally {
    points: u64,
    failed: u64,
    absorbed: u64,
    poisoned: u64,
    landed: u64,
    visible: u64,
    /// Points at which the plan injected at least one fault.
    fired: u64,
}

impl Tally {
    fn add(&mut self, o: Outcome) {
        self.points += 1;
        self.failed += o.failed as u64;
        self.absorbed += o.absorbed as u64;
        self.poisoned += o.poisoned as u64;
        self.landed += o.landed as u64;
        self.visible += o.visible as u64;
        self.fired += (o.fired > 0) as u64;
    }
}

/// Runs the workload under `plan` and checks everything the module documentation promises.
fn run_point<S: Subject>(r: &Reference<S>, plan: Plan) -> Outcome {
    let what = format!("{} (cache {:?}) under {plan:?}", S::NAME, r.cache);
    let files = Files::default();
    let faults = Faults::new();
    let store = S::open(files.faulty(&faults), r.cache).expect("open");
    let mut out = Outcome::default();
    let mut failed_at = None;
    let mut failure = String::new();
    let mut failed_code = "";
    faults.arm(plan);
    for i in 0..S::OPS {
        let result = no_panic(&format!("{what}: op {i}"), || S::op(&store, i));
        match result {
            Ok(()) => {}
            Err((code, message)) => {
                assert!(faults.fired() > 0, "{what}: op {i} failed with {code} but no fault was injected");
                failure = message;
                assert!(is_storage_code(code), "{what}: op {i} failed with {code}, not a storage error");
                if matches!(plan, Plan::DiskFull(_)) && faults.fired() == 1 {
                    let says_full =
                        code == "StorageFull" || (code == "CommitUncertain" && failure.contains("storage full"));
                    assert!(says_full, "{what}: op {i}: disk full must say so ({code}: {failure})");
                }
                failed_code = code;
                failed_at = Some(i);
                break;
            }
        }
    }
    let Some(i) = failed_at else {
        faults.heal();
        out.fired = faults.fired();
        out.absorbed = faults.fired() > 0;
        // Nothing failed: the final state must be the fault-free one, now and after reopen.
        assert_eq!(
            &S::snapshot(&store).unwrap(),
            r.states.last().unwrap(),
            "{what}: absorbed fault changed the result"
        );
        S::close(&store).unwrap();
        drop(store);
        let store = S::open(files.healthy(), r.cache).unwrap_or_else(|e| panic!("{what}: reopen: {e}"));
        assert_eq!(&S::snapshot(&store).unwrap(), r.states.last().unwrap(), "{what}: after reopen");
        return out;
    };
    out.failed = true;
    out.fired = faults.fired();
    let before = &r.states[i];
    let after = &r.states[i + 1];

    // Right after the failure (the fault paused, not healed), this process sees the state before
    // the failed operation, or is refused; the state after it only if the error said
    // "outcome unknown": every other error promised that nothing was applied.
    faults.heal();
    match no_panic(&format!("{what}: snapshot right after the failure"), || S::snapshot(&store)) {
        Err(code) => assert!(is_storage_code(code), "{what}: snapshot right after the failure: {code}"),
        Ok(now) if now == *before => {}
        Ok(now) if now == *after => {
            assert_eq!(
                failed_code, "CommitUncertain",
                "{what}: op {i} failed with {failed_code} ({failure}), which promises nothing was applied, yet its effect is visible in this process"
            );
            out.visible = true;
        }
        Ok(now) => panic!(
            "{what}: right after op {i} failed the store shows neither the state before nor after it:\nnow {now:#?}"
        ),
    }
    faults.arm_keep_counts();

    // While the fault persists, later calls fail (or not) but never panic.
    for j in i..S::OPS {
        let _ = no_panic(&format!("{what}: op {j} after the failure"), || S::op(&store, j));
    }
    let _ = no_panic(&format!("{what}: snapshot with the fault active"), || S::snapshot(&store));
    let _ = no_panic(&format!("{what}: check with the fault active"), || S::problems(&store));

    // The fault heals. In this process the store is either refused (redb poisons a database
    // after an I/O error) or shows exactly the state before the failed transaction... unless
    // the later operations above succeeded, which only a one-off fault allows.
    faults.heal();
    match no_panic(&format!("{what}: snapshot after healing"), || S::snapshot(&store)) {
        Err(code) => {
            assert!(is_storage_code(code), "{what}: snapshot after healing: {code}");
            out.poisoned = true;
        }
        Ok(now) => match r.states.iter().skip(i).position(|s| *s == now) {
            Some(0) => {}
            // Visible in this process although the call failed: only "outcome unknown" allows
            // that; every other error promised that nothing was applied.
            Some(1) => {}
            Some(_) => assert!(
                matches!(plan, Plan::Once(..) | Plan::Random { .. }),
                "{what}: operations after the failed op {i} succeeded while the fault persisted"
            ),
            None => panic!("{what}: in this process the store shows neither the state before op {i} nor a later workload state:\nnow {now:#?}\nbefore {before:#?}"),
        },
    }
    let _ = no_panic(&format!("{what}: close"), || S::close(&store));
    drop(store);

    // Reopen the same bytes on a healthy backend.
    let store = no_panic(&format!("{what}: reopen"), || S::open(files.healthy(), r.cache))
        .unwrap_or_else(|e| panic!("{what}: reopen after the failure: {e}"));
    let problems = S::problems(&store).unwrap();
    assert!(problems.is_empty(), "{what}: check after reopen: {problems:?}");
    let now = S::snapshot(&store).unwrap();
    // Which state the reopened store must hold. Operations after the failed one ran while the
    // fault was active; under a one-off fault they may have succeeded, so replay from where
    // the store actually is.
    let resume = match r.states.iter().skip(i).position(|s| *s == now) {
        Some(k) => i + k,
        None => panic!("{what}: after reopen the store holds neither the state before op {i} nor any later workload state:\nnow {now:#?}\nbefore {before:#?}\nafter {after:#?}"),
    };
    if resume > i {
        out.landed = resume == i + 1;
        // A transaction whose call failed can still be there: redb 4.6's commit fails *after*
        // its commit point when the sync that follows the header write fails, or when the
        // post-commit pass that frees pages (`process_data_freed_pages_after_commit`, which
        // reads the system tree) hits a read error. So a `Storage` error from a commit means
        // "outcome unknown", never "not applied": see the report. A failed write or `set_len`
        // happens before the header is written and must never leave the transaction applied.
        // That is exactly what `CommitUncertain` says; any other error promised "not applied".
        assert_eq!(
            failed_code, "CommitUncertain",
            "{what}: op {i} failed ({failure}) without CommitUncertain, but its effect is in the store after reopen"
        );
    }
    // The rest of the workload works and ends where a fault-free run ends.
    for j in resume..S::OPS {
        S::op(&store, j).unwrap_or_else(|c| panic!("{what}: op {j} after reopen: {c:?}"));
    }
    assert_eq!(&S::snapshot(&store).unwrap(), r.states.last().unwrap(), "{what}: final state after reopen");
    assert!(S::problems(&store).unwrap().is_empty());
    out
}

/// The calls of each kind a run under a plan makes before any fault fires: the workload alone,
/// counted from its first operation, with no snapshots between operations (those warm redb's
/// page cache, so the reference run reads less than a faulted one).
fn calls_of_a_run<S: Subject>(cache: Cache) -> [u64; 4] {
    let faults = Faults::new();
    let store = S::open(Files::default().faulty(&faults), cache).expect("open");
    faults.arm(Plan::Off);
    for i in 0..S::OPS {
        S::op(&store, i).unwrap_or_else(|c| panic!("{} op {i} failed without faults: {c:?}", S::NAME));
    }
    faults.heal();
    KINDS.map(|k| faults.count(k))
}

/// Failure points of a sweep: every point of `calls` when `FAULTS_FULL` is set, else every
/// `step`-th (a dense sample that keeps this file well under a minute in CI).
fn points(calls: u64, step: u64) -> impl Iterator<Item = u64> {
    let step = if std::env::var_os("FAULTS_FULL").is_some() { 1 } else { step };
    (0..=calls).step_by(step as usize)
}

/// Sweeps one-off and persistent faults of every kind over the workload. Read faults run with a
/// small page cache, since with redb's default cache the workload reads nothing after open.
fn sweep<S: Subject>() -> [Tally; 5] {
    let t0 = Instant::now();
    let mut tally: [Tally; 5] = Default::default();
    let warm = reference::<S>(None);
    let cold = reference::<S>(SMALL_CACHE);
    let (warm_calls, cold_calls) = (calls_of_a_run::<S>(None), calls_of_a_run::<S>(SMALL_CACHE));
    println!(
        "{}: the fault-free workload makes {warm_calls:?} (read, write, sync, set_len) calls with redb's default cache, {cold_calls:?} with a {:?}-byte cache",
        S::NAME, SMALL_CACHE
    );
    // (one-off step, persistent step) per kind: syncs and set_len are few, so all are tried.
    let steps = [(4, 8), (2, 4), (1, 1), (1, 1)];
    // Points at or past the last call the workload makes, which may find nothing to fail.
    let mut past_end = [0u64; 5];
    for (k, kind) in KINDS.iter().enumerate() {
        let (r, calls) = if *kind == Kind::Read { (&cold, cold_calls[k]) } else { (&warm, warm_calls[k]) };
        for n in points(calls, steps[k].0) {
            past_end[k] += (n >= calls) as u64;
            tally[k].add(run_point(r, Plan::Once(*kind, n)));
        }
        for n in points(calls, steps[k].1) {
            past_end[k] += (n >= calls) as u64;
            tally[k].add(run_point(r, Plan::From(*kind, n)));
        }
    }
    for n in points(warm.growth, 3) {
        past_end[4] += (n >= warm.growth) as u64;
        tally[4].add(run_point(&warm, Plan::DiskFull(n)));
    }
    for (k, label) in ["read", "write", "sync", "set_len", "disk full (ENOSPC)"].iter().enumerate() {
        println!("{} {label}: {:?}", S::NAME, tally[k]);
    }
    let points: u64 = tally.iter().map(|t| t.points).sum();
    let failed: u64 = tally.iter().map(|t| t.failed).sum();
    println!("{}: failure points tried: {points} ({failed} made an operation fail) in {:.1?}", S::NAME, t0.elapsed());
    // Per kind: every point inside the workload's calls makes an operation fail; only the
    // points at or past the last call may find nothing to fail.
    for (k, label) in ["read", "write", "sync", "set_len", "disk full (ENOSPC)"].iter().enumerate() {
        assert!(tally[k].failed > 0, "{}: no {label} fault made an operation fail", S::NAME);
        assert!(
            tally[k].failed + past_end[k] >= tally[k].points,
            "{}: {label}: only {} of {} points made an operation fail",
            S::NAME,
            tally[k].failed,
            tally[k].points
        );
    }
    tally
}

/// The seeds of the random sweep: `FAULTS_SEED` alone, or a fixed range.
fn seeds() -> Vec<u64> {
    match std::env::var("FAULTS_SEED") {
        Ok(s) => vec![s.parse().expect("FAULTS_SEED must be an integer")],
        Err(_) => (1..=20).collect(),
    }
}

#[test]
fn every_failure_point_of_the_compute_workload_leaves_the_last_committed_state() {
    sweep::<Compute>();
}

#[test]
fn every_failure_point_of_the_job_store_workload_leaves_the_last_committed_state() {
    sweep::<Jobs>();
}

#[test]
fn random_faults_with_a_seed_leave_the_last_committed_state() {
    let t0 = Instant::now();
    let rc = reference::<Compute>(None);
    let rj = reference::<Jobs>(None);
    let rcc = reference::<Compute>(SMALL_CACHE);
    let mut t = Tally::default();
    let seeds = seeds();
    println!("random fault seeds {:?}..={:?} (FAULTS_SEED=<n> replays one)", seeds.first(), seeds.last());
    for &seed in &seeds {
        for one_in in [3, 10] {
            t.add(run_point(&rc, Plan::Random { seed, one_in }));
            t.add(run_point(&rj, Plan::Random { seed, one_in }));
            t.add(run_point(&rcc, Plan::Random { seed, one_in: one_in * 4 }));
        }
    }
    println!("random: {t:?} in {:.1?}", t0.elapsed());
    assert_eq!(t.fired, t.points, "every seeded plan injects at least one fault");
    assert!(t.failed * 10 >= t.points * 7, "most random plans make an operation fail: {t:?}");
    assert!(
        t.landed > 0 && t.poisoned > 0,
        "the random plans reach both uncertain commits and poisoned handles: {t:?}"
    );
}

/// Opening over a failing backend is an `OpenError`, never a panic, whether the store is new
/// or exists. After the fault heals, an existing store opens and holds what it held; bytes of a
/// store whose creation failed either open as an empty store or are refused with a typed
/// `OpenError` (with files, `RedbBackend::open` builds a new store under a temporary name and
/// links it into place only when complete, so a failed creation leaves nothing at the path).
#[test]
fn opening_over_a_failing_backend_is_a_typed_error() {
    let mut tried = 0;
    let mut refused = 0;
    for existing in [false, true] {
        let files = Files::default();
        if existing {
            let s = Compute::open(files.healthy(), None).unwrap();
            for i in 0..5 {
                Compute::op(&s, i).unwrap();
            }
            Compute::close(&s).unwrap();
        }
        let probe = Faults::new();
        probe.arm(Plan::Off);
        drop(Compute::open(files.deep_copy().faulty(&probe), None).unwrap());
        let calls = KINDS.map(|k| probe.count(k));
        println!("open (existing store: {existing}) makes {calls:?} (read, write, sync, set_len) calls");
        for (k, kind) in KINDS.iter().enumerate() {
            for n in 0..=calls[k] {
                for plan in [Plan::Once(*kind, n), Plan::From(*kind, n)] {
                    tried += 1;
                    let copy = files.deep_copy();
                    let faults = Faults::new();
                    faults.arm(plan);
                    let what = format!("open (existing store: {existing}) under {plan:?}");
                    let r = no_panic(&what, || Compute::open(copy.faulty(&faults), None));
                    if let Ok(s) = &r {
                        let _ = Compute::close(s);
                    }
                    drop(r);
                    let s = match no_panic(&what, || Compute::open(copy.healthy(), None)) {
                        Ok(s) => s,
                        Err(e) if !existing => {
                            refused += 1;
                            assert!(matches!(e.code(), "NotAStore" | "Storage" | "Io"), "{what}: reopen: {e}");
                            continue;
                        }
                        Err(e) => panic!("{what}: reopen of an existing store after the fault: {e}"),
                    };
                    // Five operations, one of them a two-change transaction: six events.
                    let want = if existing { 6 } else { 0 };
                    assert_eq!(s.snapshot().unwrap().last_event_seq, want, "{what}");
                    assert!(Compute::problems(&s).unwrap().is_empty(), "{what}");
                }
            }
        }
    }
    println!("open failure points tried: {tried} ({refused} half-created stores refused on reopen)");
}

// ---- hostile sizes and paths ----

/// A job whose task carries 100 MB (as a JS caller or a peer could send) is refused by both
/// stores with a typed error before anything is written, on both backends.
#[test]
fn a_100_mb_job_spec_is_refused_by_both_stores_with_a_typed_error() {
    use bacalhau_state::kv::memory::MemoryBackend;
    use bacalhau_state::model::Task;
    let huge = "x".repeat(100 * 1024 * 1024);
    let mut job = workload::job_spec("huge", "default", false);
    let mut task = Task::new("main", "docker");
    if let ciborium::Value::Map(entries) = &mut task.0 .0 {
        entries.push((ciborium::Value::Text("Env".into()), ciborium::Value::Text(huge)));
    }
    job.tasks = vec![task];
    let mut local = workload::local("huge-exec", "huge", true, false);
    std::sync::Arc::make_mut(&mut local.execution).job = Some(std::sync::Arc::new(job.clone()));
    let typed = |code: &str| matches!(code, "Validation" | "InvalidArgument");

    let dir = tempfile::tempdir().unwrap();
    let open = |kind, name: &str| RedbBackend::open(&dir.path().join(name), kind, &RedbOptions::default()).unwrap();
    let jobs_mem = builder(Policy::Strict).jobs(MemoryBackend::new());
    let jobs_redb = builder(Policy::Strict).jobs(open(StoreKind::Requester, "j.redb"));
    for (name, s) in [("memory", &jobs_mem as &dyn JobsApi), ("redb", &jobs_redb)] {
        let e = s.create(job.clone()).expect_err("a 100 MB job must be refused");
        assert!(typed(e.code()), "job store on {name}: {e:.200}");
        assert_eq!(s.total(), 0, "job store on {name}: nothing stored");
    }
    let c_mem = builder(Policy::Strict).compute(MemoryBackend::new());
    let c_redb = builder(Policy::Strict).compute(open(StoreKind::Compute, "c.redb"));
    for (name, s) in [("memory", &c_mem as &dyn ComputeApi), ("redb", &c_redb)] {
        let e = s.create(local.clone()).expect_err("a 100 MB execution must be refused");
        assert!(typed(e.code()), "compute store on {name}: {e:.200}");
        assert_eq!(s.total(), 0, "compute store on {name}: nothing stored");
    }
    // The file did not grow by anything like 100 MB.
    assert!(jobs_redb.backend().file_size().unwrap() < 10 * 1024 * 1024);
}

trait JobsApi {
    fn create(&self, j: bacalhau_state::model::Job) -> Result<(), bacalhau_state::JobStoreError>;
    fn total(&self) -> u64;
}
impl<B: bacalhau_state::kv::Backend> JobsApi for JobStore<B> {
    fn create(&self, j: bacalhau_state::model::Job) -> Result<(), bacalhau_state::JobStoreError> {
        self.create_job(j).map(drop)
    }
    fn total(&self) -> u64 {
        self.stats().unwrap().job_total
    }
}
trait ComputeApi {
    fn create(&self, s: bacalhau_state::model::LocalExecutionState) -> Result<(), bacalhau_state::ComputeError>;
    fn total(&self) -> u64;
}
impl<B: bacalhau_state::kv::Backend> ComputeApi for ExecutionStore<B> {
    fn create(&self, s: bacalhau_state::model::LocalExecutionState) -> Result<(), bacalhau_state::ComputeError> {
        self.create_execution(s).map(drop)
    }
    fn total(&self) -> u64 {
        self.stats().unwrap().total
    }
}

/// The symlink rule, as `RedbBackend::open` implements it: the library opens the path it is
/// given and follows a symlink there (the caller passed that path explicitly); a dangling
/// symlink is refused with a typed error and nothing is created at its target. Refusing a
/// symlink at a *default* path (one the user did not pass) is the config layer's job.
#[cfg(unix)]
#[test]
fn a_store_path_that_is_a_symlink_is_followed_when_passed_explicitly() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real").join("compute.redb");
    {
        let s = builder(Policy::Strict)
            .compute(RedbBackend::open(&real, StoreKind::Compute, &RedbOptions::default()).unwrap());
        workload::compute_op(&s, 0).unwrap();
        s.close().unwrap();
    }
    let link = dir.path().join("link.redb");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let s =
        builder(Policy::Strict).compute(RedbBackend::open(&link, StoreKind::Compute, &RedbOptions::default()).unwrap());
    assert_eq!(s.stats().unwrap().total, 1, "the link's target store is opened");
    s.close().unwrap();
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link stays a link");

    let dangling = dir.path().join("dangling.redb");
    let target = dir.path().join("nowhere").join("x.redb");
    std::os::unix::fs::symlink(&target, &dangling).unwrap();
    let e = RedbBackend::open(&dangling, StoreKind::Compute, &RedbOptions::default()).expect_err("dangling symlink");
    println!("dangling symlink: {} ({e})", e.code());
    assert!(!target.exists(), "nothing created through a dangling symlink");
    assert!(std::fs::symlink_metadata(&dangling).unwrap().file_type().is_symlink());
}
