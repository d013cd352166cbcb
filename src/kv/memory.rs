//! The in-memory backend: one ordered map per table, values kept as Rust values.
//!
//! A write transaction holds the exclusive lock and records an undo entry for every change, so
//! dropping it without a commit (an error, a panic, a closure returning `Err`) restores the exact
//! previous state. Readers take the shared lock and therefore never see a half-applied
//! transaction.
//!
//! Every store operation writes a dozen small entries (index keys, counts, the event counter), so
//! the per-entry cost is what matters here: short keys live inline ([`Key`]), `u64` values are not
//! boxed, and the undo log's buffer is reused from one transaction to the next.

use alloc::boxed::Box;
use alloc::collections::btree_map::Entry;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::any::Any;
use core::ops::Bound;

use super::{Backend, Direction, Durability, KeyRange, ReadTxn, Table, Value, WriteTxn};
use crate::error::StorageError;
use crate::sync::{ReadGuard, RwLock, WriteGuard};

/// A stored value. Counters (`u64`) are the most frequently written values and are kept unboxed;
/// `()` index values are zero-sized, so their box never allocates.
enum Slot {
    U64(u64),
    Boxed(Box<dyn Any + Send + Sync>),
}

impl Slot {
    fn new<V: Value>(value: V) -> Slot {
        match (&value as &dyn Any).downcast_ref::<u64>() {
            Some(&n) => Slot::U64(n),
            None => Slot::Boxed(Box::new(value)),
        }
    }

    fn get<V: Value>(&self) -> Option<&V> {
        match self {
            Slot::U64(n) => (n as &dyn Any).downcast_ref::<V>(),
            Slot::Boxed(b) => b.downcast_ref::<V>(),
        }
    }
}

/// Keys up to this many bytes are stored inline: every key the stores build for one record (ID,
/// `(ID, seq)`, `(state, ID)`, event numbers) fits, except `(job ID, execution ID)` pairs. 54
/// keeps a map's internal nodes under 1 KiB (64-byte keys: 992 bytes), where glibc's allocator
/// switches to its slow path.
const INLINE: usize = 54;

/// A key, ordered exactly as its bytes. Maps are searched with `Key`s too (a copy of at most
/// `INLINE` bytes), so that a comparison can decide on the first eight bytes as one integer:
/// the keys of a table mostly differ there (IDs are UUIDs, event keys are big-endian numbers).
/// That integer is computed once, when the key is made: a B-tree search compares the same key
/// with a dozen others, and in wasm, with no byte-swap instruction, recomputing it was 6 % of a
/// lifecycle operation's time in Node.
#[derive(Clone)]
struct Key {
    /// The first eight bytes, zero-padded, big-endian: when two heads differ they order the keys
    /// as their bytes do (a shorter key is a zero-padded prefix of the longer one, or differs
    /// earlier).
    head: u64,
    bytes: Bytes,
}

#[derive(Clone)]
enum Bytes {
    Inline(u8, [u8; INLINE]),
    /// Longer than `INLINE`.
    Heap(Box<[u8]>),
}

impl Key {
    fn new(bytes: &[u8]) -> Key {
        let mut first = [0; 8];
        let n = bytes.len().min(8);
        first[..n].copy_from_slice(&bytes[..n]);
        let head = u64::from_be_bytes(first);
        let bytes = if bytes.len() <= INLINE {
            let mut buf = [0; INLINE];
            buf[..bytes.len()].copy_from_slice(bytes);
            Bytes::Inline(bytes.len() as u8, buf)
        } else {
            Bytes::Heap(bytes.into())
        };
        Key { head, bytes }
    }

    #[inline]
    fn as_slice(&self) -> &[u8] {
        match &self.bytes {
            Bytes::Inline(len, buf) => &buf[..usize::from(*len)],
            Bytes::Heap(b) => b,
        }
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.head == other.head && self.as_slice() == other.as_slice()
    }
}
impl Eq for Key {}
impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Key {
    #[inline]
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.head.cmp(&other.head).then_with(|| self.as_slice().cmp(other.as_slice()))
    }
}

type Map = BTreeMap<Key, Slot>;
/// The largest undo buffer kept between transactions (entries).
const SPARE_UNDO_MAX: usize = 4096;
type Undo = Vec<(u16, Key, Option<Slot>)>;

