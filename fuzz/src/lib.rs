//! What the fuzz targets run, shared with `tests/fuzz_regressions.rs` (which includes this file
//! by path and replays every crasher and the seed corpus in `cargo test`). Each entry point
//! must never panic on any input; a panic is the bug the fuzzer reports.

#![allow(dead_code, unexpected_cfgs)]

use std::io;
use std::sync::{Arc, RwLock};

use bacalhau_state::clock::ManualClock;
use bacalhau_state::kv::key::KeyBuf;
use bacalhau_state::kv::memory::MemoryBackend;
use bacalhau_state::kv::redb::{MemoryJournal, RedbBackend, RedbOptions};
use bacalhau_state::kv::StoreKind;
use bacalhau_state::{ExecutionStore, JobStore, PageRequest, Policy, StoreBuilder};

#[path = "../../tests/model/cases.rs"]
mod cases;
#[path = "../../tests/model/compute.rs"]
pub mod compute_model;
#[path = "../../tests/model/jobs.rs"]
pub mod jobs_model;
#[path = "../../tests/model/log.rs"]
mod log;

/// Snapshot import into empty stores of both kinds: `Ok` or a typed error, never a panic; an
/// accepted snapshot must leave a consistent store. The bytes are tried as they are, and as the
/// CBOR body of a correctly framed snapshot (magic, version, kind, CRC32), so that the fuzzer
/// reaches the body decoder instead of stopping at the checksum.
pub fn snapshot_decode(data: &[u8]) {
    let framed = |kind: u8| {
        let mut out = b"BACSNAP\0".to_vec();
        out.extend_from_slice(&[1, kind]);
        out.extend_from_slice(data);
        let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(&out);
        out.extend_from_slice(&crc.to_be_bytes());
        out
    };
    for bytes in [data.to_vec(), framed(1)] {
        let c = ExecutionStore::in_memory();
        if c.import_snapshot(&bytes).is_ok() {
            assert!(c.check().expect("check after import").problems.is_empty(), "an imported snapshot is consistent");
            let _ = c.export_snapshot().expect("export after import");
        }
    }
    for bytes in [data.to_vec(), framed(2)] {
        let j = JobStore::in_memory();
        if j.import_snapshot(&bytes).is_ok() {
            assert!(j.check().expect("check after import").problems.is_empty(), "an imported snapshot is consistent");
            let _ = j.export_snapshot().expect("export after import");
        }
    }
}

/// Bytes shared by every redb database opened over them.
#[derive(Clone, Debug, Default)]
struct Bytes(Arc<RwLock<Vec<u8>>>);

fn range() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "out of range")
}

impl redb::StorageBackend for Bytes {
    fn len(&self) -> io::Result<u64> {
        Ok(self.0.read().unwrap().len() as u64)
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        let g = self.0.read().unwrap();
        let s = offset as usize;
        out.copy_from_slice(g.get(s..s + out.len()).ok_or_else(range)?);
        Ok(())
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.0.write().unwrap().resize(len as usize, 0);
        Ok(())
    }
    fn sync_data(&self) -> io::Result<()> {
        Ok(())
    }
    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let mut g = self.0.write().unwrap();
        let s = offset as usize;
        g.get_mut(s..s + data.len()).ok_or_else(range)?.copy_from_slice(data);
        Ok(())
    }
}

/// Tables of each store kind with a key of the shape their rows have, so that a fuzzed value
/// is found where the store looks for it.
fn slot(selector: u8) -> (StoreKind, &'static str, Vec<u8>) {
    let id = |s: &str| KeyBuf::new().str(s).into_vec();
    let hist = |s: &str| KeyBuf::new().str(s).u64(1).into_vec();
    let seq = KeyBuf::new().u64(1).into_vec();
    use StoreKind::{Compute as C, Requester as R};
    match selector % 14 {
        0 => (C, "executions", id("e1")),
        1 => (C, "execution_history", hist("e1")),
        2 => (C, "execution_state_counts", vec![1]),
        3 => (C, "events", seq),
        4 => (C, "counters", id("event_seq")),
        5 => (C, "checkpoints", id("c")),
        6 => (R, "jobs", id("j1")),
        7 => (R, "executions", id("x1")),
        8 => (R, "evaluations", id("v1")),
        9 => (R, "job_history", hist("j1")),
        10 => (R, "job_state_counts", vec![1]),
        11 => (R, "execution_state_counts", vec![1]),
        12 => (R, "events", seq),
        _ => (R, "counters", id("event_seq")),
    }
}

