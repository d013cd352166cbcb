//! The compute store's event log on top of the shared one: record versions are stored by
//! reference ([`SharedObject::LocalVersion`]) and resolved here when read.
//!
//! A reference names an execution ID; the record it is a version of is
//! * the copy in the first `DELETE` event of that ID after the referring event, if there is one
//!   (the execution was deleted since; its later incarnations are other records), found through
//!   [`DELETES`], an index of `(ID, DELETE event number)`;
//! * otherwise the record in the record table.
//!
//! This holds because a compute record changes only in State, Version and UpdateTime while it
//! exists. Imports check it per event and store whole whatever does not satisfy it. Trimming the
//! log trims the index with it: a `DELETE` event is always the last of its incarnation's events,
//! so no kept reference needs a trimmed deletion.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use super::{Stored, DELETES, EXECUTIONS, LOG};
use crate::error::StorageError;
use crate::event::{Event, LocalRef, Operation, SharedObject, StoredEvent};
use crate::kv::key::{KeyBuf, KeyReader};
use crate::kv::{Direction, KeyRange, ReadTxn, WriteTxn};

fn delete_key(id: &str, seq: u64) -> KeyBuf {
    KeyBuf::new().str(id).u64(seq)
}

/// The event number of a [`DELETES`] key.
fn deleted_by(key: &[u8]) -> Result<u64, StorageError> {
    let mut r = KeyReader::new(key);
    r.str().and(r.u64()).ok_or_else(|| crate::store::corrupt_key(DELETES))
}

/// Indexes the deletion of `id` by event `seq`.
pub(crate) fn index_delete<T: WriteTxn>(txn: &mut T, id: &str, seq: u64) -> Result<(), StorageError> {
    if T::KEEPS_VALUES {
        return Ok(());
    }
    txn.put(DELETES, delete_key(id, seq).as_bytes(), ())
}

fn corrupt(detail: String) -> StorageError {
    StorageError::Corrupt { table: LOG.events.name(), detail }
}

/// Records a [`Resolver`] remembers at most.
const RESOLVER_CACHE: usize = 1024;

/// Resolves references, remembering each record it read: the events of one execution share it.
struct Resolver<'t, T> {
    txn: &'t T,
    /// By (ID, number of the deleting event or `None` for the record table).
    bases: BTreeMap<(String, Option<u64>), Stored>,
}

impl<'t, T: ReadTxn> Resolver<'t, T> {
    fn new(txn: &'t T) -> Self {
        Resolver { txn, bases: BTreeMap::new() }
    }

    fn event(&mut self, e: StoredEvent) -> Result<Event, StorageError> {
        match e.into_event() {
            Ok(e) => Ok(e),
            Err(u) => {
                let r = &u.reference;
                let version = self.resolve(u.seq_num, r)?.at(r.state, r.version, r.update_time);
                Ok(u.resolved(version))
            }
        }
    }

    /// The record the event numbered `seq` referring to `r` is a version of.
    fn resolve(&mut self, seq: u64, r: &LocalRef) -> Result<Stored, StorageError> {
        let deleted_by = first_delete_after(self.txn, &r.id, seq)?;
        let key = (r.id.clone(), deleted_by);
        if let Some(base) = self.bases.get(&key) {
            return Ok(base.clone());
        }
        let base = match deleted_by {
            Some(at) => match LOG.get(self.txn, at)?.map(|e| (e.operation, e.object)) {
                Some((Operation::Delete, SharedObject::LocalExecution(rec))) if rec.id() == r.id => rec,
                _ => {
                    return Err(corrupt(alloc::format!(
                        "event {seq} refers to execution {} deleted by event {at}, which is not that deletion",
                        r.id
                    )))
                }
            },
            None => self.txn.get(EXECUTIONS, KeyBuf::new().str(&r.id).as_bytes())?.ok_or_else(|| {
                corrupt(alloc::format!(
                    "event {seq} refers to execution {}, which is neither stored nor deleted later in the log",
                    r.id
                ))
            })?,
        };
        if self.bases.len() >= RESOLVER_CACHE {
            // A walk of a long log (check, a large page) must not hold every record at once.
            self.bases.clear();
        }
        self.bases.insert(key, base.clone());
        Ok(base)
    }
}

fn first_delete_after<T: ReadTxn>(txn: &T, id: &str, seq: u64) -> Result<Option<u64>, StorageError> {
    let from = delete_key(id, seq.saturating_add(1));
    let upper = KeyBuf::new().str(id).upper_bound();
    let range = KeyRange::under(&from, &upper);
    let mut found = None;
    txn.scan_keys(DELETES, range, Direction::Forward, &mut |k| {
        found = Some(deleted_by(k)?);
        Ok(false)
    })?;
    Ok(found)
}

