//! What both stores share: the backend handle, the policy and clock, the closed flag, and the
//! helpers for ID resolution, counters and the event log. Everything here is written against the
//! [`kv`](crate::kv) traits only.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use crate::clock::Clock;
use crate::error::StorageError;
use crate::event::{Event, Operation, SharedObject, StoredEvent};
use crate::kv::key::{prefix_upper_bound, KeyBuf, KeyReader};
use crate::kv::{Backend, Direction, Durability, KeyRange, ReadTxn, Table, Value, WriteTxn};
use crate::transition::Policy;

/// How many matches an ambiguous-prefix error lists.
pub(crate) const AMBIGUOUS_LIST: usize = 10;

pub(crate) struct Shell<B> {
    pub backend: B,
    pub policy: Policy,
    pub clock: Box<dyn Clock>,
    closed: AtomicBool,
}

impl<B: Backend> Shell<B> {
    pub fn new(backend: B, policy: Policy, clock: Box<dyn Clock>) -> Self {
        Self { backend, policy, clock, closed: AtomicBool::new(false) }
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Runs `f` in a read transaction.
    pub fn read<'a, X, R>(&'a self, f: impl FnOnce(&X) -> Result<R, X::Error>) -> Result<R, X::Error>
    where
        X: OpenTx<'a, B::Read<'a>>,
    {
        if self.is_closed() {
            return Err(X::Error::closed());
        }
        let txn = self.backend.begin_read()?;
        f(&X::open(txn, self.policy, &*self.clock))
    }

    /// Runs `f` in a write transaction and commits when it returns `Ok`; any `Err` (or a drop on
    /// unwind) rolls everything back.
    pub fn write<'a, X, R, E>(&'a self, durability: Durability, f: impl FnOnce(&mut X) -> Result<R, E>) -> Result<R, E>
    where
        X: OpenTx<'a, B::Write<'a>> + CommitTx<Error = <X as OpenTx<'a, B::Write<'a>>>::Error>,
        E: From<<X as OpenTx<'a, B::Write<'a>>>::Error>,
    {
        if self.is_closed() {
            return Err(E::from(<X as OpenTx<'a, B::Write<'a>>>::Error::closed()));
        }
        let txn = self.backend.begin_write(durability).map_err(|e| E::from(e.into()))?;
        let mut tx = X::open(txn, self.policy, &*self.clock);
        let out = f(&mut tx)?;
        tx.commit().map_err(E::from)?;
        Ok(out)
    }

    /// Idempotent: only the first call closes the backend.
    pub fn close(&self) -> Result<(), StorageError> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        self.backend.close()
    }
}

