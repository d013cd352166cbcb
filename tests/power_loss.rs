//! Power loss at every I/O call: both stores run on a simulated disk that remembers which bytes
//! were synced, under the redb file and the commit journal alike, through the production open,
//! recovery and commit path (`RedbBackend::open_with_backend` makes the same writer as an open by
//! path).
//!
//! A run is a fixed mixed workload (tests/crash/workload.rs: both stores, transactions, a
//! rolled-back transaction, deletes, checkpoints, event trimming, a record large enough to grow
//! the file and the journal) with a close and reopen in the middle and at the end. A small
//! journal capacity makes checkpoints frequent. At the chosen I/O call (writes, syncs, resizes,
//! journal replacements, counted across every file) the power is cut: from then on every call
//! fails, and each file keeps its synced bytes plus, by the cut's mode, nothing, a prefix of the
//! unsynced writes in order, such a prefix with the next write torn at a 512-byte sector, or a
//! random subset of the unsynced writes (reordered persistence). After the cut:
//!
//! * both stores open over what survived (recovery succeeds) and `check()` is clean;
//! * every step that returned `Ok` is there, the step that failed is there only if its error
//!   was `CommitUncertain`, and nothing after it is;
//! * the rest of the workload runs and ends where a run without a cut ends.
//!
//! Every call of the run is tried in every mode, and every third point cuts the power a second
//! time during the recovery's own I/O. `POWER_SEED` varies the random choices (printed).

#![cfg(feature = "redb")]

#[path = "crash/workload.rs"]
mod workload;

use std::fmt::Debug;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bacalhau_state::clock::ManualClock;
use bacalhau_state::compute::ComputeSnapshot;
use bacalhau_state::jobstore::JobSnapshot;
use bacalhau_state::kv::redb::{JournalFile, RedbBackend, RedbOptions};
use bacalhau_state::kv::StoreKind;
use bacalhau_state::{ExecutionStore, JobStore, Policy, StoreBuilder};

const SECTOR: usize = 512;

// ---- the simulated disk ----

/// What a power cut keeps of the writes that were not synced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Only synced bytes.
    Synced,
    /// The first k unsynced writes, in order.
    Prefix,
    /// The first k, then a sector-aligned prefix of write k + 1.
    Torn,
    /// A random subset of the unsynced writes.
    Reorder,
}

const MODES: [Mode; 4] = [Mode::Synced, Mode::Prefix, Mode::Torn, Mode::Reorder];

#[derive(Clone, Debug)]
enum Op {
    Write(u64, Vec<u8>),
    SetLen(u64),
}

#[derive(Debug, Default)]
struct FileState {
    /// What survives a power cut for sure.
    durable: Vec<u8>,
    /// What reads see.
    current: Vec<u8>,
    /// Changes since the last sync, in order.
    pending: Vec<Op>,
}

fn apply(bytes: &mut Vec<u8>, op: &Op, keep: Option<usize>) {
    match op {
        Op::Write(at, data) => {
            let data = &data[..keep.unwrap_or(data.len()).min(data.len())];
            let (at, end) = (*at as usize, *at as usize + data.len());
            if bytes.len() < end {
                bytes.resize(end, 0);
            }
            bytes[at..end].copy_from_slice(data);
        }
        Op::SetLen(len) => bytes.resize(*len as usize, 0),
    }
}

/// xorshift64*, seeded per cut point.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}

/// The power supply of every file of a run: counts mutating calls and cuts at one of them.
#[derive(Debug)]
struct Power {
    calls: AtomicU64,
    /// Call number (0-based) at which the power goes; `u64::MAX`: never.
    cut_at: AtomicU64,
    cut: AtomicBool,
    files: Mutex<Vec<Arc<Mutex<FileState>>>>,
    /// What each file held when the power went, in `files` order.
    images: Mutex<Option<Vec<Vec<u8>>>>,
    mode: Mode,
    seed: u64,
}

