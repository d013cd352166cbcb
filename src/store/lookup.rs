//! Resolving IDs (exact first, then a unique prefix) and reading string keys.

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::StorageError;
use crate::kv::key::{KeyBuf, KeyReader};
use crate::kv::{Direction, KeyRange, ReadTxn, Table, Value};

/// How many matches an ambiguous-prefix error lists.
pub(crate) const AMBIGUOUS_LIST: usize = 10;

/// Decodes a key holding exactly one string.
pub(crate) fn decode_str_key<V>(table: Table<V>, key: &[u8]) -> Result<String, StorageError> {
    let mut r = KeyReader::new(key);
    match r.str() {
        Some(s) if r.is_empty() => Ok(s),
        _ => Err(corrupt_key(table)),
    }
}

pub(crate) fn corrupt_key<V>(table: Table<V>) -> StorageError {
    StorageError::Corrupt { table: table.name(), detail: "malformed key".into() }
}

/// Result of looking a record up by exact ID, then by unique prefix.
pub(crate) enum Lookup<V> {
    Found(String, V),
    Missing,
    Ambiguous(Vec<String>),
}

/// Exact match first, then a unique prefix (SPEC W-J2): an ID that exists is never ambiguous,
/// even when it is also a prefix of other IDs. A prefix is resolved on keys alone and only the
/// one match's value is read: no record is decoded or copied for an ambiguous prefix, and the
/// scan is compiled once for every record type.
pub(crate) fn lookup<T: ReadTxn, V: Value>(txn: &T, table: Table<V>, id: &str) -> Result<Lookup<V>, StorageError> {
    if let Some(v) = txn.get(table, KeyBuf::new().str(id).as_bytes())? {
        return Ok(Lookup::Found(String::from(id), v));
    }
    let mut ids = prefixed_ids(txn, table.keys(), id)?;
    if ids.len() > 1 {
        ids.truncate(AMBIGUOUS_LIST);
        return Ok(Lookup::Ambiguous(ids));
    }
    let Some(id) = ids.pop() else { return Ok(Lookup::Missing) };
    // The key was just scanned in this transaction: it holds a value.
    Ok(match txn.get(table, KeyBuf::new().str(&id).as_bytes())? {
        Some(v) => Lookup::Found(id, v),
        None => Lookup::Missing,
    })
}

/// The IDs starting with `prefix` in key order, at most `AMBIGUOUS_LIST + 1` (enough to tell
/// one from many and to list the many); none for an empty prefix.
fn prefixed_ids<T: ReadTxn>(txn: &T, table: Table<()>, prefix: &str) -> Result<Vec<String>, StorageError> {
    let mut found = Vec::new();
    if prefix.is_empty() {
        return Ok(found);
    }
    let key = KeyBuf::new().str_prefix(prefix);
    let upper = key.upper_bound();
    txn.scan_keys(table, KeyRange::under(&key, &upper), Direction::Forward, &mut |k| {
        found.push(decode_str_key(table, k)?);
        Ok(found.len() <= AMBIGUOUS_LIST)
    })?;
    Ok(found)
}

/// Collects the last string component of every key under a string prefix component, e.g. the
/// execution IDs of `(job_id, exec_id)` keys for one job.
pub(crate) fn ids_under<T: ReadTxn>(txn: &T, table: Table<()>, first: &str) -> Result<Vec<String>, StorageError> {
    let prefix = KeyBuf::new().str(first);
    let upper = prefix.upper_bound();
    let mut ids = Vec::new();
    txn.scan_keys(table, KeyRange::under(&prefix, &upper), Direction::Forward, &mut |k| {
        let mut r = KeyReader::new(&k[prefix.as_bytes().len()..]);
        match r.str() {
            Some(id) if r.is_empty() => ids.push(id),
            _ => return Err(corrupt_key(table)),
        }
        Ok(true)
    })?;
    Ok(ids)
}

/// The next sequence number under a string prefix of `(id, seq)` keys.
pub(crate) fn next_seq<T: ReadTxn, V: Value>(txn: &T, table: Table<V>, id: &str) -> Result<u64, StorageError> {
    let prefix = KeyBuf::new().str(id);
    let upper = prefix.upper_bound();
    // The greatest key below the prefix's upper bound is the last one under the prefix, if it
    // has the prefix at all: one descent instead of a bounded range's two.
    let range = KeyRange { start: core::ops::Bound::Unbounded, end: KeyRange::under(&prefix, &upper).end };
    let mut last = 0;
    txn.scan_keys(table, range, Direction::Reverse, &mut |k| {
        if let Some(seq) = k.strip_prefix(prefix.as_bytes()) {
            last = KeyReader::new(seq).u64().ok_or_else(|| corrupt_key(table))?;
        }
        Ok(false)
    })?;
    Ok(last + 1)
}