/// The part of a store's API that does not depend on what it stores: construction, policy,
/// backend access, the transaction entry points and close. Each store invokes it once, so the
/// two stores cannot drift apart here. `read_op!`/`write_op!` then declare each operation as a
/// one-line delegation to the store's transaction type (`OpError` is the store's error type).
macro_rules! store_surface {
    ($store:ident, $tx:ident, $err:ident, $snapshot:ident, $stats:ident) => {
        impl<B: crate::kv::Backend> core::fmt::Debug for $store<B> {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.debug_struct(stringify!($store)).field("policy", &self.shell.policy).finish_non_exhaustive()
            }
        }

        impl<B: crate::kv::Backend> $store<B> {
            pub(crate) fn from_parts(
                backend: B,
                policy: crate::transition::Policy,
                clock: alloc::boxed::Box<dyn crate::clock::Clock>,
            ) -> Self {
                Self { shell: crate::shell::Shell::new(backend, policy, clock) }
            }

            /// The transition policy.
            pub fn policy(&self) -> crate::transition::Policy {
                self.shell.policy
            }

            /// The backend (for backend-specific maintenance such as compaction).
            pub fn backend(&self) -> &B {
                &self.shell.backend
            }

            fn read<'a, R>(&'a self, f: impl FnOnce(&$tx<'a, B::Read<'a>>) -> Result<R, $err>) -> Result<R, $err> {
                self.shell.read(f)
            }

            /// Runs `f` in one write transaction with durable commit: every operation in it
            /// commits together, or none does (an `Err` from `f`, or a storage failure, rolls all
            /// back). This is also the group-commit entry point: many operations, one fsync.
            ///
            /// # Errors
            /// `f`'s error, `Closed`, or a storage error from the commit.
            pub fn transaction<'a, R, E>(
                &'a self,
                f: impl FnOnce(&mut $tx<'a, B::Write<'a>>) -> Result<R, E>,
            ) -> Result<R, E>
            where
                E: From<$err>,
            {
                self.transaction_with(crate::kv::Durability::Immediate, f)
            }

            /// [`transaction`](Self::transaction) with a chosen durability (`Durability::None`
            /// defers the fsync to a later durable commit: for bulk loads and benchmarks only).
            pub fn transaction_with<'a, R, E>(
                &'a self,
                durability: crate::kv::Durability,
                f: impl FnOnce(&mut $tx<'a, B::Write<'a>>) -> Result<R, E>,
            ) -> Result<R, E>
            where
                E: From<$err>,
            {
                self.shell.write(durability, f)
            }

            /// Closes the store; idempotent. Every later call returns a `Closed` error.
            pub fn close(&self) -> Result<(), $err> {
                self.shell.close().map_err($err::from)
            }

            /// Whether [`close`](Self::close) was called.
            pub fn is_closed(&self) -> bool {
                self.shell.is_closed()
            }

            crate::shell::read_op!(
                /// Counts per state, totals and the last event sequence number.
                stats() -> $stats
            );
            crate::shell::read_op!(
                /// Events after sequence number `after`, oldest first; `limit` 0 = all.
                events_after(after: u64, limit: u32) -> alloc::vec::Vec<crate::event::Event>
            );
            crate::shell::read_op!(
                /// The sequence number last stored under `name`.
                get_checkpoint(name: &str) -> Option<u64>
            );
            crate::shell::read_op!(
                /// Everything in the store.
                snapshot() -> $snapshot
            );
            crate::shell::read_op!(
                /// The store as portable snapshot bytes (see [`crate::snapshot`]).
                export_snapshot() -> alloc::vec::Vec<u8>
            );
            crate::shell::read_op!(
                /// Recomputes every index and count from the records and reports differences.
                check() -> crate::shell::CheckReport
            );
            crate::shell::write_op!(
                /// Stores `seq` under the consumer name `name`.
                checkpoint(name: &str, seq: u64) -> ()
            );
            crate::shell::write_op!(
                /// Deletes events up to and including `through`; returns how many were deleted.
                trim_events(through: u64) -> u64
            );
            crate::shell::write_op!(
                /// Loads snapshot bytes into this empty store (one transaction: all or nothing).
                import_snapshot(bytes: &[u8]) -> ()
            );
            crate::shell::write_op!(
                /// Loads a snapshot into this empty store (one transaction: all or nothing).
                import(snapshot: $snapshot) -> ()
            );
        }
    };
}
pub(crate) use store_surface;

