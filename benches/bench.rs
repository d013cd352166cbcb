//! The benchmark suite: each workload on our store and on raw redb doing the same
//! work (same records, same encoding: format byte + ciborium CBOR, same number of transactions,
//! no indexes, events or history), in one process and one run.
//!
//! ```text
//! cargo bench --bench bench                 # quick mode (a few minutes): big sizes 100k
//! cargo bench --bench bench -- --full       # 1M-record workloads too
//! cargo bench --bench bench -- --json out.json --only create,lifecycle
//! ```
//!
//! Sizes can be overridden with environment variables: `BENCH_DURABLE` (durable creates),
//! `BENCH_LIFECYCLE` (durable lifecycle executions), `BENCH_BATCH` (batched lifecycle
//! executions), `BENCH_MEMORY` (memory backend executions), `BENCH_BIG` (records of the read,
//! query, count and open stores), `BENCH_DIR` (where the store files go; default a temporary
//! directory under `target-bench`, or the system temp dir).
//!
//! Durable rows fsync every commit (`Durability::Immediate`); every other row measures CPU cost
//! over stores preloaded with `Durability::None` commits (ending with one durable commit).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bacalhau_state::clock::ManualClock;
use bacalhau_state::jobstore::JobQuery;
use bacalhau_state::kv::redb::{RedbBackend, RedbOptions};
use bacalhau_state::kv::StoreKind;
use bacalhau_state::model::{Execution, Job, LocalExecutionState, Opaque, State, Task};
use bacalhau_state::state::{ExecutionDesiredStateType, ExecutionStateType, LocalExecutionStateType as S};
use bacalhau_state::time::Timestamp;
use bacalhau_state::{ComputeError, Durability, ExecutionStore, JobStore, StoreBuilder, UpdateExecutionStateRequest};
use ciborium::Value as Cbor;
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::{de::DeserializeOwned, Serialize};

// ---------------------------------------------------------------- configuration

struct Cfg {
    full: bool,
    durable: usize,
    lifecycle: usize,
    batch: usize,
    memory: usize,
    big: usize,
    scale: Vec<usize>,
    dir: PathBuf,
    json: Option<PathBuf>,
    only: Option<Vec<String>>,
    wasm: bool,
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.replace('_', "").parse().ok()).unwrap_or(default)
}

impl Cfg {
    fn parse() -> Cfg {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let full = args.iter().any(|a| a == "--full");
        let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned();
        let big = env_usize("BENCH_BIG", if full { 1_000_000 } else { 100_000 });
        let scale = if full { vec![10_000, 100_000, 1_000_000] } else { vec![10_000, 100_000] };
        let dir = std::env::var_os("BENCH_DIR").map(PathBuf::from).unwrap_or_else(|| {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
            target.join("bench-stores")
        });
        Cfg {
            full,
            durable: env_usize("BENCH_DURABLE", if full { 3_000 } else { 1_500 }),
            lifecycle: env_usize("BENCH_LIFECYCLE", if full { 800 } else { 400 }),
            batch: env_usize("BENCH_BATCH", if full { 20_000 } else { 10_000 }),
            memory: env_usize("BENCH_MEMORY", if full { 200_000 } else { 100_000 }),
            big,
            scale: scale.into_iter().filter(|&n| n <= big.max(10_000)).collect(),
            dir,
            json: value("--json").map(PathBuf::from),
            only: value("--only").map(|s| s.split(',').map(String::from).collect()),
            wasm: !args.iter().any(|a| a == "--no-wasm"),
        }
    }

    fn wants(&self, group: &str) -> bool {
        self.only.as_ref().is_none_or(|o| o.iter().any(|g| g == group))
    }
}

// ---------------------------------------------------------------- results

#[derive(Clone)]
struct Row {
    workload: String,
    /// ops/s (or bytes per execution for disk rows).
    ours: f64,
    raw: Option<f64>,
    /// ours/raw, or a row-specific ratio (batch/durable, wasm/native).
    ratio: Option<f64>,
    unit: &'static str,
    target: String,
    pass: Option<bool>,
    durable: bool,
}

#[derive(Default)]
struct Report {
    rows: Vec<Row>,
}

impl Report {
    fn push(&mut self, row: Row) {
        print_row(&row);
        self.rows.push(row);
    }

    fn ops(&mut self, workload: &str, ours: f64, raw: f64, durable: bool, min_ratio: Option<f64>) {
        let ratio = ours / raw;
        self.push(Row {
            workload: workload.into(),
            ours,
            raw: Some(raw),
            ratio: Some(ratio),
            unit: "ops/s",
            target: min_ratio.map(|m| format!("≥ {m:.2}× raw")).unwrap_or_else(|| "-".into()),
            pass: min_ratio.map(|m| ratio >= m),
            durable,
        });
    }

    /// A latency row: `ours`/`raw` are ops/s; the target is a maximum latency in ms.
    fn latency(&mut self, workload: &str, ours: f64, raw: Option<f64>, max_ms: Option<f64>) {
        let ms = 1000.0 / ours;
        self.push(Row {
            workload: workload.into(),
            ours,
            raw,
            ratio: raw.map(|r| ours / r),
            unit: "ops/s",
            target: max_ms.map(|m| format!("< {m} ms")).unwrap_or_else(|| "-".into()),
            pass: max_ms.map(|m| ms < m),
            durable: false,
        });
    }
}

fn fmt_num(v: f64) -> String {
    if v >= 100.0 {
        let mut s = String::new();
        let n = v.round() as u64;
        let digits = n.to_string();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                s.push(',');
            }
            s.push(c);
        }
        s
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

fn fmt_per_op(ops: f64, unit: &str) -> String {
    if unit != "ops/s" {
        return String::new();
    }
    let us = 1e6 / ops;
    if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else if us >= 10.0 {
        format!("{us:.1} µs")
    } else {
        format!("{us:.2} µs")
    }
}

const HEADER: &str = "| workload | ours | raw redb | ratio | ours per op | target | result |";

fn row_line(r: &Row) -> String {
    let unit = if r.unit == "ops/s" { "" } else { r.unit };
    let ours = format!("{}{}{}", fmt_num(r.ours), if unit.is_empty() { "" } else { " " }, unit);
    let raw = r.raw.map(|v| format!("{}{}{}", fmt_num(v), if unit.is_empty() { "" } else { " " }, unit));
    format!(
        "| {}{} | {} | {} | {} | {} | {} | {} |",
        r.workload,
        if r.durable { " (durable)" } else { "" },
        ours,
        raw.unwrap_or_else(|| "-".into()),
        r.ratio.map(|x| format!("{x:.2}×")).unwrap_or_else(|| "-".into()),
        fmt_per_op(r.ours, r.unit),
        r.target,
        match r.pass {
            Some(true) => "pass",
            Some(false) => "MISS",
            None => "-",
        }
    )
}

