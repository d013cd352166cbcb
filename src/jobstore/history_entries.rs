//! The form in which the job store keeps a history entry (schema 3): one array without field
//! names and without its job ID, which is its key's.
//!
//! A requester's history is about a third of its file after a run of `simulate` (each job's
//! entries and those of its executions, ~15 per job), and as maps with Bacalhau's field names
//! and an RFC 3339 time an entry took ~265 bytes; as an array ~50-90. Maps (schema 1 and 2)
//! still read. An entry whose job ID differs from its key's (possible only through an import of
//! a hand-made snapshot) is kept whole, as a map.

use alloc::string::String;
use serde::{Deserialize, Serialize};

use crate::codec::compact::{Fields, Id, IdRef};
use crate::model::{JobHistory, StateChange};

/// A job history entry as stored; [`StoredJobHistory::into_entry`] gives it back with its job ID.
#[derive(Clone, Debug)]
pub(crate) struct StoredJobHistory {
    entry: JobHistory,
    /// The entry's job ID is the key's (left out when stored, restored when read).
    keyed: bool,
}

/// Elements of the compact form: type, node ID, execution ID, job state change, execution state
/// change, desired state change (each `[previous, new]` as integers, or null), new revision,
/// comment, seconds and nanoseconds of the time, sequence number.
const FIELDS: usize = 11;

impl StoredJobHistory {
    /// The entry stored under the key of job `key_id`.
    pub fn new(entry: JobHistory, key_id: &str) -> Self {
        let keyed = entry.job_id == key_id;
        StoredJobHistory { entry, keyed }
    }

    /// The entry as the store's filters see it (its job ID may be empty: the key has it).
    pub fn peek(&self) -> &JobHistory {
        &self.entry
    }

    /// The entry read from under the key of job `key_id`.
    pub fn into_entry(self, key_id: &str) -> JobHistory {
        let mut entry = self.entry;
        if self.keyed && entry.job_id != key_id {
            entry.job_id = key_id.into();
        }
        entry
    }
}

/// A state change as `[previous, new]` in the states' stable integers.
fn change<T: Default + PartialEq + Copy>(c: &Option<StateChange<T>>, code: fn(T) -> u8) -> Option<[u8; 2]> {
    c.as_ref().map(|c| [code(c.previous), code(c.new)])
}

impl Serialize for StoredJobHistory {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        if !self.keyed {
            return self.entry.serialize(s);
        }
        let e = &self.entry;
        let mut t = s.serialize_tuple(FIELDS)?;
        t.serialize_element(&e.history_type.as_u8())?;
        t.serialize_element(&IdRef(&e.node_id))?;
        t.serialize_element(&IdRef(&e.execution_id))?;
        t.serialize_element(&change(&e.job_state, |s| s.as_u8()))?;
        t.serialize_element(&change(&e.execution_state, |s| s.as_u8()))?;
        t.serialize_element(&change(&e.desired_state, |s| s.as_u8()))?;
        t.serialize_element(&e.new_revision)?;
        t.serialize_element(&e.comment)?;
        crate::codec::compact::write_time(&mut t, e.time)?;
        t.serialize_element(&e.seq_num)?;
        t.end()
    }
}

impl<'de> Deserialize<'de> for StoredJobHistory {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Visitor)
    }
}

struct Visitor;

