//! The small transactional table interface the store logic is written against, once.
//!
//! Both stores (compute and requester) are implemented over [`ReadTxn`] / [`WriteTxn`], and every
//! backend implements only these few methods: typed get/put/delete and an ordered scan over byte
//! keys. That is the whole surface a backend can get wrong, so the memory backend and the redb
//! backend cannot diverge in store semantics (SPEC W-J20).
//!
//! Keys are byte strings built with [`key::KeyBuf`], whose encoding preserves the order of the
//! tuple it encodes. Values are typed ([`Value`]): the memory backend keeps them as Rust values
//! (no encoding cost), the redb backend stores a format-version byte followed by CBOR.

pub mod key;
pub mod memory;
#[cfg(feature = "redb")]
pub mod redb;

use core::marker::PhantomData;
use core::ops::Bound;

use serde::{de::DeserializeOwned, Serialize};

use crate::error::StorageError;

/// What a table may hold: plain data that serializes (for files and snapshots) and clones (for
/// the memory backend).
pub trait Value: Clone + Serialize + DeserializeOwned + Send + Sync + 'static {}
impl<T: Clone + Serialize + DeserializeOwned + Send + Sync + 'static> Value for T {}

/// A named table holding values of type `V`, addressed by byte keys.
///
/// `id` is dense per store kind and indexes the memory backend's table vector; `name` is the
/// table's name in a redb file. Both are part of the on-disk format: never renumber or rename.
pub struct Table<V> {
    id: u16,
    name: &'static str,
    _value: PhantomData<fn() -> V>,
}

impl<V> Table<V> {
    /// Declares a table.
    pub const fn new(id: u16, name: &'static str) -> Self {
        Self { id, name, _value: PhantomData }
    }
    /// Dense table number (memory backend slot).
    pub const fn id(&self) -> u16 {
        self.id
    }
    /// Table name (redb table name).
    pub const fn name(&self) -> &'static str {
        self.name
    }
    /// The same table for key scans ([`ReadTxn::scan_keys`]) only, whatever its value type: code
    /// that reads keys alone is then compiled once rather than once per record type.
    pub(crate) const fn keys(self) -> Table<()> {
        Table::new(self.id, self.name)
    }
}

impl<V> Clone for Table<V> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<V> Copy for Table<V> {}
impl<V> core::fmt::Debug for Table<V> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Table({})", self.name)
    }
}

/// A range of byte keys.
#[derive(Clone, Copy, Debug)]
pub struct KeyRange<'a> {
    /// Lower bound.
    pub start: Bound<&'a [u8]>,
    /// Upper bound.
    pub end: Bound<&'a [u8]>,
}

impl<'a> KeyRange<'a> {
    /// Every key.
    pub const ALL: KeyRange<'static> = KeyRange { start: Bound::Unbounded, end: Bound::Unbounded };

    /// Keys in `[start, end)`.
    pub fn between(start: &'a [u8], end: &'a [u8]) -> Self {
        Self { start: Bound::Included(start), end: Bound::Excluded(end) }
    }

    /// Keys starting with `prefix`; `upper` must be [`key::prefix_upper_bound`] of it (kept by the
    /// caller because the range borrows it).
    pub fn prefix(prefix: &'a [u8], upper: &'a Option<alloc::vec::Vec<u8>>) -> Self {
        Self {
            start: Bound::Included(prefix),
            end: match upper {
                Some(u) => Bound::Excluded(u.as_slice()),
                None => Bound::Unbounded,
            },
        }
    }
}

impl<'a> KeyRange<'a> {
    /// Keys starting with `prefix`; `upper` must be its [`KeyBuf::upper_bound`](key::KeyBuf).
    pub(crate) fn under(prefix: &'a key::KeyBuf, upper: &'a Option<key::KeyBuf>) -> Self {
        Self {
            start: Bound::Included(prefix.as_bytes()),
            end: match upper {
                Some(u) => Bound::Excluded(u.as_bytes()),
                None => Bound::Unbounded,
            },
        }
    }
}

/// Direction of a scan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Ascending key order.
    Forward,
    /// Descending key order.
    Reverse,
}

/// The callback of [`ReadTxn::scan`]: gets each key and value, returns whether to go on.
pub type ScanVisitor<'v, V> = dyn FnMut(&[u8], V) -> Result<bool, StorageError> + 'v;

