//! Fixed, deterministic workloads for both stores, shared by the fault-injection and crash
//! tests: every kind of write a node makes (creates, conditional updates, multi-operation
//! transactions, a rolled-back transaction, deletes with cascades, checkpoints, event trimming)
//! and one large record, so that the file has to grow (`set_len`) while it runs.

#![allow(dead_code)]

use std::collections::BTreeMap;

use bacalhau_state::compute::UpdateExecutionStateRequest;
use bacalhau_state::jobstore::{
    ExecutionPatch, UpdateEvaluationRequest, UpdateExecutionRequest, UpdateJobStateRequest,
};
use bacalhau_state::kv::Backend;
use bacalhau_state::model::{Evaluation, Execution, Job, LocalExecutionState, State, Task};
use bacalhau_state::state::{
    EvaluationStatus, ExecutionDesiredStateType as D, ExecutionStateType as X, JobStateType as J,
    LocalExecutionStateType as L,
};
use bacalhau_state::time::Timestamp;
use bacalhau_state::{ComputeError, ExecutionStore, JobStore, JobStoreError};

/// A compute record; `big` adds ~24 KiB of job metadata (each value under the 16 KiB limit).
pub fn local(id: &str, job: &str, pre_approved: bool, big: bool) -> LocalExecutionState {
    let mut j = job_spec(job, "default", big);
    j.state = State::new(J::Running);
    let exec = Execution {
        id: id.into(),
        job_id: job.into(),
        namespace: "default".into(),
        node_id: "node-1".into(),
        job: Some(std::sync::Arc::new(j)),
        ..Default::default()
    };
    let mut s = LocalExecutionState::new(exec, "requester-1", Timestamp::from_unix_nanos(1_700_000_000_000_000_000));
    if pre_approved {
        s.state = L::BidAccepted;
    }
    s
}

/// A job spec; `big` adds ~24 KiB of metadata: more than redb's 4 KiB pages, so the file grows.
pub fn job_spec(id: &str, ns: &str, big: bool) -> Job {
    let mut meta = BTreeMap::new();
    if big {
        for i in 0..3 {
            meta.insert(format!("blob-{i}"), "x".repeat(8 * 1024));
        }
    }
    let mut labels = BTreeMap::new();
    labels.insert("team".to_string(), "reliability".to_string());
    Job {
        id: id.into(),
        name: format!("name-{id}"),
        namespace: ns.into(),
        job_type: "batch".into(),
        count: 1,
        tasks: vec![Task::new("main", "docker")],
        labels,
        meta,
        ..Default::default()
    }
}

pub fn exec(id: &str, job: &str, node: &str) -> Execution {
    Execution {
        id: id.into(),
        job_id: job.into(),
        node_id: node.into(),
        namespace: "default".into(),
        eval_id: "v1".into(),
        compute_state: State::new(X::New),
        desired_state: State::new(D::Pending),
        ..Default::default()
    }
}

pub fn eval(id: &str, job: &str) -> Evaluation {
    Evaluation {
        id: id.into(),
        job_id: job.into(),
        namespace: "default".into(),
        triggered_by: "job-register".into(),
        eval_type: "batch".into(),
        status: EvaluationStatus::Pending,
        ..Default::default()
    }
}

/// Number of operations in [`compute_op`].
pub const COMPUTE_OPS: usize = 13;

/// Operation `i` of the compute workload (strict policy: every step is a legal transition).
pub fn compute_op<B: Backend>(s: &ExecutionStore<B>, i: usize) -> Result<(), ComputeError> {
    let up = |id: &str, to: L, version: u64| UpdateExecutionStateRequest::new(id, to).expecting_version(version);
    match i {
        0 => s.create_execution(local("e1", "j1", false, false)).map(drop),
        1 => s.create_execution(local("e2", "j1", true, false)).map(drop),
        2 => s.update_execution_state(up("e1", L::BidAccepted, 1).with_comment("approved")).map(drop),
        3 => s.transaction(|tx| {
            tx.create_execution(local("e3", "j2", true, false))?;
            tx.update_execution_state(up("e2", L::Running, 1))?;
            Ok(())
        }),
        4 => s.update_execution_state(up("e1", L::Running, 2)).map(drop),
        5 => s.update_execution_state(up("e2", L::Publishing, 2)).map(drop),
        6 => s.update_execution_state(up("e2", L::Completed, 3)).map(drop),
        7 => s.checkpoint("publisher", 5),
        8 => s.delete_execution("e3"),
        9 => s.create_execution(local("e4", "j3", false, true)).map(drop),
        10 => s.update_execution_state(up("e1", L::Failed, 3).with_comment("node lost")).map(drop),
        11 => s.trim_events(3).map(drop),
        12 => {
            // A transaction the caller abandons: nothing of it may remain, and it is not a failure.
            let r: Result<(), ComputeError> = s.transaction(|tx| {
                tx.create_execution(local("e5", "j3", false, false))?;
                Err(ComputeError::Closed)
            });
            match r {
                Err(ComputeError::Closed) => Ok(()),
                other => other,
            }
        }
        _ => unreachable!("compute op {i}"),
    }
}

/// Number of operations in [`job_op`].
pub const JOB_OPS: usize = 13;

/// Operation `i` of the job store workload (permissive policy).
pub fn job_op<B: Backend>(s: &JobStore<B>, i: usize) -> Result<(), JobStoreError> {
    let up_exec = |id: &str, to: X, rev: u64| {
        UpdateExecutionRequest::new(id, ExecutionPatch::compute(to)).expecting_revision(rev)
    };
    match i {
        0 => s.transaction(|tx| {
            tx.create_job(job_spec("j1", "default", false))?;
            tx.create_evaluation(eval("v1", "j1"))?;
            tx.create_execution(exec("x1", "j1", "n1"))?;
            Ok(())
        }),
        1 => s.create_job(job_spec("team/j2", "a/b", false)).map(drop),
        2 => s.update_execution(up_exec("x1", X::BidAccepted, 1)).map(drop),
        3 => s.transaction(|tx| {
            tx.create_execution(exec("x2", "team/j2", "n2"))?;
            tx.update_job_state(UpdateJobStateRequest::new("team/j2", J::Running).expecting_revision(1))?;
            Ok(())
        }),
        4 => s.update_job_state(UpdateJobStateRequest::new("j1", J::Running).expecting(J::Pending)).map(drop),
        5 => s
            .update_evaluation(UpdateEvaluationRequest {
                evaluation_id: "v1".into(),
                new_status: EvaluationStatus::Complete,
                expected_status: Some(EvaluationStatus::Pending),
                comment: Some("scheduled".into()),
            })
            .map(drop),
        6 => s.update_execution(up_exec("x1", X::Completed, 2)).map(drop),
        7 => s.update_job_state(UpdateJobStateRequest::new("j1", J::Completed).expecting_revision(2)).map(drop),
        8 => s.checkpoint("scheduler", 4),
        9 => s.delete_job("j1"),
        10 => s.create_job(job_spec("j3", "default", true)).map(drop),
        11 => s.trim_events(2).map(drop),
        12 => {
            let r: Result<(), JobStoreError> = s.transaction(|tx| {
                tx.create_evaluation(eval("v9", "j3"))?;
                Err(JobStoreError::Closed)
            });
            match r {
                Err(JobStoreError::Closed) => Ok(()),
                other => other,
            }
        }
        _ => unreachable!("job op {i}"),
    }
}
