//! Every documented size limit: a value at the limit is stored, one byte more is refused with a
//! typed error naming the field, and nothing is written.

use bacalhau_state::jobstore::{ExecutionPatch, UpdateExecutionRequest, UpdateJobStateRequest};
use bacalhau_state::limits::{MAX_ENTRIES, MAX_ID, MAX_MESSAGE, MAX_NAME, MAX_VALUE};
use bacalhau_state::model::{Evaluation, Execution, Job, LocalExecutionState, State, Task};
use bacalhau_state::state::{ExecutionStateType, JobStateType};
use bacalhau_state::time::Timestamp;
use bacalhau_state::{ExecutionStore, JobStore, UpdateExecutionStateRequest};

fn job(id: &str) -> Job {
    Job {
        id: id.into(),
        name: "n".into(),
        job_type: "batch".into(),
        tasks: vec![Task::new("t", "docker")],
        ..Default::default()
    }
}

fn text(n: usize) -> String {
    "x".repeat(n)
}

fn refused_with(store: &JobStore, j: Job, needle: &str) {
    let err = store.create_job(j).unwrap_err();
    assert_eq!(err.code(), "Validation");
    assert!(err.to_string().contains(needle), "{err}");
    assert_eq!(store.stats().unwrap().job_total, 0);
    assert_eq!(store.stats().unwrap().last_event_seq, 0);
}

#[test]
fn job_ids_names_and_namespaces_are_bounded() {
    let s = JobStore::in_memory();
    refused_with(&s, job(&text(MAX_ID + 1)), "job ID is 513 bytes; the limit is 512");
    refused_with(&s, Job { namespace: text(MAX_ID + 1), ..job("j") }, "namespace is 513 bytes");
    refused_with(&s, Job { name: text(MAX_NAME + 1), ..job("j") }, "job name is 1025 bytes");
    s.create_job(Job { name: text(MAX_NAME), namespace: text(MAX_ID), ..job(&text(MAX_ID)) }).unwrap();
}

#[test]
fn labels_and_meta_are_bounded_in_size_and_count() {
    let s = JobStore::in_memory();
    let mut j = job("j");
    j.labels.insert(text(MAX_NAME + 1), "v".into());
    refused_with(&s, j, "labels key is 1025 bytes");
    let mut j = job("j");
    j.meta.insert("k".into(), text(MAX_VALUE + 1));
    refused_with(&s, j, "meta value of k is 16385 bytes");
    let mut j = job("j");
    for i in 0..=MAX_ENTRIES {
        j.labels.insert(format!("k{i}"), "v".into());
    }
    refused_with(&s, j, "labels has 1025 entries; the limit is 1024");
}

#[test]
fn a_100_mb_job_spec_is_refused_by_both_stores_after_bounded_work() {
    let s = JobStore::in_memory();
    let mut j = job("big");
    j.meta.insert("blob".into(), String::new());
    // The payload sits inside the opaque task, where no field limit applies: only the record
    // limit catches it.
    let big: Job = {
        let mut v = serde_json::to_value(&j).unwrap();
        v["Tasks"][0]["Engine"]["Params"]["Blob"] = serde_json::Value::String(text(100 * 1024 * 1024));
        serde_json::from_value(v).unwrap()
    };
    let started = std::time::Instant::now();
    refused_with(&s, big.clone(), "encodes to more than 4194304 bytes");
    eprintln!("refusing a 100 MB spec took {:?}", started.elapsed());
    let c = ExecutionStore::in_memory();
    let exec =
        Execution { id: "e".into(), job_id: "big".into(), job: Some(std::sync::Arc::new(big)), ..Default::default() };
    let err = c.create_execution(LocalExecutionState::new(exec, "r", Timestamp::from_unix_nanos(1))).unwrap_err();
    assert_eq!(err.code(), "Validation", "{err}");
    assert_eq!(c.stats().unwrap().total, 0);
}

#[test]
fn comments_and_messages_are_bounded_and_a_refused_update_changes_nothing() {
    let s = JobStore::in_memory();
    s.create_job(job("j")).unwrap();
    let err = s
        .update_job_state(UpdateJobStateRequest::new("j", JobStateType::Running).with_comment(text(MAX_MESSAGE + 1)))
        .unwrap_err();
    assert_eq!(err.code(), "InvalidArgument");
    assert_eq!(s.get_job("j").unwrap().revision, 1);
    s.create_execution(Execution {
        id: "e".into(),
        job_id: "j".into(),
        compute_state: State::new(ExecutionStateType::New),
        ..Default::default()
    })
    .unwrap();
    let patch = ExecutionPatch::compute(ExecutionStateType::AskForBid).with_compute_message(text(MAX_MESSAGE + 1));
    let err = s.update_execution(UpdateExecutionRequest::new("e", patch)).unwrap_err();
    assert_eq!(err.code(), "Validation");
    assert!(err.to_string().contains("compute state message"), "{err}");
    let patch = ExecutionPatch { node_id: Some(text(MAX_ID + 1)), ..Default::default() };
    assert_eq!(s.update_execution(UpdateExecutionRequest::new("e", patch)).unwrap_err().code(), "Validation");
    assert_eq!(s.get_execution("e").unwrap().revision, 1);
    let err = s.checkpoint(&text(MAX_ID + 1), 1).unwrap_err();
    assert_eq!(err.code(), "InvalidArgument");

    let c = ExecutionStore::in_memory();
    let exec = Execution { id: "e".into(), job_id: "j".into(), ..Default::default() };
    c.create_execution(LocalExecutionState::new(exec, "r", Timestamp::from_unix_nanos(1))).unwrap();
    let req = UpdateExecutionStateRequest::new("e", bacalhau_state::state::LocalExecutionStateType::BidAccepted)
        .with_comment(text(MAX_MESSAGE + 1));
    assert_eq!(c.update_execution_state(req).unwrap_err().code(), "InvalidArgument");
    assert_eq!(c.get_execution("e").unwrap().version, 1);
}

#[test]
fn evaluations_are_bounded() {
    let s = JobStore::in_memory();
    s.create_job(job("j")).unwrap();
    let ev = Evaluation { id: "v".into(), job_id: "j".into(), comment: text(MAX_MESSAGE + 1), ..Default::default() };
    assert_eq!(s.create_evaluation(ev).unwrap_err().code(), "Validation");
    let ev = Evaluation { id: text(MAX_ID + 1), job_id: "j".into(), ..Default::default() };
    assert_eq!(s.create_evaluation(ev).unwrap_err().code(), "Validation");
    assert!(s.get_evaluations("j").unwrap().is_empty());
}