fn print_row(r: &Row) {
    eprintln!("  {}", row_line(r));
}

// ---------------------------------------------------------------- data

/// splitmix64: deterministic IDs and choices without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn uuid(seed: u64) -> String {
    let mut r = Rng(seed);
    let (a, b) = (r.next(), r.next());
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        (b >> 48) & 0x3fff | 0x8000,
        b & 0xffff_ffff_ffff
    )
}

fn exec_id(i: usize) -> String {
    format!("e-{}", uuid(i as u64 * 2 + 1))
}

fn text(s: &str) -> Cbor {
    Cbor::Text(s.into())
}

fn task() -> Task {
    Task(Opaque(Cbor::Map(vec![
        (text("Name"), text("main")),
        (
            text("Engine"),
            Cbor::Map(vec![
                (text("Type"), text("docker")),
                (text("Params"), Cbor::Map(vec![(text("Image"), text("ubuntu:24.04"))])),
            ]),
        ),
    ])))
}

/// A compute record of about 600 bytes encoded (the embedded job is most of it).
fn record(i: usize, executions_per_job: usize) -> LocalExecutionState {
    let job_n = i / executions_per_job.max(1);
    let job_id = format!("j-{}", uuid(job_n as u64 * 2 + 2));
    let job = Job {
        id: job_id.clone(),
        name: format!("bench-job-{job_n}"),
        namespace: "default".into(),
        job_type: "batch".into(),
        priority: 50,
        count: 1,
        tasks: vec![task()],
        state: State::new(bacalhau_state::state::JobStateType::Running),
        version: 1,
        revision: 2,
        create_time: 1_700_000_000_000_000_000,
        modify_time: 1_700_000_000_000_000_000,
        ..Job::default()
    };
    let mut resources = BTreeMap::new();
    resources.insert(
        "main".to_string(),
        Opaque(Cbor::Map(vec![
            (text("CPU"), Cbor::Float(0.5)),
            (text("Memory"), Cbor::Integer(536_870_912u64.into())),
        ])),
    );
    let execution = Execution {
        id: exec_id(i),
        namespace: "default".into(),
        eval_id: uuid(i as u64 * 7 + 3),
        node_id: "QmComputeNode0001".into(),
        job_id,
        job: Some(std::sync::Arc::new(job)),
        allocated_resources: bacalhau_state::model::AllocatedResources { tasks: resources },
        desired_state: State::new(ExecutionDesiredStateType::Running),
        compute_state: State::new(ExecutionStateType::New),
        revision: 1,
        create_time: 1_700_000_000_000_000_000,
        modify_time: 1_700_000_000_000_000_000,
        ..Execution::default()
    };
    LocalExecutionState::new(execution, "QmRequesterNode0001", Timestamp::from_unix_nanos(1_700_000_000_000_000_000))
}

const NAMESPACES: usize = 4;
const TAGS: [&str; 8] = ["gpu", "cpu", "batch", "ml", "etl", "nightly", "adhoc", "prod"];
const QUERY_LIMIT: u32 = 20;

/// A job of about 500 bytes: namespace `ns-(i % 4)`, two of eight tags.
fn job(i: usize) -> Job {
    let mut r = Rng(i as u64 ^ 0xA5A5);
    let t1 = r.below(TAGS.len());
    let t2 = (t1 + 1 + r.below(TAGS.len() - 1)) % TAGS.len();
    let mut job = Job {
        id: format!("j-{}", uuid(i as u64 * 2 + 2)),
        name: format!("bench-job-{i}"),
        namespace: format!("ns-{}", i % NAMESPACES),
        job_type: "batch".into(),
        priority: 50,
        count: 1,
        labels: BTreeMap::from([(TAGS[t1].to_string(), "yes".into()), (TAGS[t2].to_string(), "yes".into())]),
        tasks: vec![task()],
        version: 1,
        ..Job::default()
    };
    job.meta.insert("bacalhau.org/requester.id".into(), "QmRequesterNode0001".into());
    job
}

const LIFECYCLE: [(S, S); 4] = [
    (S::Created, S::BidAccepted),
    (S::BidAccepted, S::Running),
    (S::Running, S::Publishing),
    (S::Publishing, S::Completed),
];

fn update(id: &str, from: S, to: S, version: u64) -> UpdateExecutionStateRequest {
    UpdateExecutionStateRequest::new(id, to).expecting(&[from]).expecting_version(version)
}

// ---------------------------------------------------------------- raw redb

const RAW: TableDefinition<&[u8], &[u8]> = TableDefinition::new("executions");
const RAW_JOBS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("jobs");

fn encode<V: Serialize>(buf: &mut Vec<u8>, v: &V) {
    buf.clear();
    buf.push(1);
    ciborium::into_writer(v, &mut *buf).expect("encode");
}

fn decode<V: DeserializeOwned>(bytes: &[u8]) -> V {
    assert_eq!(bytes[0], 1);
    ciborium::from_reader(&bytes[1..]).expect("decode")
}

/// Raw redb doing what the store does, minus indexes, history and events: one table of
/// format-byte + CBOR values keyed by ID, the same existence check and conditional update.
struct Raw {
    db: Database,
    buf: Vec<u8>,
}

impl Raw {
    fn create(path: &Path) -> Raw {
        let _ = std::fs::remove_file(path);
        let db = Database::create(path).expect("raw create");
        Raw { db, buf: Vec::new() }
    }

    fn txn(&self, durable: bool) -> redb::WriteTransaction {
        let mut txn = self.db.begin_write().unwrap();
        if !durable {
            txn.set_durability(redb::Durability::None).unwrap();
        }
        txn
    }

    fn insert_in(buf: &mut Vec<u8>, t: &mut redb::Table<&[u8], &[u8]>, rec: &LocalExecutionState) {
        let id = rec.id().as_bytes();
        assert!(t.get(id).unwrap().is_none(), "exists");
        encode(buf, rec);
        t.insert(id, buf.as_slice()).unwrap();
    }