/// The read that decodes the value a [`slot`] holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reader {
    GetExecution,
    ExecutionHistory,
    Stats,
    Events,
    Checkpoint,
    GetJob,
    GetJobExecution,
    GetEvaluation,
    JobHistory,
}

fn reader(selector: u8) -> Reader {
    match selector % 14 {
        0 => Reader::GetExecution,
        1 => Reader::ExecutionHistory,
        2 | 4 | 10 | 11 | 13 => Reader::Stats,
        3 | 12 => Reader::Events,
        5 => Reader::Checkpoint,
        6 => Reader::GetJob,
        7 => Reader::GetJobExecution,
        8 => Reader::GetEvaluation,
        _ => Reader::JobHistory,
    }
}

/// A read's outcome: `Ok`, or `Corrupt` (the only error a read of an existing, fuzzed record
/// may give), or one of `also` (a lookup of a record the fuzzed row may or may not provide).
fn read<T, E: ErrorCode>(what: &str, r: Result<T, E>, also: &[&str]) -> Result<T, &'static str> {
    match r {
        Ok(v) => Ok(v),
        Err(e) => {
            let code = e.code();
            assert!(code == "Corrupt" || also.contains(&code), "{what}: {code} ({e})");
            Err(code)
        }
    }
}

trait ErrorCode: core::fmt::Display {
    fn code(&self) -> &'static str;
}
impl ErrorCode for bacalhau_state::ComputeError {
    fn code(&self) -> &'static str {
        bacalhau_state::ComputeError::code(self)
    }
}
impl ErrorCode for bacalhau_state::JobStoreError {
    fn code(&self) -> &'static str {
        bacalhau_state::JobStoreError::code(self)
    }
}

