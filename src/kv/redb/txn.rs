//! Transactions of the redb backend: values as a format byte plus CBOR, tables opened once per
//! transaction, and commits made durable through the journal or by redb.

use super::*;

// ---- values ----

pub(super) fn encode<V: Value>(buf: &mut Vec<u8>, value: &V) -> Result<(), StorageError> {
    buf.clear();
    buf.push(FORMAT_VERSION);
    ciborium::into_writer(value, &mut *buf).map_err(|e| StorageError::Encode { detail: e.to_string() })
}

pub(super) fn decode<V: Value>(table: &'static str, bytes: &[u8]) -> Result<V, StorageError> {
    match bytes.split_first() {
        Some((&FORMAT_VERSION, cbor)) => ciborium::from_reader(cbor)
            .map_err(|e| StorageError::Corrupt { table, detail: format!("CBOR decode: {e}") }),
        Some((&other, _)) => Err(StorageError::Corrupt { table, detail: format!("unknown value format {other}") }),
        None => Err(StorageError::Corrupt { table, detail: "empty value (no format byte)".into() }),
    }
}

/// Redb, like `BTreeMap`, must not be handed an inverted range; an inverted range is simply
/// empty.
pub(super) fn is_empty_range(range: &KeyRange<'_>) -> bool {
    use Bound::*;
    match (range.start, range.end) {
        (Included(s), Included(e)) => s > e,
        (Included(s), Excluded(e)) | (Excluded(s), Included(e)) | (Excluded(s), Excluded(e)) => s >= e,
        _ => false,
    }
}

pub(super) fn get_raw<T, R>(
    table: &T,
    key: &[u8],
    then: impl FnOnce(&[u8]) -> Result<R, StorageError>,
) -> Result<Option<R>, StorageError>
where
    T: ReadableTable<Bytes, Bytes>,
{
    match table.get(key).map_err(storage_error)? {
        Some(guard) => then(guard.value()).map(Some),
        None => Ok(None),
    }
}

pub(super) fn scan_raw<T>(
    table: &T,
    range: KeyRange<'_>,
    dir: Direction,
    visit: &mut RawVisitor<'_>,
) -> Result<(), StorageError>
where
    T: ReadableTable<Bytes, Bytes>,
{
    if is_empty_range(&range) {
        return Ok(());
    }
    let iter = table.range::<&[u8]>((range.start, range.end)).map_err(storage_error)?;
    let mut step = |entry: Result<_, ::redb::StorageError>| -> Result<bool, StorageError> {
        let (k, v): (::redb::AccessGuard<'_, Bytes>, ::redb::AccessGuard<'_, Bytes>) = entry.map_err(storage_error)?;
        visit(k.value(), v.value())
    };
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

pub(super) fn scan_values<T, V: Value>(
    table: &T,
    name: &'static str,
    range: KeyRange<'_>,
    dir: Direction,
    visit: &mut ScanVisitor<'_, V>,
) -> Result<(), StorageError>
where
    T: ReadableTable<Bytes, Bytes>,
{
    scan_raw(table, range, dir, &mut |k, v| visit(k, decode(name, v)?))
}

// ---- transactions ----

/// Read transaction of [`RedbBackend`]: a snapshot of the last commit before it began.
pub struct RedbRead<'a> {
    txn: ReadTransaction,
    /// Tables opened so far (`None`: the table does not exist in this snapshot).
    tables: RefCell<Vec<ReadSlot>>,
    _backend: PhantomData<&'a RedbBackend>,
}

impl RedbRead<'_> {
    pub(super) fn new(txn: ReadTransaction) -> Self {
        Self { txn, tables: RefCell::new(Vec::new()), _backend: PhantomData }
    }

    fn table(&self, name: &'static str) -> Result<Option<Rc<ReadTable>>, StorageError> {
        if let Some((_, t)) = self.tables.borrow().iter().find(|(n, _)| *n == name) {
            return Ok(t.clone());
        }
        let table = match self.txn.open_table(definition(name)) {
            Ok(t) => Some(Rc::new(t)),
            Err(TableError::TableDoesNotExist(_)) => None,
            Err(e) => return Err(table_error(e)),
        };
        self.tables.borrow_mut().push((name, table.clone()));
        Ok(table)
    }
}