impl Power {
    fn new(mode: Mode, seed: u64) -> Arc<Power> {
        Arc::new(Power {
            calls: AtomicU64::new(0),
            cut_at: AtomicU64::new(u64::MAX),
            cut: AtomicBool::new(false),
            files: Mutex::new(Vec::new()),
            images: Mutex::new(None),
            mode,
            seed,
        })
    }

    /// A new empty file, or one holding `bytes` (durably).
    fn file(self: &Arc<Self>, bytes: Vec<u8>) -> SimFile {
        let state = Arc::new(Mutex::new(FileState { durable: bytes.clone(), current: bytes, pending: Vec::new() }));
        self.files.lock().unwrap().push(state.clone());
        SimFile { power: self.clone(), state }
    }

    /// Cuts at the `n`-th mutating call from now.
    fn arm(&self, n: u64) {
        self.cut_at.store(self.calls.load(Ordering::SeqCst) + n, Ordering::SeqCst);
    }

    fn is_cut(&self) -> bool {
        self.cut.load(Ordering::SeqCst)
    }

    /// Every mutating call passes here first.
    fn io(&self) -> io::Result<()> {
        if self.is_cut() {
            return Err(io::Error::other("power cut"));
        }
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        if n == self.cut_at.load(Ordering::SeqCst) {
            self.cut.store(true, Ordering::SeqCst);
            let mut rng = Rng(self.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ n | 1);
            let images =
                self.files.lock().unwrap().iter().map(|f| image(&f.lock().unwrap(), self.mode, &mut rng)).collect();
            *self.images.lock().unwrap() = Some(images);
            return Err(io::Error::other("power cut"));
        }
        Ok(())
    }
}

/// What a file holds after a power cut in `mode`.
fn image(f: &FileState, mode: Mode, rng: &mut Rng) -> Vec<u8> {
    let mut bytes = f.durable.clone();
    let n = f.pending.len();
    match mode {
        Mode::Synced => {}
        Mode::Prefix | Mode::Torn => {
            let k = rng.below(n as u64 + 1) as usize;
            f.pending[..k].iter().for_each(|op| apply(&mut bytes, op, None));
            if let (Mode::Torn, Some(op)) = (mode, f.pending.get(k)) {
                let keep = match op {
                    Op::Write(_, data) => rng.below((data.len() / SECTOR) as u64 + 1) as usize * SECTOR,
                    Op::SetLen(_) => 0,
                };
                if matches!(op, Op::Write(..)) {
                    apply(&mut bytes, op, Some(keep));
                }
            }
        }
        Mode::Reorder => f.pending.iter().filter(|_| rng.below(2) == 0).for_each(|op| apply(&mut bytes, op, None)),
    }
    bytes
}

/// A file on the simulated disk; the store file (redb's `StorageBackend`) or a journal.
#[derive(Clone, Debug)]
struct SimFile {
    power: Arc<Power>,
    state: Arc<Mutex<FileState>>,
}

impl SimFile {
    fn read(&self, at: u64, out: &mut [u8]) -> io::Result<()> {
        if self.power.is_cut() {
            return Err(io::Error::other("power cut"));
        }
        let s = self.state.lock().unwrap();
        let src = s.current.get(at as usize..at as usize + out.len()).ok_or(io::ErrorKind::UnexpectedEof)?;
        out.copy_from_slice(src);
        Ok(())
    }
    fn change(&self, op: Op) -> io::Result<()> {
        self.power.io()?;
        let mut s = self.state.lock().unwrap();
        apply(&mut s.current, &op, None);
        s.pending.push(op);
        Ok(())
    }
    fn sync(&self) -> io::Result<()> {
        self.power.io()?;
        let mut s = self.state.lock().unwrap();
        s.durable = s.current.clone();
        s.pending.clear();
        Ok(())
    }
    fn len(&self) -> u64 {
        self.state.lock().unwrap().current.len() as u64
    }
}

