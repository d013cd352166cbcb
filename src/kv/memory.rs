//! The in-memory backend: one ordered map per table, values kept as Rust values.
//!
//! A write transaction holds the exclusive lock and records an undo entry for every change, so
//! dropping it without a commit (an error, a panic, a closure returning `Err`) restores the exact
//! previous state. Readers take the shared lock and therefore never see a half-applied
//! transaction.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::any::Any;
use core::ops::Bound;

use super::{Backend, Direction, Durability, KeyRange, ReadTxn, Table, Value, WriteTxn};
use crate::error::StorageError;
use crate::sync::{ReadGuard, RwLock, WriteGuard};

type Slot = Box<dyn Any + Send + Sync>;
type Map = BTreeMap<Vec<u8>, Slot>;

#[derive(Default)]
struct Tables {
    maps: Vec<Map>,
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
    undo: Vec<(u16, Vec<u8>, Option<Slot>)>,
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
        let tables = self.tables.write().ok_or(StorageError::Reentrant)?;
        Ok(MemoryWrite { tables, undo: Vec::new(), committed: false })
    }
}

fn downcast<V: Value>(table: Table<V>, slot: &Slot) -> Result<V, StorageError> {
    slot.downcast_ref::<V>().cloned().ok_or_else(|| StorageError::Corrupt {
        table: table.name(),
        detail: "value of an unexpected type (table id reused)".into(),
    })
}

fn get<V: Value>(tables: &Tables, table: Table<V>, key: &[u8]) -> Result<Option<V>, StorageError> {
    match tables.map(table.id()).and_then(|m| m.get(key)) {
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

fn scan<V: Value>(
    tables: &Tables,
    table: Table<V>,
    range: KeyRange<'_>,
    dir: Direction,
    visit: &mut crate::kv::Visitor<'_, V>,
) -> Result<(), StorageError> {
    let Some(map) = tables.map(table.id()) else { return Ok(()) };
    if is_empty_range(&range) {
        return Ok(());
    }
    let iter = map.range::<[u8], _>((range.start, range.end));
    let mut step = |(k, slot): (&Vec<u8>, &Slot)| -> Result<bool, StorageError> { visit(k, downcast(table, slot)?) };
    match dir {
        Direction::Forward => {
            for entry in iter {
                if !step(entry)? {
                    break;
                }
            }
        }
        Direction::Reverse => {
            for entry in iter.rev() {
                if !step(entry)? {
                    break;
                }
            }
        }
    }
    Ok(())
}

impl ReadTxn for MemoryRead<'_> {
    fn get<V: Value>(&self, table: Table<V>, key: &[u8]) -> Result<Option<V>, StorageError> {
        get(&self.tables, table, key)
    }
    fn scan<V: Value>(
        &self,
        table: Table<V>,
        range: KeyRange<'_>,
        dir: Direction,
        visit: &mut crate::kv::Visitor<'_, V>,
    ) -> Result<(), StorageError> {
        scan(&self.tables, table, range, dir, visit)
    }
}

impl ReadTxn for MemoryWrite<'_> {
    fn get<V: Value>(&self, table: Table<V>, key: &[u8]) -> Result<Option<V>, StorageError> {
        get(&self.tables, table, key)
    }
    fn scan<V: Value>(
        &self,
        table: Table<V>,
        range: KeyRange<'_>,
        dir: Direction,
        visit: &mut crate::kv::Visitor<'_, V>,
    ) -> Result<(), StorageError> {
        scan(&self.tables, table, range, dir, visit)
    }
}

impl WriteTxn for MemoryWrite<'_> {
    fn put<V: Value>(&mut self, table: Table<V>, key: &[u8], value: V) -> Result<(), StorageError> {
        let old = self.tables.map_mut(table.id()).insert(key.to_vec(), Box::new(value));
        self.undo.push((table.id(), key.to_vec(), old));
        Ok(())
    }

    fn delete<V: Value>(&mut self, table: Table<V>, key: &[u8]) -> Result<bool, StorageError> {
        let old = self.tables.map_mut(table.id()).remove(key);
        let existed = old.is_some();
        if existed {
            self.undo.push((table.id(), key.to_vec(), old));
        }
        Ok(existed)
    }

    fn commit(mut self) -> Result<(), StorageError> {
        self.committed = true;
        self.undo.clear();
        Ok(())
    }
}

impl Drop for MemoryWrite<'_> {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
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