#[derive(Default)]
struct Tables {
    maps: Vec<Map>,
    /// The undo log's buffer between write transactions (always empty here).
    spare_undo: Undo,
}

impl Tables {
    fn map(&self, id: u16) -> Option<&Map> {
        self.maps.get(usize::from(id))
    }
    fn map_mut(&mut self, id: u16) -> &mut Map {
        let i = usize::from(id);
        if self.maps.len() <= i {
            self.maps.resize_with(i + 1, BTreeMap::new);
        }
        &mut self.maps[i]
    }
}

/// In-memory tables. Nothing persists beyond the value's lifetime.
#[derive(Default)]
pub struct MemoryBackend {
    tables: RwLock<Tables>,
}

impl core::fmt::Debug for MemoryBackend {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("MemoryBackend")
    }
}

impl MemoryBackend {
    /// An empty backend.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Read transaction of [`MemoryBackend`].
pub struct MemoryRead<'a> {
    tables: ReadGuard<'a, Tables>,
}

/// Write transaction of [`MemoryBackend`].
pub struct MemoryWrite<'a> {
    tables: WriteGuard<'a, Tables>,
    undo: Undo,
    committed: bool,
}

impl Backend for MemoryBackend {
    type Read<'a> = MemoryRead<'a>;
    type Write<'a> = MemoryWrite<'a>;

    fn begin_read(&self) -> Result<MemoryRead<'_>, StorageError> {
        let tables = self.tables.read().ok_or(StorageError::Reentrant)?;
        Ok(MemoryRead { tables })
    }

    fn begin_write(&self, _durability: Durability) -> Result<MemoryWrite<'_>, StorageError> {
        let mut tables = self.tables.write().ok_or(StorageError::Reentrant)?;
        let undo = core::mem::take(&mut tables.spare_undo);
        Ok(MemoryWrite { tables, undo, committed: false })
    }
}

fn downcast<V: Value>(table: Table<V>, slot: &Slot) -> Result<V, StorageError> {
    slot.get::<V>().cloned().ok_or_else(|| StorageError::Corrupt {
        table: table.name(),
        detail: "value of an unexpected type (table id reused)".into(),
    })
}

fn get<V: Value>(tables: &Tables, table: Table<V>, key: &[u8]) -> Result<Option<V>, StorageError> {
    match tables.map(table.id()).and_then(|m| m.get(&Key::new(key))) {
        Some(slot) => downcast(table, slot).map(Some),
        None => Ok(None),
    }
}

/// `BTreeMap::range` panics on inverted bounds; an inverted range is simply empty.
fn is_empty_range(range: &KeyRange<'_>) -> bool {
    use Bound::*;
    match (range.start, range.end) {
        (Included(s), Included(e)) => s > e,
        (Included(s), Excluded(e)) | (Excluded(s), Included(e)) | (Excluded(s), Excluded(e)) => s >= e,
        _ => false,
    }
}

type Step<'s> = dyn FnMut(&[u8], &Slot) -> Result<bool, StorageError> + 's;

/// Visits the entries of `range` in `dir` order until `step` returns `Ok(false)`.
fn walk<V>(
    tables: &Tables,
    table: Table<V>,
    range: KeyRange<'_>,
    dir: Direction,
    step: &mut Step<'_>,
) -> Result<(), StorageError> {
    let Some(map) = tables.map(table.id()) else { return Ok(()) };
    if is_empty_range(&range) {
        return Ok(());
    }
    let bound = |b: Bound<&[u8]>| b.map(Key::new);
    let iter = map.range((bound(range.start), bound(range.end)));
    match dir {
        Direction::Forward => {
            for (k, slot) in iter {
                if !step(k.as_slice(), slot)? {
                    break;
                }
            }
        }
        Direction::Reverse => {
            for (k, slot) in iter.rev() {
                if !step(k.as_slice(), slot)? {
                    break;
                }
            }
        }
    }
    Ok(())
}

fn scan<V: Value>(
    tables: &Tables,
    table: Table<V>,
    range: KeyRange<'_>,
    dir: Direction,
    visit: &mut crate::kv::ScanVisitor<'_, V>,
) -> Result<(), StorageError> {
    walk(tables, table, range, dir, &mut |k, slot| visit(k, downcast(table, slot)?))
}