impl redb::StorageBackend for SimFile {
    fn len(&self) -> io::Result<u64> {
        Ok(SimFile::len(self))
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        SimFile::read(self, offset, out)
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.change(Op::SetLen(len))
    }
    fn sync_data(&self) -> io::Result<()> {
        self.sync()
    }
    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.change(Op::Write(offset, data.to_vec()))
    }
}

impl JournalFile for SimFile {
    fn size(&self) -> io::Result<u64> {
        Ok(SimFile::len(self))
    }
    fn read_at(&self, at: u64, buf: &mut [u8]) -> io::Result<()> {
        self.read(at, buf)
    }
    fn write_at(&self, at: u64, data: &[u8]) -> io::Result<()> {
        self.change(Op::Write(at, data.to_vec()))
    }
    fn sync(&self) -> io::Result<()> {
        SimFile::sync(self)
    }
    /// A rename of a synced temporary file: atomic and durable.
    fn replace(&self, bytes: &[u8]) -> io::Result<()> {
        self.power.io()?;
        let mut s = self.state.lock().unwrap();
        s.current = bytes.to_vec();
        s.durable = bytes.to_vec();
        s.pending.clear();
        Ok(())
    }
    fn truncate(&self, len: u64) -> io::Result<()> {
        self.change(Op::SetLen(len))?;
        SimFile::sync(self)
    }
}

// ---- the workload ----

#[derive(Clone, Copy, Debug)]
enum Step {
    Compute(usize),
    Jobs(usize),
    /// Close both stores and open them again.
    Reopen,
}

fn steps() -> Vec<Step> {
    let mut steps = Vec::new();
    for i in 0..workload::COMPUTE_OPS.max(workload::JOB_OPS) {
        if i < workload::COMPUTE_OPS {
            steps.push(Step::Compute(i));
        }
        if i < workload::JOB_OPS {
            steps.push(Step::Jobs(i));
        }
        if i == 6 {
            steps.push(Step::Reopen);
        }
    }
    steps.push(Step::Reopen);
    steps
}

fn options(capacity: u64) -> RedbOptions {
    RedbOptions { lock_timeout: std::time::Duration::ZERO, checkpoint_bytes: capacity, ..RedbOptions::default() }
}

fn builder(policy: Policy) -> StoreBuilder {
    StoreBuilder::new().policy(policy).clock(ManualClock::new(1_700_000_000_000_000_000))
}

/// The four files of a run: each store's redb file and journal.
#[derive(Clone)]
struct Files {
    compute: (SimFile, SimFile),
    jobs: (SimFile, SimFile),
}

impl Files {
    fn new(power: &Arc<Power>, images: [Vec<u8>; 4]) -> Files {
        let [a, b, c, d] = images;
        Files { compute: (power.file(a), power.file(b)), jobs: (power.file(c), power.file(d)) }
    }
}

struct Stores {
    compute: ExecutionStore<RedbBackend>,
    jobs: JobStore<RedbBackend>,
}

type State = (ComputeSnapshot, JobSnapshot);

fn open(files: &Files, capacity: u64) -> Result<Stores, String> {
    let c = RedbBackend::open_with_backend(
        files.compute.0.clone(),
        files.compute.1.clone(),
        StoreKind::Compute,
        &options(capacity),
    )
    .map_err(|e| format!("compute: {e}"))?;
    let j = RedbBackend::open_with_backend(
        files.jobs.0.clone(),
        files.jobs.1.clone(),
        StoreKind::Requester,
        &options(capacity),
    )
    .map_err(|e| format!("jobs: {e}"))?;
    Ok(Stores { compute: builder(Policy::Strict).compute(c), jobs: builder(Policy::Permissive).jobs(j) })
}

fn state(s: &Stores) -> State {
    (s.compute.snapshot().expect("compute snapshot"), s.jobs.snapshot().expect("jobs snapshot"))
}

