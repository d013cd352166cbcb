//! Store files written by the code of earlier schema versions (`tests/fixtures/old-stores`; its
//! README says which commit wrote each file and what it holds) opened by today's code: every
//! record, state, version, history entry, event and checkpoint the old code wrote is read back,
//! `check()` finds nothing, the file is upgraded to today's schema, new writes work and a reopen
//! sees all of it. The crash images (copied while their store was open) must give back the
//! commits that only their version-1 journal holds.
//!
//! The expected values are the README's, written down here by hand: they are what the old code
//! wrote, not what today's code would write.
#![cfg(feature = "redb")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bacalhau_state::clock::ManualClock;
use bacalhau_state::event::{EventObject, Operation};
use bacalhau_state::jobstore::{
    ExecutionPatch, GetExecutionsOptions, JobHistoryQuery, UpdateExecutionRequest, UpdateJobStateRequest,
};
use bacalhau_state::kv::redb::{journal_path, RedbBackend, RedbOptions, SCHEMA_VERSION};
use bacalhau_state::kv::StoreKind;
use bacalhau_state::model::{Execution, Job, JobHistory, LocalExecutionState, Task};
use bacalhau_state::state::{
    EvaluationStatus, ExecutionDesiredStateType as D, ExecutionStateType as X, JobHistoryType, JobStateType as J,
    LocalExecutionStateType as L,
};
use bacalhau_state::time::Timestamp;
use bacalhau_state::{
    ComputeError, ExecutionStore, JobStore, JobStoreError, PageRequest, Policy, StoreBuilder,
    UpdateExecutionStateRequest,
};

const OLD_STORES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/old-stores");
/// The clock of the code that wrote the files: every timestamp in them.
const WRITTEN_AT: i64 = 1_700_000_000_000_000_000;
/// Today's clock in these tests, an hour later, so that new entries are told apart.
const NOW: i64 = WRITTEN_AT + 3_600_000_000_000;
/// First bytes of a journal with version-1 frames, as the old code wrote them.
const JOURNAL_V1: &[u8; 8] = b"BSJRNL01";

