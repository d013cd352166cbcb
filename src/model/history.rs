//! History entries (SPEC §1.7, §1.8).

use alloc::string::String;
use serde::{Deserialize, Serialize};

use crate::state::{
    ExecutionDesiredStateType, ExecutionStateType, JobHistoryType, JobStateType, LocalExecutionStateType,
};
use crate::time::Timestamp;

/// A state change: both sides are omitted from JSON when they are the zero value, as in Go.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StateChange<T: Default + PartialEq> {
    /// State before.
    #[serde(rename = "Previous", skip_serializing_if = "is_default")]
    pub previous: T,
    /// State after.
    #[serde(rename = "New", skip_serializing_if = "is_default")]
    pub new: T,
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// One entry of a job's history, job level or execution level. Entries of a job form one
/// sequence (`SeqNum`, from 1), so history order is write order (SPEC W-J14).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(default)]
pub struct JobHistory {
    /// Level.
    #[serde(rename = "Type")]
    pub history_type: JobHistoryType,
    /// Job.
    #[serde(rename = "JobID")]
    pub job_id: String,
    /// Node (execution level).
    #[serde(rename = "NodeID", skip_serializing_if = "String::is_empty")]
    pub node_id: String,
    /// Execution (execution level).
    #[serde(rename = "ExecutionID", skip_serializing_if = "String::is_empty")]
    pub execution_id: String,
    /// Job state change (job level).
    #[serde(rename = "JobState", skip_serializing_if = "Option::is_none")]
    pub job_state: Option<StateChange<JobStateType>>,
    /// Compute state change (execution level).
    #[serde(rename = "ExecutionState", skip_serializing_if = "Option::is_none")]
    pub execution_state: Option<StateChange<ExecutionStateType>>,
    /// Desired state change (execution level; an extension: upstream did not record these).
    #[serde(rename = "DesiredState", skip_serializing_if = "Option::is_none")]
    pub desired_state: Option<StateChange<ExecutionDesiredStateType>>,
    /// Revision after the change.
    #[serde(rename = "NewRevision")]
    pub new_revision: u64,
    /// Caller-supplied comment.
    #[serde(rename = "Comment", skip_serializing_if = "String::is_empty")]
    pub comment: String,
    /// The object's modify time after the change (UTC).
    #[serde(rename = "Time")]
    pub time: Timestamp,
    /// Position in the job's history, from 1 (an extension; absent in upstream records).
    #[serde(rename = "SeqNum", skip_serializing_if = "is_zero")]
    pub seq_num: u64,
}

super::record_deserialize!(JobHistory, "JobHistory", JobHistoryTwin {
    0 history_type: JobHistoryType = "Type",
    1 job_id: String = "JobID",
    2 node_id: String = "NodeID",
    3 execution_id: String = "ExecutionID",
    4 job_state: Option<StateChange<JobStateType>> = "JobState",
    5 execution_state: Option<StateChange<ExecutionStateType>> = "ExecutionState",
    6 desired_state: Option<StateChange<ExecutionDesiredStateType>> = "DesiredState",
    7 new_revision: u64 = "NewRevision",
    8 comment: String = "Comment",
    9 time: Timestamp = "Time",
    10 seq_num: u64 = "SeqNum",
});

/// One entry of a compute execution's history.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(default)]
pub struct LocalStateHistory {
    /// Execution.
    #[serde(rename = "ExecutionID")]
    pub execution_id: String,
    /// State before (`Undefined` for the creation entry).
    #[serde(rename = "PreviousState")]
    pub previous_state: LocalExecutionStateType,
    /// State after.
    #[serde(rename = "NewState")]
    pub new_state: LocalExecutionStateType,
    /// Version after the change.
    #[serde(rename = "NewVersion")]
    pub new_version: u64,
    /// `LocalExecutionState created` for the creation entry, else the request's comment.
    #[serde(rename = "Comment")]
    pub comment: String,
    /// The execution's update time after the change.
    #[serde(rename = "Time")]
    pub time: Timestamp,
}

super::record_deserialize!(LocalStateHistory, "LocalStateHistory", LocalStateHistoryTwin {
    0 execution_id: String = "ExecutionID",
    1 previous_state: LocalExecutionStateType = "PreviousState",
    2 new_state: LocalExecutionStateType = "NewState",
    3 new_version: u64 = "NewVersion",
    4 comment: String = "Comment",
    5 time: Timestamp = "Time",
});
