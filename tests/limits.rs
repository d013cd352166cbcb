//! Every documented size limit (`src/limits.rs`), table-driven: a value exactly at the limit is
//! stored (and reads back whole), one byte or entry more is refused with the documented code
//! (`Validation` for a record, `InvalidArgument` for a request field) and a message naming the
//! field and the limit, and nothing is written.

use std::collections::BTreeMap;
use std::sync::Arc;

use bacalhau_state::clock::ManualClock;
use bacalhau_state::jobstore::{
    ExecutionPatch, JobHistoryQuery, UpdateEvaluationRequest, UpdateExecutionRequest, UpdateJobStateRequest,
};
use bacalhau_state::kv::memory::MemoryBackend;
use bacalhau_state::limits::{MAX_ENTRIES, MAX_ID, MAX_MESSAGE, MAX_NAME, MAX_RECORD, MAX_VALUE};
use bacalhau_state::model::{Evaluation, Execution, Job, LocalExecutionState, Opaque, RunCommandResult, State, Task};
use bacalhau_state::state::{EvaluationStatus, ExecutionStateType, JobStateType, LocalExecutionStateType as L};
use bacalhau_state::time::Timestamp;
use bacalhau_state::{ExecutionStore, JobStore, Policy, StoreBuilder, UpdateExecutionStateRequest};

/// The stores' clock: fixed, so that a record's encoded size does not depend on when it is made.
const NOW: i64 = 1_700_000_000_000_000_000;

fn builder() -> StoreBuilder {
    StoreBuilder::new().policy(Policy::Permissive).clock(ManualClock::new(NOW))
}

fn text(n: usize) -> String {
    "x".repeat(n)
}

fn job(id: &str) -> Job {
    Job {
        id: id.into(),
        name: "n".into(),
        namespace: "default".into(),
        job_type: "batch".into(),
        tasks: vec![Task::new("t", "docker")],
        ..Default::default()
    }
}

fn execution(id: &str) -> Execution {
    Execution {
        id: id.into(),
        job_id: "j".into(),
        namespace: "default".into(),
        compute_state: State::new(ExecutionStateType::New),
        ..Default::default()
    }
}

fn local(exec: Execution) -> LocalExecutionState {
    LocalExecutionState::new(exec, "r", Timestamp::from_unix_nanos(1))
}

/// A job store holding job `j` (and execution `e` and evaluation `v` of it).
fn jobs() -> JobStore<MemoryBackend> {
    let s = builder().jobs(MemoryBackend::new());
    s.create_job(job("j")).unwrap();
    s.create_execution(execution("e")).unwrap();
    s.create_evaluation(Evaluation { id: "v".into(), job_id: "j".into(), ..Default::default() }).unwrap();
    s
}

/// A compute store holding execution `e`.
fn compute() -> ExecutionStore<MemoryBackend> {
    let s = builder().compute(MemoryBackend::new());
    s.create_execution(local(execution("e"))).unwrap();
    s
}

fn cbor_len<T: serde::Serialize>(value: &T) -> usize {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).unwrap();
    out.len()
}

/// A text blob that makes `record` encode to exactly `size` bytes once `place` puts it in.
/// The blob's CBOR header is 5 bytes at these lengths (64 KiB to 4 GiB), 1 when empty.
fn sized<T: serde::Serialize>(mut record: T, size: usize, place: impl Fn(&mut T, String)) -> T {
    place(&mut record, String::new());
    let blob = size - (cbor_len(&record) + 4);
    place(&mut record, text(blob));
    assert_eq!(cbor_len(&record), size, "the record is sized as the test means");
    record
}

/// A task whose engine parameters carry `blob`: opaque to the store, so only the record limit
/// applies to it.
fn task_with(blob: String) -> Task {
    use ciborium::Value;
    let t = |s: &str| Value::Text(s.into());
    let params = Value::Map(vec![(t("Blob"), Value::Text(blob))]);
    let engine = Value::Map(vec![(t("Params"), params), (t("Type"), t("docker"))]);
    Task(Opaque(Value::Map(vec![(t("Engine"), engine), (t("Name"), t("t"))])))
}

/// A job of `n` encoded bytes as the store validates it (state, revision and times set).
fn job_of(n: usize) -> Job {
    let prepared =
        Job { state: State::new(JobStateType::Pending), revision: 1, create_time: NOW, modify_time: NOW, ..job("big") };
    sized(prepared, n, |j, blob| j.tasks = vec![task_with(blob)])
}