/// A fixture image copied (store file and journal) into a fresh directory; the checked-in files
/// are never opened, since a writable open upgrades and recovers the file it is given.
struct Image {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn image(schema: u32, name: &str) -> Image {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    let from = Path::new(OLD_STORES).join(format!("schema-{schema}")).join(name);
    copy_writable(&from, &path);
    copy_writable(&journal_path(&from), &journal_path(&path));
    Image { _dir: dir, path }
}

fn copy_writable(from: &Path, to: &Path) {
    std::fs::copy(from, to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
    let mut perm = std::fs::metadata(to).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perm.set_readonly(false);
    std::fs::set_permissions(to, perm).unwrap();
}

/// What raw redb sees in a closed (or crashed) store file: the `meta` table and each table's
/// row count. Read from a scratch copy, so that redb's own repair of a crash image cannot change
/// the file the store will open.
struct Raw {
    meta: BTreeMap<String, String>,
    rows: BTreeMap<String, u64>,
}

fn raw(path: &Path) -> Raw {
    use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition, TableHandle};
    let dir = tempfile::tempdir().unwrap();
    let scratch = dir.path().join("raw.redb");
    copy_writable(path, &scratch);
    let db = redb::Database::open(&scratch).unwrap();
    let r = db.begin_read().unwrap();
    let meta = r.open_table(TableDefinition::<&[u8], &[u8]>::new("meta")).unwrap();
    let meta = meta
        .iter()
        .unwrap()
        .map(|kv| {
            let (k, v) = kv.unwrap();
            (String::from_utf8_lossy(k.value()).into_owned(), String::from_utf8_lossy(v.value()).into_owned())
        })
        .collect();
    let mut rows = BTreeMap::new();
    for t in r.list_tables().unwrap() {
        let name = t.name().to_string();
        let n = r.open_table(TableDefinition::<&[u8], &[u8]>::new(&name)).unwrap().len().unwrap();
        rows.insert(name, n);
    }
    Raw { meta, rows }
}

/// The sequence numbers of the frames a version-1 journal holds after `journal_seq`: those
/// recovery must replay (frame: `len: u32`, `crc32: u32`, `seq: u64`, body, from byte 64 on; the
/// run ends at the first frame that does not carry the next number).
fn pending_v1_frames(store: &Path, journal_seq: u64) -> Vec<u64> {
    let j = std::fs::read(journal_path(store)).unwrap();
    assert_eq!(&j[..8], JOURNAL_V1, "the old code wrote a version-1 journal");
    let (mut pos, mut pending) = (64usize, Vec::new());
    while pos + 16 <= j.len() {
        let len = u32::from_le_bytes(j[pos..pos + 4].try_into().unwrap()) as usize;
        let seq = u64::from_le_bytes(j[pos + 8..pos + 16].try_into().unwrap());
        if len == 0 || seq != journal_seq + 1 + pending.len() as u64 || pos + 16 + len > j.len() {
            break;
        }
        pending.push(seq);
        pos += 16 + len;
    }
    pending
}

/// Checks the file before today's code touches it, and after it closed it again.
fn assert_written_by(path: &Path, schema: u32, journal_seq: u64, pending: &[u64], events: u64) {
    let r = raw(path);
    assert_eq!(r.meta["schema_version"], schema.to_string(), "written with schema {schema}");
    assert_eq!(r.meta["journal_seq"], journal_seq.to_string(), "the file's last checkpoint");
    assert_eq!(r.rows["events"], events, "events in the redb file alone");
    assert_eq!(pending_v1_frames(path, journal_seq), pending, "frames only the journal holds");
}

fn assert_upgraded(path: &Path) {
    let r = raw(path);
    assert_eq!(r.meta["schema_version"], SCHEMA_VERSION.to_string(), "upgraded to today's schema");
    let journal = std::fs::read(journal_path(path)).unwrap();
    assert_ne!(&journal[..8], JOURNAL_V1, "the version-1 journal is replaced after its recovery");
}

// ---- compute store ----

fn open_compute(path: &Path) -> ExecutionStore<RedbBackend> {
    let b = RedbBackend::open(path, StoreKind::Compute, &RedbOptions::default())
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    StoreBuilder::new().clock(ManualClock::new(NOW)).compute(b)
}

/// An event's object as the assertions name it: kind, ID, state and version (or revision).
/// Compared with what the store returns through one text form, kind included.
enum Obj {
    Local(&'static str, L, u64),
    Job(&'static str, J, u64),
    Exec(&'static str, X, u64),
    Eval(&'static str, EvaluationStatus),
}

fn event_objects(events: &[bacalhau_state::event::Event], at: i64) -> Vec<(u64, Operation, String)> {
    events
        .iter()
        .map(|e| {
            assert_eq!(e.timestamp, at, "event {} at the clock of its writer", e.seq_num);
            let o = match &e.object {
                EventObject::LocalExecution(l) => format!("Local{:?}", (l.execution.id.as_str(), l.state, l.version)),
                EventObject::Job(j) => format!("Job{:?}", (j.id.as_str(), j.state.state_type, j.revision)),
                EventObject::Execution(x) => {
                    format!("Exec{:?}", (x.id.as_str(), x.compute_state.state_type, x.revision))
                }
                EventObject::Evaluation(v) => format!("Eval{:?}", (v.id.as_str(), v.status)),
            };
            (e.seq_num, e.operation, o)
        })
        .collect()
}

fn expected_objects(list: &[(u64, Operation, Obj)]) -> Vec<(u64, Operation, String)> {
    list.iter()
        .map(|(seq, op, o)| {
            let o = match o {
                Obj::Local(id, s, v) => format!("Local{:?}", (*id, *s, *v)),
                Obj::Job(id, s, v) => format!("Job{:?}", (*id, *s, *v)),
                Obj::Exec(id, s, v) => format!("Exec{:?}", (*id, *s, *v)),
                Obj::Eval(id, s) => format!("Eval{:?}", (*id, *s)),
            };
            (*seq, *op, o)
        })
        .collect()
}

fn local_history(s: &ExecutionStore<RedbBackend>, id: &str) -> Vec<(L, L, u64, String, i64)> {
    let page = s.get_execution_history(id, &PageRequest::default()).unwrap();
    assert!(page.next_token.is_none());
    page.items
        .into_iter()
        .map(|h| {
            assert_eq!(h.execution_id, id);
            (h.previous_state, h.new_state, h.new_version, h.comment, h.time.unix_nanos().unwrap())
        })
        .collect()
}

fn entry(from: L, to: L, version: u64, comment: &str) -> (L, L, u64, String, i64) {
    (from, to, version, comment.to_string(), WRITTEN_AT)
}

const CREATED: &str = "LocalExecutionState created";

/// The compute store as the old code left it (README "Compute store"); with `upgraded`, plus
/// what [`write_compute_after_upgrade`] added.
fn assert_compute(s: &ExecutionStore<RedbBackend>, upgraded: bool) {
    let rec = |id: &str| s.get_execution(id).unwrap();
    let e1 = rec("e1");
    assert_eq!((e1.execution.job_id.as_str(), e1.state, e1.version), ("j1", L::Failed, 4));
    assert_eq!((e1.requester_node_id.as_str(), e1.execution.node_id.as_str()), ("requester-1", "node-1"));
    assert_eq!(
        local_history(s, "e1"),
        vec![
            entry(L::Undefined, L::Created, 1, CREATED),
            entry(L::Created, L::BidAccepted, 2, "approved"),
            entry(L::BidAccepted, L::Running, 3, ""),
            entry(L::Running, L::Failed, 4, "node lost"),
        ]
    );
    let e2 = rec("e2");
    assert_eq!((e2.execution.job_id.as_str(), e2.state, e2.version), ("j1", L::Completed, 4));
    assert_eq!(
        local_history(s, "e2"),
        vec![
            entry(L::Undefined, L::BidAccepted, 1, CREATED),
            entry(L::BidAccepted, L::Running, 2, ""),
            entry(L::Running, L::Publishing, 3, ""),
            entry(L::Publishing, L::Completed, 4, ""),
        ]
    );
    let e4 = rec("e4");
    let mut e4_history = vec![entry(L::Undefined, L::Created, 1, CREATED), entry(L::Created, L::BidAccepted, 2, "bid")];
    if upgraded {
        assert_eq!((e4.execution.job_id.as_str(), e4.state, e4.version), ("j3", L::Running, 3));
        e4_history.push((L::BidAccepted, L::Running, 3, "after the upgrade".into(), NOW));
    } else {
        assert_eq!((e4.execution.job_id.as_str(), e4.state, e4.version), ("j3", L::BidAccepted, 2));
    }
    assert_eq!(local_history(s, "e4"), e4_history);
    for gone in ["e3", "e5"] {
        assert!(matches!(s.get_execution(gone), Err(ComputeError::ExecutionNotFound { .. })), "{gone}");
    }

    use Operation::{Create as C, Delete as Del, Update as U};
    let written = expected_objects(&[
        (1, C, Obj::Local("e1", L::Created, 1)),
        (2, C, Obj::Local("e2", L::BidAccepted, 1)),
        (3, U, Obj::Local("e1", L::BidAccepted, 2)),
        (4, C, Obj::Local("e3", L::BidAccepted, 1)),
        (5, U, Obj::Local("e2", L::Running, 2)),
        (6, U, Obj::Local("e1", L::Running, 3)),
        (7, U, Obj::Local("e2", L::Publishing, 3)),
        (8, U, Obj::Local("e2", L::Completed, 4)),
        (9, Del, Obj::Local("e3", L::BidAccepted, 1)),
        (10, C, Obj::Local("e4", L::Created, 1)),
        (11, U, Obj::Local("e1", L::Failed, 4)),
        (12, U, Obj::Local("e4", L::BidAccepted, 2)),
    ]);
    assert_eq!(event_objects(&s.events_after(0, 12).unwrap(), WRITTEN_AT), written);
    let later = event_objects(&s.events_after(12, 100).unwrap(), NOW);
    if upgraded {
        let new =
            expected_objects(&[(13, U, Obj::Local("e4", L::Running, 3)), (14, C, Obj::Local("e6", L::Created, 1))]);
        assert_eq!(later, new);
        let e6 = rec("e6");
        assert_eq!((e6.execution.job_id.as_str(), e6.state, e6.version), ("j4", L::Created, 1));
        assert_eq!(local_history(s, "e6"), vec![(L::Undefined, L::Created, 1, CREATED.into(), NOW)]);
    } else {
        assert_eq!(later, vec![], "12 events");
    }
    assert_eq!(s.get_checkpoint("publisher").unwrap(), Some(5));

    let counts: Vec<u64> = [L::Created, L::BidAccepted, L::Running, L::Completed, L::Failed]
        .iter()
        .map(|&st| s.get_execution_count(st).unwrap())
        .collect();
    assert_eq!(counts, if upgraded { [1, 0, 1, 1, 1] } else { [0, 1, 0, 1, 1] });

    let report = s.check().unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let (records, history, events) = if upgraded { (4, 12, 14) } else { (3, 10, 12) };
    assert_eq!((report.records, report.history_entries, report.events), (records, history, events));
}

fn local(id: &str, job: &str) -> LocalExecutionState {
    let spec = Job { id: job.into(), namespace: "default".into(), job_type: "batch".into(), ..Default::default() };
    let exec = Execution {
        id: id.into(),
        job_id: job.into(),
        namespace: "default".into(),
        node_id: "node-1".into(),
        job: Some(Arc::new(spec)),
        ..Default::default()
    };
    LocalExecutionState::new(exec, "requester-1", Timestamp::from_unix_nanos(NOW))
}

/// An old record changed and a new one created, by today's code on the upgraded file.
fn write_compute_after_upgrade(s: &ExecutionStore<RedbBackend>) {
    let up = UpdateExecutionStateRequest::new("e4", L::Running).expecting_version(2).with_comment("after the upgrade");
    assert_eq!(s.update_execution_state(up).unwrap().version, 3);
    assert_eq!(s.create_execution(local("e6", "j4")).unwrap().version, 1);
}

fn compute_store_is_read_upgraded_and_written(schema: u32, name: &str, journal_seq: u64, pending: &[u64]) {
    let img = image(schema, name);
    let durable_events = if pending.is_empty() { 12 } else { 8 };
    assert_written_by(&img.path, schema, journal_seq, pending, durable_events);

    let s = open_compute(&img.path);
    assert_compute(&s, false);
    write_compute_after_upgrade(&s);
    assert_compute(&s, true);
    s.close().unwrap();
    drop(s);
    assert_upgraded(&img.path);

    let s = open_compute(&img.path);
    assert_compute(&s, true);
    s.close().unwrap();
}

// ---- job store ----

fn open_jobs(path: &Path) -> JobStore<RedbBackend> {
    let b = RedbBackend::open(path, StoreKind::Requester, &RedbOptions::default())
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    StoreBuilder::new().policy(Policy::Permissive).clock(ManualClock::new(NOW)).jobs(b)
}

/// A job history entry as the assertions name it.
#[derive(Debug, PartialEq)]
enum H {
    /// Job level: from, to, revision, comment.
    Job(J, J, u64, String),
    /// Execution level: execution, node, from, to, revision.
    Exec(String, String, X, X, u64),
}

fn hj(from: J, to: J, revision: u64, comment: &str) -> H {
    H::Job(from, to, revision, comment.into())
}

fn hx(execution: &str, node: &str, from: X, to: X, revision: u64) -> H {
    H::Exec(execution.into(), node.into(), from, to, revision)
}

fn job_history(s: &JobStore<RedbBackend>, id: &str) -> Vec<(H, i64)> {
    let page = s.get_job_history(id, &JobHistoryQuery::default()).unwrap();
    assert!(page.next_token.is_none());
    page.items.into_iter().map(|h| (named(&h), h.time.unix_nanos().unwrap())).collect()
}

fn named(h: &JobHistory) -> H {
    match h.history_type {
        JobHistoryType::JobLevel => {
            let c = h.job_state.as_ref().expect("job-level entry has a job state change");
            hj(c.previous, c.new, h.new_revision, &h.comment)
        }
        JobHistoryType::ExecutionLevel => {
            let c = h.execution_state.as_ref().expect("execution-level entry has a state change");
            hx(&h.execution_id, &h.node_id, c.previous, c.new, h.new_revision)
        }
        other => panic!("unexpected history type {other:?}"),
    }
}

/// The job store as the old code left it (README "Job store"); with `upgraded`, plus what
/// [`write_jobs_after_upgrade`] added.
fn assert_jobs(s: &JobStore<RedbBackend>, upgraded: bool) {
    let t0 = WRITTEN_AT;
    let j2 = s.get_job("team/j2").unwrap();
    let mut j2_history = vec![
        (hj(J::Undefined, J::Pending, 1, "Job created"), t0),
        (hx("x2", "n2", X::Undefined, X::New, 1), t0),
        (hj(J::Pending, J::Running, 2, ""), t0),
        (hx("x2", "n2", X::New, X::BidAccepted, 2), t0),
    ];
    if upgraded {
        assert_eq!((j2.namespace.as_str(), j2.state.state_type, j2.revision), ("a/b", J::Completed, 3));
        j2_history.push((hx("x2", "n2", X::BidAccepted, X::Completed, 3), NOW));
        j2_history.push((hj(J::Running, J::Completed, 3, ""), NOW));
    } else {
        assert_eq!((j2.namespace.as_str(), j2.state.state_type, j2.revision), ("a/b", J::Running, 2));
    }
    assert_eq!(j2.labels.get("team").map(String::as_str), Some("reliability"));
    assert_eq!(job_history(s, "team/j2"), j2_history);

    let j3 = s.get_job("j3").unwrap();
    assert_eq!((j3.namespace.as_str(), j3.state.state_type, j3.revision), ("default", J::Pending, 1));
    assert_eq!(job_history(s, "j3"), vec![(hj(J::Undefined, J::Pending, 1, "Job created"), t0)]);
    let j4 = s.get_job("j4").unwrap();
    assert_eq!((j4.namespace.as_str(), j4.state.state_type, j4.revision), ("default", J::Failed, 2));
    assert_eq!(
        job_history(s, "j4"),
        vec![(hj(J::Undefined, J::Pending, 1, "Job created"), t0), (hj(J::Pending, J::Failed, 2, ""), t0)]
    );

    let x2 = s.get_executions(&GetExecutionsOptions { job_id: Some("team/j2".into()), ..Default::default() }).unwrap();
    let x2: Vec<_> = x2
        .iter()
        .map(|x| {
            (x.id.as_str(), x.node_id.as_str(), x.compute_state.state_type, x.desired_state.state_type, x.revision)
        })
        .collect();
    let (state, rev) = if upgraded { (X::Completed, 3) } else { (X::BidAccepted, 2) };
    assert_eq!(x2, vec![("x2", "n2", state, D::Pending, rev)]);
    let evals: Vec<_> = s.get_evaluations("team/j2").unwrap().into_iter().map(|v| (v.id, v.status)).collect();
    assert_eq!(evals, vec![("v2".to_string(), EvaluationStatus::Pending)]);

    assert!(matches!(s.get_job("j1"), Err(JobStoreError::JobNotFound { .. })));
    assert!(matches!(s.get_execution("x1"), Err(JobStoreError::ExecutionNotFound { .. })));
    for gone in ["v1", "v9"] {
        assert!(matches!(s.get_evaluation(gone), Err(JobStoreError::EvaluationNotFound { .. })), "{gone}");
    }

    use Obj::{Eval, Exec, Job};
    use Operation::{Create as C, Delete as Del, Update as U};
    let written = expected_objects(&[
        (1, C, Job("j1", J::Pending, 1)),
        (2, C, Eval("v1", EvaluationStatus::Pending)),
        (3, C, Exec("x1", X::New, 1)),
        (4, C, Job("team/j2", J::Pending, 1)),
        (5, U, Exec("x1", X::BidAccepted, 2)),
        (6, C, Exec("x2", X::New, 1)),
        (7, U, Job("team/j2", J::Running, 2)),
        (8, U, Job("j1", J::Running, 2)),
        (9, U, Eval("v1", EvaluationStatus::Complete)),
        (10, U, Exec("x1", X::Completed, 3)),
        (11, U, Job("j1", J::Completed, 3)),
        (12, Del, Exec("x1", X::Completed, 3)),
        (13, Del, Eval("v1", EvaluationStatus::Complete)),
        (14, Del, Job("j1", J::Completed, 3)),
        (15, C, Job("j3", J::Pending, 1)),
        (16, C, Job("j4", J::Pending, 1)),
        (17, U, Job("j4", J::Failed, 2)),
        (18, C, Eval("v2", EvaluationStatus::Pending)),
        (19, U, Exec("x2", X::BidAccepted, 2)),
    ]);
    assert_eq!(event_objects(&s.events_after(0, 19).unwrap(), WRITTEN_AT), written);
    let later = event_objects(&s.events_after(19, 100).unwrap(), NOW);
    if upgraded {
        let new = expected_objects(&[
            (20, U, Exec("x2", X::Completed, 3)),
            (21, U, Job("team/j2", J::Completed, 3)),
            (22, C, Job("j5", J::Pending, 1)),
        ]);
        assert_eq!(later, new);
        let j5 = s.get_job("j5").unwrap();
        assert_eq!((j5.state.state_type, j5.revision), (J::Pending, 1));
    } else {
        assert_eq!(later, vec![], "19 events");
    }
    assert_eq!(s.get_checkpoint("scheduler").unwrap(), Some(4));

    let counts: Vec<u64> =
        [J::Pending, J::Running, J::Completed, J::Failed].iter().map(|&st| s.get_job_count(st).unwrap()).collect();
    assert_eq!(counts, if upgraded { [2, 0, 1, 1] } else { [1, 1, 0, 1] });

    let report = s.check().unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let (records, history, events) = if upgraded { (6, 10, 22) } else { (5, 7, 19) };
    assert_eq!((report.records, report.history_entries, report.events), (records, history, events));
}

/// Old records changed and a new one created, by today's code on the upgraded file.
fn write_jobs_after_upgrade(s: &JobStore<RedbBackend>) {
    let x2 = UpdateExecutionRequest::new("x2", ExecutionPatch::compute(X::Completed)).expecting_revision(2);
    assert_eq!(s.update_execution(x2).unwrap().revision, 3);
    let j2 = UpdateJobStateRequest::new("team/j2", J::Completed).expecting_revision(2);
    assert_eq!(s.update_job_state(j2).unwrap().revision, 3);
    let j5 = Job {
        id: "j5".into(),
        name: "name-j5".into(),
        namespace: "default".into(),
        job_type: "batch".into(),
        count: 1,
        tasks: vec![Task::new("main", "docker")],
        ..Default::default()
    };
    assert_eq!(s.create_job(j5).unwrap().revision, 1);
}

fn job_store_is_read_upgraded_and_written(schema: u32, name: &str, journal_seq: u64, pending: &[u64]) {
    let img = image(schema, name);
    let durable_events = if pending.is_empty() { 19 } else { 11 };
    assert_written_by(&img.path, schema, journal_seq, pending, durable_events);

    let s = open_jobs(&img.path);
    assert_jobs(&s, false);
    write_jobs_after_upgrade(&s);
    assert_jobs(&s, true);
    s.close().unwrap();
    drop(s);
    assert_upgraded(&img.path);

    let s = open_jobs(&img.path);
    assert_jobs(&s, true);
    s.close().unwrap();
}

// ---- the cases: three schemas, two stores, closed cleanly or crashed ----

/// Frames 9-12 (the second session's commits) are only in the compute crash images' journals.
const COMPUTE_PENDING: &[u64] = &[9, 10, 11, 12];
/// Frames 10-14 are only in the job store crash images' journals.
const JOBS_PENDING: &[u64] = &[10, 11, 12, 13, 14];

/// The schema-1 log holds a `DELETE` event (number 9, `e3`) that no `event_deletes` entry
/// indexes (schema 2 added the index); it precedes every reference, so `check()` accepts it.
#[test]
fn a_schema_1_compute_store_closed_cleanly_is_read_upgraded_and_written() {
    compute_store_is_read_upgraded_and_written(1, "compute.redb", 12, &[]);
}

/// The schema-1 log holds a `DELETE` event (number 9, `e3`) that no `event_deletes` entry
/// indexes (schema 2 added the index); it precedes every reference, so `check()` accepts it.
#[test]
fn a_schema_1_compute_store_left_open_recovers_the_commits_only_its_v1_journal_holds() {
    compute_store_is_read_upgraded_and_written(1, "compute-crash.redb", 8, COMPUTE_PENDING);
}

#[test]
fn a_schema_2_compute_store_closed_cleanly_is_read_upgraded_and_written() {
    compute_store_is_read_upgraded_and_written(2, "compute.redb", 12, &[]);
}

#[test]
fn a_schema_2_compute_store_left_open_recovers_the_commits_only_its_v1_journal_holds() {
    compute_store_is_read_upgraded_and_written(2, "compute-crash.redb", 8, COMPUTE_PENDING);
}

#[test]
fn a_schema_3_compute_store_closed_cleanly_is_read_and_written() {
    compute_store_is_read_upgraded_and_written(3, "compute.redb", 12, &[]);
}

#[test]
fn a_schema_3_compute_store_left_open_recovers_the_commits_only_its_v1_journal_holds() {
    compute_store_is_read_upgraded_and_written(3, "compute-crash.redb", 8, COMPUTE_PENDING);
}

#[test]
fn a_schema_1_job_store_closed_cleanly_is_read_upgraded_and_written() {
    job_store_is_read_upgraded_and_written(1, "jobs.redb", 14, &[]);
}

#[test]
fn a_schema_1_job_store_left_open_recovers_the_commits_only_its_v1_journal_holds() {
    job_store_is_read_upgraded_and_written(1, "jobs-crash.redb", 9, JOBS_PENDING);
}

#[test]
fn a_schema_2_job_store_closed_cleanly_is_read_upgraded_and_written() {
    job_store_is_read_upgraded_and_written(2, "jobs.redb", 14, &[]);
}

#[test]
fn a_schema_2_job_store_left_open_recovers_the_commits_only_its_v1_journal_holds() {
    job_store_is_read_upgraded_and_written(2, "jobs-crash.redb", 9, JOBS_PENDING);
}

#[test]
fn a_schema_3_job_store_closed_cleanly_is_read_and_written() {
    job_store_is_read_upgraded_and_written(3, "jobs.redb", 14, &[]);
}

#[test]
fn a_schema_3_job_store_left_open_recovers_the_commits_only_its_v1_journal_holds() {
    job_store_is_read_upgraded_and_written(3, "jobs-crash.redb", 9, JOBS_PENDING);
}