impl ReadTxn for RedbRead<'_> {
    fn get<V: Value>(&self, table: Table<V>, key: &[u8]) -> Result<Option<V>, StorageError> {
        match self.table(table.name())? {
            Some(t) => get_raw(&*t, key, |v| decode(table.name(), v)),
            None => Ok(None),
        }
    }

    fn scan<V: Value>(
        &self,
        table: Table<V>,
        range: KeyRange<'_>,
        dir: Direction,
        visit: &mut ScanVisitor<'_, V>,
    ) -> Result<(), StorageError> {
        match self.table(table.name())? {
            Some(t) => scan_values(&*t, table.name(), range, dir, visit),
            None => Ok(()),
        }
    }

    fn scan_keys<V: Value>(
        &self,
        table: Table<V>,
        range: KeyRange<'_>,
        dir: Direction,
        visit: &mut dyn FnMut(&[u8]) -> Result<bool, StorageError>,
    ) -> Result<(), StorageError> {
        match self.table(table.name())? {
            Some(t) => scan_raw(&*t, range, dir, &mut |k, _| visit(k)),
            None => Ok(()),
        }
    }
}

/// Write transaction of [`RedbBackend`]. Dropping it without [`WriteTxn::commit`] aborts.
///
/// Opening a redb table costs about as much as a point lookup, so each table is opened once per
/// transaction and kept. redb's `Table` borrows the `WriteTransaction`; the transaction is
/// therefore boxed (a stable address) and owned through a raw pointer, and every table is
/// dropped before the transaction is committed or freed.
pub struct RedbWrite<'a> {
    /// Tables opened so far; they borrow `*txn`. `Rc` so that a read can use a table while a
    /// nested read (from a scan's visitor) opens another.
    tables: RefCell<Vec<(&'static str, Rc<WriteTable>)>>,
    /// Owned `Box<WriteTransaction>` (from `Box::into_raw`); `None` once committed.
    txn: Option<NonNull<WriteTransaction>>,
    /// Reused encoding buffer.
    buf: Vec<u8>,
    /// The backend's journal, which makes this transaction durable; the changes are recorded as
    /// they are made, for its frame. `None` once committed.
    journal: Option<(&'a Journal, Changes)>,
    /// The caller asked for `Durability::None` on a journaled store.
    unlogged: bool,
    /// The changes go into a frame: the commit is durable and the journal writes frames (a
    /// writer sharing the file with readers makes redb durable commits instead).
    logged: bool,
}

impl<'a> RedbWrite<'a> {
    pub(super) fn new(txn: WriteTransaction, journal: &'a Journal, unlogged: bool) -> Self {
        let txn = NonNull::from(Box::leak(Box::new(txn)));
        let logged = !unlogged && journal.writes_frames();
        let journal = Some((journal, Changes::default()));
        Self { tables: RefCell::new(Vec::new()), txn: Some(txn), buf: Vec::new(), journal, unlogged, logged }
    }

    fn index(&self, name: &'static str) -> Result<usize, StorageError> {
        if let Some(i) = self.tables.borrow().iter().position(|(n, _)| *n == name) {
            return Ok(i);
        }
        let txn = self.txn.ok_or_else(closed)?;
        // SAFETY: the transaction lives, at a fixed heap address, until `commit` or `drop`, which
        // drop every table first; tables never leave this struct (only `Rc` clones local to a
        // method call), so the `'static` borrow never outlives the transaction.
        let txn: &'static WriteTransaction = unsafe { &*txn.as_ptr() };
        let table = txn.open_table(definition(name)).map_err(table_error)?;
        let mut tables = self.tables.borrow_mut();
        tables.push((name, Rc::new(table)));
        Ok(tables.len() - 1)
    }

    fn table(&self, name: &'static str) -> Result<Rc<WriteTable>, StorageError> {
        let i = self.index(name)?;
        Ok(self.tables.borrow()[i].1.clone())
    }

    /// Exclusive access for a mutation: `&mut self` proves no read is in progress, so no other
    /// `Rc` of the table exists.
    fn table_mut(&mut self, name: &'static str) -> Result<&mut WriteTable, StorageError> {
        let i = self.index(name)?;
        Rc::get_mut(&mut self.tables.get_mut()[i].1)
            .ok_or_else(|| backend("table still borrowed by a read of this transaction"))
    }
}

impl ReadTxn for RedbWrite<'_> {
    fn get<V: Value>(&self, table: Table<V>, key: &[u8]) -> Result<Option<V>, StorageError> {
        let t = self.table(table.name())?;
        get_raw(&*t, key, |v| decode(table.name(), v))
    }

    fn scan<V: Value>(
        &self,
        table: Table<V>,
        range: KeyRange<'_>,
        dir: Direction,
        visit: &mut ScanVisitor<'_, V>,
    ) -> Result<(), StorageError> {
        let t = self.table(table.name())?;
        scan_values(&*t, table.name(), range, dir, visit)
    }

    fn scan_keys<V: Value>(
        &self,
        table: Table<V>,
        range: KeyRange<'_>,
        dir: Direction,
        visit: &mut dyn FnMut(&[u8]) -> Result<bool, StorageError>,
    ) -> Result<(), StorageError> {
        let t = self.table(table.name())?;
        scan_raw(&*t, range, dir, &mut |k, _| visit(k))
    }
}