/// What one attempt did: its outcome, the field's size as the store holds it afterwards (`None`
/// when not there), and how many events the store logged meanwhile.
struct Attempt {
    outcome: Result<(), (String, String)>,
    stored: Option<usize>,
    events: u64,
}

fn fail(e: impl std::fmt::Display, code: &str) -> (String, String) {
    (code.to_string(), e.to_string())
}

/// Runs `op` on a job store made by `jobs()` and measures the field with `read`.
fn on_jobs(
    op: impl FnOnce(&JobStore<MemoryBackend>) -> Result<(), bacalhau_state::JobStoreError>,
    read: impl FnOnce(&JobStore<MemoryBackend>) -> Option<usize>,
) -> Attempt {
    let s = jobs();
    let before = s.stats().unwrap().last_event_seq;
    let outcome = op(&s).map_err(|e| fail(&e, e.code()));
    let events = s.stats().unwrap().last_event_seq - before;
    assert!(s.check().unwrap().problems.is_empty());
    Attempt { outcome, stored: read(&s), events }
}

fn on_compute(
    op: impl FnOnce(&ExecutionStore<MemoryBackend>) -> Result<(), bacalhau_state::ComputeError>,
    read: impl FnOnce(&ExecutionStore<MemoryBackend>) -> Option<usize>,
) -> Attempt {
    let s = compute();
    let before = s.stats().unwrap().last_event_seq;
    let outcome = op(&s).map_err(|e| fail(&e, e.code()));
    let events = s.stats().unwrap().last_event_seq - before;
    assert!(s.check().unwrap().problems.is_empty());
    Attempt { outcome, stored: read(&s), events }
}

fn new_job(j: Job, read: impl FnOnce(&Job) -> usize) -> Attempt {
    let id = j.id.clone();
    on_jobs(|s| s.create_job(j).map(drop), |s| s.get_job(&id).ok().map(|j| read(&j)))
}

fn new_execution(e: Execution, read: impl FnOnce(&Execution) -> usize) -> Attempt {
    let id = e.id.clone();
    on_jobs(|s| s.create_execution(e).map(drop), |s| s.get_execution(&id).ok().map(|e| read(&e)))
}

fn new_evaluation(ev: Evaluation, read: impl FnOnce(&Evaluation) -> usize) -> Attempt {
    let id = ev.id.clone();
    on_jobs(|s| s.create_evaluation(ev).map(drop), |s| s.get_evaluation(&id).ok().map(|e| read(&e)))
}

fn new_local(rec: LocalExecutionState, read: impl FnOnce(&LocalExecutionState) -> usize) -> Attempt {
    let id = rec.id().to_string();
    on_compute(|s| s.create_execution(rec).map(drop), |s| s.get_execution(&id).ok().map(|r| read(&r)))
}

fn map_of(n: usize) -> BTreeMap<String, String> {
    (0..n).map(|i| (format!("k{i}"), "v".to_string())).collect()
}

/// The last comment of job `j`'s history.
fn last_job_comment(s: &JobStore<MemoryBackend>) -> Option<usize> {
    s.get_job_history("j", &JobHistoryQuery::default()).unwrap().items.last().map(|h| h.comment.len())
}

/// One documented limit: the field as the refusal names it, the limit, the refusal's code, and
/// an attempt with the field `n` bytes (or entries) long on a fresh store.
struct Limit {
    field: &'static str,
    max: usize,
    code: &'static str,
    attempt: fn(usize) -> Attempt,
}

