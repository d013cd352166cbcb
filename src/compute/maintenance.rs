//! Snapshots and consistency checks of the compute store. Both derive the indexes and counts
//! from the records with the same key functions the operations use.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;
use serde::Serialize;

use super::tx::ComputeTx;
use super::{BY_JOB, BY_STATE, COUNTS, EXECUTIONS, HISTORY, LOG};
use crate::error::{ComputeError, StorageError};
use crate::event::Event;
use crate::kv::key::{KeyBuf, KeyReader};
use crate::kv::{Direction, KeyRange, ReadTxn, StoreKind, WriteTxn};
use crate::model::{LocalExecutionState, LocalStateHistory};
use crate::snapshot::{self, SnapshotError};
use crate::store::{check_log, corrupt_key, diff_counts, diff_index, restore_log, CheckReport, StateCounts};

/// Everything a compute store holds, in key order.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComputeSnapshot {
    /// Records, by ID.
    pub executions: Vec<LocalExecutionState>,
    /// History entries as (execution ID, sequence, entry), in key order.
    pub history: Vec<(String, u64, LocalStateHistory)>,
    /// The event log.
    pub events: Vec<Event>,
    /// Consumer checkpoints, by name.
    pub checkpoints: Vec<(String, u64)>,
    /// The last event sequence number ever assigned (events may have been trimmed).
    pub last_event_seq: u64,
}

snapshot::body_deserialize!(ComputeSnapshot, "ComputeSnapshot", ComputeSnapshotTwin {
    0 executions: Vec<LocalExecutionState> = "executions",
    1 history: Vec<(String, u64, LocalStateHistory)> = "history",
    2 events: Vec<Event> = "events",
    3 checkpoints: Vec<(String, u64)> = "checkpoints",
    4 last_event_seq: u64 = "lastEventSeq",
});

pub(crate) fn by_job_key(s: &LocalExecutionState) -> Vec<u8> {
    KeyBuf::new().str(s.job_id()).str(s.id()).into_vec()
}

pub(crate) fn by_state_key(s: &LocalExecutionState) -> Vec<u8> {
    KeyBuf::new().u8(s.state.as_u8()).str(s.id()).into_vec()
}

impl<T: ReadTxn> ComputeTx<'_, T> {
    /// Everything in the store.
    pub fn snapshot(&self) -> Result<ComputeSnapshot, ComputeError> {
        let last_event_seq = self.counters().last_seq(self.txn(), &LOG)?;
        let mut snap = ComputeSnapshot { last_event_seq, ..Default::default() };
        self.txn().scan(EXECUTIONS, KeyRange::ALL, Direction::Forward, &mut |_, v| {
            snap.executions.push(v.into_record());
            Ok(true)
        })?;
        snap.history = super::history_rows::all(self.txn())?;
        snap.events = super::events::events_after(self.txn(), 0, 0)?;
        snap.checkpoints = LOG.checkpoints(self.txn())?;
        Ok(snap)
    }

    /// Recomputes every index and count from the records and compares.
    pub fn check(&self) -> Result<CheckReport, ComputeError> {
        let mut report = CheckReport::default();
        let mut by_job = BTreeSet::new();
        let mut by_state = BTreeSet::new();
        let mut counts: StateCounts = [0; 256];
        let mut ids = BTreeSet::new();
        self.txn().scan(EXECUTIONS, KeyRange::ALL, Direction::Forward, &mut |k, v: super::Stored| {
            let v = v.into_record();
            if k != KeyBuf::new().str(v.id()).as_bytes() {
                report.problems.push(alloc::format!("executions: record {} stored under another key", v.id()));
            }
            by_job.insert(by_job_key(&v));
            by_state.insert(by_state_key(&v));
            counts[usize::from(v.state.as_u8())] += 1;
            ids.insert(String::from(v.id()));
            report.records += 1;
            Ok(true)
        })?;
        diff_index(self.txn(), BY_JOB, &by_job, &mut report.problems)?;
        diff_index(self.txn(), BY_STATE, &by_state, &mut report.problems)?;
        diff_counts(self.txn(), COUNTS, &counts, self.counters().pending_counts(COUNTS), &mut report.problems)?;
        // The end (next number) of the previous row, by execution: rows of one execution must
        // not number an entry twice.
        let mut previous: Option<(String, u64)> = None;
        self.txn().scan(HISTORY, KeyRange::ALL, Direction::Forward, &mut |k, row: super::StoredHistory| {
            let mut r = KeyReader::new(k);
            let (Some(id), Some(start)) = (r.str(), r.u64()) else { return Err(corrupt_key(HISTORY)) };
            if !ids.contains(&id) {
                report.problems.push(alloc::format!("execution_history: entries of missing execution {id}"));
            }
            if let Some((_, end)) = previous.as_ref().filter(|(p, end)| *p == id && start < *end) {
                report.problems.push(alloc::format!(
                    "execution_history: execution {id} has entry {start} twice (the row before ends at {})",
                    end - 1
                ));
            }
            let end = start.saturating_add(row.len() as u64);
            report.history_entries += row.len() as u64;
            previous = Some((id, end));
            Ok(true)
        })?;
        report.events = check_log(self.txn(), &LOG, self.counters().last_seq(self.txn(), &LOG)?, &mut report.problems)?;
        super::events::check(self.txn(), &mut report.problems)?;
        Ok(report)
    }

    /// The snapshot bytes of the store (see [`crate::snapshot`]).
    pub fn export_snapshot(&self) -> Result<Vec<u8>, ComputeError> {
        Ok(snapshot::encode(StoreKind::Compute, &self.snapshot()?)?)
    }
}

