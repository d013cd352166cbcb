//! The event log's tables: appending in the caller's transaction, reading in order,
//! checkpoints, trimming, and restoring a log into an empty store.

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::StorageError;
use crate::event::{Event, Operation, SharedObject, StoredEvent};
use crate::kv::key::KeyBuf;
use crate::kv::{Direction, KeyRange, ReadTxn, Table, WriteTxn};

use super::decode_str_key;

/// The tables of an event log, per store kind.
#[derive(Clone, Copy)]
pub(crate) struct LogTables {
    pub events: Table<StoredEvent>,
    pub checkpoints: Table<u64>,
    pub counters: Table<u64>,
}

/// The counter key of the last event number: `KeyBuf::new().str("event_seq")`.
pub(super) const EVENT_SEQ: &[u8] = b"event_seq\0\x01";

impl LogTables {
    pub fn last_seq<T: ReadTxn>(&self, txn: &T) -> Result<u64, StorageError> {
        Ok(txn.get(self.counters, EVENT_SEQ)?.unwrap_or(0))
    }

    /// Stores the event numbered `seq_num` (from [`Counters::next_seq`]) in the caller's
    /// transaction.
    pub fn put_event<T: WriteTxn>(
        &self,
        txn: &mut T,
        seq_num: u64,
        timestamp: i64,
        operation: Operation,
        object: SharedObject,
    ) -> Result<(), StorageError> {
        txn.put(self.events, &seq_num.to_be_bytes(), StoredEvent { seq_num, operation, timestamp, object })
    }

    /// Events with a sequence number greater than `after`, oldest first; `limit` 0 = all. For a
    /// log without references (the requester store's); the compute store resolves its own.
    pub fn after<T: ReadTxn>(&self, txn: &T, after: u64, limit: u32) -> Result<Vec<Event>, StorageError> {
        let mut out = Vec::new();
        self.scan_after(txn, after, limit, &mut |e| {
            out.push(e.into_event().map_err(|u| StorageError::Corrupt {
                table: self.events.name(),
                detail: alloc::format!("event {} refers to compute execution {}", u.seq_num, u.reference.id),
            })?);
            Ok(())
        })?;
        Ok(out)
    }

    /// Visits the events after `after`, oldest first, at most `limit` (0 = all).
    fn scan_after<T: ReadTxn>(
        &self,
        txn: &T,
        after: u64,
        limit: u32,
        visit: &mut dyn FnMut(StoredEvent) -> Result<(), StorageError>,
    ) -> Result<(), StorageError> {
        let Some(start) = after.checked_add(1) else { return Ok(()) };
        let start = KeyBuf::new().u64(start);
        let range = KeyRange { start: core::ops::Bound::Included(start.as_bytes()), end: core::ops::Bound::Unbounded };
        let mut seen = 0u32;
        txn.scan(self.events, range, Direction::Forward, &mut |_, e| {
            visit(e)?;
            seen = seen.saturating_add(1);
            Ok(limit == 0 || seen < limit)
        })
    }

    /// The events after `after` as stored (references unresolved).
    pub fn stored_after<T: ReadTxn>(&self, txn: &T, after: u64, limit: u32) -> Result<Vec<StoredEvent>, StorageError> {
        let mut out = Vec::new();
        self.scan_after(txn, after, limit, &mut |e| {
            out.push(e);
            Ok(())
        })?;
        Ok(out)
    }

    /// The event numbered `seq`, as stored.
    pub fn get<T: ReadTxn>(&self, txn: &T, seq: u64) -> Result<Option<StoredEvent>, StorageError> {
        txn.get(self.events, &seq.to_be_bytes())
    }

    /// Deletes events with a sequence number up to and including `through`; returns how many.
    pub fn trim<T: WriteTxn>(&self, txn: &mut T, through: u64) -> Result<u64, StorageError> {
        let mut keys = Vec::new();
        let end = KeyBuf::new().u64(through.saturating_add(1));
        let range = if through == u64::MAX {
            KeyRange::ALL
        } else {
            KeyRange { start: core::ops::Bound::Unbounded, end: core::ops::Bound::Excluded(end.as_bytes()) }
        };
        txn.scan_keys(self.events, range, Direction::Forward, &mut |k| {
            keys.push(k.to_vec());
            Ok(true)
        })?;
        for k in &keys {
            txn.delete(self.events, k)?;
        }
        Ok(keys.len() as u64)
    }

    pub fn set_checkpoint<T: WriteTxn>(&self, txn: &mut T, name: &str, seq: u64) -> Result<(), StorageError> {
        txn.put(self.checkpoints, KeyBuf::new().str(name).as_bytes(), seq)
    }

    pub fn checkpoint<T: ReadTxn>(&self, txn: &T, name: &str) -> Result<Option<u64>, StorageError> {
        txn.get(self.checkpoints, KeyBuf::new().str(name).as_bytes())
    }

    /// Every checkpoint, by name.
    pub fn checkpoints<T: ReadTxn>(&self, txn: &T) -> Result<Vec<(String, u64)>, StorageError> {
        let mut out = Vec::new();
        txn.scan(self.checkpoints, KeyRange::ALL, Direction::Forward, &mut |k, v| {
            let name = decode_str_key(self.checkpoints, k)?;
            out.push((name, v));
            Ok(true)
        })?;
        Ok(out)
    }
}

/// Restores an event log and checkpoints into an empty store.
pub(crate) fn restore_log<T: WriteTxn>(
    txn: &mut T,
    log: &LogTables,
    events: Vec<StoredEvent>,
    checkpoints: Vec<(String, u64)>,
    last_event_seq: u64,
) -> Result<(), StorageError> {
    let mut last = last_event_seq;
    for e in events {
        last = last.max(e.seq_num);
        txn.put(log.events, &e.seq_num.to_be_bytes(), e)?;
    }
    for (name, seq) in checkpoints {
        log.set_checkpoint(txn, &name, seq)?;
    }
    if last > 0 {
        txn.put(log.counters, EVENT_SEQ, last)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_counter_key_is_the_encoded_name() {
        assert_eq!(EVENT_SEQ, KeyBuf::new().str("event_seq").as_bytes());
    }
}