/// The first byte picks a table; the rest is stored raw (format byte + CBOR, as in a file)
/// through redb directly, beside a valid record; then every read of the store, and a write,
/// must return `Ok` or a typed error, never panic. A read may fail only with `Corrupt`, or
/// not find a record the fuzzed row does not provide. Returns the outcome of the read that
/// decodes the fuzzed value: `Err("Corrupt")` when the store found it undecodable.
pub fn record_decode(data: &[u8]) -> Result<(), &'static str> {
    let Some((&selector, value)) = data.split_first() else { return Ok(()) };
    let (kind, table, key) = slot(selector);
    let bytes = Bytes::default();
    let journal = MemoryJournal::default();
    let options = RedbOptions::default();
    // A store with one valid record of each kind, so that indexes and counts exist.
    {
        let b = RedbBackend::open_with_backend(bytes.clone(), journal.clone(), kind, &options).expect("create");
        match kind {
            StoreKind::Compute => {
                let s = builder().compute(b);
                s.create_execution(local("e1")).expect("the valid record");
                s.close().expect("close");
            }
            StoreKind::Requester => {
                let s = builder().jobs(b);
                s.create_job(job("j1")).expect("the valid record");
                s.close().expect("close");
            }
        }
    }
    {
        let db = redb::Builder::new().create_with_backend(bytes.clone()).expect("redb reopen");
        let txn = db.begin_write().expect("begin");
        {
            let def: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new(table);
            let mut t = txn.open_table(def).expect("table");
            t.insert(key.as_slice(), value).expect("insert");
        }
        txn.commit().expect("commit");
    }
    let b = RedbBackend::open_with_backend(bytes, journal, kind, &options).expect("open");
    let mut outcomes = Vec::new();
    let mut seen = |r: Reader, o: Result<(), &'static str>| outcomes.push((r, o));
    match kind {
        StoreKind::Compute => {
            let s = builder().compute(b);
            seen(Reader::GetExecution, read("get_execution", s.get_execution("e1"), &[]).map(drop));
            let _ = read("get_executions", s.get_executions("j1"), &["ExecutionsNotFoundForJob"]);
            let _ = read("get_live_executions", s.get_live_executions(), &[]);
            let history = s.get_execution_history("e1", &PageRequest::default());
            seen(Reader::ExecutionHistory, read("get_execution_history", history, &[]).map(drop));
            let _ = read("list_executions", s.list_executions(&PageRequest::default()), &[]);
            seen(Reader::Stats, read("stats", s.stats(), &[]).map(drop));
            seen(Reader::Events, read("events_after", s.events_after(0, 0), &[]).map(drop));
            seen(Reader::Checkpoint, read("get_checkpoint", s.get_checkpoint("c"), &[]).map(drop));
            let _ = read("check", s.check(), &[]);
            let _ = read("snapshot", s.snapshot(), &[]);
            let _ = read("export_snapshot", s.export_snapshot(), &[]);
            let _ = s.update_execution_state(bacalhau_state::UpdateExecutionStateRequest::new(
                "e1",
                bacalhau_state::state::LocalExecutionStateType::Cancelled,
            ));
            let _ = s.create_execution(local("e2"));
            let _ = s.delete_execution("e1");
            let _ = s.trim_events(u64::MAX);
        }
        StoreKind::Requester => {
            use bacalhau_state::jobstore::*;
            let s = builder().jobs(b);
            seen(Reader::GetJob, read("get_job", s.get_job("j1"), &[]).map(drop));
            let _ = read("get_jobs", s.get_jobs(&JobQuery::default()), &[]);
            let _ = read("get_in_progress_jobs", s.get_in_progress_jobs(), &[]);
            let history = s.get_job_history("j1", &JobHistoryQuery::default());
            seen(Reader::JobHistory, read("get_job_history", history, &[]).map(drop));
            let x1 = read("get_execution", s.get_execution("x1"), &["ExecutionNotFound"]);
            seen(Reader::GetJobExecution, x1.map(drop).or_else(|c| if c == "Corrupt" { Err(c) } else { Ok(()) }));
            let _ = read(
                "get_executions",
                s.get_executions(&GetExecutionsOptions {
                    job_id: Some("j1".into()),
                    include_job: true,
                    ..Default::default()
                }),
                &[],
            );
            let v1 = read("get_evaluation", s.get_evaluation("v1"), &["EvaluationNotFound"]);
            seen(Reader::GetEvaluation, v1.map(drop).or_else(|c| if c == "Corrupt" { Err(c) } else { Ok(()) }));
            let _ = read("get_evaluations", s.get_evaluations("j1"), &[]);
            seen(Reader::Stats, read("stats", s.stats(), &[]).map(drop));
            seen(Reader::Events, read("events_after", s.events_after(0, 0), &[]).map(drop));
            let _ = read("check", s.check(), &[]);
            let _ = read("snapshot", s.snapshot(), &[]);
            let _ = read("export_snapshot", s.export_snapshot(), &[]);
            let _ = s.update_job_state(UpdateJobStateRequest::new("j1", bacalhau_state::state::JobStateType::Running));
            let _ = s.create_job(job("j2"));
            let _ = s.delete_job("j1");
            let _ = s.trim_events(u64::MAX);
        }
    }
    let want = reader(selector);
    outcomes.into_iter().find(|(r, _)| *r == want).map(|(_, o)| o).expect("the slot's reader ran")
}

fn builder() -> StoreBuilder {
    StoreBuilder::new().policy(Policy::Permissive).clock(ManualClock::stepping(1_000, 1_000))
}

fn local(id: &str) -> bacalhau_state::model::LocalExecutionState {
    let exec = bacalhau_state::model::Execution {
        id: id.into(),
        job_id: "j1".into(),
        namespace: "default".into(),
        ..Default::default()
    };
    bacalhau_state::model::LocalExecutionState::new(exec, "r", bacalhau_state::time::Timestamp::from_unix_nanos(1))
}