/// Events after `after` (oldest first, `limit` 0 = all), references resolved.
pub(crate) fn events_after<T: ReadTxn>(txn: &T, after: u64, limit: u32) -> Result<Vec<Event>, StorageError> {
    if T::KEEPS_VALUES {
        // Every version is still the `Stored` that was put: nothing to resolve.
        return LOG.after(txn, after, limit);
    }
    let stored = LOG.stored_after(txn, after, limit)?;
    let mut resolver = Resolver::new(txn);
    stored.into_iter().map(|e| resolver.event(e)).collect()
}

/// The events as the log table of `T` keeps them for an import: each `CREATE`/`UPDATE` of a
/// compute record by reference when the record it would resolve to (see the module
/// documentation) is the one it is a version of, whole otherwise. Also returns the deletions
/// (ID, event number) for [`index_delete`]. A backend that keeps values
/// ([`ReadTxn::KEEPS_VALUES`]) needs neither: its events stay whole and `records` is not read.
pub(crate) fn for_import<T: ReadTxn>(
    events: Vec<Event>,
    records: &BTreeMap<String, Stored>,
) -> (Vec<StoredEvent>, Vec<(String, u64)>) {
    if T::KEEPS_VALUES {
        return (events.into_iter().map(StoredEvent::from).collect(), Vec::new());
    }
    // The base of each event, walking back from the end: the next deletion of the same ID, or
    // the record.
    let mut next_delete: BTreeMap<String, Stored> = BTreeMap::new();
    let mut out = Vec::with_capacity(events.len());
    let mut deletes = Vec::new();
    for e in events.into_iter().rev() {
        let mut stored = StoredEvent::from(e);
        if let SharedObject::LocalExecution(rec) = &stored.object {
            let id = String::from(rec.id());
            if stored.operation == Operation::Delete {
                deletes.push((id.clone(), stored.seq_num));
                next_delete.insert(id, rec.clone());
            } else {
                let base = next_delete.get(&id).or_else(|| records.get(&id));
                if let Some(base) = base.filter(|b| b.is_version(&rec.clone().into_record())) {
                    stored.object = SharedObject::LocalVersion(base.at(rec.state(), rec.version(), rec.update_time()));
                }
            }
        }
        out.push(stored);
    }
    out.reverse();
    (out, deletes)
}

/// Drops the index entries of deletions numbered up to `through` (trimmed from the log).
pub(crate) fn trim_deletes<T: WriteTxn>(txn: &mut T, through: u64) -> Result<(), StorageError> {
    if T::KEEPS_VALUES {
        return Ok(());
    }
    let mut trimmed = Vec::new();
    txn.scan_keys(DELETES, KeyRange::ALL, Direction::Forward, &mut |k| {
        if deleted_by(k)? <= through {
            trimmed.push(k.to_vec());
        }
        Ok(true)
    })?;
    for k in &trimmed {
        txn.delete(DELETES, k)?;
    }
    Ok(())
}

/// Resolves every event and checks the deletion index against the log (neither exists in a
/// backend that keeps values).
pub(crate) fn check<T: ReadTxn>(txn: &T, problems: &mut Vec<String>) -> Result<(), StorageError> {
    if T::KEEPS_VALUES {
        return Ok(());
    }
    let mut resolver = Resolver::new(txn);
    let mut expected = alloc::collections::BTreeSet::new();
    // A reference is resolved against the deletions after it, so a deletion logged before the
    // first reference (a schema-1 log, written before references existed, or a whole imported
    // prefix) is never needed: its index entry may be there or not. Every later one must be.
    let mut references_seen = false;
    for e in LOG.stored_after(txn, 0, 0)? {
        references_seen |= matches!(e.object, SharedObject::LocalVersion(_));
        if let (Operation::Delete, SharedObject::LocalExecution(rec)) = (e.operation, &e.object) {
            let key = delete_key(rec.id(), e.seq_num).into_vec();
            if references_seen || txn.contains(DELETES, &key)? {
                expected.insert(key);
            }
        }
        let seq = e.seq_num;
        if let Err(err) = resolver.event(e) {
            problems.push(alloc::format!("events: event {seq}: {err}"));
        }
        if problems.len() >= 1000 {
            return Ok(());
        }
    }
    crate::store::diff_index(txn, DELETES, &expected, problems)
}
