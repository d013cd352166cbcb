//! How the compute store keeps history (schema 3): rows of up to [`CHUNK`] consecutive entries of
//! one execution, keyed `(ID, sequence of the first)`, each entry an array without its ID.
//!
//! A lifecycle writes five entries per execution. As rows of their own (schema 2) each cost a
//! ~45-byte key beside a ~23-byte entry, and rows inserted in random ID order leave redb's leaves
//! a third empty; in one row they cost the entries and one key. A row is a flat array of six
//! elements per entry, so a schema-2 row (one entry) reads as a row of one, and schema-1 entries
//! (maps) still read. An entry whose own ID differs from its key's (possible only through an
//! import of a hand-made snapshot) is kept whole, as a map, in a row of its own.
//!
//! Only backends that encode values append to rows: rewriting a row there costs a few dozen bytes
//! of encoding, while a backend that keeps values would copy the row's entries at every change,
//! so it keeps one entry per row.

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use super::{CREATED_COMMENT, HISTORY};
use crate::error::StorageError;
use crate::kv::key::{KeyBuf, KeyReader};
use crate::kv::{Direction, KeyRange, ReadTxn, WriteTxn};
use crate::model::LocalStateHistory;
use crate::store::corrupt_key;

/// Entries a row holds at most: bounds what appending to it rewrites (~400 bytes).
pub(crate) const CHUNK: usize = 16;

/// A row of history as stored; [`StoredHistory::into_entries`] gives its entries back with their
/// ID.
#[derive(Clone, Debug)]
pub(crate) struct StoredHistory {
    first: LocalStateHistory,
    /// The entries after `first`, with consecutive sequence numbers (empty in a map row).
    rest: Vec<LocalStateHistory>,
    /// The entries' ID is the key's (stored compactly, restored from the key when read).
    keyed: bool,
}

/// Elements of one entry in the compact form: previous state, new state, new version, comment,
/// seconds and nanoseconds of the time. The comment the store writes on every creation
/// ([`CREATED_COMMENT`], a fifth of a lifecycle's row) is the integer [`CREATED_CODE`] (schema 3).
const FIELDS: usize = 6;

/// [`CREATED_COMMENT`] in the compact form.
const CREATED_CODE: u8 = 0;

/// A comment in the compact form: text, or [`CREATED_CODE`].
struct Comment(String);