    fn update_in(
        buf: &mut Vec<u8>,
        t: &mut redb::Table<&[u8], &[u8]>,
        id: &str,
        from: S,
        to: S,
        version: u64,
        now: i64,
    ) -> LocalExecutionState {
        let mut rec: LocalExecutionState = decode(t.get(id.as_bytes()).unwrap().expect("missing").value());
        assert!(rec.state == from && rec.version == version, "condition");
        rec.state = to;
        rec.version += 1;
        rec.update_time = Timestamp::from_unix_nanos(now);
        encode(buf, &rec);
        t.insert(id.as_bytes(), buf.as_slice()).unwrap();
        rec
    }

    fn create_one(&mut self, rec: &LocalExecutionState, durable: bool) {
        let txn = self.txn(durable);
        {
            let mut t = txn.open_table(RAW).unwrap();
            Self::insert_in(&mut self.buf, &mut t, rec);
        }
        txn.commit().unwrap();
    }

    fn update_one(&mut self, id: &str, from: S, to: S, version: u64, durable: bool, now: i64) -> LocalExecutionState {
        let txn = self.txn(durable);
        let rec = {
            let mut t = txn.open_table(RAW).unwrap();
            Self::update_in(&mut self.buf, &mut t, id, from, to, version, now)
        };
        txn.commit().unwrap();
        rec
    }

    /// Creates records `range` in grouped non-durable transactions, then one durable commit.
    fn preload(&mut self, range: std::ops::Range<usize>, per_job: usize) {
        let ids: Vec<usize> = range.collect();
        for chunk in ids.chunks(2_000) {
            let txn = self.txn(false);
            {
                let mut t = txn.open_table(RAW).unwrap();
                for &i in chunk {
                    Self::insert_in(&mut self.buf, &mut t, &record(i, per_job));
                }
            }
            txn.commit().unwrap();
        }
        self.txn(true).commit().unwrap();
    }

    fn get(&self, id: &str) -> LocalExecutionState {
        let r = self.db.begin_read().unwrap();
        let t = r.open_table(RAW).unwrap();
        decode(t.get(id.as_bytes()).unwrap().expect("missing").value())
    }
}

// ---------------------------------------------------------------- our store helpers

type Redb = ExecutionStore<RedbBackend>;

fn open_ours(path: &Path, fresh: bool) -> Redb {
    if fresh {
        let _ = std::fs::remove_file(path);
    }
    let backend = RedbBackend::open(path, StoreKind::Compute, &RedbOptions::default()).expect("open");
    StoreBuilder::new().clock(ManualClock::stepping(1_700_000_000_000_000_000, 1_000)).compute(backend)
}

fn preload_ours(store: &Redb, range: std::ops::Range<usize>, per_job: usize) {
    let ids: Vec<usize> = range.collect();
    for chunk in ids.chunks(2_000) {
        store
            .transaction_with(Durability::None, |tx| {
                for &i in chunk {
                    tx.create_execution(record(i, per_job))?;
                }
                Ok::<_, ComputeError>(())
            })
            .unwrap();
    }
    store.transaction(|_| Ok::<_, ComputeError>(())).unwrap();
}

/// Bytes written to the block device holding `dir` so far (`/sys/dev/block/<dev>/stat`, sectors
/// written x 512), if known. Device-wide, so other processes' writes add noise; but it counts
/// what reached the device, unlike `/proc/self/io` `write_bytes`, which charges every
/// `fdatasync` of a file with the file's whole dirty range (1 MiB per 3 KiB append measured
/// here).
fn io_written(dir: &Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    let dev = std::fs::metadata(dir).ok()?.dev();
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    let stat = std::fs::read_to_string(format!("/sys/dev/block/{major}:{minor}/stat")).ok()?;
    stat.split_whitespace().nth(6)?.parse::<u64>().ok().map(|sectors| sectors * 512)
}

