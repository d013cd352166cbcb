//! The form in which the compute store keeps a record: the record a version was derived from,
//! shared, plus the three fields a state change sets.
//!
//! A state change touches only `State`, `Version` and `UpdateTime`, yet the record table and the
//! event log each need the new version while the old one stays in the log. Kept whole, every
//! change would copy the record (with its resources and IDs) once for the store and once more for
//! the caller; kept as a shared base plus those fields, a change copies nothing, and the memory
//! backend's events of one execution share one base. On disk nothing changes: a `Stored` encodes
//! exactly as the record it stands for (both go through [`LocalView`]).

use alloc::sync::Arc;
use serde::{Deserialize, Serialize};

use super::{LocalExecutionState, LocalView};
use crate::state::LocalExecutionStateType;
use crate::time::Timestamp;

/// A record version: `base` with `state`, `version` and `update_time` replaced (the base's own
/// values of those three are stale and never read).
#[derive(Clone, Debug)]
pub(crate) struct Stored {
    base: Arc<LocalExecutionState>,
    state: LocalExecutionStateType,
    version: u64,
    update_time: Timestamp,
    /// The number the execution's next history entry takes, 0 when unknown. Set only on the
    /// value a backend that keeps values holds (`ReadTxn::KEEPS_VALUES`): the store writes it
    /// with every history entry, so there it saves the search for the last one; it is not
    /// encoded, so a decoded record never has it.
    next_history: u64,
}

impl Stored {
    pub fn new(rec: LocalExecutionState) -> Self {
        Stored {
            state: rec.state,
            version: rec.version,
            update_time: rec.update_time,
            base: Arc::new(rec),
            next_history: 0,
        }
    }

    pub fn id(&self) -> &str {
        self.base.id()
    }

    pub fn job_id(&self) -> &str {
        self.base.job_id()
    }

    pub fn state(&self) -> LocalExecutionStateType {
        self.state
    }

    pub fn version(&self) -> u64 {
        self.version
    }

    pub fn update_time(&self) -> Timestamp {
        self.update_time
    }

    /// The version of the same record with these three fields (for the event log's references).
    pub fn at(&self, state: LocalExecutionStateType, version: u64, update_time: Timestamp) -> Self {
        Stored { base: Arc::clone(&self.base), state, version, update_time, next_history: 0 }
    }

    /// Whether `rec` is a version of this record: equal in everything but the three fields.
    pub fn is_version(&self, rec: &LocalExecutionState) -> bool {
        // Whole-record equality, so that a field added to the record later cannot be missed.
        self.at(rec.state, rec.version, rec.update_time).into_record() == *rec
    }

    /// This version, knowing the number of the execution's next history entry.
    pub fn with_next_history(mut self, seq: u64) -> Self {
        self.next_history = seq;
        self
    }

    /// The number of the execution's next history entry, if this value knows it.
    pub fn next_history(&self) -> Option<u64> {
        (self.next_history != 0).then_some(self.next_history)
    }

    /// The record; copies the base only while another version or event still shares it.
    pub fn into_record(self) -> LocalExecutionState {
        let mut rec = Arc::unwrap_or_clone(self.base);
        rec.state = self.state;
        rec.version = self.version;
        rec.update_time = self.update_time;
        rec
    }

    pub fn view(&self) -> LocalView<'_> {
        LocalView::new(&self.base, self.state, self.version, self.update_time)
    }
}

impl Serialize for Stored {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.view().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Stored {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        LocalExecutionState::deserialize(d).map(Stored::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_encodes_and_reads_back_as_the_record_it_stands_for() {
        let mut rec = LocalExecutionState::default();
        alloc::sync::Arc::make_mut(&mut rec.execution).id = "e-1".into();
        rec.requester_node_id = "n".into();
        rec.version = 1;
        let t = Timestamp::from_unix_nanos(5);
        let next = Stored::new(rec.clone()).at(LocalExecutionStateType::Running, rec.version + 1, t);
        let mut expected = rec;
        expected.state = LocalExecutionStateType::Running;
        expected.version = 2;
        expected.update_time = t;
        let (mut a, mut b) = (alloc::vec::Vec::new(), alloc::vec::Vec::new());
        ciborium::into_writer(&next, &mut a).unwrap();
        ciborium::into_writer(&expected, &mut b).unwrap();
        assert_eq!(a, b);
        let back: Stored = ciborium::from_reader(a.as_slice()).unwrap();
        assert_eq!(back.into_record(), expected);
        assert_eq!(next.into_record(), expected);
    }
}
