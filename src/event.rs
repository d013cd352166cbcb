//! The event log: every committed change appends one [`Event`] in the same transaction, numbered
//! by a gap-free `u64` sequence. Consumers pull with `events_after(seq, limit)` and remember where
//! they are with named checkpoints (SPEC §8.4 design; fixes the lossy watchers of W-J1). A rolled
//! back transaction leaves no event, and an event is visible only once its change is.

use serde::{Deserialize, Serialize};

use crate::model::{Evaluation, Execution, Job, LocalExecutionState};

/// What happened to the object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Operation {
    /// Created.
    #[serde(rename = "CREATE")]
    Create,
    /// Updated.
    #[serde(rename = "UPDATE")]
    Update,
    /// Deleted (the object is as it was before deletion).
    #[serde(rename = "DELETE")]
    Delete,
}

impl Operation {
    /// The serialized name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "CREATE",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
        }
    }
}

/// The object an event is about, after the change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "objectType", content = "object")]
#[allow(clippy::large_enum_variant)]
pub enum EventObject {
    /// A requester job.
    Job(Job),
    /// A requester execution.
    Execution(Execution),
    /// An evaluation.
    Evaluation(Evaluation),
    /// A compute node's execution record.
    LocalExecution(LocalExecutionState),
}

impl EventObject {
    /// The `objectType` name.
    pub const fn type_name(&self) -> &'static str {
        match self {
            EventObject::Job(_) => "Job",
            EventObject::Execution(_) => "Execution",
            EventObject::Evaluation(_) => "Evaluation",
            EventObject::LocalExecution(_) => "LocalExecution",
        }
    }
}

/// One committed change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the log, from 1, gap-free in commit order.
    #[serde(rename = "seqNum")]
    pub seq_num: u64,
    /// What happened.
    pub operation: Operation,
    /// When, in nanoseconds since the Unix epoch (the store's clock).
    pub timestamp: i64,
    /// The object.
    #[serde(flatten)]
    pub object: EventObject,
}