impl WriteTxn for RedbWrite<'_> {
    fn put<V: Value>(&mut self, table: Table<V>, key: &[u8], value: V) -> Result<(), StorageError> {
        self.put_ref(table, key, &value)
    }

    fn put_ref<V: Value>(&mut self, table: Table<V>, key: &[u8], value: &V) -> Result<(), StorageError> {
        let mut buf = std::mem::take(&mut self.buf);
        let result = encode(&mut buf, value)
            .and_then(|()| self.table_mut(table.name())?.insert(key, buf.as_slice()).map(drop).map_err(storage_error));
        if let (Ok(()), Some((_, changes)), true) = (&result, &mut self.journal, self.logged) {
            changes.put(table.name(), key, &buf);
        }
        self.buf = buf;
        result
    }

    fn delete<V: Value>(&mut self, table: Table<V>, key: &[u8]) -> Result<bool, StorageError> {
        let t = self.table_mut(table.name())?;
        let existed = t.remove(key).map_err(storage_error)?.is_some();
        if let (true, Some((_, changes)), true) = (existed, &mut self.journal, self.logged) {
            changes.delete(table.name(), key);
        }
        Ok(existed)
    }

    fn commit(mut self) -> Result<(), StorageError> {
        // Tables write their roots back into the transaction when dropped, and borrow it.
        self.tables.get_mut().clear();
        let txn = self.txn.take().ok_or_else(closed)?;
        // SAFETY: `txn` came from `Box::leak` in `new`, no table borrows it any more, and taking
        // it out of `self.txn` keeps `Drop` from freeing it again.
        let txn = unsafe { Box::from_raw(txn.as_ptr()) };
        let (journal, changes) = self.journal.take().ok_or_else(closed)?;
        // redb can fail after its commit point (the sync after the header write, or the
        // post-commit pass that frees pages), so a failed commit is never reported as "not
        // applied" (tests/faults.rs).
        journal.commit(*txn, &changes, self.unlogged)
    }
}

impl Drop for RedbWrite<'_> {
    fn drop(&mut self) {
        self.tables.get_mut().clear();
        // The journal hears of the end first: once the transaction is dropped, redb's write
        // lock is free and the next transaction may begin.
        if let Some((journal, _)) = self.journal.take() {
            journal.abandon();
        }
        if let Some(txn) = self.txn.take() {
            // SAFETY: as in `commit`; dropping the transaction aborts it.
            drop(unsafe { Box::from_raw(txn.as_ptr()) });
        }
    }
}
