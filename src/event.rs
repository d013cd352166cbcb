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
#[derive(Clone, Debug, PartialEq)]
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

/// One committed change. Serialized as
/// `{"seqNum", "operation", "timestamp", "objectType", "object"}` (SPEC §8.4's shape).
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Position in the log, from 1, gap-free in commit order.
    pub seq_num: u64,
    /// What happened.
    pub operation: Operation,
    /// When, in nanoseconds since the Unix epoch (the store's clock).
    pub timestamp: i64,
    /// The object.
    pub object: EventObject,
}

// Hand-written rather than `#[serde(flatten)]` + an adjacently tagged enum: those buffer the
// object through serde's generic `Content`, which compiles every record's deserializer once
// more (a large share of the wasm package) and is slower. Writers always put `objectType`
// before `object`, so a reader can decode the object directly as the named type.
impl Serialize for Event {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(5))?;
        m.serialize_entry("seqNum", &self.seq_num)?;
        m.serialize_entry("operation", &self.operation)?;
        m.serialize_entry("timestamp", &self.timestamp)?;
        m.serialize_entry("objectType", self.object.type_name())?;
        match &self.object {
            EventObject::Job(o) => m.serialize_entry("object", o)?,
            EventObject::Execution(o) => m.serialize_entry("object", o)?,
            EventObject::Evaluation(o) => m.serialize_entry("object", o)?,
            EventObject::LocalExecution(o) => m.serialize_entry("object", o)?,
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Event;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("an event map")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Event, A::Error> {
                use serde::de::Error;
                let (mut seq_num, mut operation, mut timestamp, mut kind, mut object) = (None, None, None, None, None);
                while let Some(key) = m.next_key::<alloc::string::String>()? {
                    match key.as_str() {
                        "seqNum" => seq_num = Some(m.next_value()?),
                        "operation" => operation = Some(m.next_value()?),
                        "timestamp" => timestamp = Some(m.next_value()?),
                        "objectType" => kind = Some(m.next_value::<alloc::string::String>()?),
                        "object" => {
                            object = Some(match kind.as_deref() {
                                Some("Job") => EventObject::Job(m.next_value()?),
                                Some("Execution") => EventObject::Execution(m.next_value()?),
                                Some("Evaluation") => EventObject::Evaluation(m.next_value()?),
                                Some("LocalExecution") => EventObject::LocalExecution(m.next_value()?),
                                Some(other) => {
                                    return Err(A::Error::custom(format_args!("unknown objectType {other:?}")))
                                }
                                None => return Err(A::Error::custom("objectType must precede object")),
                            })
                        }
                        _ => {
                            m.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                Ok(Event {
                    seq_num: seq_num.ok_or_else(|| A::Error::missing_field("seqNum"))?,
                    operation: operation.ok_or_else(|| A::Error::missing_field("operation"))?,
                    timestamp: timestamp.ok_or_else(|| A::Error::missing_field("timestamp"))?,
                    object: object.ok_or_else(|| A::Error::missing_field("object"))?,
                })
            }
        }
        d.deserialize_map(V)
    }
}