/// Read access to a consistent snapshot of every table.
pub trait ReadTxn {
    /// Whether values come back as the very Rust values that were put (the memory backend)
    /// rather than decoded from bytes. Stores skip work that only encoded values need when it
    /// holds (the compute log's references, `compute::events`); the compiler then drops that
    /// code from builds that use only such a backend (the wasm package).
    const KEEPS_VALUES: bool = false;

    /// The value under `key`, if any.
    fn get<V: Value>(&self, table: Table<V>, key: &[u8]) -> Result<Option<V>, StorageError>;

    /// Whether `key` holds a value (a backend that decodes values need not decode it).
    fn contains<V: Value>(&self, table: Table<V>, key: &[u8]) -> Result<bool, StorageError> {
        Ok(self.get(table, key)?.is_some())
    }

    /// Calls `visit` for each entry in `range`, in `dir` order, until it returns `Ok(false)`.
    fn scan<V: Value>(
        &self,
        table: Table<V>,
        range: KeyRange<'_>,
        dir: Direction,
        visit: &mut ScanVisitor<'_, V>,
    ) -> Result<(), StorageError>;

    /// Calls `visit` for each key in `range` without materialising values (index scans).
    fn scan_keys<V: Value>(
        &self,
        table: Table<V>,
        range: KeyRange<'_>,
        dir: Direction,
        visit: &mut dyn FnMut(&[u8]) -> Result<bool, StorageError>,
    ) -> Result<(), StorageError> {
        self.scan(table, range, dir, &mut |k, _v: V| visit(k))
    }
}

/// Write access. Dropping a write transaction without [`WriteTxn::commit`] discards every change
/// it made; readers never observe uncommitted changes.
pub trait WriteTxn: ReadTxn {
    /// Inserts or replaces.
    fn put<V: Value>(&mut self, table: Table<V>, key: &[u8], value: V) -> Result<(), StorageError>;
    /// [`put`](Self::put) from a borrowed value, for callers that keep the value: a backend
    /// that stores encoded bytes encodes it in place instead of receiving a copy to drop.
    fn put_ref<V: Value>(&mut self, table: Table<V>, key: &[u8], value: &V) -> Result<(), StorageError> {
        self.put(table, key, value.clone())
    }
    /// Replaces the value under `key` with `f` of it: `Some` stores, `None` removes. For counters,
    /// which a backend holding values can change in one lookup instead of a get and a put.
    fn update<V: Value>(
        &mut self,
        table: Table<V>,
        key: &[u8],
        f: impl FnOnce(Option<V>) -> Option<V>,
    ) -> Result<(), StorageError> {
        match f(self.get(table, key)?) {
            Some(v) => self.put(table, key, v),
            None => self.delete(table, key).map(drop),
        }
    }
    /// Removes; returns whether the key was present.
    fn delete<V: Value>(&mut self, table: Table<V>, key: &[u8]) -> Result<bool, StorageError>;
    /// Makes every change durable (per the backend's durability setting) and visible.
    fn commit(self) -> Result<(), StorageError>
    where
        Self: Sized;
}

/// How durable a commit must be when it returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Durability {
    /// Persisted (fsync'd) before `commit` returns. The default for every store operation.
    #[default]
    Immediate,
    /// Visible at once but persisted only by a later `Immediate` commit (benchmarks, bulk loads
    /// that end with a durable commit).
    None,
}

/// A storage engine: hands out transactions over its tables.
pub trait Backend {
    /// Read transaction type.
    type Read<'a>: ReadTxn
    where
        Self: 'a;
    /// Write transaction type.
    type Write<'a>: WriteTxn
    where
        Self: 'a;

    /// Starts a read transaction on the latest committed state.
    fn begin_read(&self) -> Result<Self::Read<'_>, StorageError>;
    /// Starts the (single) write transaction, waiting for a concurrent writer to finish.
    fn begin_write(&self, durability: Durability) -> Result<Self::Write<'_>, StorageError>;
    /// Releases resources (file handles, locks). Idempotent. Later calls may fail.
    fn close(&self) -> Result<(), StorageError> {
        Ok(())
    }
}

/// Which store a backend holds; recorded in durable files so that a compute store is never
/// opened as a job store or the other way round.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StoreKind {
    /// The compute node's execution store.
    Compute,
    /// The requester's job store.
    Requester,
}

impl StoreKind {
    /// The name recorded in files and snapshots.
    pub const fn as_str(self) -> &'static str {
        match self {
            StoreKind::Compute => "compute",
            StoreKind::Requester => "requester",
        }
    }
    /// Parses [`StoreKind::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "compute" => Some(StoreKind::Compute),
            "requester" => Some(StoreKind::Requester),
            _ => None,
        }
    }
}