impl<'de> Deserialize<'de> for Comment {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Comment;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("a comment (text, or 0 for the creation comment)")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Comment, E> {
                Ok(Comment(v.into()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Comment, E> {
                Ok(Comment(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Comment, E> {
                match v {
                    0 => Ok(Comment(CREATED_COMMENT.into())),
                    _ => Err(E::invalid_value(serde::de::Unexpected::Unsigned(v), &self)),
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl StoredHistory {
    /// A row of one entry, stored under the key of execution `key_id`.
    pub fn new(entry: LocalStateHistory, key_id: &str) -> Self {
        let keyed = entry.execution_id == key_id;
        StoredHistory { first: entry, rest: Vec::new(), keyed }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        1 + self.rest.len()
    }

    /// Whether `entry` of execution `key_id` can be appended (the caller numbers it next).
    fn can_take(&self, entry: &LocalStateHistory, key_id: &str) -> bool {
        self.keyed && entry.execution_id == key_id && self.len() < CHUNK
    }

    /// The entries read from under the key of execution `key_id`, oldest first.
    pub fn into_entries(self, key_id: &str) -> impl Iterator<Item = LocalStateHistory> + '_ {
        let keyed = self.keyed;
        core::iter::once(self.first).chain(self.rest).map(move |mut entry| {
            if keyed && entry.execution_id != key_id {
                entry.execution_id = key_id.into();
            }
            entry
        })
    }
}

impl Serialize for StoredHistory {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        if !self.keyed {
            // A map row holds one entry (`can_take` refuses the rest).
            return self.first.serialize(s);
        }
        let mut t = s.serialize_tuple(FIELDS * self.len())?;
        for e in core::iter::once(&self.first).chain(&self.rest) {
            t.serialize_element(&e.previous_state)?;
            t.serialize_element(&e.new_state)?;
            t.serialize_element(&e.new_version)?;
            if e.comment == CREATED_COMMENT {
                t.serialize_element(&CREATED_CODE)?;
            } else {
                t.serialize_element(&e.comment)?;
            }
            crate::codec::compact::write_time(&mut t, e.time)?;
        }
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
        f.write_str("a history row")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, m: A) -> Result<StoredHistory, A::Error> {
        let first = LocalStateHistory::deserialize(serde::de::value::MapAccessDeserializer::new(m))?;
        Ok(StoredHistory { first, rest: Vec::new(), keyed: false })
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, a: A) -> Result<StoredHistory, A::Error> {
        const EXPECTED: &str = "a history row of 6 elements per entry";
        let mut f = crate::codec::compact::Fields::new(a, FIELDS, EXPECTED);
        // The next entry, or `None` at the end of the row.
        let entry = |f: &mut crate::codec::compact::Fields<A>| -> Result<Option<LocalStateHistory>, A::Error> {
            let Some(previous_state) = f.more()? else { return Ok(None) };
            let new_state = f.next()?;
            let new_version = f.next()?;
            let Comment(comment) = f.next()?;
            let time = f.time()?;
            let execution_id = String::new();
            Ok(Some(LocalStateHistory { execution_id, previous_state, new_state, new_version, comment, time }))
        };
        let first = entry(&mut f)?.ok_or_else(|| serde::de::Error::invalid_length(0, &EXPECTED))?;
        let mut rest = Vec::new();
        while let Some(e) = entry(&mut f)? {
            rest.push(e);
        }
        Ok(StoredHistory { first, rest, keyed: true })
    }
}

fn row_key(id: &str, seq: u64) -> KeyBuf {
    KeyBuf::new().str(id).u64(seq)
}

/// The sequence number of the first entry of the row under `key`, in execution `prefix`.
fn row_start(prefix: &[u8], key: &[u8]) -> Result<u64, StorageError> {
    key.strip_prefix(prefix).and_then(|seq| KeyReader::new(seq).u64()).ok_or_else(|| corrupt_key(HISTORY))
}

/// Where an execution's next history entry goes: its number, and the last row when the entry
/// may join it.
#[derive(Debug)]
pub(crate) struct Tail {
    next_seq: u64,
    row: Option<(u64, StoredHistory)>,
}

impl Tail {
    /// The tail of an execution without history.
    pub fn empty() -> Self {
        Tail { next_seq: 1, row: None }
    }

    /// The number the next entry takes.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The tail of execution `id` as stored; `known` is its next number when the caller has it
    /// from the value a backend that keeps values holds (see `Stored::next_history`).
    pub fn read<T: ReadTxn>(txn: &T, id: &str, known: Option<u64>) -> Result<Self, StorageError> {
        if T::KEEPS_VALUES {
            let next_seq = match known {
                Some(n) => n,
                None => crate::store::next_seq(txn, HISTORY, id)?,
            };
            return Ok(Tail { next_seq, row: None });
        }
        let prefix = KeyBuf::new().str(id);
        let upper = prefix.upper_bound();
        // The greatest key below the prefix's upper bound is the last row, if it has the prefix.
        let range = KeyRange { start: core::ops::Bound::Unbounded, end: KeyRange::under(&prefix, &upper).end };
        let mut tail = Tail::empty();
        txn.scan(HISTORY, range, Direction::Reverse, &mut |k, row: StoredHistory| {
            if k.starts_with(prefix.as_bytes()) {
                let start = row_start(prefix.as_bytes(), k)?;
                tail.next_seq = start.saturating_add(row.len() as u64);
                tail.row = Some((start, row));
            }
            Ok(false)
        })?;
        Ok(tail)
    }

    /// Writes `entry` of execution `id` as its next one and returns the new tail.
    pub fn append<T: WriteTxn>(self, txn: &mut T, id: &str, entry: LocalStateHistory) -> Result<Self, StorageError> {
        let seq = self.next_seq;
        let next_seq = seq.saturating_add(1);
        let (start, row) = match self.row {
            Some((start, mut row)) if row.can_take(&entry, id) => {
                row.rest.push(entry);
                (start, row)
            }
            _ => (seq, StoredHistory::new(entry, id)),
        };
        // A row holds consecutive entries from its key's number: the one just added is `seq`.
        debug_assert_eq!(start + row.rest.len() as u64, seq, "history row of {id} is not consecutive");
        if T::KEEPS_VALUES {
            txn.put(HISTORY, row_key(id, start).as_bytes(), row)?;
            return Ok(Tail { next_seq, row: None });
        }
        txn.put_ref(HISTORY, row_key(id, start).as_bytes(), &row)?;
        Ok(Tail { next_seq, row: Some((start, row)) })
    }
}

/// A page of execution `id`'s entries after the entry a token names. The token names the last
/// entry returned by its key, `(ID, sequence number)`, as a row of one would be keyed, so tokens
/// stay valid whichever way the entries are grouped into rows.
pub(crate) fn page<T: ReadTxn, E: From<StorageError>>(
    txn: &T,
    id: &str,
    limit: u32,
    next_token: Option<&str>,
    (scope, fingerprint): (u8, u32),
    bad_token: impl FnOnce(String) -> E,
) -> Result<crate::page::Page<LocalStateHistory>, E> {
    let prefix = KeyBuf::new().str(id);
    let upper = prefix.upper_bound();
    let whole = KeyRange::under(&prefix, &upper);
    let after = match next_token {
        Some(t) => match crate::page::decode(t, scope, fingerprint).map(|key| row_start(prefix.as_bytes(), &key)) {
            Ok(Ok(seq)) => Some(seq),
            // The fingerprint matched but the key is not one of this execution's: made by hand.
            Ok(Err(_)) => return Err(bad_token("not a position in this execution's history".into())),
            Err(reason) => return Err(bad_token(reason)),
        },
        None => None,
    };
    // The row holding the entry after `after` starts at or before it: the last row from there
    // back.
    let mut from = None;
    if let Some(after) = after {
        let key = row_key(id, after.saturating_add(1));
        let back = KeyRange { start: whole.start, end: core::ops::Bound::Included(key.as_bytes()) };
        txn.scan_keys(HISTORY, back, Direction::Reverse, &mut |k| {
            from = Some(k.to_vec());
            Ok(false)
        })?;
    }
    let range = match &from {
        Some(k) => KeyRange { start: core::ops::Bound::Included(k.as_slice()), end: whole.end },
        None => whole,
    };
    let limit = limit as usize;
    let mut items = Vec::new();
    let mut last = 0;
    let mut more = false;
    txn.scan(HISTORY, range, Direction::Forward, &mut |k, row: StoredHistory| {
        let start = row_start(prefix.as_bytes(), k)?;
        for (i, entry) in row.into_entries(id).enumerate() {
            let seq = start.saturating_add(i as u64);
            if after.is_some_and(|after| seq <= after) {
                continue;
            }
            if limit != 0 && items.len() == limit {
                more = true;
                return Ok(false);
            }
            last = seq;
            items.push(entry);
        }
        Ok(true)
    })?;
    let next_token = more.then(|| crate::page::encode(scope, fingerprint, row_key(id, last).as_bytes()));
    Ok(crate::page::Page { items, next_token })
}

/// Every entry of the table as (execution ID, sequence number, entry), in key order.
pub(crate) fn all<T: ReadTxn>(txn: &T) -> Result<Vec<(String, u64, LocalStateHistory)>, StorageError> {
    let mut out = Vec::new();
    txn.scan(HISTORY, KeyRange::ALL, Direction::Forward, &mut |k, row: StoredHistory| {
        let mut r = KeyReader::new(k);
        let (Some(id), Some(start)) = (r.str(), r.u64()) else { return Err(corrupt_key(HISTORY)) };
        for (i, entry) in row.into_entries(&id).enumerate() {
            out.push((id.clone(), start.saturating_add(i as u64), entry));
        }
        Ok(true)
    })?;
    Ok(out)
}

/// Writes imported entries (any order; of equal keys the last wins), joining consecutive entries
/// of one execution into rows where the backend appends to rows.
pub(crate) fn import<T: WriteTxn>(
    txn: &mut T,
    mut entries: Vec<(String, u64, LocalStateHistory)>,
) -> Result<(), StorageError> {
    if T::KEEPS_VALUES {
        for (id, seq, entry) in entries {
            txn.put(HISTORY, row_key(&id, seq).as_bytes(), StoredHistory::new(entry, &id))?;
        }
        return Ok(());
    }
    entries.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    // Of equal keys the last one stays, as when each entry was put in turn.
    entries.reverse();
    entries.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
    entries.reverse();
    let mut open: Option<(String, u64, StoredHistory)> = None;
    for (id, seq, entry) in entries {
        if let Some((open_id, start, row)) = &mut open {
            if *open_id == id && seq == *start + row.len() as u64 && row.can_take(&entry, &id) {
                row.rest.push(entry);
                continue;
            }
        }
        if let Some((open_id, start, row)) = open.take() {
            txn.put(HISTORY, row_key(&open_id, start).as_bytes(), row)?;
        }
        let row = StoredHistory::new(entry, &id);
        open = Some((id, seq, row));
    }
    if let Some((id, start, row)) = open {
        txn.put(HISTORY, row_key(&id, start).as_bytes(), row)?;
    }
    Ok(())
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
        assert_eq!(back.into_entries(&e.execution_id).collect::<Vec<_>>(), core::slice::from_ref(&e));
        // The creation comment is a code; schema 2 wrote it as text, which still reads; other
        // codes are refused.
        let t = (e.time.unix_seconds(), e.time.subsec_nanos());
        assert_eq!(bytes, encode(&(e.previous_state, e.new_state, e.new_version, CREATED_CODE, t.0, t.1)));
        let schema_2 = encode(&(e.previous_state, e.new_state, e.new_version, CREATED_COMMENT, t.0, t.1));
        let back: StoredHistory = ciborium::from_reader(schema_2.as_slice()).unwrap();
        assert_eq!(back.into_entries(&e.execution_id).collect::<Vec<_>>(), core::slice::from_ref(&e));
        let unknown = encode(&(e.previous_state, e.new_state, e.new_version, 7u8, t.0, t.1));
        assert!(ciborium::from_reader::<StoredHistory, _>(unknown.as_slice()).is_err());
    }

    #[test]
    fn a_row_of_several_entries_reads_back_in_order_and_a_schema_2_row_is_a_row_of_one() {
        let id = "0f8fad5b-d9cb-469f-a165-70867728950e";
        let entries: Vec<_> = (1..=CHUNK as u64)
            .map(|v| LocalStateHistory { new_version: v, comment: alloc::format!("c{v}"), ..entry(id) })
            .collect();
        let mut row = StoredHistory::new(entries[0].clone(), id);
        for e in &entries[1..] {
            assert!(row.can_take(e, id));
            row.rest.push(e.clone());
        }
        assert!(!row.can_take(&entries[0], id), "a full row takes no more");
        let bytes = encode(&row);
        let back: StoredHistory = ciborium::from_reader(bytes.as_slice()).unwrap();
        assert_eq!(back.len(), CHUNK);
        assert_eq!(back.into_entries(id).collect::<Vec<_>>(), entries);
        // The first entry alone is exactly what schema 2 stored for it.
        let one = encode(&StoredHistory::new(entries[0].clone(), id));
        let e = &entries[0];
        let schema_2 = encode(&(
            e.previous_state,
            e.new_state,
            e.new_version,
            &e.comment,
            e.time.unix_seconds(),
            e.time.subsec_nanos(),
        ));
        assert_eq!(one, schema_2);
    }

    #[test]
    fn an_entry_under_another_key_and_a_schema_1_entry_stay_maps() {
        let e = entry("e-1");
        let bytes = encode(&StoredHistory::new(e.clone(), "e-2"));
        assert_eq!(bytes, encode(&e));
        let back: StoredHistory = ciborium::from_reader(bytes.as_slice()).unwrap();
        assert!(!back.can_take(&entry("e-2"), "e-2"), "a map row holds one entry");
        assert_eq!(back.into_entries("e-2").collect::<Vec<_>>(), [e], "its own ID is kept");
    }

    #[test]
    fn a_malformed_or_empty_row_is_a_decoding_error() {
        for bytes in [
            encode(&(0u8, 1u8, 1u64, "c", 0i64)),
            encode(&(0u8, 1u8, 1u64, "c", 0i64, 0u32, 0u8)),
            encode(&(0u8, 1u8, 1u64, "c", 0i64, 1_000_000_000u32)),
            encode(&(0u8, 99u8, 1u64, "c", 0i64, 0u32)),
            encode(&Vec::<u8>::new()),
            encode(&(0u8, 1u8, 1u64, "c", 0i64, 0u32, 1u8, 2u8, 2u64, "d", 0i64)),
        ] {
            assert!(ciborium::from_reader::<StoredHistory, _>(bytes.as_slice()).is_err(), "{bytes:x?}");
        }
    }
}