fn check(s: &Stores, what: &str) {
    let (c, j) = (s.compute.check().expect("compute check"), s.jobs.check().expect("jobs check"));
    assert!(c.problems.is_empty() && j.problems.is_empty(), "{what}: check: {:?} {:?}", c.problems, j.problems);
}

/// Runs `step`; `Err(code)` on failure.
fn run_step(stores: &mut Stores, files: &Files, capacity: u64, step: Step) -> Result<(), String> {
    match step {
        Step::Compute(i) => workload::compute_op(&stores.compute, i).map_err(|e| e.code().to_string()),
        Step::Jobs(i) => workload::job_op(&stores.jobs, i).map_err(|e| e.code().to_string()),
        Step::Reopen => {
            let closed = stores.compute.close().and(Ok(())).map_err(|e| e.code().to_string());
            let closed = closed.and(stores.jobs.close().map_err(|e| e.code().to_string()));
            closed?;
            *stores = open(files, capacity).map_err(|_| "OpenFailed".to_string())?;
            Ok(())
        }
    }
}

/// A run without a cut: the state after each step (`[0]`: the new stores) and the number of
/// mutating calls the steps make.
struct Reference {
    capacity: u64,
    states: Vec<State>,
    calls: u64,
    /// The two stores' files right after creation, where every run starts.
    start: [Vec<u8>; 4],
}

fn reference(capacity: u64) -> Reference {
    let power = Power::new(Mode::Synced, 0);
    let files = Files::new(&power, Default::default());
    let mut stores = open(&files, capacity).expect("create");
    drop(stores);
    let start = snapshot_files(&files);
    let power = Power::new(Mode::Synced, 0);
    let files = Files::new(&power, start.clone());
    stores = open(&files, capacity).expect("open");
    let before = power.calls.load(Ordering::SeqCst);
    let mut states = vec![state(&stores)];
    for step in steps() {
        run_step(&mut stores, &files, capacity, step).unwrap_or_else(|c| panic!("{step:?} failed without a cut: {c}"));
        states.push(state(&stores));
    }
    check(&stores, "reference");
    Reference { capacity, states, calls: power.calls.load(Ordering::SeqCst) - before, start }
}

fn snapshot_files(files: &Files) -> [Vec<u8>; 4] {
    let cur = |f: &SimFile| f.state.lock().unwrap().durable.clone();
    [cur(&files.compute.0), cur(&files.compute.1), cur(&files.jobs.0), cur(&files.jobs.1)]
}

/// Opens the survivors of a cut; with `again`, cuts the power once more during that recovery
/// (at a call chosen by the seed) and recovers from what survives the second cut.
fn recover(images: [Vec<u8>; 4], r: &Reference, mode: Mode, seed: u64, again: bool, what: &str) -> Stores {
    if again {
        let power = Power::new(mode, seed ^ 0xA5A5);
        let files = Files::new(&power, images.clone());
        let probe = Power::new(Mode::Synced, 0);
        drop(open(&Files::new(&probe, images.clone()), r.capacity).unwrap_or_else(|e| panic!("{what}: recovery: {e}")));
        let calls = probe.calls.load(Ordering::SeqCst);
        power.arm(Rng(seed | 1).below(calls.max(1)));
        let _ = open(&files, r.capacity);
        let second = power.images.lock().unwrap().take();
        if let Some(second) = second {
            let images: [Vec<u8>; 4] = second.try_into().expect("four files");
            return recover(images, r, mode, seed, false, &format!("{what}, cut again during recovery"));
        }
    }
    let power = Power::new(Mode::Synced, 0);
    open(&Files::new(&power, images), r.capacity).unwrap_or_else(|e| panic!("{what}: recovery failed: {e}"))
}