const LIMITS: &[Limit] = &[
    // Jobs.
    Limit { field: "job ID", max: MAX_ID, code: "Validation", attempt: |n| new_job(job(&text(n)), |j| j.id.len()) },
    Limit {
        field: "namespace",
        max: MAX_ID,
        code: "Validation",
        attempt: |n| new_job(Job { namespace: text(n), ..job("k") }, |j| j.namespace.len()),
    },
    Limit {
        field: "job name",
        max: MAX_NAME,
        code: "Validation",
        attempt: |n| new_job(Job { name: text(n), ..job("k") }, |j| j.name.len()),
    },
    Limit {
        field: "labels key",
        max: MAX_NAME,
        code: "Validation",
        attempt: |n| {
            let labels = BTreeMap::from([(text(n), "v".to_string())]);
            new_job(Job { labels, ..job("k") }, |j| j.labels.keys().map(String::len).sum())
        },
    },
    Limit {
        field: "labels value of k",
        max: MAX_VALUE,
        code: "Validation",
        attempt: |n| {
            let labels = BTreeMap::from([("k".to_string(), text(n))]);
            new_job(Job { labels, ..job("k") }, |j| j.labels["k"].len())
        },
    },
    Limit {
        field: "labels has",
        max: MAX_ENTRIES,
        code: "Validation",
        attempt: |n| new_job(Job { labels: map_of(n), ..job("k") }, |j| j.labels.len()),
    },
    Limit {
        field: "meta key",
        max: MAX_NAME,
        code: "Validation",
        attempt: |n| {
            let meta = BTreeMap::from([(text(n), "v".to_string())]);
            new_job(Job { meta, ..job("k") }, |j| j.meta.keys().map(String::len).sum())
        },
    },
    Limit {
        field: "meta value of k",
        max: MAX_VALUE,
        code: "Validation",
        attempt: |n| {
            let meta = BTreeMap::from([("k".to_string(), text(n))]);
            new_job(Job { meta, ..job("k") }, |j| j.meta["k"].len())
        },
    },
    Limit {
        field: "meta has",
        max: MAX_ENTRIES,
        code: "Validation",
        attempt: |n| new_job(Job { meta: map_of(n), ..job("k") }, |j| j.meta.len()),
    },
    Limit {
        field: "the record encodes to more than",
        max: MAX_RECORD,
        code: "Validation",
        attempt: |n| new_job(job_of(n), cbor_len),
    },
    Limit {
        field: "comment",
        max: MAX_MESSAGE,
        code: "InvalidArgument",
        attempt: |n| {
            on_jobs(
                |s| {
                    s.update_job_state(UpdateJobStateRequest::new("j", JobStateType::Running).with_comment(text(n)))
                        .map(drop)
                },
                last_job_comment,
            )
        },
    },
    // The job store's executions (their job ID must name an existing job, so the job ID limit
    // above bounds it).
    Limit {
        field: "execution ID",
        max: MAX_ID,
        code: "Validation",
        attempt: |n| new_execution(execution(&text(n)), |e| e.id.len()),
    },
    Limit {
        field: "namespace",
        max: MAX_ID,
        code: "Validation",
        attempt: |n| new_execution(Execution { namespace: text(n), ..execution("f") }, |e| e.namespace.len()),
    },
    Limit {
        field: "node ID",
        max: MAX_ID,
        code: "Validation",
        attempt: |n| new_execution(Execution { node_id: text(n), ..execution("f") }, |e| e.node_id.len()),
    },
    Limit {
        field: "evaluation ID",
        max: MAX_ID,
        code: "Validation",
        attempt: |n| new_execution(Execution { eval_id: text(n), ..execution("f") }, |e| e.eval_id.len()),
    },
    Limit {
        field: "previous execution",
        max: MAX_ID,
        code: "Validation",
        attempt: |n| {
            new_execution(Execution { previous_execution: text(n), ..execution("f") }, |e| e.previous_execution.len())
        },
    },
    Limit {
        field: "next execution",
        max: MAX_ID,
        code: "Validation",
        attempt: |n| new_execution(Execution { next_execution: text(n), ..execution("f") }, |e| e.next_execution.len()),
    },
    Limit {
        field: "follow-up evaluation",
        max: MAX_ID,
        code: "Validation",
        attempt: |n| {
            new_execution(Execution { followup_eval_id: text(n), ..execution("f") }, |e| e.followup_eval_id.len())
        },
    },
    Limit {
        field: "execution name",
        max: MAX_NAME,
        code: "Validation",
        attempt: |n| new_execution(Execution { name: text(n), ..execution("f") }, |e| e.name.len()),
    },
    Limit {
        field: "compute state message",
        max: MAX_MESSAGE,
        code: "Validation",
        attempt: |n| {
            let compute_state = State { state_type: ExecutionStateType::New, message: text(n) };
            new_execution(Execution { compute_state, ..execution("f") }, |e| e.compute_state.message.len())
        },
    },
    Limit {
        field: "desired state message",
        max: MAX_MESSAGE,
        code: "Validation",
        attempt: |n| {
            let desired_state = State { message: text(n), ..Default::default() };
            new_execution(Execution { desired_state, ..execution("f") }, |e| e.desired_state.message.len())
        },
    },
    Limit {
        field: "the record encodes to more than",
        max: MAX_RECORD,
        code: "Validation",
        attempt: |n| {
            // As the store validates it: revision and times set, the job not embedded.
            let prepared = Execution { revision: 1, create_time: NOW, modify_time: NOW, ..execution("f") };
            let big = sized(prepared, n, |e, blob| {
                e.run_output = Some(RunCommandResult { stdout: blob, ..Default::default() })
            });
            new_execution(big, cbor_len)
        },
    },
    Limit {
        field: "compute state message",
        max: MAX_MESSAGE,
        code: "Validation",
        attempt: |n| {
            let patch = ExecutionPatch::compute(ExecutionStateType::AskForBid).with_compute_message(text(n));
            on_jobs(
                |s| s.update_execution(UpdateExecutionRequest::new("e", patch)).map(drop),
                |s| Some(s.get_execution("e").unwrap().compute_state.message.len()),
            )
        },
    },
    Limit {
        field: "node ID",
        max: MAX_ID,
        code: "Validation",
        attempt: |n| {
            let patch = ExecutionPatch { node_id: Some(text(n)), ..Default::default() };
            on_jobs(
                |s| s.update_execution(UpdateExecutionRequest::new("e", patch)).map(drop),
                |s| Some(s.get_execution("e").unwrap().node_id.len()),
            )
        },
    },
    Limit {
        field: "comment",
        max: MAX_MESSAGE,
        code: "InvalidArgument",
        attempt: |n| {
            let req = UpdateExecutionRequest::new("e", ExecutionPatch::compute(ExecutionStateType::AskForBid))
                .with_comment(text(n));
            on_jobs(|s| s.update_execution(req).map(drop), last_job_comment)
        },
    },
    // Evaluations (the record limit is out of their reach: every field is bounded well below it).
    Limit {
        field: "evaluation ID",
        max: MAX_ID,
        code: "Validation",
        attempt: |n| {
            new_evaluation(Evaluation { id: text(n), job_id: "j".into(), ..Default::default() }, |e| e.id.len())
        },
    },
    Limit {
        field: "namespace",
        max: MAX_ID,
        code: "Validation",
        attempt: |n| {
            let ev = Evaluation { id: "w".into(), job_id: "j".into(), namespace: text(n), ..Default::default() };
            new_evaluation(ev, |e| e.namespace.len())
        },
    },
    Limit {
        field: "triggered-by",
        max: MAX_NAME,
        code: "Validation",
        attempt: |n| {
            let ev = Evaluation { id: "w".into(), job_id: "j".into(), triggered_by: text(n), ..Default::default() };
            new_evaluation(ev, |e| e.triggered_by.len())
        },
    },
    Limit {
        field: "type",
        max: MAX_NAME,
        code: "Validation",
        attempt: |n| {
            let ev = Evaluation { id: "w".into(), job_id: "j".into(), eval_type: text(n), ..Default::default() };
            new_evaluation(ev, |e| e.eval_type.len())
        },
    },
    Limit {
        field: "comment",
        max: MAX_MESSAGE,
        code: "Validation",
        attempt: |n| {
            let ev = Evaluation { id: "w".into(), job_id: "j".into(), comment: text(n), ..Default::default() };
            new_evaluation(ev, |e| e.comment.len())
        },
    },
    Limit {
        field: "comment",
        max: MAX_MESSAGE,
        code: "InvalidArgument",
        attempt: |n| {
            let req = UpdateEvaluationRequest {
                evaluation_id: "v".into(),
                new_status: EvaluationStatus::Pending,
                expected_status: None,
                comment: Some(text(n)),
            };
            on_jobs(|s| s.update_evaluation(req).map(drop), |s| Some(s.get_evaluation("v").unwrap().comment.len()))
        },
    },
    Limit {
        field: "checkpoint name",
        max: MAX_ID,
        code: "InvalidArgument",
        attempt: |n| {
            let name = text(n);
            on_jobs(|s| s.checkpoint(&name, 7), |s| s.get_checkpoint(&name).unwrap().map(|_| name.len()))
        },
    },
    // The compute store.
    Limit {
        field: "execution ID",
        max: MAX_ID,
        code: "Validation",
        attempt: |n| new_local(local(execution(&text(n))), |r| r.id().len()),
    },
    Limit {
        field: "requester node ID",
        max: MAX_ID,
        code: "Validation",
        attempt: |n| {
            let rec = LocalExecutionState { requester_node_id: text(n), ..local(execution("f")) };
            new_local(rec, |r| r.requester_node_id.len())
        },
    },
    Limit {
        field: "execution name",
        max: MAX_NAME,
        code: "Validation",
        attempt: |n| new_local(local(Execution { name: text(n), ..execution("f") }), |r| r.execution.name.len()),
    },
    Limit {
        field: "the record encodes to more than",
        max: MAX_RECORD,
        code: "Validation",
        attempt: |n| {
            // The execution is what is measured, with the job its requester sent.
            let big = sized(execution("f"), n, |e, blob| {
                e.job = Some(Arc::new(Job { tasks: vec![task_with(blob)], ..job("big") }))
            });
            new_local(local(big), |r| cbor_len(&*r.execution))
        },
    },
    Limit {
        field: "comment",
        max: MAX_MESSAGE,
        code: "InvalidArgument",
        attempt: |n| {
            let req = UpdateExecutionStateRequest::new("e", L::BidAccepted).with_comment(text(n));
            on_compute(
                |s| s.update_execution_state(req).map(drop),
                |s| s.get_execution_history("e", &Default::default()).unwrap().items.last().map(|h| h.comment.len()),
            )
        },
    },
    Limit {
        field: "checkpoint name",
        max: MAX_ID,
        code: "InvalidArgument",
        attempt: |n| {
            let name = text(n);
            on_compute(|s| s.checkpoint(&name, 7), |s| s.get_checkpoint(&name).unwrap().map(|_| name.len()))
        },
    },
];

