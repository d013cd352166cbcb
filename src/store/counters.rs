//! Per-state counts and the event counter: one mechanism for both stores, written back once per
//! transaction (see [`Counters`]).

use crate::error::StorageError;
use crate::kv::{ReadTxn, Table, WriteTxn};

use super::log::EVENT_SEQ;
use super::LogTables;

/// The per-state counts and the event counter as one write transaction changes them, written
/// to their tables once, when it commits: a batch of operations then reads and writes each of
/// them once instead of once per operation. Reads inside the transaction go through
/// [`Counters::count`] and [`Counters::last_seq`] and so see the pending values; the tables
/// themselves are current only after [`Counters::flush`].
#[derive(Default)]
pub(crate) struct Counters {
    /// Pending count per state below [`CACHED_STATES`]; `Some(0)` is removed from the table on
    /// flush. Other states are written through.
    counts: [Option<u64>; CACHED_STATES],
    last_seq: Option<u64>,
}

/// States `0..CACHED_STATES` are cached (every compute state is).
const CACHED_STATES: usize = 8;

impl Counters {
    pub fn count<T: ReadTxn>(&self, txn: &T, table: Table<u64>, state: u8) -> Result<u64, StorageError> {
        match self.counts.get(usize::from(state)).copied().flatten() {
            Some(n) => Ok(n),
            None => read_count(txn, table, state),
        }
    }

    /// Adds `delta` to the count of `state`, saturating at zero at every step, exactly as
    /// [`bump_count`] does.
    pub fn bump<T: WriteTxn>(
        &mut self,
        txn: &mut T,
        table: Table<u64>,
        state: u8,
        delta: i64,
    ) -> Result<(), StorageError> {
        let Some(slot) = self.counts.get_mut(usize::from(state)) else {
            return bump_count(txn, table, state, delta);
        };
        let n = match *slot {
            Some(n) => n,
            None => read_count(txn, table, state)?,
        };
        *slot = Some(if delta >= 0 { n.saturating_add(delta as u64) } else { n.saturating_sub(delta.unsigned_abs()) });
        Ok(())
    }

    /// Counts not yet written to the table, by state.
    pub fn pending_counts(&self) -> impl Iterator<Item = (u8, u64)> + '_ {
        self.counts.iter().enumerate().filter_map(|(state, n)| Some((state as u8, (*n)?)))
    }

    pub fn last_seq<T: ReadTxn>(&self, txn: &T, log: &LogTables) -> Result<u64, StorageError> {
        self.last_seq.map_or_else(|| log.last_seq(txn), Ok)
    }

    /// Takes the next event number.
    pub fn next_seq<T: ReadTxn>(&mut self, txn: &T, log: &LogTables) -> Result<u64, StorageError> {
        let next = self.last_seq(txn, log)? + 1;
        self.last_seq = Some(next);
        Ok(next)
    }

    /// Writes the pending values.
    pub fn flush<T: WriteTxn>(&mut self, txn: &mut T, table: Table<u64>, log: &LogTables) -> Result<(), StorageError> {
        for (state, slot) in self.counts.iter_mut().enumerate() {
            match slot.take() {
                Some(0) => drop(txn.delete(table, &[state as u8])?),
                Some(n) => txn.put(table, &[state as u8], n)?,
                None => {}
            }
        }
        if let Some(seq) = self.last_seq.take() {
            txn.put(log.counters, EVENT_SEQ, seq)?;
        }
        Ok(())
    }
}

/// Adds `delta` to the count of `state`. Counts never go below zero: a negative result means the
/// indexes are inconsistent, which `check` reports, so saturate rather than wrap.
pub(crate) fn bump_count<T: WriteTxn>(
    txn: &mut T,
    table: Table<u64>,
    state: u8,
    delta: i64,
) -> Result<(), StorageError> {
    txn.update(table, &[state], |current| {
        let current = current.unwrap_or(0);
        let next = if delta >= 0 {
            current.saturating_add(delta as u64)
        } else {
            current.saturating_sub(delta.unsigned_abs())
        };
        (next != 0).then_some(next)
    })
}

pub(crate) fn read_count<T: ReadTxn>(txn: &T, table: Table<u64>, state: u8) -> Result<u64, StorageError> {
    Ok(txn.get(table, &[state])?.unwrap_or(0))
}
