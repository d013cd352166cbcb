//! The form in which the compute store keeps a history entry (schema 2): without its execution
//! ID, which is its key's, and as one array instead of a map with field names.
//!
//! A creation entry is about 45 bytes this way instead of about 160 (the map repeats six field
//! names, the 36-character ID and a 30-character RFC 3339 time), and a lifecycle writes five of
//! them per execution. Schema-1 entries (maps) still read. An entry whose own ID differs from its
//! key's (possible only through an import of a hand-made snapshot) is kept whole, as a map.

use alloc::string::String;
use serde::{Deserialize, Serialize};

use crate::model::LocalStateHistory;

/// A history entry as stored; [`StoredHistory::into_entry`] gives it back with its ID.
#[derive(Clone, Debug)]
pub(crate) struct StoredHistory {
    entry: LocalStateHistory,
    /// The entry's ID is the key's (stored compactly, restored from the key when read).
    keyed: bool,
}

/// Elements of the compact form: previous state, new state, new version, comment, seconds and
/// nanoseconds of the time.
const FIELDS: usize = 6;

impl StoredHistory {
    /// The entry stored under the key of execution `key_id`.
    pub fn new(entry: LocalStateHistory, key_id: &str) -> Self {
        let keyed = entry.execution_id == key_id;
        StoredHistory { entry, keyed }
    }

    /// The entry read from under the key of execution `key_id`.
    pub fn into_entry(self, key_id: &str) -> LocalStateHistory {
        let mut entry = self.entry;
        if self.keyed && entry.execution_id != key_id {
            entry.execution_id = key_id.into();
        }
        entry
    }
}

impl Serialize for StoredHistory {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        if !self.keyed {
            return self.entry.serialize(s);
        }
        let e = &self.entry;
        let mut t = s.serialize_tuple(FIELDS)?;
        t.serialize_element(&e.previous_state)?;
        t.serialize_element(&e.new_state)?;
        t.serialize_element(&e.new_version)?;
        t.serialize_element(&e.comment)?;
        crate::compact::write_time(&mut t, e.time)?;
        t.end()
    }
}

impl<'de> Deserialize<'de> for StoredHistory {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Visitor)
    }
}

struct Visitor;

impl<'de> serde::de::Visitor<'de> for Visitor {
    type Value = StoredHistory;

    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("a history entry")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, m: A) -> Result<StoredHistory, A::Error> {
        let entry = LocalStateHistory::deserialize(serde::de::value::MapAccessDeserializer::new(m))?;
        Ok(StoredHistory { entry, keyed: false })
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, a: A) -> Result<StoredHistory, A::Error> {
        let mut f = crate::compact::Fields::new(a, FIELDS, "a history entry of 6 elements");
        let previous_state = f.next()?;
        let new_state = f.next()?;
        let new_version = f.next()?;
        let comment: String = f.next()?;
        let time = f.time()?;
        f.end()?;
        let entry =
            LocalStateHistory { execution_id: String::new(), previous_state, new_state, new_version, comment, time };
        Ok(StoredHistory { entry, keyed: true })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::LocalExecutionStateType as S;
    use crate::time::Timestamp;

    fn encode<T: Serialize>(v: &T) -> alloc::vec::Vec<u8> {
        let mut out = alloc::vec::Vec::new();
        ciborium::into_writer(v, &mut out).unwrap();
        out
    }

    fn entry(id: &str) -> LocalStateHistory {
        LocalStateHistory {
            execution_id: id.into(),
            previous_state: S::Undefined,
            new_state: S::Created,
            new_version: 1,
            comment: crate::compute::CREATED_COMMENT.into(),
            time: Timestamp::from_unix(1_707_300_000, 123_456_789).unwrap(),
        }
    }

    #[test]
    fn an_entry_under_its_own_key_is_stored_compactly_and_reads_back_equal() {
        let e = entry("0f8fad5b-d9cb-469f-a165-70867728950e");
        let bytes = encode(&StoredHistory::new(e.clone(), &e.execution_id));
        assert!(bytes.len() * 3 < encode(&e).len(), "{} vs {} bytes", bytes.len(), encode(&e).len());
        let back: StoredHistory = ciborium::from_reader(bytes.as_slice()).unwrap();
        assert_eq!(back.into_entry(&e.execution_id), e);
    }

    #[test]
    fn an_entry_under_another_key_and_a_schema_1_entry_stay_maps() {
        let e = entry("e-1");
        let bytes = encode(&StoredHistory::new(e.clone(), "e-2"));
        assert_eq!(bytes, encode(&e));
        let back: StoredHistory = ciborium::from_reader(bytes.as_slice()).unwrap();
        assert_eq!(back.into_entry("e-2"), e, "its own ID is kept");
    }

    #[test]
    fn a_malformed_compact_entry_is_a_decoding_error() {
        for bytes in [
            encode(&(0u8, 1u8, 1u64, "c", 0i64)),
            encode(&(0u8, 1u8, 1u64, "c", 0i64, 0u32, 0u8)),
            encode(&(0u8, 1u8, 1u64, "c", 0i64, 1_000_000_000u32)),
            encode(&(0u8, 99u8, 1u64, "c", 0i64, 0u32)),
        ] {
            assert!(ciborium::from_reader::<StoredHistory, _>(bytes.as_slice()).is_err(), "{bytes:x?}");
        }
    }
}