fn invalid(detail: String) -> ComputeError {
    ComputeError::Snapshot(SnapshotError::Invalid { detail })
}

impl<T: WriteTxn> ComputeTx<'_, T> {
    /// Loads a snapshot into this (empty) store, rebuilding indexes and counts.
    pub fn import(&mut self, snap: ComputeSnapshot) -> Result<(), ComputeError> {
        let stats = self.stats()?;
        if stats.total > 0 || stats.last_event_seq > 0 || !LOG.checkpoints(self.txn())?.is_empty() {
            return Err(ComputeError::Snapshot(SnapshotError::NotEmpty));
        }
        let mut ids = BTreeSet::new();
        for e in &snap.executions {
            e.validate().map_err(|v| invalid(alloc::format!("{v}")))?;
            if !ids.insert(String::from(e.id())) {
                return Err(invalid(alloc::format!("execution {} appears twice", e.id())));
            }
        }
        for (id, _, _) in &snap.history {
            if !ids.contains(id) {
                return Err(invalid(alloc::format!("history of unknown execution {id}")));
            }
        }
        self.write_all(snap).map_err(ComputeError::from)
    }

    fn write_all(&mut self, snap: ComputeSnapshot) -> Result<(), StorageError> {
        let (txn, counters) = self.parts_mut();
        let mut records = BTreeMap::new();
        for e in snap.executions {
            txn.put(BY_JOB, &by_job_key(&e), ())?;
            txn.put(BY_STATE, &by_state_key(&e), ())?;
            counters.bump(txn, COUNTS, e.state.as_u8(), 1)?;
            let rec = super::Stored::new(e);
            txn.put(EXECUTIONS, KeyBuf::new().str(rec.id()).as_bytes(), rec.clone())?;
            if !T::KEEPS_VALUES {
                records.insert(String::from(rec.id()), rec);
            }
        }
        super::history_rows::import(txn, snap.history)?;
        let (events, deletes) = super::events::for_import::<T>(snap.events, &records);
        for (id, seq) in deletes {
            super::events::index_delete(txn, &id, seq)?;
        }
        restore_log(txn, &LOG, events, snap.checkpoints, snap.last_event_seq)
    }

    /// Decodes snapshot bytes and imports them.
    pub fn import_snapshot(&mut self, bytes: &[u8]) -> Result<(), ComputeError> {
        let snap: ComputeSnapshot = snapshot::decode(StoreKind::Compute, bytes).map_err(ComputeError::Snapshot)?;
        self.import(snap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn the_body_decoder_behaves_as_the_derived_one_on_maps_and_refuses_sequences() {
        let snap = ComputeSnapshot {
            executions: vec![LocalExecutionState::default()],
            history: vec![("e".into(), 1, LocalStateHistory::default())],
            events: vec![],
            checkpoints: vec![("c".into(), 3)],
            last_event_seq: 5,
        };
        snapshot::assert_body_matches_twin::<ComputeSnapshot, ComputeSnapshotTwin>(
            "ComputeSnapshot",
            "ComputeSnapshotTwin",
            &snap,
        );
    }
}
