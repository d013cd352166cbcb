//! The job store's state machine steps, as pure functions of (record, request, policy, now).
//! Checks run in SPEC §2.8 order: expected state(s), revision, unexpected states, terminal, then
//! the transition policy.

use alloc::string::String;
use alloc::vec;

use super::requests::{UpdateEvaluationRequest, UpdateExecutionRequest, UpdateJobStateRequest};
use crate::error::{ConditionError, JobStoreError, RecordKind};
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
    if req.expected_state != JobStateType::Undefined && req.expected_state != actual {
        return Err(ConditionError::StateMismatch {
            kind,
            id: id.clone(),
            actual: actual.name(),
            expected: vec![req.expected_state.name()],
        }
        .into());
    }
    if req.expected_revision != 0 && req.expected_revision != current.revision {
        return Err(ConditionError::RevisionMismatch {
            kind,
            id: id.clone(),
            actual: current.revision,
            expected: req.expected_revision,
        }
        .into());
    }
    if req.unexpected_states.contains(&actual) {
        return Err(ConditionError::UnexpectedState { kind, id: id.clone(), actual: actual.name() }.into());
    }
    if actual.is_terminal() {
        return Err(ConditionError::AlreadyTerminal {
            kind,
            id: id.clone(),
            actual: actual.name(),
            new: req.new_state.name(),
        }
        .into());
    }
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
    if !req.expected_states.is_empty() && !req.expected_states.contains(&actual) {
        return Err(ConditionError::StateMismatch {
            kind,
            id: id.clone(),
            actual: actual.name(),
            expected: req.expected_states.iter().map(|s| s.name()).collect(),
        }
        .into());
    }
    if req.expected_revision != 0 && req.expected_revision != current.revision {
        return Err(ConditionError::RevisionMismatch {
            kind,
            id: id.clone(),
            actual: current.revision,
            expected: req.expected_revision,
        }
        .into());
    }
    if req.unexpected_states.contains(&actual) {
        return Err(ConditionError::UnexpectedState { kind, id: id.clone(), actual: actual.name() }.into());
    }
    if !req.expected_desired_states.is_empty() && !req.expected_desired_states.contains(&desired) {
        return Err(ConditionError::StateMismatch {
            kind,
            id: id.clone(),
            actual: desired.name(),
            expected: req.expected_desired_states.iter().map(|s| s.name()).collect(),
        }
        .into());
    }
    let p = &req.patch;
    if actual.is_terminal() {
        return Err(ConditionError::AlreadyTerminal {
            kind,
            id: id.clone(),
            actual: actual.name(),
            new: p.compute_state.unwrap_or(actual).name(),
        }
        .into());
    }
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
    if let Some(expected) = req.expected_status {
        if expected != current.status {
            return Err(ConditionError::StateMismatch {
                kind,
                id: current.id.clone(),
                actual: current.status.name(),
                expected: vec![expected.name()],
            }
            .into());
        }
    }
    if current.status.is_terminal() {
        return Err(ConditionError::AlreadyTerminal {
            kind,
            id: current.id.clone(),
            actual: current.status.name(),
            new: req.new_status.name(),
        }
        .into());
    }
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
