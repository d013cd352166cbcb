//! The compute store's state machine step: a pure function of (record, request, policy, now).
//! `ExecutionStore::update_execution_state` decides every change with [`decide_state_update`];
//! [`apply_state_update`] is the same decision applied to a whole record.

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use super::condition::{not_terminal, Conditions};
use super::state::LocalExecutionStateType;
use super::transition::Policy;
use crate::error::{ComputeError, ConditionError, RecordKind};
use crate::model::{LocalExecutionState, LocalStateHistory};
use crate::time::Timestamp;

/// A conditional state change (SPEC §3.2).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct UpdateExecutionStateRequest {
    /// Execution ID (or unique prefix).
    pub execution_id: String,
    /// Target state.
    pub new_state: LocalExecutionStateType,
    /// When non-empty, the current state must be one of these.
    pub expected_states: Vec<LocalExecutionStateType>,
    /// When non-zero, the current version must equal it.
    pub expected_version: u64,
    /// Recorded in the history entry.
    pub comment: String,
}

impl UpdateExecutionStateRequest {
    /// An unconditional change to `new_state`.
    pub fn new(execution_id: impl Into<String>, new_state: LocalExecutionStateType) -> Self {
        Self { execution_id: execution_id.into(), new_state, ..Self::default() }
    }
    /// Requires the current state to be one of `states`.
    pub fn expecting(mut self, states: &[LocalExecutionStateType]) -> Self {
        self.expected_states = states.to_vec();
        self
    }
    /// Requires the current version to be `version`.
    pub fn expecting_version(mut self, version: u64) -> Self {
        self.expected_version = version;
        self
    }
    /// Sets the history comment.
    pub fn with_comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = comment.into();
        self
    }
}

/// Bacalhau's `ValidateNewExecution`: state `Created` or `BidAccepted`, version 1 (SPEC §3.1).
pub fn validate_new_execution(s: &LocalExecutionState) -> Result<(), ComputeError> {
    use LocalExecutionStateType::{BidAccepted, Created};
    if !matches!(s.state, Created | BidAccepted) {
        return Err(ConditionError::StateMismatch {
            kind: RecordKind::LocalExecution,
            id: s.execution.id.clone(),
            actual: s.state.name(),
            expected: alloc::vec![Created.name(), BidAccepted.name()],
        }
        .into());
    }
    if s.version != 1 {
        return Err(ConditionError::RevisionMismatch {
            kind: RecordKind::LocalExecution,
            id: s.execution.id.clone(),
            actual: s.version,
            expected: 1,
        }
        .into());
    }
    Ok(())
}

/// The state machine step: applies `req` to `current` at time `now`, or says why not. Checks run
/// in SPEC §2.8 order (expected states, version, terminal, then the policy), so the error a
/// caller sees matches Bacalhau's for the same situation. Pure: no I/O, no clock. The store
/// makes every change through [`decide_state_update`], as this does.
pub fn apply_state_update(
    current: &LocalExecutionState,
    req: &UpdateExecutionStateRequest,
    policy: Policy,
    now: Timestamp,
) -> Result<(LocalExecutionState, LocalStateHistory), ComputeError> {
    let change = decide_state_update(current.id(), current.state, current.version, req, policy, now)?;
    let mut next = current.clone();
    next.state = change.state;
    next.version = change.version;
    next.update_time = change.update_time;
    Ok((next, change.entry))
}

/// What a state change makes of a record: its three changed fields and the history entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LocalChange {
    pub state: LocalExecutionStateType,
    pub version: u64,
    pub update_time: Timestamp,
    pub entry: LocalStateHistory,
}

/// Decides a state change from the current record's ID, state and version alone (a record
/// changes nowhere else), so the store can apply it to the form it keeps (`model::Stored`)
/// without building the record.
pub(crate) fn decide_state_update(
    id: &str,
    state: LocalExecutionStateType,
    version: u64,
    req: &UpdateExecutionStateRequest,
    policy: Policy,
    now: Timestamp,
) -> Result<LocalChange, ComputeError> {
    check_state_update(id, state, version, req, policy)?;
    let version = version + 1;
    let entry = history_entry(id, state, version, req, now);
    Ok(LocalChange { state: req.new_state, version, update_time: now, entry })
}

/// The history entry of a change.
fn history_entry(
    id: &str,
    previous_state: LocalExecutionStateType,
    new_version: u64,
    req: &UpdateExecutionStateRequest,
    now: Timestamp,
) -> LocalStateHistory {
    LocalStateHistory {
        execution_id: id.into(),
        previous_state,
        new_state: req.new_state,
        new_version,
        comment: req.comment.clone(),
        time: now,
    }
}

/// The checks of a state change, in SPEC §2.8 order.
fn check_state_update(
    id: &str,
    state: LocalExecutionStateType,
    version: u64,
    req: &UpdateExecutionStateRequest,
    policy: Policy,
) -> Result<(), ComputeError> {
    let kind = RecordKind::LocalExecution;
    let conditions =
        Conditions { expected: &req.expected_states, expected_revision: req.expected_version, unexpected: &[] };
    conditions.check(kind, id, state, version)?;
    not_terminal(kind, id, state, req.new_state)?;
    policy.check_local(id, Some(state), req.new_state)?;
    if req.comment.len() > crate::limits::MAX_MESSAGE {
        return Err(ComputeError::InvalidArgument {
            field: "comment",
            reason: alloc::format!("{} bytes; the limit is {}", req.comment.len(), crate::limits::MAX_MESSAGE),
        });
    }
    Ok(())
}
