//! The compute node's local record of an execution (SPEC §1.8).

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use serde::Serialize;

use super::{check_id, Execution};
use crate::error::{RecordKind, ValidationError};
use crate::state::LocalExecutionStateType;
use crate::time::Timestamp;

/// One execution as a compute node tracks it, with the full execution (and job) the requester
/// sent, which the node needs to run it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LocalExecutionState {
    /// The execution, including its embedded job. Never absent (SPEC W-C9). Shared, as its
    /// job is: a compute record changes only in state, version and update time while it
    /// exists, so every version the store keeps and every copy it returns holds this one
    /// execution (`Arc::make_mut` changes a copy of it).
    pub execution: Arc<Execution>,
    /// The node to send callbacks to.
    pub requester_node_id: String,
    /// Local lifecycle state.
    pub state: LocalExecutionStateType,
    /// 1 at creation, +1 per state update.
    pub version: u64,
    /// When the record was made (caller-supplied).
    pub create_time: Timestamp,
    /// When the state last changed (store-managed after creation; always UTC).
    pub update_time: Timestamp,
    /// Never written by Bacalhau; kept for shape compatibility.
    pub latest_comment: String,
}

super::record_deserialize!(LocalExecutionState, "LocalExecutionState", LocalExecutionStateTwin {
    0 execution: Arc<Execution> = "Execution",
    1 requester_node_id: String = "RequesterNodeID",
    2 state: LocalExecutionStateType = "State",
    3 version: u64 = "Version",
    4 create_time: Timestamp = "CreateTime",
    5 update_time: Timestamp = "UpdateTime",
    6 latest_comment: String = "LatestComment",
});

/// How a [`LocalExecutionState`] serializes, with the fields a state change sets given
/// separately: the compute store keeps each version as the previous one's record plus these
/// three fields, and writes it without assembling it. The record's own `Serialize` is this view
/// of itself, so both encode identically by construction.
#[derive(Serialize)]
#[serde(rename = "LocalExecutionState")]
pub(crate) struct LocalView<'a> {
    #[serde(rename = "Execution")]
    pub execution: &'a Execution,
    #[serde(rename = "RequesterNodeID")]
    pub requester_node_id: &'a str,
    #[serde(rename = "State")]
    pub state: LocalExecutionStateType,
    #[serde(rename = "Version")]
    pub version: u64,
    #[serde(rename = "CreateTime")]
    pub create_time: Timestamp,
    #[serde(rename = "UpdateTime")]
    pub update_time: Timestamp,
    #[serde(rename = "LatestComment")]
    pub latest_comment: &'a str,
}

impl<'a> LocalView<'a> {
    /// `base` with `state`, `version` and `update_time` replaced.
    pub fn new(
        base: &'a LocalExecutionState,
        state: LocalExecutionStateType,
        version: u64,
        update_time: Timestamp,
    ) -> Self {
        LocalView {
            execution: &base.execution,
            requester_node_id: &base.requester_node_id,
            state,
            version,
            create_time: base.create_time,
            update_time,
            latest_comment: &base.latest_comment,
        }
    }
}

impl Serialize for LocalExecutionState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        LocalView::new(self, self.state, self.version, self.update_time).serialize(s)
    }
}

impl LocalExecutionState {
    /// A new record as Bacalhau's `NewLocalExecutionState` makes it: `Created`, version 1, both
    /// times `now`.
    pub fn new(execution: Execution, requester_node_id: impl Into<String>, now: Timestamp) -> Self {
        Self {
            execution: Arc::new(execution),
            requester_node_id: requester_node_id.into(),
            state: LocalExecutionStateType::Created,
            version: 1,
            create_time: now,
            update_time: now,
            latest_comment: String::new(),
        }
    }

    /// The execution ID.
    pub fn id(&self) -> &str {
        &self.execution.id
    }

    /// The job ID.
    pub fn job_id(&self) -> &str {
        &self.execution.job_id
    }

    /// Structural validation of the embedded execution (IDs usable as keys).
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut problems = Vec::new();
        check_id(&mut problems, "execution", &self.execution.id);
        if self.execution.job_id.is_empty() {
            problems.push("missing job ID".into());
        }
        crate::limits::check_len(&mut problems, "requester node ID", &self.requester_node_id, crate::limits::MAX_ID);
        self.execution.check_limits(&mut problems);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ValidationError { kind: RecordKind::LocalExecution, id: self.execution.id.clone(), problems })
        }
    }
}