#[test]
fn every_limit_stores_a_value_at_the_limit_and_refuses_one_more_with_its_code() {
    for (i, limit) in LIMITS.iter().enumerate() {
        let at = format!("limit {i} ({}, {} max {})", limit.code, limit.field, limit.max);
        let stored = (limit.attempt)(limit.max);
        assert_eq!(stored.outcome, Ok(()), "{at}: a value at the limit is stored");
        assert_eq!(stored.stored, Some(limit.max), "{at}: and reads back whole");
        let refused = (limit.attempt)(limit.max + 1);
        let (code, message) = refused.outcome.expect_err(&format!("{at}: one more is refused"));
        assert_eq!(code, limit.code, "{at}: {message}");
        assert!(message.contains(limit.field), "{at}: the refusal names the field: {message}");
        assert!(message.contains(&limit.max.to_string()), "{at}: and the limit: {message}");
        assert_ne!(refused.stored, Some(limit.max + 1), "{at}: nothing of the refused value is stored");
        assert_eq!(refused.events, 0, "{at}: and nothing is logged");
    }
    println!("{} limits checked at the limit and one over", LIMITS.len());
}

#[test]
fn a_100_mb_job_spec_is_refused_by_both_stores_after_bounded_work() {
    let s = builder().jobs(MemoryBackend::new());
    // The payload sits inside the opaque task, where no field limit applies: only the record
    // limit catches it.
    let big = Job { tasks: vec![task_with(text(100 * 1024 * 1024))], ..job("big") };
    let started = std::time::Instant::now();
    let err = s.create_job(big.clone()).unwrap_err();
    assert_eq!(err.code(), "Validation", "{err}");
    assert!(err.to_string().contains("encodes to more than 4194304 bytes"), "{err}");
    eprintln!("refusing a 100 MB spec took {:?}", started.elapsed());
    assert_eq!((s.stats().unwrap().job_total, s.stats().unwrap().last_event_seq), (0, 0));
    let c = builder().compute(MemoryBackend::new());
    let exec = Execution { job: Some(Arc::new(big)), ..execution("e") };
    let err = c.create_execution(local(exec)).unwrap_err();
    assert_eq!(err.code(), "Validation", "{err}");
    assert_eq!((c.stats().unwrap().total, c.stats().unwrap().last_event_seq), (0, 0));
}