impl<'de> serde::de::Visitor<'de> for Visitor {
    type Value = StoredJobHistory;

    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("a job history entry")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, m: A) -> Result<StoredJobHistory, A::Error> {
        let entry = JobHistory::deserialize(serde::de::value::MapAccessDeserializer::new(m))?;
        Ok(StoredJobHistory { entry, keyed: false })
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, a: A) -> Result<StoredJobHistory, A::Error> {
        fn pair<T: Default + PartialEq>(p: Option<(T, T)>) -> Option<StateChange<T>> {
            p.map(|(previous, new)| StateChange { previous, new })
        }
        let mut f = Fields::new(a, FIELDS, "a job history entry of 11 elements");
        let history_type = f.next()?;
        let Id(node_id) = f.next()?;
        let Id(execution_id) = f.next()?;
        let job_state = pair(f.next()?);
        let execution_state = pair(f.next()?);
        let desired_state = pair(f.next()?);
        let new_revision = f.next()?;
        let comment: String = f.next()?;
        let time = f.time()?;
        let seq_num = f.next()?;
        f.end()?;
        let entry = JobHistory {
            history_type,
            job_id: String::new(),
            node_id,
            execution_id,
            job_state,
            execution_state,
            desired_state,
            new_revision,
            comment,
            time,
            seq_num,
        };
        Ok(StoredJobHistory { entry, keyed: true })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{ExecutionDesiredStateType as D, ExecutionStateType as E, JobHistoryType, JobStateType as J};
    use crate::time::Timestamp;
    use alloc::vec::Vec;

    fn encode<T: Serialize>(v: &T) -> Vec<u8> {
        let mut out = Vec::new();
        ciborium::into_writer(v, &mut out).unwrap();
        out
    }

    fn entries() -> [JobHistory; 2] {
        let time = Timestamp::from_unix(1_707_300_000, 123_456_789).unwrap();
        let job = JobHistory {
            history_type: JobHistoryType::JobLevel,
            job_id: "j-0f8fad5b-d9cb-469f-a165-70867728950e".into(),
            job_state: Some(StateChange { previous: J::Pending, new: J::Running }),
            new_revision: 2,
            comment: "scheduled".into(),
            time,
            seq_num: 2,
            ..JobHistory::default()
        };
        let execution = JobHistory {
            history_type: JobHistoryType::ExecutionLevel,
            node_id: "QmComputeNode0001".into(),
            execution_id: "e-0f8fad5b-d9cb-469f-a165-70867728950f".into(),
            job_state: None,
            execution_state: Some(StateChange { previous: E::AskForBid, new: E::BidAccepted }),
            desired_state: Some(StateChange { previous: D::Pending, new: D::Running }),
            seq_num: 3,
            ..job.clone()
        };
        [job, execution]
    }

    #[test]
    fn an_entry_under_its_own_key_is_an_array_a_third_of_the_map_and_reads_back_equal() {
        for e in entries() {
            let bytes = encode(&StoredJobHistory::new(e.clone(), &e.job_id));
            assert!(bytes.len() * 3 < encode(&e).len(), "{} vs {} bytes", bytes.len(), encode(&e).len());
            let back: StoredJobHistory = ciborium::from_reader(bytes.as_slice()).unwrap();
            assert_eq!(back.peek().job_id, "", "the key holds the job ID");
            assert_eq!(back.into_entry(&e.job_id), e);
        }
    }

    #[test]
    fn an_entry_under_another_key_and_an_entry_of_schema_2_stay_maps() {
        let [e, _] = entries();
        let bytes = encode(&StoredJobHistory::new(e.clone(), "j-2"));
        assert_eq!(bytes, encode(&e));
        let back: StoredJobHistory = ciborium::from_reader(bytes.as_slice()).unwrap();
        assert_eq!(back.into_entry("j-2"), e, "its own job ID is kept");
    }

    #[test]
    fn a_malformed_compact_entry_is_a_decoding_error() {
        let t = (1_707_300_000i64, 0u32);
        let none: Option<[u8; 2]> = None;
        for bytes in [
            encode(&(1u8, "", "", none, none, none, 1u64, "", t.0, t.1)),
            encode(&(1u8, "", "", none, none, none, 1u64, "", t.0, t.1, 1u64, 0u8)),
            encode(&(9u8, "", "", none, none, none, 1u64, "", t.0, t.1, 1u64)),
            encode(&(1u8, "", "", Some([1u8, 99u8]), none, none, 1u64, "", t.0, t.1, 1u64)),
            encode(&(1u8, "", "", Some([1u8]), none, none, 1u64, "", t.0, t.1, 1u64)),
            encode(&(1u8, "", "", none, none, none, 1u64, "", t.0, 1_000_000_000u32, 1u64)),
        ] {
            assert!(ciborium::from_reader::<StoredJobHistory, _>(bytes.as_slice()).is_err(), "{bytes:x?}");
        }
        // The same shape with valid values reads.
        let ok = encode(&(1u8, "", "", Some([1u8, 2u8]), none, none, 1u64, "", t.0, t.1, 1u64));
        assert!(ciborium::from_reader::<StoredJobHistory, _>(ok.as_slice()).is_ok());
    }
}