fn job(id: &str) -> bacalhau_state::model::Job {
    bacalhau_state::model::Job {
        id: id.into(),
        name: "n".into(),
        namespace: "default".into(),
        job_type: "batch".into(),
        tasks: vec![bacalhau_state::model::Task::new("main", "docker")],
        ..Default::default()
    }
}

/// Reads fuzz bytes as small choices (0 once exhausted).
struct Choices<'a>(&'a [u8]);

impl Choices<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn below(&mut self, n: usize) -> usize {
        self.byte() as usize % n
    }
    fn flag(&mut self) -> bool {
        self.byte() & 1 == 1
    }
    fn pick<T: Copy>(&mut self, all: &[T]) -> T {
        all[self.below(all.len())]
    }
    fn done(&self) -> bool {
        self.0.is_empty()
    }
}

/// Operation sequences decoded from the bytes run against the in-memory store and the
/// reference model of tests/model (which panics on any disagreement). The first byte picks the
/// store; at most 64 actions.
pub fn model(data: &[u8]) {
    let mut c = Choices(data);
    if c.flag() {
        let mut actions = Vec::new();
        while !c.done() && actions.len() < 64 {
            actions.push(compute_action(&mut c, true));
        }
        compute_model::run(|b| b.compute(MemoryBackend::new()), &actions);
    } else {
        let mut actions = Vec::new();
        while !c.done() && actions.len() < 64 {
            actions.push(jobs_action(&mut c, true));
        }
        jobs_model::run(|b| b.jobs(MemoryBackend::new()), &actions);
    }
}

fn compute_action(c: &mut Choices<'_>, nest: bool) -> compute_model::Action {
    use bacalhau_state::state::LocalExecutionStateType as L;
    use compute_model::Action;
    // Every action kind the model has; a transaction only at the top level.
    match c.below(if nest { 6 } else { 5 }) {
        0 => Action::Create { id: c.below(5), job: c.below(3), pre_approved: c.flag() },
        1 => Action::Update {
            id: c.below(5),
            to: c.pick(L::ALL),
            expect: if c.flag() { Some(c.pick(L::ALL)) } else { None },
            expect_version: c.below(4) as u64,
        },
        2 => Action::Delete { id: c.below(5) },
        3 => Action::Trim { back: c.below(6) as u64 },
        4 => Action::Checkpoint { name: c.below(2), seq: c.below(40) as u64 },
        _ => {
            let n = 1 + c.below(4);
            Action::Txn { actions: (0..n).map(|_| compute_action(c, false)).collect(), rollback: c.flag() }
        }
    }
}

fn jobs_action(c: &mut Choices<'_>, nest: bool) -> jobs_model::Action {
    use bacalhau_state::state::{ExecutionDesiredStateType as D, ExecutionStateType as X, JobStateType as J};
    use jobs_model::Action;
    // Every action kind the model has; a transaction only at the top level.
    match c.below(if nest { 10 } else { 9 }) {
        0 => Action::CreateJob { id: c.below(4), ns: c.below(2), gpu: c.flag() },
        1 => Action::UpdateJob { id: c.below(4), to: c.pick(J::ALL) },
        2 => Action::DeleteJob { id: c.below(4) },
        3 => Action::CreateExec { id: c.below(5), job: c.below(4), node: c.below(2) },
        4 => Action::UpdateExec {
            id: c.below(5),
            compute: if c.flag() { Some(c.pick(X::ALL)) } else { None },
            desired: if c.flag() { Some(c.pick(D::ALL)) } else { None },
            node: if c.flag() { Some(c.below(2)) } else { None },
        },
        5 => Action::CreateEval { id: c.below(3), job: c.below(4) },
        6 => Action::DeleteEval { id: c.below(3) },
        7 => Action::Checkpoint { name: c.below(2), seq: c.below(40) as u64 },
        8 => Action::Trim { back: c.below(6) as u64 },
        _ => {
            let n = 1 + c.below(4);
            Action::Txn { actions: (0..n).map(|_| jobs_action(c, false)).collect(), rollback: c.flag() }
        }
    }
}
