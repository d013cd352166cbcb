//! The event log: every committed change appends one [`Event`] in the same transaction, numbered
//! by a gap-free `u64` sequence. Consumers pull with `events_after(seq, limit)` and remember where
//! they are with named checkpoints (SPEC §8.4 design; fixes the lossy watchers of W-J1). A rolled
//! back transaction leaves no event, and an event is visible only once its change is.

use alloc::string::String;
use alloc::sync::Arc;
use serde::{Deserialize, Serialize};

use crate::codec::compact;
use crate::model::{Evaluation, Execution, Job, LocalExecutionState, LocalView, Stored};
use crate::state::LocalExecutionStateType;
use crate::time::Timestamp;

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
    /// The number a stored reference event keeps (see [`StoredEvent`]'s encoding).
    const fn code(self) -> u8 {
        match self {
            Operation::Create => 0,
            Operation::Update => 1,
            Operation::Delete => 2,
        }
    }

    const fn from_code(code: u8) -> Option<Operation> {
        match code {
            0 => Some(Operation::Create),
            1 => Some(Operation::Update),
            2 => Some(Operation::Delete),
            _ => None,
        }
    }

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
/// appending the event of a change does not copy the record. Encodes exactly as [`Event`], except
/// for [`SharedObject::LocalVersion`], which is stored by reference.
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
    /// A compute record version, stored whole.
    LocalExecution(Stored),
    /// A compute record version stored by reference: the log table keeps its ID, state, version
    /// and update time only ([`LocalRef`]), because a compute record's other fields never change
    /// while it exists (a state change sets only these three). The rest is the record's: in the
    /// record table, or, once deleted, in the whole copy its `DELETE` event keeps. Without this
    /// every event would repeat the whole record on disk (SPEC §8.4 leaves the layout open).
    LocalVersion(Stored),
    /// A reference as read back from a file, until the compute store resolves it.
    LocalRef(LocalRef),
}

/// The stored form of [`SharedObject::LocalVersion`].
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LocalRef {
    pub id: String,
    pub state: LocalExecutionStateType,
    pub version: u64,
    pub update_time: Timestamp,
}

/// A stored event whose object is a [`LocalRef`], to be resolved by the compute store.
#[derive(Debug)]
pub(crate) struct Unresolved {
    pub seq_num: u64,
    pub operation: Operation,
    pub timestamp: i64,
    pub reference: LocalRef,
}

impl Unresolved {
    /// The event, given the version the reference resolved to.
    pub fn resolved(self, version: Stored) -> Event {
        let object = EventObject::LocalExecution(version.into_record());
        Event { seq_num: self.seq_num, operation: self.operation, timestamp: self.timestamp, object }
    }
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

impl StoredEvent {
    /// The event, with the object copied only while the record table (or another event) still
    /// shares it; an event holding an unresolved reference comes back as [`Unresolved`].
    pub fn into_event(self) -> Result<Event, Unresolved> {
        let object = match self.object {
            SharedObject::Job(o) => EventObject::Job(Arc::unwrap_or_clone(o)),
            SharedObject::Execution(o) => EventObject::Execution(Arc::unwrap_or_clone(o)),
            SharedObject::Evaluation(o) => EventObject::Evaluation(Arc::unwrap_or_clone(o)),
            SharedObject::LocalExecution(o) | SharedObject::LocalVersion(o) => {
                EventObject::LocalExecution(o.into_record())
            }
            SharedObject::LocalRef(reference) => {
                let StoredEvent { seq_num, operation, timestamp, .. } = self;
                return Err(Unresolved { seq_num, operation, timestamp, reference });
            }
        };
        Ok(Event { seq_num: self.seq_num, operation: self.operation, timestamp: self.timestamp, object })
    }
}

impl Serialize for StoredEvent {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let object = match &self.object {
            SharedObject::Job(o) => ObjectRef::Job(o),
            SharedObject::Execution(o) => ObjectRef::Execution(o),
            SharedObject::Evaluation(o) => ObjectRef::Evaluation(o),
            SharedObject::LocalExecution(o) => ObjectRef::LocalExecution(o.view()),
            SharedObject::LocalVersion(o) => {
                return self.serialize_ref(s, o.id(), o.state(), o.version(), o.update_time())
            }
            SharedObject::LocalRef(r) => return self.serialize_ref(s, &r.id, r.state, r.version, r.update_time),
        };
        serialize_event(s, self.seq_num, self.operation, self.timestamp, object)
    }
}