/// A store method that runs one read operation.
macro_rules! read_op {
    ($(#[$m:meta])* $name:ident ( $($arg:ident : $ty:ty),* ) -> $ret:ty) => {
        $(#[$m])*
        pub fn $name(&self, $($arg: $ty),*) -> Result<$ret, OpError> {
            self.read(|tx| tx.$name($($arg),*))
        }
    };
}
pub(crate) use read_op;

/// A store method that runs one write operation in its own durable transaction.
macro_rules! write_op {
    ($(#[$m:meta])* $name:ident ( $($arg:ident : $ty:ty),* ) -> $ret:ty) => {
        $(#[$m])*
        pub fn $name(&self, $($arg: $ty),*) -> Result<$ret, OpError> {
            self.transaction(|tx| tx.$name($($arg),*))
        }
    };
}
pub(crate) use write_op;

/// A store family's error type, as the shell needs it.
pub(crate) trait FamilyError: From<StorageError> {
    fn closed() -> Self;
}

impl FamilyError for crate::error::ComputeError {
    fn closed() -> Self {
        Self::Closed
    }
}

impl FamilyError for crate::error::JobStoreError {
    fn closed() -> Self {
        Self::Closed
    }
}

/// A store's transaction type, opened over a backend transaction.
pub(crate) trait OpenTx<'a, T>: Sized {
    type Error: FamilyError;
    fn open(txn: T, policy: Policy, clock: &'a dyn Clock) -> Self;
}

/// A store's write transaction: commits unless a storage failure poisoned it.
pub(crate) trait CommitTx: Sized {
    type Error;
    fn commit(self) -> Result<(), Self::Error>;
}

/// The tables of an event log, per store kind.
#[derive(Clone, Copy)]
pub(crate) struct LogTables {
    pub events: Table<StoredEvent>,
    pub checkpoints: Table<u64>,
    pub counters: Table<u64>,
}

/// The counter key of the last event number: `KeyBuf::new().str("event_seq")`.
const EVENT_SEQ: &[u8] = b"event_seq\0\x01";

impl LogTables {
    pub fn last_seq<T: ReadTxn>(&self, txn: &T) -> Result<u64, StorageError> {
        Ok(txn.get(self.counters, EVENT_SEQ)?.unwrap_or(0))
    }

    /// Appends in the caller's transaction: the event commits or rolls back with the change.
    pub fn append<T: WriteTxn>(
        &self,
        txn: &mut T,
        timestamp: i64,
        operation: Operation,
        object: SharedObject,
    ) -> Result<u64, StorageError> {
        let mut seq_num = 0;
        txn.update(self.counters, EVENT_SEQ, |last: Option<u64>| {
            seq_num = last.unwrap_or(0) + 1;
            Some(seq_num)
        })?;
        let event = StoredEvent { seq_num, operation, timestamp, object };
        txn.put(self.events, &seq_num.to_be_bytes(), event)?;
        Ok(seq_num)
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

/// A page of the values under a key prefix that `keep` accepts, resuming after the key a token
/// names. A token carries `scope` (which listing) and `fingerprint` (which query) so that one
/// replayed against another listing is refused through `bad_token`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn paged<T: ReadTxn, V: Value, E: From<StorageError>>(
    txn: &T,
    table: Table<V>,
    prefix: &[u8],
    limit: u32,
    next_token: Option<&str>,
    (scope, fingerprint): (u8, u32),
    keep: impl Fn(&V) -> bool,
    bad_token: impl FnOnce(String) -> E,
) -> Result<crate::page::Page<V>, E> {
    let upper = prefix_upper_bound(prefix);
    let whole = KeyRange::prefix(prefix, &upper);
    let after = match next_token {
        Some(t) => Some(crate::page::decode(t, scope, fingerprint).map_err(bad_token)?),
        None => None,
    };
    let range = match &after {
        Some(k) => KeyRange { start: core::ops::Bound::Excluded(k.as_slice()), end: whole.end },
        None => whole,
    };
    let limit = limit as usize;
    let mut items = Vec::new();
    let mut last_key = Vec::new();
    let mut more = false;
    txn.scan(table, range, Direction::Forward, &mut |k, v| {
        if !keep(&v) {
            return Ok(true);
        }
        if limit != 0 && items.len() == limit {
            more = true;
            return Ok(false);
        }
        last_key.clear();
        last_key.extend_from_slice(k);
        items.push(v);
        Ok(true)
    })?;
    let next_token = more.then(|| crate::page::encode(scope, fingerprint, &last_key));
    Ok(crate::page::Page { items, next_token })
}

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

impl<T: ReadTxn + ?Sized> ReadTxn for &T {
    fn get<V: Value>(&self, table: Table<V>, key: &[u8]) -> Result<Option<V>, StorageError> {
        (**self).get(table, key)
    }
    fn contains<V: Value>(&self, table: Table<V>, key: &[u8]) -> Result<bool, StorageError> {
        (**self).contains(table, key)
    }
    fn scan<V: Value>(
        &self,
        table: Table<V>,
        range: KeyRange<'_>,
        dir: Direction,
        visit: &mut crate::kv::Visitor<'_, V>,
    ) -> Result<(), StorageError> {
        (**self).scan(table, range, dir, visit)
    }
    fn scan_keys<V: Value>(
        &self,
        table: Table<V>,
        range: KeyRange<'_>,
        dir: Direction,
        visit: &mut dyn FnMut(&[u8]) -> Result<bool, StorageError>,
    ) -> Result<(), StorageError> {
        (**self).scan_keys(table, range, dir, visit)
    }
}

/// Compares an index table with the entries the records imply, both ways, naming each
/// difference.
pub(crate) fn diff_index<T: ReadTxn>(
    txn: &T,
    table: Table<()>,
    expected: &alloc::collections::BTreeSet<Vec<u8>>,
    problems: &mut Vec<String>,
) -> Result<(), StorageError> {
    let mut seen = alloc::collections::BTreeSet::new();
    txn.scan_keys(table, KeyRange::ALL, Direction::Forward, &mut |k| {
        if !expected.contains(k) {
            problems.push(alloc::format!("{}: entry {} points at no matching record", table.name(), show_key(k)));
        }
        seen.insert(k.to_vec());
        Ok(problems.len() < 1000)
    })?;
    for k in expected.difference(&seen) {
        problems.push(alloc::format!("{}: missing entry {}", table.name(), show_key(k)));
    }
    Ok(())
}

/// Records per state, indexed by the state's byte (the key of the count tables), as a check
/// recomputes them. An array rather than a map: the wasm package then holds no `BTreeMap<u8, _>`
/// insertion and rebalancing code for this one use (~9 KB).
pub(crate) type StateCounts = [u64; 256];

/// Compares stored per-state counts with the counts the records imply (`expected`, where 0
/// means no entry: a stored zero count is a difference too).
pub(crate) fn diff_counts<T: ReadTxn>(
    txn: &T,
    table: Table<u64>,
    expected: &StateCounts,
    pending: impl Iterator<Item = (u8, u64)>,
    problems: &mut Vec<String>,
) -> Result<(), StorageError> {
    let mut stored: [Option<u64>; 256] = [None; 256];
    txn.scan(table, KeyRange::ALL, Direction::Forward, &mut |k, v| {
        stored[usize::from(k.first().copied().unwrap_or(u8::MAX))] = Some(v);
        Ok(true)
    })?;
    for (state, n) in pending {
        stored[usize::from(state)] = (n > 0).then_some(n);
    }
    let expected: [Option<u64>; 256] = core::array::from_fn(|s| (expected[s] > 0).then_some(expected[s]));
    if stored != expected {
        problems.push(alloc::format!(
            "{}: stored counts {} differ from the records' {}",
            table.name(),
            show_counts(&stored),
            show_counts(&expected)
        ));
    }
    Ok(())
}

/// `{state: count, ...}`, as the counts' map used to print.
fn show_counts(counts: &[Option<u64>; 256]) -> String {
    let entries: Vec<String> =
        counts.iter().enumerate().filter_map(|(s, n)| Some(alloc::format!("{s}: {}", (*n)?))).collect();
    alloc::format!("{{{}}}", entries.join(", "))
}

/// Checks that the event log is gap-free and ends at the counter's value `last`.
pub(crate) fn check_log<T: ReadTxn>(
    txn: &T,
    log: &LogTables,
    last: u64,
    problems: &mut Vec<String>,
) -> Result<u64, StorageError> {
    let mut prev: Option<u64> = None;
    let mut count = 0;
    txn.scan(log.events, KeyRange::ALL, Direction::Forward, &mut |_, e: StoredEvent| {
        if let Some(p) = prev {
            if e.seq_num != p + 1 {
                problems.push(alloc::format!("events: gap between {p} and {}", e.seq_num));
            }
        }
        prev = Some(e.seq_num);
        count += 1;
        Ok(true)
    })?;
    if let Some(p) = prev {
        if p != last {
            problems.push(alloc::format!("events: log ends at {p} but the sequence counter is {last}"));
        }
    }
    Ok(count)
}

/// A printable form of a key for reports: text where it is text, hex bytes otherwise.
pub(crate) fn show_key(k: &[u8]) -> String {
    use core::fmt::Write;
    let mut s = String::new();
    for &b in k {
        if b.is_ascii_graphic() {
            s.push(b as char);
        } else {
            let _ = write!(s, "\\x{b:02x}");
        }
    }
    s
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

/// The result of a consistency check.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckReport {
    /// Primary records checked.
    pub records: u64,
    /// History entries checked.
    pub history_entries: u64,
    /// Events checked.
    pub events: u64,
    /// Every inconsistency found (empty when the store is consistent).
    pub problems: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_counter_key_is_the_encoded_name() {
        assert_eq!(EVENT_SEQ, KeyBuf::new().str("event_seq").as_bytes());
    }

    #[test]
    fn count_differences_are_reported_with_both_sides_and_pending_counts_override_stored_ones() {
        use crate::kv::memory::MemoryBackend;
        use crate::kv::Backend as _;
        const COUNTS: Table<u64> = Table::new(1, "counts");
        let db = MemoryBackend::new();
        let mut txn = db.begin_write(crate::kv::Durability::None).unwrap();
        txn.put(COUNTS, &[1], 3).unwrap();
        txn.put(COUNTS, &[4], 0).unwrap();
        let mut expected: StateCounts = [0; 256];
        expected[1] = 3;
        let diff = |expected: &StateCounts, pending: &[(u8, u64)]| {
            let mut problems = Vec::new();
            diff_counts(&txn, COUNTS, expected, pending.iter().copied(), &mut problems).unwrap();
            problems
        };
        // A stored zero count is an entry the records do not imply.
        assert_eq!(diff(&expected, &[]), ["counts: stored counts {1: 3, 4: 0} differ from the records' {1: 3}"]);
        assert!(diff(&expected, &[(4, 0)]).is_empty());
        expected[2] = 7;
        assert_eq!(diff(&expected, &[(4, 0)]), ["counts: stored counts {1: 3} differ from the records' {1: 3, 2: 7}"]);
        assert!(diff(&expected, &[(4, 0), (2, 7)]).is_empty());
    }
}
