//! The job store's state machine steps, as pure functions of (record, request, policy, now).
//! Checks run in SPEC §2.8 order: expected state(s), revision, unexpected states, terminal, then
//! the transition policy.

use alloc::string::String;

use super::requests::{UpdateEvaluationRequest, UpdateExecutionRequest, UpdateJobStateRequest};
use crate::condition::{not_terminal, Conditions};
use crate::error::{JobStoreError, RecordKind};
use crate::model::{Evaluation, Execution, Job, JobHistory, StateChange};
use crate::state::{JobHistoryType, JobStateType};
use crate::time::Timestamp;
use crate::transition::Policy;

fn check_comment(comment: &str) -> Result<(), JobStoreError> {
    if comment.len() > crate::limits::MAX_MESSAGE {
        return Err(JobStoreError::InvalidArgument {
            field: "comment",
            reason: alloc::format!("{} bytes; the limit is {}", comment.len(), crate::limits::MAX_MESSAGE),
        });
    }
    Ok(())
}

/// Applies a job state change.
pub fn apply_job_update(
    current: &Job,
    req: &UpdateJobStateRequest,
    policy: Policy,
    now: Timestamp,
) -> Result<(Job, JobHistory), JobStoreError> {
    let kind = RecordKind::Job;
    let id = &current.id;
    let actual = current.state.state_type;
    let expected: &[JobStateType] =
        if req.expected_state == JobStateType::Undefined { &[] } else { core::slice::from_ref(&req.expected_state) };
    let conditions =
        Conditions { expected, expected_revision: req.expected_revision, unexpected: &req.unexpected_states };
    conditions.check(kind, id, actual, current.revision)?;
    not_terminal(kind, id, actual, req.new_state)?;
    policy.check_job(id, Some(actual), req.new_state)?;
    check_comment(&req.comment)?;
    let mut next = current.clone();
    next.state.state_type = req.new_state;
    next.state.message.clone_from(&req.comment);
    next.revision = current.revision + 1;
    next.modify_time = now.saturating_unix_nanos();
    let entry = JobHistory {
        history_type: JobHistoryType::JobLevel,
        job_id: id.clone(),
        job_state: Some(StateChange { previous: actual, new: req.new_state }),
        new_revision: next.revision,
        comment: req.comment.clone(),
        time: now,
        ..JobHistory::default()
    };
    Ok((next, entry))
}

/// Applies an execution patch.
pub fn apply_execution_update(
    current: &Execution,
    req: &UpdateExecutionRequest,
    policy: Policy,
    now: Timestamp,
) -> Result<(Execution, JobHistory), JobStoreError> {
    let kind = RecordKind::Execution;
    let id = &current.id;
    let actual = current.compute_state.state_type;
    let desired = current.desired_state.state_type;
    let conditions = Conditions {
        expected: &req.expected_states,
        expected_revision: req.expected_revision,
        unexpected: &req.unexpected_states,
    };
    conditions.check(kind, id, actual, current.revision)?;
    // The desired-state condition (a v1.8 addition) is checked after upstream's three.
    let desired_conditions =
        Conditions { expected: &req.expected_desired_states, expected_revision: 0, unexpected: &[] };
    desired_conditions.check(kind, id, desired, current.revision)?;
    let p = &req.patch;
    not_terminal(kind, id, actual, p.compute_state.unwrap_or(actual))?;
    if let Some(to) = p.compute_state {
        policy.check_compute(id, Some(actual), to)?;
    }
    if let Some(to) = p.desired_state {
        policy.check_desired(id, desired, to)?;
    }
    check_comment(&req.comment)?;

    let mut next = current.clone();
    if let Some(to) = p.compute_state {
        next.compute_state.state_type = to;
        if to != actual && p.compute_message.is_none() {
            next.compute_state.message = String::new();
        }
    }
    if let Some(m) = &p.compute_message {
        next.compute_state.message.clone_from(m);
    }
    if let Some(to) = p.desired_state {
        next.desired_state.state_type = to;
        if to != desired && p.desired_message.is_none() {
            next.desired_state.message = String::new();
        }
    }
    if let Some(m) = &p.desired_message {
        next.desired_state.message.clone_from(m);
    }
    macro_rules! set {
        ($($field:ident),*) => { $( if let Some(v) = &p.$field { next.$field = v.clone(); } )* };
    }
    set!(
        node_id,
        eval_id,
        name,
        allocated_resources,
        published_result,
        run_output,
        previous_execution,
        next_execution,
        followup_eval_id
    );
    next.revision = current.revision + 1;
    next.modify_time = now.saturating_unix_nanos();
    let mut problems = alloc::vec::Vec::new();
    next.check_limits(&mut problems);
    if !problems.is_empty() {
        return Err(crate::error::ValidationError { kind, id: id.clone(), problems }.into());
    }

    let new_desired = next.desired_state.state_type;
    let entry = JobHistory {
        history_type: JobHistoryType::ExecutionLevel,
        job_id: current.job_id.clone(),
        node_id: next.node_id.clone(),
        execution_id: id.clone(),
        execution_state: Some(StateChange { previous: actual, new: next.compute_state.state_type }),
        desired_state: (new_desired != desired).then_some(StateChange { previous: desired, new: new_desired }),
        new_revision: next.revision,
        comment: req.comment.clone(),
        time: now,
        ..JobHistory::default()
    };
    Ok((next, entry))
}

/// Applies an evaluation status change.
pub fn apply_evaluation_update(
    current: &Evaluation,
    req: &UpdateEvaluationRequest,
    policy: Policy,
    now: Timestamp,
) -> Result<Evaluation, JobStoreError> {
    let kind = RecordKind::Evaluation;
    let expected = req.expected_status.as_slice();
    Conditions { expected, expected_revision: 0, unexpected: &[] }.check(kind, &current.id, current.status, 0)?;
    not_terminal(kind, &current.id, current.status, req.new_status)?;
    policy.check_evaluation(&current.id, Some(current.status), req.new_status)?;
    if let Some(c) = &req.comment {
        check_comment(c)?;
    }
    let mut next = current.clone();
    next.status = req.new_status;
    if let Some(c) = &req.comment {
        next.comment.clone_from(c);
    }
    next.modify_time = now.saturating_unix_nanos();
    Ok(next)
}