impl StoredEvent {
    /// A reference event is one array (a map with field names would double its size):
    /// `[seqNum, operation, timestamp, ID, state, version, update secs, update nanos]`, the
    /// operation as its [`Operation::code`], the ID in [`compact::IdRef`]'s form and the update
    /// time exact, whatever its year. A change's update time is its event's timestamp, which the
    /// six-element form leaves out (schema 3).
    fn serialize_ref<S: serde::Serializer>(
        &self,
        s: S,
        id: &str,
        state: LocalExecutionStateType,
        version: u64,
        update_time: Timestamp,
    ) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let implied = update_time.unix_nanos() == Some(self.timestamp);
        let mut t = s.serialize_tuple(if implied { REF_FIELDS - 2 } else { REF_FIELDS })?;
        t.serialize_element(&self.seq_num)?;
        t.serialize_element(&self.operation.code())?;
        t.serialize_element(&self.timestamp)?;
        t.serialize_element(&compact::IdRef(id))?;
        t.serialize_element(&state)?;
        t.serialize_element(&version)?;
        if !implied {
            compact::write_time(&mut t, update_time)?;
        }
        t.end()
    }
}

/// Elements of a stored reference event with its update time.
const REF_FIELDS: usize = 8;

impl<'de> Deserialize<'de> for StoredEvent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(EventVisitor { references: true })
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        // A reference is refused by the visitor, so `into_event` cannot meet one.
        d.deserialize_map(EventVisitor { references: false })?
            .into_event()
            .map_err(|u| D::Error::custom(format_args!("event {}: unresolved reference", u.seq_num)))
    }
}

/// Reads an event map, or with `references` also the log table's reference arrays (never valid
/// as an [`Event`], e.g. in a snapshot).
struct EventVisitor {
    references: bool,
}

