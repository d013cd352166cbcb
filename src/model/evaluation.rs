//! Evaluations (SPEC §1.6).

use alloc::string::String;
use serde::Serialize;

use crate::state::EvaluationStatus;
use crate::time::Timestamp;

/// A scheduling evaluation of a job.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(default)]
pub struct Evaluation {
    /// Unique ID (a plain UUID in v1.2).
    #[serde(rename = "ID")]
    pub id: String,
    /// Namespace of the job.
    #[serde(rename = "Namespace")]
    pub namespace: String,
    /// The job evaluated; must exist on create.
    #[serde(rename = "JobID")]
    pub job_id: String,
    /// `job-register`, `job-cancel`, `exec-failure` or `exec-update`.
    #[serde(rename = "TriggeredBy")]
    pub triggered_by: String,
    /// Priority.
    #[serde(rename = "Priority")]
    pub priority: i64,
    /// Job type.
    #[serde(rename = "Type")]
    pub eval_type: String,
    /// Status.
    #[serde(rename = "Status")]
    pub status: EvaluationStatus,
    /// Free comment.
    #[serde(rename = "Comment")]
    pub comment: String,
    /// Back-off time; Go's zero time when unset.
    #[serde(rename = "WaitUntil")]
    pub wait_until: Timestamp,
    /// Nanoseconds since the Unix epoch (caller-set).
    #[serde(rename = "CreateTime")]
    pub create_time: i64,
    /// Nanoseconds since the Unix epoch (caller-set; the store sets it on status updates).
    #[serde(rename = "ModifyTime")]
    pub modify_time: i64,
}

super::record_deserialize!(Evaluation, "Evaluation", EvaluationTwin {
    0 id: String = "ID",
    1 namespace: String = "Namespace",
    2 job_id: String = "JobID",
    3 triggered_by: String = "TriggeredBy",
    4 priority: i64 = "Priority",
    5 eval_type: String = "Type",
    6 status: EvaluationStatus = "Status",
    7 comment: String = "Comment",
    8 wait_until: Timestamp = "WaitUntil",
    9 create_time: i64 = "CreateTime",
    10 modify_time: i64 = "ModifyTime",
});

impl Evaluation {
    /// IDs usable as keys and every field within [`crate::limits`].
    pub fn validate(&self) -> Result<(), crate::error::ValidationError> {
        use crate::limits::{check_len, MAX_ID, MAX_MESSAGE, MAX_NAME};
        let mut problems = alloc::vec::Vec::new();
        super::check_id(&mut problems, "evaluation", &self.id);
        check_len(&mut problems, "evaluation ID", &self.id, MAX_ID);
        check_len(&mut problems, "namespace", &self.namespace, MAX_ID);
        check_len(&mut problems, "job ID", &self.job_id, MAX_ID);
        check_len(&mut problems, "triggered-by", &self.triggered_by, MAX_NAME);
        check_len(&mut problems, "type", &self.eval_type, MAX_NAME);
        check_len(&mut problems, "comment", &self.comment, MAX_MESSAGE);
        super::size::check_record(&mut problems, self);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(crate::error::ValidationError {
                kind: crate::error::RecordKind::Evaluation,
                id: self.id.clone(),
                problems,
            })
        }
    }
}

impl Default for Evaluation {
    fn default() -> Self {
        Self {
            id: String::new(),
            namespace: String::new(),
            job_id: String::new(),
            triggered_by: String::new(),
            priority: 0,
            eval_type: String::new(),
            status: EvaluationStatus::Pending,
            comment: String::new(),
            wait_until: Timestamp::GO_ZERO,
            create_time: 0,
            modify_time: 0,
        }
    }
}