/// A row of bytes written to storage per durable commit (what each fsync has to flush).
fn io_row(rep: &mut Report, workload: &str, ours: Option<u64>, raw: Option<u64>, txns: usize) {
    if let (Some(o), Some(r)) = (ours, raw) {
        let (o, r) = (o as f64 / 1024.0 / txns as f64, r as f64 / 1024.0 / txns as f64);
        rep.push(Row {
            workload: workload.into(),
            ours: o,
            raw: Some(r),
            ratio: Some(o / r),
            unit: "KiB/txn",
            target: "-".into(),
            pass: None,
            durable: true,
        });
    }
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Our store's bytes on disk: the redb file and its commit journal.
fn store_size(path: &Path) -> u64 {
    file_size(path) + file_size(&bacalhau_state::kv::redb::journal_path(path))
}

/// Bytes in a raw redb file's allocated pages (as [`RedbBackend::bytes_in_use`] counts ours).
fn raw_bytes_in_use(db: &redb::Database) -> u64 {
    let txn = db.begin_write().unwrap();
    let stats = txn.stats().unwrap();
    txn.abort().unwrap();
    stats.allocated_pages() * stats.page_size() as u64
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

/// Runs `f` `reps` times and returns the median time of one run.
fn median(reps: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

// ---------------------------------------------------------------- workloads

fn bench_create(cfg: &Cfg, rep: &mut Report) {
    let n = cfg.durable;
    let recs: Vec<LocalExecutionState> = (0..n).map(|i| record(i, 1)).collect();
    // Interleave ours and raw in halves so that disk/load drift hits both alike.
    let ours_store = open_ours(&cfg.dir.join("create-ours.redb"), true);
    let mut raw = Raw::create(&cfg.dir.join("create-raw.redb"));
    let (mut t_ours, mut t_raw) = (Duration::ZERO, Duration::ZERO);
    let (mut w_ours, mut w_raw) = (Some(0), Some(0));
    for half in recs.chunks(n.div_ceil(2)) {
        let (t, w) = (Instant::now(), io_written(&cfg.dir));
        for r in half {
            ours_store.create_execution(r.clone()).unwrap();
        }
        t_ours += t.elapsed();
        w_ours = w_ours.zip(io_written(&cfg.dir).zip(w).map(|(b, a)| b - a)).map(|(x, y)| x + y);
        let (t, w) = (Instant::now(), io_written(&cfg.dir));
        for r in half {
            raw.create_one(r, true);
        }
        t_raw += t.elapsed();
        w_raw = w_raw.zip(io_written(&cfg.dir).zip(w).map(|(b, a)| b - a)).map(|(x, y)| x + y);
    }
    rep.ops(&format!("create, 1 txn each, n={n}"), rate(n, t_ours), rate(n, t_raw), true, Some(1.0));
    io_row(rep, "create: bytes written to the device per commit", w_ours, w_raw, n);
}

fn lifecycle_ours(store: &Redb, range: std::ops::Range<usize>, durability: Durability) {
    for i in range {
        let rec = record(i, 1);
        let id = rec.id().to_string();
        store.transaction_with(durability, |tx| tx.create_execution(rec)).unwrap();
        for (v, (from, to)) in LIFECYCLE.iter().enumerate() {
            store
                .transaction_with(durability, |tx| tx.update_execution_state(update(&id, *from, *to, v as u64 + 1)))
                .unwrap();
        }
    }
}

fn lifecycle_raw(raw: &mut Raw, range: std::ops::Range<usize>, durable: bool, clock: &mut i64) {
    for i in range {
        let rec = record(i, 1);
        raw.create_one(&rec, durable);
        for (v, (from, to)) in LIFECYCLE.iter().enumerate() {
            *clock += 1_000;
            raw.update_one(rec.id(), *from, *to, v as u64 + 1, durable, *clock);
        }
    }
}

/// Returns ours' durable lifecycle rate (transactions/s) for the batch target.
fn bench_lifecycle(cfg: &Cfg, rep: &mut Report) -> f64 {
    let n = cfg.lifecycle;
    let store = open_ours(&cfg.dir.join("lifecycle-ours.redb"), true);
    let mut raw = Raw::create(&cfg.dir.join("lifecycle-raw.redb"));
    let mut clock = 1_700_000_000_000_000_000;
    let (mut t_ours, mut t_raw) = (Duration::ZERO, Duration::ZERO);
    let (mut w_ours, mut w_raw) = (Some(0), Some(0));
    let half = n.div_ceil(2);
    for range in [0..half, half..n] {
        let (t, w) = (Instant::now(), io_written(&cfg.dir));
        lifecycle_ours(&store, range.clone(), Durability::Immediate);
        t_ours += t.elapsed();
        w_ours = w_ours.zip(io_written(&cfg.dir).zip(w).map(|(b, a)| b - a)).map(|(x, y)| x + y);
        let (t, w) = (Instant::now(), io_written(&cfg.dir));
        lifecycle_raw(&mut raw, range, true, &mut clock);
        t_raw += t.elapsed();
        w_raw = w_raw.zip(io_written(&cfg.dir).zip(w).map(|(b, a)| b - a)).map(|(x, y)| x + y);
    }
    let txns = n * 5;
    let ours = rate(txns, t_ours);
    rep.ops(&format!("lifecycle, 1 txn per op, {n}×5 txns"), ours, rate(txns, t_raw), true, Some(1.0));
    io_row(rep, "lifecycle: bytes written to the device per commit", w_ours, w_raw, txns);
    ours
}

/// Group commit: `THREADS` threads each run the durable lifecycle on their own executions of
/// one store, against one thread on the same store just before (transactions/s both).
fn bench_threads(cfg: &Cfg, rep: &mut Report) {
    const THREADS: usize = 16;
    let store = open_ours(&cfg.dir.join("threads-ours.redb"), true);
    let per_thread = cfg.lifecycle.div_ceil(4).max(10);
    let t = Instant::now();
    lifecycle_ours(&store, 0..per_thread * 2, Durability::Immediate);
    let single = rate(per_thread * 2 * 5, t.elapsed());
    let base = 1_000_000;
    let t = Instant::now();
    std::thread::scope(|scope| {
        for k in 0..THREADS {
            let store = &store;
            scope.spawn(move || {
                let from = base + k * per_thread;
                lifecycle_ours(store, from..from + per_thread, Durability::Immediate)
            });
        }
    });
    let threads = rate(THREADS * per_thread * 5, t.elapsed());
    assert_eq!(store.stats().unwrap().total as usize, per_thread * (2 + THREADS));
    rep.push(Row {
        workload: format!("lifecycle from {THREADS} threads, {THREADS}×{per_thread}×5 txns, vs ours from 1 thread"),
        ours: threads,
        raw: Some(single),
        ratio: Some(threads / single),
        unit: "ops/s",
        target: "≥ 5× 1 thread".into(),
        pass: Some(threads / single >= 5.0),
        durable: true,
    });
}

/// Open after a crash: a store of about `BENCH_CRASH_MB` MiB (default 512) with commits since
/// its last checkpoint, copied while open (what a SIGKILL leaves), opened and recovered; raw
/// redb crashed the same way after its last durable commit. Median of 3, each on a fresh copy.
fn bench_crash_open(cfg: &Cfg, rep: &mut Report) {
    let target = (env_usize("BENCH_CRASH_MB", 512) as u64) << 20;
    let (ours_path, raw_path) = (cfg.dir.join("crash-ours.redb"), cfg.dir.join("crash-raw.redb"));
    let (ours_copy, raw_copy) = (cfg.dir.join("crash-ours-copy.redb"), cfg.dir.join("crash-raw-copy.redb"));
    let store = open_ours(&ours_path, true);
    let mut raw = Raw::create(&raw_path);
    let mut n = 0;
    while file_size(&ours_path) < target {
        preload_ours(&store, n..n + 20_000, 2);
        raw.preload(n..n + 20_000, 2);
        n += 20_000;
    }
    // Commits only in the journal (ours) / after the last durable commit (raw: one more durable
    // commit, so the crash copy holds everything it acknowledged).
    lifecycle_ours(&store, n..n + 20, Durability::Immediate);
    lifecycle_raw(&mut raw, n..n + 20, true, &mut 1_800_000_000_000_000_000);
    let probe = exec_id(n + 19);
    let size = file_size(&ours_path);
    let journal = |p: &Path| bacalhau_state::kv::redb::journal_path(p);
    // The copy is synced before the timed open: a crashed store's file is on disk, and the
    // open's first sync would otherwise flush the hundreds of MiB the copy just dirtied.
    let crash = |from: &Path, to: &Path, with_journal: bool| {
        let copy = |from: &Path, to: &Path| {
            std::fs::copy(from, to).unwrap();
            std::fs::File::open(to).unwrap().sync_all().unwrap();
        };
        copy(from, to);
        if with_journal {
            copy(&journal(from), &journal(to));
        }
    };
    // Only the open and the first read are timed, not the copy.
    let timed = |f: &mut dyn FnMut() -> Duration| {
        let mut times: Vec<Duration> = (0..3).map(|_| f()).collect();
        times.sort();
        times[1]
    };
    let ours = timed(&mut || {
        crash(&ours_path, &ours_copy, true);
        let t = Instant::now();
        let s = open_ours(&ours_copy, false);
        assert_eq!(s.get_execution(&probe).unwrap().state, S::Completed);
        let elapsed = t.elapsed();
        drop(s);
        elapsed
    });
    let rawt = timed(&mut || {
        crash(&raw_path, &raw_copy, false);
        let t = Instant::now();
        let db = Database::create(&raw_copy).unwrap();
        let r = db.begin_read().unwrap();
        assert!(r.open_table(RAW).unwrap().get(probe.as_bytes()).unwrap().is_some());
        t.elapsed()
    });
    drop(store);
    drop(raw);
    rep.latency(
        &format!("open after a crash, {} MiB store, + first read", size >> 20),
        1.0 / ours.as_secs_f64(),
        Some(1.0 / rawt.as_secs_f64()),
        Some(50.0),
    );
    for p in [&ours_path, &raw_path, &ours_copy, &raw_copy] {
        let _ = std::fs::remove_file(p);
        let _ = std::fs::remove_file(journal(p));
    }
}

fn batch_ours(store: &Redb, range: std::ops::Range<usize>, group: usize) {
    let ids: Vec<usize> = range.collect();
    // `group` operations per commit: group/5 executions, each created and taken to Completed.
    for chunk in ids.chunks(group / 5) {
        store
            .transaction(|tx| {
                for &i in chunk {
                    let rec = record(i, 1);
                    let id = rec.id().to_string();
                    tx.create_execution(rec)?;
                    for (v, (from, to)) in LIFECYCLE.iter().enumerate() {
                        tx.update_execution_state(update(&id, *from, *to, v as u64 + 1))?;
                    }
                }
                Ok::<_, ComputeError>(())
            })
            .unwrap();
    }
}

fn batch_raw(raw: &mut Raw, range: std::ops::Range<usize>, group: usize, clock: &mut i64) {
    let ids: Vec<usize> = range.collect();
    for chunk in ids.chunks(group / 5) {
        let txn = raw.txn(true);
        {
            let mut t = txn.open_table(RAW).unwrap();
            for &i in chunk {
                let rec = record(i, 1);
                Raw::insert_in(&mut raw.buf, &mut t, &rec);
                for (v, (from, to)) in LIFECYCLE.iter().enumerate() {
                    *clock += 1_000;
                    Raw::update_in(&mut raw.buf, &mut t, rec.id(), *from, *to, v as u64 + 1, *clock);
                }
            }
        }
        txn.commit().unwrap();
    }
}

fn bench_batch(cfg: &Cfg, rep: &mut Report, single_rate: Option<f64>) {
    let n = cfg.batch;
    let store = open_ours(&cfg.dir.join("batch-ours.redb"), true);
    let mut raw = Raw::create(&cfg.dir.join("batch-raw.redb"));
    let mut clock = 1_700_000_000_000_000_000;
    let (mut t_ours, mut t_raw) = (Duration::ZERO, Duration::ZERO);
    let half = n.div_ceil(2) / 20 * 20;
    for range in [0..half, half..n] {
        let t = Instant::now();
        batch_ours(&store, range.clone(), 100);
        t_ours += t.elapsed();
        let t = Instant::now();
        batch_raw(&mut raw, range, 100, &mut clock);
        t_raw += t.elapsed();
    }
    let ops = n * 5;
    let (ours, rawr) = (rate(ops, t_ours), rate(ops, t_raw));
    rep.ops(&format!("batch lifecycle, 100 ops per commit, {n}×5 ops"), ours, rawr, true, None);
    if let Some(single) = single_rate {
        rep.push(Row {
            workload: "batch vs durable single-op lifecycle (ours)".into(),
            ours,
            raw: None,
            ratio: Some(ours / single),
            unit: "ops/s",
            target: "≥ 10× single-op".into(),
            pass: Some(ours / single >= 10.0),
            durable: true,
        });
    }
}

/// Read, list, count and open over one preloaded compute store of `cfg.big` executions
/// (two per job), scaling rows at every size in `cfg.scale` on the way.
fn bench_big_compute(cfg: &Cfg, rep: &mut Report) {
    let ours_path = cfg.dir.join("big-ours.redb");
    let raw_path = cfg.dir.join("big-raw.redb");
    let store = open_ours(&ours_path, true);
    let mut raw = Raw::create(&raw_path);
    let per_job = 2;
    let mut loaded = 0;
    let mut sizes: Vec<usize> = cfg.scale.clone();
    if !sizes.contains(&cfg.big) {
        sizes.push(cfg.big);
    }
    sizes.sort();
    // Scaling samples use IDs above every preloaded one.
    let mut sample_base = 100_000_000;
    let sample = 2_000;
    let mut clock = 1_700_000_000_000_000_000;
    for &size in &sizes {
        let t = Instant::now();
        preload_ours(&store, loaded..size, per_job);
        let t_ours = t.elapsed();
        let t = Instant::now();
        raw.preload(loaded..size, per_job);
        let t_raw = t.elapsed();
        eprintln!(
            "  (preloaded {size} executions: ours {:.1} s, raw {:.1} s)",
            t_ours.as_secs_f64(),
            t_raw.as_secs_f64()
        );
        loaded = size;
        let label = human(size);
        if cfg.scale.contains(&size) && cfg.wants("scaling") {
            let t = Instant::now();
            lifecycle_ours(&store, sample_base..sample_base + sample, Durability::None);
            let ours = rate(sample * 5, t.elapsed());
            let t = Instant::now();
            lifecycle_raw(&mut raw, sample_base..sample_base + sample, false, &mut clock);
            let rawr = rate(sample * 5, t.elapsed());
            sample_base += sample;
            rep.ops(&format!("scaling: lifecycle op (non-durable) at {label}"), ours, rawr, false, None);
            // Pages in use, not file sizes: redb grows a file in doubling regions, so file
            // sizes move in steps of 2x and their ratio says little. The journal (bounded, 64 KiB
            // after a clean close) is not counted here; the compacted rows below count it.
            let ours_bytes = store.backend().bytes_in_use().unwrap() as f64;
            let raw_bytes = raw_bytes_in_use(&raw.db) as f64;
            rep.push(Row {
                workload: format!("scaling: disk per execution (pages in use), created only, at {label}"),
                ours: ours_bytes / size as f64,
                raw: Some(raw_bytes / size as f64),
                ratio: Some(ours_bytes / raw_bytes),
                unit: "B",
                target: "< 1.5× raw".into(),
                pass: Some(ours_bytes / raw_bytes < 1.5),
                durable: false,
            });
        }
        if size == 100_000.min(cfg.big) && cfg.wants("read") {
            bench_read(rep, &store, &raw, size, per_job);
        }
    }
    let n = cfg.big;
    let label = human(n);
    if cfg.wants("count") {
        let reps = 20_001;
        let t = Instant::now();
        let mut c = 0;
        for _ in 0..reps {
            c += store.get_execution_count(S::Created).unwrap();
        }
        let ours = rate(reps, t.elapsed());
        assert!(c > 0);
        let t = Instant::now();
        for _ in 0..reps {
            let r = raw.db.begin_read().unwrap();
            c += r.open_table(RAW).unwrap().len().unwrap();
        }
        let rawr = rate(reps, t.elapsed());
        std::hint::black_box(c);
        rep.latency(&format!("count executions in a state, {label} executions"), ours, Some(rawr), Some(1.0));
    }
    if cfg.wants("open") {
        drop(store);
        drop(raw);
        let probe = exec_id(n / 2);
        let ours = median(7, || {
            let s = open_ours(&ours_path, false);
            assert_eq!(s.get_execution(&probe).unwrap().id(), probe);
        });
        let rawt = median(7, || {
            let db = Database::create(&raw_path).unwrap();
            let r = db.begin_read().unwrap();
            let t = r.open_table(RAW).unwrap();
            let rec: LocalExecutionState = decode(t.get(probe.as_bytes()).unwrap().unwrap().value());
            assert_eq!(rec.id(), probe);
        });
        rep.latency(
            &format!("open a {label}-execution store + first read (warm page cache)"),
            1.0 / ours.as_secs_f64(),
            Some(1.0 / rawt.as_secs_f64()),
            Some(100.0),
        );
    }
}

fn human(n: usize) -> String {
    if n >= 1_000_000 && n % 1_000_000 == 0 {
        format!("{}M", n / 1_000_000)
    } else if n >= 1_000 && n % 1_000 == 0 {
        format!("{}k", n / 1_000)
    } else {
        n.to_string()
    }
}

fn bench_read(rep: &mut Report, store: &Redb, raw: &Raw, size: usize, per_job: usize) {
    let label = human(size);
    let reads = 50_000;
    let mut r = Rng(42);
    let ids: Vec<String> = (0..reads).map(|_| exec_id(r.below(size))).collect();
    let t = Instant::now();
    for id in &ids {
        assert_eq!(store.get_execution(id).unwrap().id(), id);
    }
    let ours = rate(reads, t.elapsed());
    let t = Instant::now();
    for id in &ids {
        assert_eq!(raw.get(id).id(), id);
    }
    let rawr = rate(reads, t.elapsed());
    rep.ops(&format!("read: random get_execution over {label}"), ours, rawr, false, None);

    // list: the executions of a job. Raw redb has no job index: it is handed the IDs and reads
    // them (the least any store must do to return the records).
    let lists = 20_000;
    let jobs: Vec<usize> = (0..lists).map(|_| r.below(size / per_job)).collect();
    let t = Instant::now();
    for &j in &jobs {
        let job_id = record(j * per_job, per_job).job_id().to_string();
        assert_eq!(store.get_executions(&job_id).unwrap().len(), per_job);
    }
    let ours = rate(lists, t.elapsed());
    let t = Instant::now();
    for &j in &jobs {
        let rt = raw.db.begin_read().unwrap();
        let tb = rt.open_table(RAW).unwrap();
        let recs: Vec<LocalExecutionState> = (0..per_job)
            .map(|k| decode(tb.get(exec_id(j * per_job + k).as_bytes()).unwrap().unwrap().value()))
            .collect();
        assert_eq!(recs.len(), per_job);
    }
    let rawr = rate(lists, t.elapsed());
    rep.ops(&format!("list: get_executions(job) ({per_job} per job) over {label}"), ours, rawr, false, None);
}

/// Job store query over `size` jobs: first page of namespace + tag, then the next page.
fn bench_query(cfg: &Cfg, rep: &mut Report) {
    let ours_path = cfg.dir.join("jobs-ours.redb");
    let raw_path = cfg.dir.join("jobs-raw.redb");
    let _ = std::fs::remove_file(&ours_path);
    let backend = RedbBackend::open(&ours_path, StoreKind::Requester, &RedbOptions::default()).unwrap();
    let store: JobStore<RedbBackend> =
        StoreBuilder::new().clock(ManualClock::stepping(1_700_000_000_000_000_000, 1_000)).jobs(backend);
    let raw = Raw::create(&raw_path);
    let mut sizes: Vec<usize> = [10_000, 100_000, 1_000_000].into_iter().filter(|&n| n <= cfg.big).collect();
    if sizes.is_empty() {
        sizes.push(cfg.big);
    }
    let mut loaded = 0;
    let mut buf = Vec::new();
    for &size in &sizes {
        let t = Instant::now();
        let ids: Vec<usize> = (loaded..size).collect();
        for chunk in ids.chunks(2_000) {
            store
                .transaction_with(Durability::None, |tx| {
                    for &i in chunk {
                        tx.create_job(job(i))?;
                    }
                    Ok::<_, bacalhau_state::JobStoreError>(())
                })
                .unwrap();
        }
        store.transaction(|_| Ok::<_, bacalhau_state::JobStoreError>(())).unwrap();
        let t_ours = t.elapsed();
        let t = Instant::now();
        for chunk in ids.chunks(2_000) {
            let txn = raw.txn(false);
            {
                let mut tb = txn.open_table(RAW_JOBS).unwrap();
                for &i in chunk {
                    let mut j = job(i);
                    j.state = State::new(bacalhau_state::state::JobStateType::Pending);
                    j.revision = 1;
                    encode(&mut buf, &j);
                    tb.insert(j.id.as_bytes(), buf.as_slice()).unwrap();
                }
            }
            txn.commit().unwrap();
        }
        raw.txn(true).commit().unwrap();
        eprintln!(
            "  (preloaded {size} jobs: ours {:.1} s, raw {:.1} s)",
            t_ours.as_secs_f64(),
            t.elapsed().as_secs_f64()
        );
        loaded = size;
        let label = human(size);
        let q = JobQuery {
            namespace: "ns-1".into(),
            include_tags: vec!["gpu".into()],
            limit: QUERY_LIMIT,
            ..JobQuery::default()
        };
        let first = store.get_jobs(&q).unwrap();
        assert_eq!(first.items.len(), QUERY_LIMIT as usize);
        let token = first.next_token.clone().expect("more pages");
        let reps = 2_001;
        let t = Instant::now();
        for _ in 0..reps {
            std::hint::black_box(store.get_jobs(&q).unwrap());
        }
        let ours_first = rate(reps, t.elapsed());
        let q2 = JobQuery { next_token: Some(token), ..q.clone() };
        let t = Instant::now();
        for _ in 0..reps {
            std::hint::black_box(store.get_jobs(&q2).unwrap());
        }
        let ours_next = rate(reps, t.elapsed());
        // Raw: no index, so a scan of the jobs table in key order keeping namespace + tag
        // matches until the page is full; the next page resumes after the last key.
        let raw_page = |after: Option<&[u8]>| -> (Vec<Job>, Vec<u8>) {
            let r = raw.db.begin_read().unwrap();
            let tb = r.open_table(RAW_JOBS).unwrap();
            let range = match after {
                Some(k) => tb.range::<&[u8]>((std::ops::Bound::Excluded(k), std::ops::Bound::Unbounded)),
                None => tb.range::<&[u8]>(..),
            }
            .unwrap();
            let mut out = Vec::new();
            let mut last = Vec::new();
            for e in range {
                let (k, v) = e.unwrap();
                let j: Job = decode(v.value());
                if j.namespace == "ns-1" && j.labels.keys().any(|k| k.to_lowercase() == "gpu") {
                    last = k.value().to_vec();
                    out.push(j);
                    if out.len() == QUERY_LIMIT as usize {
                        break;
                    }
                }
            }
            (out, last)
        };
        let (p1, last) = raw_page(None);
        assert_eq!(p1.len(), QUERY_LIMIT as usize);
        let t = Instant::now();
        for _ in 0..reps {
            std::hint::black_box(raw_page(None));
        }
        let raw_first = rate(reps, t.elapsed());
        let t = Instant::now();
        for _ in 0..reps {
            std::hint::black_box(raw_page(Some(&last)));
        }
        let raw_next = rate(reps, t.elapsed());
        rep.latency(
            &format!("query: get_jobs ns+tag, first page of {QUERY_LIMIT}, {label} jobs"),
            ours_first,
            Some(raw_first),
            Some(1.0),
        );
        rep.latency(&format!("query: next-token page, {label} jobs"), ours_next, Some(raw_next), None);
    }
}

/// Where a closed store's pages go: per table, pages in use per execution and stored bytes per
/// entry (what to shrink next).
fn table_breakdown(path: &Path, executions: usize) -> String {
    let db = Database::open(path).unwrap();
    let txn = db.begin_read().unwrap();
    let mut parts = Vec::new();
    for handle in txn.list_tables().unwrap() {
        let table = txn.open_untyped_table(handle.clone()).unwrap();
        let (stats, entries) = (table.stats().unwrap(), table.len().unwrap());
        if entries == 0 {
            continue;
        }
        // The three add up to the table's pages in use.
        let pages = stats.stored_bytes() + stats.metadata_bytes() + stats.fragmented_bytes();
        parts.push(format!(
            "{} {:.0} B ({:.0} B/entry)",
            redb::TableHandle::name(&handle),
            pages as f64 / executions as f64,
            stats.stored_bytes() as f64 / entries as f64
        ));
    }
    parts.join(", ")
}

/// Disk bytes per execution after the full lifecycle (create + 4 updates), both compacted.
fn bench_disk(cfg: &Cfg, rep: &mut Report) {
    let n = 10_000;
    let ours_path = cfg.dir.join("disk-ours.redb");
    let raw_path = cfg.dir.join("disk-raw.redb");
    let trimmed_path = cfg.dir.join("disk-ours-trimmed.redb");
    {
        let store = open_ours(&ours_path, true);
        let ids: Vec<usize> = (0..n).collect();
        for chunk in ids.chunks(400) {
            batch_ours_none(&store, chunk);
        }
        store.transaction(|_| Ok::<_, ComputeError>(())).unwrap();
        store.backend().compact().unwrap();
    }
    // A copy of the closed store (a copy of an open one, without its journal, is refused).
    std::fs::copy(&ours_path, &trimmed_path).unwrap();
    {
        // The same store once a consumer has checkpointed and trimmed every event.
        let store = open_ours(&trimmed_path, false);
        let last = store.stats().unwrap().last_event_seq;
        store.trim_events(last).unwrap();
        store.backend().compact().unwrap();
    }
    {
        let mut raw = Raw::create(&raw_path);
        let mut clock = 0;
        lifecycle_raw(&mut raw, 0..n, false, &mut clock);
        raw.txn(true).commit().unwrap();
        raw.db.compact().unwrap();
    }
    eprintln!("  disk after the lifecycle by table (pages in use per execution; stored bytes per entry):");
    for (label, path) in [("ours", &ours_path), ("raw", &raw_path)] {
        eprintln!("    {label}: {}", table_breakdown(path, n));
    }
    let (o, r) = (store_size(&ours_path) as f64, file_size(&raw_path) as f64);
    rep.push(Row {
        workload: format!("disk per execution after the lifecycle, {}, compacted", human(n)),
        ours: o / n as f64,
        raw: Some(r / n as f64),
        ratio: Some(o / r),
        unit: "B",
        target: "< 1.5× raw".into(),
        pass: Some(o / r < 1.5),
        durable: false,
    });
    let t = store_size(&trimmed_path) as f64;
    rep.push(Row {
        workload: format!("disk per execution after the lifecycle, {}, events trimmed, compacted", human(n)),
        ours: t / n as f64,
        raw: Some(r / n as f64),
        ratio: Some(t / r),
        unit: "B",
        target: "(< 1.5× raw)".into(),
        pass: None,
        durable: false,
    });
}

fn batch_ours_none(store: &Redb, chunk: &[usize]) {
    store
        .transaction_with(Durability::None, |tx| {
            for &i in chunk {
                let rec = record(i, 1);
                let id = rec.id().to_string();
                tx.create_execution(rec)?;
                for (v, (from, to)) in LIFECYCLE.iter().enumerate() {
                    tx.update_execution_state(update(&id, *from, *to, v as u64 + 1))?;
                }
            }
            Ok::<_, ComputeError>(())
        })
        .unwrap();
}

/// Memory backend: the lifecycle, one transaction per operation, natively; returns ops/s.
fn bench_memory(cfg: &Cfg, rep: &mut Report) -> f64 {
    let n = cfg.memory;
    let recs: Vec<LocalExecutionState> = (0..n).map(|i| record(i, 1)).collect();
    let clock = Arc::new(ManualClock::stepping(1_700_000_000_000_000_000, 1_000));
    let store = StoreBuilder::new().clock(clock).in_memory_compute();
    let t = Instant::now();
    for rec in recs {
        let id = rec.id().to_string();
        store.create_execution(rec).unwrap();
        for (v, (from, to)) in LIFECYCLE.iter().enumerate() {
            store.update_execution_state(update(&id, *from, *to, v as u64 + 1)).unwrap();
        }
    }
    let ops = rate(n * 5, t.elapsed());
    rep.push(Row {
        workload: format!("memory backend lifecycle, native, {n}×5 ops"),
        ours: ops,
        raw: None,
        ratio: None,
        unit: "ops/s",
        target: "≥ 1,000,000/s".into(),
        pass: Some(ops >= 1_000_000.0),
        durable: false,
    });
    ops
}

/// The same workload in Node through the wasm package (`tests/js/bench.mjs`).
fn bench_wasm(cfg: &Cfg, rep: &mut Report, native: Option<f64>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = root.join("tests/js/bench.mjs");
    let pending = |rep: &mut Report, why: &str| {
        rep.push(Row {
            workload: format!("memory backend lifecycle, wasm in Node: PENDING ({why})"),
            ours: f64::NAN,
            raw: None,
            ratio: None,
            unit: "ops/s",
            target: "≥ 0.4× native".into(),
            pass: None,
            durable: false,
        })
    };
    if !root.join("pkg/bacalhau_state_wasm_bg.wasm").exists() {
        return pending(rep, "pkg/ not built: run `just wasm`");
    }
    let n = cfg.memory.min(50_000);
    let out = Command::new("node").arg(&script).arg(n.to_string()).current_dir(root).output();
    let out = match out {
        Ok(o) if o.status.success() => o,
        Ok(o) => {
            eprintln!("{}", String::from_utf8_lossy(&o.stderr));
            return pending(rep, "tests/js/bench.mjs failed");
        }
        Err(_) => return pending(rep, "node not found"),
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let Some(ops) =
        stdout.lines().find_map(|l| l.strip_prefix("ops_per_sec=").and_then(|v| v.trim().parse::<f64>().ok()))
    else {
        return pending(rep, "no result from tests/js/bench.mjs");
    };
    let ratio = native.map(|nat| ops / nat);
    rep.push(Row {
        workload: format!("memory backend lifecycle, wasm in Node, {n}×5 ops"),
        ours: ops,
        raw: None,
        ratio,
        unit: "ops/s",
        target: "≥ 0.4× native".into(),
        pass: ratio.map(|r| r >= 0.4),
        durable: false,
    });
}

fn record_size() -> (usize, usize) {
    let mut buf = Vec::new();
    encode(&mut buf, &record(0, 1));
    let exec = buf.len();
    let mut j = job(0);
    j.state = State::new(bacalhau_state::state::JobStateType::Pending);
    encode(&mut buf, &j);
    (exec, buf.len())
}

fn main() {
    // `cargo bench` passes `--bench`; everything else is ours.
    let cfg = Cfg::parse();
    std::fs::create_dir_all(&cfg.dir).expect("bench dir");
    let (exec_bytes, job_bytes) = record_size();
    eprintln!(
        "bench: {} mode; stores in {}; execution record {exec_bytes} B, job {job_bytes} B encoded",
        if cfg.full { "full" } else { "quick" },
        cfg.dir.display()
    );
    let started = Instant::now();
    let mut rep = Report::default();
    let mut single = None;
    if cfg.wants("create") {
        bench_create(&cfg, &mut rep);
    }
    if cfg.wants("lifecycle") {
        single = Some(bench_lifecycle(&cfg, &mut rep));
    }
    if cfg.wants("batch") {
        bench_batch(&cfg, &mut rep, single);
    }
    if cfg.wants("threads") {
        bench_threads(&cfg, &mut rep);
    }
    if cfg.wants("crash") {
        bench_crash_open(&cfg, &mut rep);
    }
    let mut native = None;
    if cfg.wants("memory") {
        native = Some(bench_memory(&cfg, &mut rep));
    }
    if cfg.wants("wasm") && cfg.wasm {
        bench_wasm(&cfg, &mut rep, native);
    }
    if ["read", "count", "open", "scaling"].iter().any(|g| cfg.wants(g)) {
        bench_big_compute(&cfg, &mut rep);
    }
    if cfg.wants("query") {
        bench_query(&cfg, &mut rep);
    }
    if cfg.wants("disk") {
        bench_disk(&cfg, &mut rep);
    }
    let _ = std::fs::remove_dir_all(&cfg.dir);

    let mut table = String::new();
    writeln!(table, "{HEADER}").unwrap();
    writeln!(table, "|---|--:|--:|--:|--:|---|---|").unwrap();
    for r in &rep.rows {
        writeln!(table, "{}", row_line(r)).unwrap();
    }
    println!();
    println!(
        "bacalhau-state bench ({} mode, {:.0} s; records {exec_bytes} B; ratio = ours/raw unless noted)",
        if cfg.full { "full" } else { "quick" },
        started.elapsed().as_secs_f64()
    );
    print!("{table}");
    let misses = rep.rows.iter().filter(|r| r.pass == Some(false)).count();
    println!("{misses} target(s) missed");
    if let Some(path) = &cfg.json {
        let mut s = String::from("[\n");
        for (i, r) in rep.rows.iter().enumerate() {
            let num = |v: Option<f64>| v.filter(|x| x.is_finite()).map(|x| format!("{x:.3}")).unwrap_or("null".into());
            writeln!(
                s,
                "  {{\"workload\": {:?}, \"ours\": {}, \"raw\": {}, \"ratio\": {}, \"unit\": {:?}, \"target\": {:?}, \"pass\": {}, \"durable\": {}}}{}",
                r.workload,
                num(Some(r.ours)),
                num(r.raw),
                num(r.ratio),
                r.unit,
                r.target,
                r.pass.map(|p| p.to_string()).unwrap_or("null".into()),
                r.durable,
                if i + 1 < rep.rows.len() { "," } else { "" }
            )
            .unwrap();
        }
        s.push_str("]\n");
        std::fs::write(path, s).expect("write json");
        std::fs::write(path.with_extension("md"), &table).expect("write table");
    }
}
