//! The job store's update requests: what a caller asks to change, which the lifecycle's pure
//! steps (`lifecycle/jobs.rs`) decide. Field names are camelCase in serialized form (the JS API).

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Deserializer, Serialize};

use super::state::{EvaluationStatus, ExecutionDesiredStateType, ExecutionStateType, JobStateType};
use crate::model::{AllocatedResources, RunCommandResult, SpecConfig};

/// A conditional job state change (SPEC §4.2, flattened).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct UpdateJobStateRequest {
    /// Job ID (or unique prefix).
    pub job_id: String,
    /// Target state.
    pub new_state: JobStateType,
    /// When not `Undefined`, the current state must equal it.
    pub expected_state: JobStateType,
    /// The current state must be none of these.
    pub unexpected_states: Vec<JobStateType>,
    /// When non-zero, the current revision must equal it.
    pub expected_revision: u64,
    /// Recorded in the history entry and as the state's message.
    pub comment: String,
}

impl UpdateJobStateRequest {
    /// An unconditional change to `new_state`.
    pub fn new(job_id: impl Into<String>, new_state: JobStateType) -> Self {
        Self { job_id: job_id.into(), new_state, ..Self::default() }
    }
    /// Requires the current state to be `state`.
    pub fn expecting(mut self, state: JobStateType) -> Self {
        self.expected_state = state;
        self
    }
    /// Requires the current revision to be `revision`.
    pub fn expecting_revision(mut self, revision: u64) -> Self {
        self.expected_revision = revision;
        self
    }
    /// Rules out current states.
    pub fn unexpected(mut self, states: &[JobStateType]) -> Self {
        self.unexpected_states = states.to_vec();
        self
    }
    /// Sets the comment.
    pub fn with_comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = comment.into();
        self
    }
}

/// Deserializes a field that distinguishes "absent" (`None`) from "null" (`Some(None)`).
fn double_option<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// An explicit change to an execution (SPEC W-J8): only the fields that are `Some` change, and a
/// field can be set to any value, zero values and clearing included. IDs, the job, the revision
/// and the timestamps are store-managed and cannot be patched.
///
/// When a state changes without a message, its message is reset rather than inherited.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ExecutionPatch {
    /// New compute state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compute_state: Option<ExecutionStateType>,
    /// New compute-state message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compute_message: Option<String>,
    /// New desired state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desired_state: Option<ExecutionDesiredStateType>,
    /// New desired-state message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desired_message: Option<String>,
    /// New node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    /// New evaluation ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eval_id: Option<String>,
    /// New name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New allocated resources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allocated_resources: Option<AllocatedResources>,
    /// New published result; `Some(None)` (JSON `null`) clears it.
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "double_option")]
    pub published_result: Option<Option<SpecConfig>>,
    /// New run output; `Some(None)` (JSON `null`) clears it.
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "double_option")]
    pub run_output: Option<Option<RunCommandResult>>,
    /// New previous-execution link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_execution: Option<String>,
    /// New next-execution link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_execution: Option<String>,
    /// New follow-up evaluation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub followup_eval_id: Option<String>,
}

/// A conditional execution update (SPEC §4.2 `UpdateExecutionRequest` with an explicit patch).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct UpdateExecutionRequest {
    /// Execution ID (or unique prefix).
    pub execution_id: String,
    /// When non-empty, the current compute state must be one of these.
    pub expected_states: Vec<ExecutionStateType>,
    /// When non-zero, the current revision must equal it.
    pub expected_revision: u64,
    /// The current compute state must be none of these.
    pub unexpected_states: Vec<ExecutionStateType>,
    /// When non-empty, the current desired state must be one of these (v1.8 addition).
    pub expected_desired_states: Vec<ExecutionDesiredStateType>,
    /// What changes.
    pub patch: ExecutionPatch,
    /// Recorded in the history entry.
    pub comment: String,
}

impl UpdateExecutionRequest {
    /// An unconditional update applying `patch`.
    pub fn new(execution_id: impl Into<String>, patch: ExecutionPatch) -> Self {
        Self { execution_id: execution_id.into(), patch, ..Self::default() }
    }
    /// Requires the current compute state to be one of `states`.
    pub fn expecting(mut self, states: &[ExecutionStateType]) -> Self {
        self.expected_states = states.to_vec();
        self
    }
    /// Requires the current revision to be `revision`.
    pub fn expecting_revision(mut self, revision: u64) -> Self {
        self.expected_revision = revision;
        self
    }
    /// Rules out current compute states.
    pub fn unexpected(mut self, states: &[ExecutionStateType]) -> Self {
        self.unexpected_states = states.to_vec();
        self
    }
    /// Sets the comment.
    pub fn with_comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = comment.into();
        self
    }
}

impl ExecutionPatch {
    /// A compute-state change.
    pub fn compute(state: ExecutionStateType) -> Self {
        Self { compute_state: Some(state), ..Self::default() }
    }
    /// A desired-state change.
    pub fn desired(state: ExecutionDesiredStateType) -> Self {
        Self { desired_state: Some(state), ..Self::default() }
    }
    /// Adds a compute-state message.
    pub fn with_compute_message(mut self, message: impl Into<String>) -> Self {
        self.compute_message = Some(message.into());
        self
    }
    /// Adds a desired-state change.
    pub fn and_desired(mut self, state: ExecutionDesiredStateType, message: impl Into<String>) -> Self {
        self.desired_state = Some(state);
        self.desired_message = Some(message.into());
        self
    }
}

/// A conditional evaluation status change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct UpdateEvaluationRequest {
    /// Evaluation ID (or unique prefix).
    pub evaluation_id: String,
    /// Target status.
    pub new_status: EvaluationStatus,
    /// When set, the current status must equal it.
    pub expected_status: Option<EvaluationStatus>,
    /// New comment (kept when `None`).
    pub comment: Option<String>,
}
