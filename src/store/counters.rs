//! Per-state counts and the event counter: one mechanism for both stores, written back once per
//! transaction (see [`Counters`]).

use crate::error::StorageError;
use crate::kv::{ReadTxn, Table, WriteTxn};

use super::log::EVENT_SEQ;
use super::LogTables;

/// States `0..CACHED_STATES` are cached (every state of every store is: the largest, the
/// requester's execution states, has 10).
const CACHED_STATES: usize = 16;

/// The per-state counts of a store's `N` count tables and its event counter as one write
/// transaction changes them, written to their tables once, when it commits: a batch of
/// operations then reads and writes each of them once instead of once per operation. Reads
/// inside the transaction go through [`Counters::count`] and [`Counters::last_seq`] and so see the
/// pending values; the tables themselves are current only after [`Counters::flush`].
pub(crate) struct Counters<const N: usize> {
    tables: [Table<u64>; N],
    /// Pending count per table and state; `Some(0)` is removed from the table on flush.
    counts: [[Option<u64>; CACHED_STATES]; N],
    last_seq: Option<u64>,
}

impl<const N: usize> Counters<N> {
    /// Counters over a store's count tables.
    pub const fn new(tables: [Table<u64>; N]) -> Self {
        Counters { tables, counts: [[None; CACHED_STATES]; N], last_seq: None }
    }

    fn index(&self, table: Table<u64>) -> usize {
        let k = self.tables.iter().position(|t| t.id() == table.id());
        debug_assert!(k.is_some(), "count table {} is not one of this store's", table.name());
        k.unwrap_or(0)
    }

    pub fn count<T: ReadTxn>(&self, txn: &T, table: Table<u64>, state: u8) -> Result<u64, StorageError> {
        match self.counts[self.index(table)].get(usize::from(state)).copied().flatten() {
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
        let k = self.index(table);
        let Some(slot) = self.counts[k].get_mut(usize::from(state)) else {
            return bump_count(txn, table, state, delta);
        };
        let current = match *slot {
            Some(n) => n,
            None => read_count(txn, table, state)?,
        };
        *slot = Some(plus(current, delta));
        Ok(())
    }

    /// Counts of `table` not yet written, by state.
    pub fn pending_counts(&self, table: Table<u64>) -> impl Iterator<Item = (u8, u64)> + '_ {
        self.counts[self.index(table)].iter().enumerate().filter_map(|(state, n)| Some((state as u8, (*n)?)))
    }

    pub fn last_seq<T: ReadTxn>(&self, txn: &T, log: &LogTables) -> Result<u64, StorageError> {
        self.last_seq.map_or_else(|| log.last_seq(txn), Ok)
    }

    /// Takes the next event number.
    pub fn next_seq<T: ReadTxn>(&mut self, txn: &T, log: &LogTables) -> Result<u64, StorageError> {
        let next = self.last_seq(txn, log)? + 1;
        // Event numbers are gap-free: each is the one after the last, within and across commits.
        debug_assert!(self.last_seq.is_none_or(|last| next == last + 1));
        self.last_seq = Some(next);
        Ok(next)
    }

    /// Writes the pending values.
    pub fn flush<T: WriteTxn>(&mut self, txn: &mut T, log: &LogTables) -> Result<(), StorageError> {
        for (table, counts) in self.tables.iter().zip(self.counts.iter_mut()) {
            for (state, slot) in counts.iter_mut().enumerate() {
                match slot.take() {
                    Some(0) => drop(txn.delete(*table, &[state as u8])?),
                    Some(n) => txn.put(*table, &[state as u8], n)?,
                    None => {}
                }
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
fn bump_count<T: WriteTxn>(txn: &mut T, table: Table<u64>, state: u8, delta: i64) -> Result<(), StorageError> {
    txn.update(table, &[state], |current| Some(plus(current.unwrap_or(0), delta)).filter(|&n| n != 0))
}

/// `current + delta`, saturating at zero and at `u64::MAX`.
fn plus(current: u64, delta: i64) -> u64 {
    match delta >= 0 {
        true => current.saturating_add(delta as u64),
        false => current.saturating_sub(delta.unsigned_abs()),
    }
}

pub(crate) fn read_count<T: ReadTxn>(txn: &T, table: Table<u64>, state: u8) -> Result<u64, StorageError> {
    Ok(txn.get(table, &[state])?.unwrap_or(0))
}