/// Key scans never copy a value.
fn scan_keys<V: Value>(
    tables: &Tables,
    table: Table<V>,
    range: KeyRange<'_>,
    dir: Direction,
    visit: &mut dyn FnMut(&[u8]) -> Result<bool, StorageError>,
) -> Result<(), StorageError> {
    walk(tables, table, range, dir, &mut |k, _| visit(k))
}

macro_rules! read_impl {
    ($t:ty) => {
        impl ReadTxn for $t {
            const KEEPS_VALUES: bool = true;

            fn get<V: Value>(&self, table: Table<V>, key: &[u8]) -> Result<Option<V>, StorageError> {
                get(&self.tables, table, key)
            }
            fn contains<V: Value>(&self, table: Table<V>, key: &[u8]) -> Result<bool, StorageError> {
                Ok(self.tables.map(table.id()).is_some_and(|m| m.contains_key(&Key::new(key))))
            }
            fn scan<V: Value>(
                &self,
                table: Table<V>,
                range: KeyRange<'_>,
                dir: Direction,
                visit: &mut crate::kv::ScanVisitor<'_, V>,
            ) -> Result<(), StorageError> {
                scan(&self.tables, table, range, dir, visit)
            }
            fn scan_keys<V: Value>(
                &self,
                table: Table<V>,
                range: KeyRange<'_>,
                dir: Direction,
                visit: &mut dyn FnMut(&[u8]) -> Result<bool, StorageError>,
            ) -> Result<(), StorageError> {
                scan_keys(&self.tables, table, range, dir, visit)
            }
        }
    };
}
read_impl!(MemoryRead<'_>);
read_impl!(MemoryWrite<'_>);

impl WriteTxn for MemoryWrite<'_> {
    fn put<V: Value>(&mut self, table: Table<V>, key: &[u8], value: V) -> Result<(), StorageError> {
        let slot = Slot::new(value);
        let key = Key::new(key);
        let old = match self.tables.map_mut(table.id()).entry(key.clone()) {
            Entry::Occupied(mut e) => Some(e.insert(slot)),
            Entry::Vacant(e) => {
                e.insert(slot);
                None
            }
        };
        self.undo.push((table.id(), key, old));
        Ok(())
    }

    fn update<V: Value>(
        &mut self,
        table: Table<V>,
        key: &[u8],
        f: impl FnOnce(Option<V>) -> Option<V>,
    ) -> Result<(), StorageError> {
        let key = Key::new(key);
        let undo_key = key.clone();
        match self.tables.map_mut(table.id()).entry(key) {
            Entry::Occupied(mut e) => {
                let old = downcast(table, e.get())?;
                let old = match f(Some(old)) {
                    Some(v) => e.insert(Slot::new(v)),
                    None => e.remove(),
                };
                self.undo.push((table.id(), undo_key, Some(old)));
            }
            Entry::Vacant(e) => {
                if let Some(v) = f(None) {
                    e.insert(Slot::new(v));
                    self.undo.push((table.id(), undo_key, None));
                }
            }
        }
        Ok(())
    }

    fn delete<V: Value>(&mut self, table: Table<V>, key: &[u8]) -> Result<bool, StorageError> {
        let Some((key, old)) = self.tables.map_mut(table.id()).remove_entry(&Key::new(key)) else { return Ok(false) };
        self.undo.push((table.id(), key, Some(old)));
        Ok(true)
    }

    fn commit(mut self) -> Result<(), StorageError> {
        self.committed = true;
        Ok(())
    }
}

impl Drop for MemoryWrite<'_> {
    fn drop(&mut self) {
        if !self.committed {
            while let Some((id, key, old)) = self.undo.pop() {
                let map = self.tables.map_mut(id);
                match old {
                    Some(slot) => {
                        map.insert(key, slot);
                    }
                    None => {
                        map.remove(&key);
                    }
                }
            }
            debug_assert!(self.undo.is_empty(), "a rollback restores every change");
        }
        // Committed: the replaced values are dropped here. The buffer is kept for the next writer
        // unless a bulk transaction (an import) grew it.
        self.undo.clear();
        if self.undo.capacity() <= SPARE_UNDO_MAX {
            self.tables.spare_undo = core::mem::take(&mut self.undo);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;

    const T: Table<String> = Table::new(0, "t");

    #[test]
    fn a_dropped_write_transaction_restores_every_change() {
        let b = MemoryBackend::new();
        let mut w = b.begin_write(Durability::Immediate).unwrap();
        w.put(T, b"a", "1".into()).unwrap();
        w.put(T, b"b", "2".into()).unwrap();
        w.commit().unwrap();
        {
            let mut w = b.begin_write(Durability::Immediate).unwrap();
            w.put(T, b"a", "changed".into()).unwrap();
            w.delete(T, b"b").unwrap();
            w.put(T, b"c", "new".into()).unwrap();
        }
        let r = b.begin_read().unwrap();
        assert_eq!(r.get(T, b"a").unwrap().as_deref(), Some("1"));
        assert_eq!(r.get(T, b"b").unwrap().as_deref(), Some("2"));
        assert_eq!(r.get(T, b"c").unwrap(), None);
    }

    #[test]
    fn updates_store_remove_and_roll_back() {
        const N: Table<u64> = Table::new(1, "n");
        let b = MemoryBackend::new();
        let mut w = b.begin_write(Durability::Immediate).unwrap();
        w.update(N, b"a", |v| Some(v.unwrap_or(0) + 5)).unwrap();
        w.update(N, b"b", |v| Some(v.unwrap_or(0) + 1)).unwrap();
        w.update(N, b"c", |_| None).unwrap();
        w.commit().unwrap();
        {
            let mut w = b.begin_write(Durability::Immediate).unwrap();
            w.update(N, b"a", |v| v.map(|n| n * 2)).unwrap();
            w.update(N, b"b", |_| None).unwrap();
            w.update(N, b"c", |_| Some(9)).unwrap();
            assert_eq!(
                (w.get(N, b"a").unwrap(), w.get(N, b"b").unwrap(), w.get(N, b"c").unwrap()),
                (Some(10), None, Some(9))
            );
        }
        let r = b.begin_read().unwrap();
        assert_eq!(
            (r.get(N, b"a").unwrap(), r.get(N, b"b").unwrap(), r.get(N, b"c").unwrap()),
            (Some(5), Some(1), None)
        );
    }

    #[test]
    fn keys_order_as_their_bytes() {
        assert_eq!(core::mem::size_of::<Key>(), 64);
        let mut raw: Vec<Vec<u8>> =
            [&b""[..], b"\0", b"a", b"a\0", b"a\0\0\0\0\0\0\0\0", b"a\x01", b"abcdefgh", b"abcdefgh\0"]
                .iter()
                .map(|k| k.to_vec())
                .collect();
        raw.push([b'a'; 70].to_vec());
        raw.push([[b'a'; 69].as_slice(), b"\0"].concat());
        raw.push([[b'a'; 69].as_slice(), b"b"].concat());
        for a in &raw {
            for b in &raw {
                assert_eq!(Key::new(a).cmp(&Key::new(b)), a.cmp(b), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn scans_honour_bounds_direction_and_early_stop() {
        let b = MemoryBackend::new();
        let mut w = b.begin_write(Durability::Immediate).unwrap();
        for k in [b"a", b"b", b"c", b"d"] {
            w.put(T, k, String::from_utf8(k.to_vec()).unwrap()).unwrap();
        }
        w.commit().unwrap();
        let r = b.begin_read().unwrap();
        let mut seen = Vec::new();
        r.scan(T, KeyRange::between(b"b", b"d"), Direction::Reverse, &mut |_, v| {
            seen.push(v);
            Ok(true)
        })
        .unwrap();
        assert_eq!(seen, ["c", "b"]);
        seen.clear();
        r.scan(T, KeyRange::ALL, Direction::Forward, &mut |_, v| {
            seen.push(v);
            Ok(seen.len() < 2)
        })
        .unwrap();
        assert_eq!(seen, ["a", "b"]);
        r.scan(T, KeyRange::between(b"d", b"a"), Direction::Forward, &mut |_, _| {
            panic!("inverted range must be empty")
        })
        .unwrap();
    }
}
