//! The event log: every committed change appends one [`Event`] in the same transaction, numbered
//! by a gap-free `u64` sequence. Consumers pull with `events_after(seq, limit)` and remember where
//! they are with named checkpoints (SPEC §8.4 design; fixes the lossy watchers of W-J1). A rolled
//! back transaction leaves no event, and an event is visible only once its change is.

use alloc::sync::Arc;
use serde::{Deserialize, Serialize};

use crate::compute::Stored;
use crate::model::{Evaluation, Execution, Job, LocalExecutionState, LocalView};

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
        let object = match &self.object {
            EventObject::Job(o) => ObjectRef::Job(o),
            EventObject::Execution(o) => ObjectRef::Execution(o),
            EventObject::Evaluation(o) => ObjectRef::Evaluation(o),
            EventObject::LocalExecution(o) => {
                ObjectRef::LocalExecution(LocalView::new(o, o.state, o.version, o.update_time))
            }
        };
        serialize_event(s, self.seq_num, self.operation, self.timestamp, object)
    }
}

/// The object of an event, borrowed: [`Event`] and [`StoredEvent`] serialize through this one
/// function, so their bytes cannot differ.
enum ObjectRef<'a> {
    Job(&'a Job),
    Execution(&'a Execution),
    Evaluation(&'a Evaluation),
    LocalExecution(LocalView<'a>),
}

fn serialize_event<S: serde::Serializer>(
    s: S,
    seq_num: u64,
    operation: Operation,
    timestamp: i64,
    object: ObjectRef<'_>,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let type_name = match object {
        ObjectRef::Job(_) => "Job",
        ObjectRef::Execution(_) => "Execution",
        ObjectRef::Evaluation(_) => "Evaluation",
        ObjectRef::LocalExecution(_) => "LocalExecution",
    };
    let mut m = s.serialize_map(Some(5))?;
    m.serialize_entry("seqNum", &seq_num)?;
    m.serialize_entry("operation", &operation)?;
    m.serialize_entry("timestamp", &timestamp)?;
    m.serialize_entry("objectType", type_name)?;
    match object {
        ObjectRef::Job(o) => m.serialize_entry("object", o)?,
        ObjectRef::Execution(o) => m.serialize_entry("object", o)?,
        ObjectRef::Evaluation(o) => m.serialize_entry("object", o)?,
        ObjectRef::LocalExecution(o) => m.serialize_entry("object", &o)?,
    }
    m.end()
}

/// An event as the log table holds it: the object is shared (`Arc`) with the record table, so
/// appending the event of a change does not copy the record. Encodes exactly as [`Event`].
#[derive(Clone, Debug)]
pub(crate) struct StoredEvent {
    pub seq_num: u64,
    pub operation: Operation,
    pub timestamp: i64,
    pub object: SharedObject,
}

/// [`EventObject`] behind `Arc`s (a compute record as its store keeps it, see [`Stored`]).
#[derive(Clone, Debug)]
pub(crate) enum SharedObject {
    Job(Arc<Job>),
    Execution(Arc<Execution>),
    Evaluation(Arc<Evaluation>),
    LocalExecution(Stored),
}

impl From<EventObject> for SharedObject {
    fn from(o: EventObject) -> Self {
        match o {
            EventObject::Job(o) => SharedObject::Job(Arc::new(o)),
            EventObject::Execution(o) => SharedObject::Execution(Arc::new(o)),
            EventObject::Evaluation(o) => SharedObject::Evaluation(Arc::new(o)),
            EventObject::LocalExecution(o) => SharedObject::LocalExecution(Stored::new(o)),
        }
    }
}

impl From<Event> for StoredEvent {
    fn from(e: Event) -> Self {
        StoredEvent { seq_num: e.seq_num, operation: e.operation, timestamp: e.timestamp, object: e.object.into() }
    }
}

impl From<StoredEvent> for Event {
    /// Copies the object only while the record table (or another event) still shares it.
    fn from(e: StoredEvent) -> Self {
        let object = match e.object {
            SharedObject::Job(o) => EventObject::Job(Arc::unwrap_or_clone(o)),
            SharedObject::Execution(o) => EventObject::Execution(Arc::unwrap_or_clone(o)),
            SharedObject::Evaluation(o) => EventObject::Evaluation(Arc::unwrap_or_clone(o)),
            SharedObject::LocalExecution(o) => EventObject::LocalExecution(o.into_record()),
        };
        Event { seq_num: e.seq_num, operation: e.operation, timestamp: e.timestamp, object }
    }
}

impl Serialize for StoredEvent {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let object = match &self.object {
            SharedObject::Job(o) => ObjectRef::Job(o),
            SharedObject::Execution(o) => ObjectRef::Execution(o),
            SharedObject::Evaluation(o) => ObjectRef::Evaluation(o),
            SharedObject::LocalExecution(o) => ObjectRef::LocalExecution(o.view()),
        };
        serialize_event(s, self.seq_num, self.operation, self.timestamp, object)
    }
}

impl<'de> Deserialize<'de> for StoredEvent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Event::deserialize(d).map(StoredEvent::from)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_event_encodes_exactly_as_the_event() {
        let mut rec = LocalExecutionState::default();
        rec.execution.id = "e-1".into();
        let event =
            Event { seq_num: 7, operation: Operation::Update, timestamp: -3, object: EventObject::LocalExecution(rec) };
        let (mut a, mut b) = (alloc::vec::Vec::new(), alloc::vec::Vec::new());
        ciborium::into_writer(&event, &mut a).unwrap();
        ciborium::into_writer(&StoredEvent::from(event.clone()), &mut b).unwrap();
        assert_eq!(a, b);
        let back: StoredEvent = ciborium::from_reader(b.as_slice()).unwrap();
        assert_eq!(Event::from(back), event);
    }
}