/// Cuts the power at call `n` of the run in `mode` and checks everything the module promises.
fn cut_point(r: &Reference, n: u64, mode: Mode, seed: u64) {
    let what = format!("capacity {} cut at call {n} ({mode:?}, seed {seed})", r.capacity);
    let power = Power::new(mode, seed);
    let files = Files::new(&power, r.start.clone());
    let mut stores = open(&files, r.capacity).expect("open");
    power.arm(n);
    let steps = steps();
    let mut failed: Option<(usize, String)> = None;
    for (k, &step) in steps.iter().enumerate() {
        let result = run_step(&mut stores, &files, r.capacity, step);
        match (&failed, result) {
            (None, Err(code)) => {
                assert!(power.is_cut(), "{what}: step {k} {step:?} failed with {code} before the power cut");
                failed = Some((k, code));
            }
            (None, Ok(())) => {}
            // After the cut nothing can become durable: a later step may succeed only if it
            // changes nothing (the abandoned transaction).
            (Some(_), Ok(())) => {
                assert!(r.states[k] == r.states[k + 1], "{what}: step {k} {step:?} returned Ok after the power cut")
            }
            (Some(_), Err(_)) => {}
        }
        // A failed reopen leaves no store to run the rest on.
        if matches!(step, Step::Reopen) && failed.is_some() {
            break;
        }
    }
    let Some((f, code)) = failed else { panic!("{what}: the cut never fired ({} calls)", r.calls) };
    drop(stores);
    let images: [Vec<u8>; 4] = power.images.lock().unwrap().take().expect("images at the cut").try_into().unwrap();
    let stores = recover(images, r, mode, seed, n % 3 == 0, &what);
    check(&stores, &what);
    let now = state(&stores);
    let at = if now == r.states[f] {
        f
    } else if now == r.states[f + 1] {
        assert!(
            code == "CommitUncertain" || matches!(steps[f], Step::Reopen),
            "{what}: step {f} {:?} failed with {code}, which promises nothing was applied, yet it survived",
            steps[f]
        );
        f + 1
    } else {
        let ok = r.states.iter().position(|s| *s == now);
        panic!("{what}: after recovery the stores hold neither the state before step {f} ({:?}) nor after it; they match state {ok:?}", steps[f]);
    };
    // The stores write again and end where a run without a cut ends.
    let mut stores = stores;
    let power = Power::new(Mode::Synced, 0);
    let files = Files::new(&power, [Vec::new(), Vec::new(), Vec::new(), Vec::new()]);
    for (k, &step) in steps.iter().enumerate().skip(at) {
        if matches!(step, Step::Reopen) {
            continue;
        }
        run_step(&mut stores, &files, r.capacity, step)
            .unwrap_or_else(|c| panic!("{what}: step {k} after recovery: {c}"));
    }
    assert!(state(&stores) == *r.states.last().unwrap(), "{what}: the final state differs from a run without a cut");
    check(&stores, &what);
}

fn seed() -> u64 {
    std::env::var("POWER_SEED").ok().map_or(1, |s| s.parse().expect("POWER_SEED must be an integer"))
}

fn sweep(capacity: u64) {
    let t0 = Instant::now();
    let r = reference(capacity);
    let seed = seed();
    let mut tried = 0;
    for n in 0..r.calls {
        for mode in MODES {
            cut_point(&r, n, mode, seed.wrapping_add(n));
            tried += 1;
        }
    }
    println!(
        "power loss, journal capacity {capacity}: {} mutating calls, {tried} cut points ({} modes, every third also cut during recovery), seed {seed} (POWER_SEED=<n>), {:.1?}",
        r.calls,
        MODES.len(),
        t0.elapsed()
    );
    assert!(r.calls > 50, "the workload makes too few calls to mean anything: {}", r.calls);
}

#[test]
fn a_power_cut_at_any_io_call_with_frequent_checkpoints_loses_no_acknowledged_commit() {
    // 24 KiB: a checkpoint every few operations, and the large records grow the journal.
    sweep(24 << 10);
}

#[test]
fn a_power_cut_at_any_io_call_with_the_default_journal_loses_no_acknowledged_commit() {
    sweep(bacalhau_state::kv::redb::JOURNAL_CAPACITY);
}