impl<'de> serde::de::Visitor<'de> for EventVisitor {
    type Value = StoredEvent;
    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("an event map")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, a: A) -> Result<StoredEvent, A::Error> {
        use serde::de::Error;
        if !self.references {
            return Err(A::Error::invalid_type(serde::de::Unexpected::Seq, &self));
        }
        let mut f = compact::Fields::new(a, REF_FIELDS, "a reference event of 6 or 8 elements");
        let seq_num = f.next()?;
        let operation: u8 = f.next()?;
        let operation = Operation::from_code(operation)
            .ok_or_else(|| A::Error::custom(format_args!("unknown operation code {operation}")))?;
        let timestamp = f.next()?;
        let compact::Id(id) = f.next()?;
        let state = f.next()?;
        let version = f.next()?;
        let update_time = match f.more::<i64>()? {
            None => Timestamp::from_unix_nanos(timestamp),
            Some(secs) => f.time_from(secs)?,
        };
        f.end()?;
        let object = SharedObject::LocalRef(LocalRef { id, state, version, update_time });
        Ok(StoredEvent { seq_num, operation, timestamp, object })
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<StoredEvent, A::Error> {
        use serde::de::Error;
        let (mut seq_num, mut operation, mut timestamp, mut kind, mut object) = (None, None, None, None, None);
        while let Some(key) = m.next_key::<String>()? {
            match key.as_str() {
                "seqNum" => seq_num = Some(m.next_value()?),
                "operation" => operation = Some(m.next_value()?),
                "timestamp" => timestamp = Some(m.next_value()?),
                "objectType" => kind = Some(m.next_value::<String>()?),
                "object" => {
                    object = Some(match kind.as_deref() {
                        Some("Job") => SharedObject::Job(Arc::new(m.next_value()?)),
                        Some("Execution") => SharedObject::Execution(Arc::new(m.next_value()?)),
                        Some("Evaluation") => SharedObject::Evaluation(Arc::new(m.next_value()?)),
                        Some("LocalExecution") => SharedObject::LocalExecution(m.next_value()?),
                        Some(other) => {
                            return Err(A::Error::custom(format_args!(
                                "unknown objectType {}",
                                crate::error::Quoted(other)
                            )))
                        }
                        None => return Err(A::Error::custom("objectType must precede object")),
                    })
                }
                _ => {
                    m.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(StoredEvent {
            seq_num: seq_num.ok_or_else(|| A::Error::missing_field("seqNum"))?,
            operation: operation.ok_or_else(|| A::Error::missing_field("operation"))?,
            timestamp: timestamp.ok_or_else(|| A::Error::missing_field("timestamp"))?,
            object: object.ok_or_else(|| A::Error::missing_field("object"))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode<T: Serialize>(v: &T) -> alloc::vec::Vec<u8> {
        let mut out = alloc::vec::Vec::new();
        ciborium::into_writer(v, &mut out).unwrap();
        out
    }

    fn record() -> LocalExecutionState {
        let mut rec = LocalExecutionState::default();
        alloc::sync::Arc::make_mut(&mut rec.execution).id = "e-1".into();
        rec.version = 2;
        rec
    }

    #[test]
    fn a_stored_event_encodes_exactly_as_the_event() {
        let event = Event {
            seq_num: 7,
            operation: Operation::Update,
            timestamp: -3,
            object: EventObject::LocalExecution(record()),
        };
        let stored = StoredEvent::from(event.clone());
        assert_eq!(encode(&event), encode(&stored));
        let back: StoredEvent = ciborium::from_reader(encode(&stored).as_slice()).unwrap();
        assert_eq!(back.into_event().unwrap(), event);
    }

    #[test]
    fn a_version_stored_by_reference_reads_back_as_its_reference_only() {
        let rec = record();
        let version = Stored::new(rec.clone());
        let stored = StoredEvent {
            seq_num: 9,
            operation: Operation::Create,
            timestamp: 1,
            object: SharedObject::LocalVersion(version.clone()),
        };
        let bytes = encode(&stored);
        assert!(bytes.len() < encode(&version).len(), "the reference is smaller than the record");
        let back: StoredEvent = ciborium::from_reader(bytes.as_slice()).unwrap();
        let expected = LocalRef { id: "e-1".into(), state: rec.state, version: 2, update_time: rec.update_time };
        assert!(matches!(back.clone().into_event(), Err(u) if u.seq_num == 9 && u.reference == expected));
        assert_eq!(encode(&back), bytes, "a reference re-encodes to the same bytes");
        // Where events are public (snapshots), a reference is not an event.
        assert!(ciborium::from_reader::<Event, _>(bytes.as_slice()).is_err());
    }

    #[test]
    fn a_reference_keeps_any_update_time_exactly() {
        for t in [Timestamp::from_unix_nanos(-1), Timestamp::from_unix(i64::MAX / 2, 999_999_999).unwrap()] {
            let mut rec = record();
            rec.update_time = t;
            let stored = StoredEvent {
                seq_num: 1,
                operation: Operation::Delete,
                timestamp: i64::MIN,
                object: SharedObject::LocalVersion(Stored::new(rec)),
            };
            let back: StoredEvent = ciborium::from_reader(encode(&stored).as_slice()).unwrap();
            let u = back.into_event().unwrap_err();
            assert_eq!((u.reference.update_time, u.operation, u.timestamp), (t, Operation::Delete, i64::MIN));
        }
    }

    #[test]
    fn a_malformed_reference_is_a_decoding_error() {
        let good = (1u64, 0u8, 5i64, "e-1", 1u8, 1u64, 0i64, 0u32);
        assert!(ciborium::from_reader::<StoredEvent, _>(encode(&good).as_slice()).is_ok());
        let bad: [alloc::vec::Vec<u8>; 4] = [
            encode(&(1u64, 0u8, 5i64, "e-1", 1u8, 1u64, 0i64)),
            encode(&(1u64, 0u8, 5i64, "e-1", 1u8, 1u64, 0i64, 0u32, 0u8)),
            encode(&(1u64, 7u8, 5i64, "e-1", 1u8, 1u64, 0i64, 0u32)),
            encode(&(1u64, 0u8, 5i64, "e-1", 1u8, 1u64, 0i64, 2_000_000_000u32)),
        ];
        for bytes in bad {
            assert!(ciborium::from_reader::<StoredEvent, _>(bytes.as_slice()).is_err(), "{bytes:x?}");
        }
    }
}
