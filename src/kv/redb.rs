//! The durable backend: one redb file per store (std only).
//!
//! Every [`Table`] is a redb table of byte keys and byte values named [`Table::name`]. A value is
//! stored as one format byte ([`FORMAT_VERSION`]) followed by its CBOR encoding, so that a later
//! encoding can be introduced without rewriting old records. The table `meta` (reserved) holds
//! UTF-8 strings, not CBOR: `schema_version`, `store_kind` and `created_by`, checked at every open
//! so that a compute store is never opened as a job store, a newer store is never misread by an
//! older binary, and a foreign redb file is never adopted.
//!
//! # Opening
//!
//! [`RedbBackend::open`] never modifies a file it did not create: it looks at the first bytes
//! before redb sees the file (redb repairs what it considers its own), so an empty file, a text
//! file, a bbolt database (Bacalhau v1.x) or random bytes fail with [`OpenError::NotAStore`] and
//! stay byte-for-byte unchanged. A new store is built under a temporary name next to the target
//! and linked into place only once its metadata is committed, so a crash during creation never
//! leaves an empty or metadata-less file at the store path (at worst a stale
//! `.<name>.creating-*` file beside it).
//!
//! A store is locked by the process (and the handle) that has it open: a second open, from this
//! process or another, retries for [`RedbOptions::lock_timeout`] and then fails with
//! [`OpenError::InUse`].
//!
//! # Durable commits
//!
//! A commit with [`Durability::Immediate`] is durable when it returns. A writer makes it so with
//! the commit journal beside the file (`<path>.journal`, [`journal_path`]): the transaction's
//! changes are appended there and synced (one sync for every thread committing at the time),
//! and the redb commit itself skips its sync; every [`RedbOptions::checkpoint_bytes`] of journal,
//! and at close, one redb durable commit makes the file whole again. Every writable open, by path
//! or over a custom backend, recovers the journal before anything is written: it replays the
//! frames the file lacks, or refuses with [`OpenError::Journal`] when a store that was not closed
//! cleanly has no journal of its own. A store operation writes six or seven tables, so this
//! halves the bytes synced per operation; the format, its invariants and its defences are in
//! `src/kv/redb/journal/`. Move or copy a store while it is closed.
//!
//! # Read-only inspection while a node runs
//!
//! What redb 4.6 allows, verified by `tests/redb_backend.rs`:
//!
//! * By default ([`RedbOptions::shared_readers`] = `false`) the writer locks the whole file
//!   (redb's `ConcurrencyMode::ExclusiveWriter`). No other handle, read-only or not, in this or
//!   another process, can open the store while it is open: [`RedbBackend::open_read_only`] fails
//!   with [`OpenError::InUse`] after the lock timeout. Conversely a read-only handle excludes a
//!   writer: while an inspector has the store open, the node's [`RedbBackend::open`] fails with
//!   `InUse`.
//! * With `shared_readers = true` the writer uses redb's `ConcurrencyMode::SingleWriter`: any
//!   number of [`RedbBackend::open_read_only`] handles (other processes, or this one) may open the
//!   store while it is open for writing, and every new read transaction of theirs sees the
//!   writer's latest commit. The price: redb makes no non-durable commits in this mode (such a
//!   commit would exist only in the writer's memory), so every commit is a redb durable commit
//!   (quick-repair, two-phase) instead of a journal frame, [`Durability::None`] is upgraded to
//!   [`Durability::Immediate`], and beginning a read transaction costs a few microseconds more
//!   (byte-range locks). The writer still recovers the journal at open like any other.
//! * A read-only handle refuses every write: [`Backend::begin_write`] fails with
//!   [`StorageError::Backend`] ("store is open read-only"). It never repairs a file or replays a
//!   journal: a store whose writer crashed and that nobody reopened since fails to open read-only
//!   with [`OpenError::Storage`] (or [`OpenError::Journal`]) until a writer has opened (and so
//!   recovered) it.

use core::ops::Bound;
use std::cell::RefCell;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use ::redb::backends::FileBackend;
use ::redb::{
    Builder, ConcurrencyMode, Database, DatabaseError, ReadOnlyDatabase, ReadOnlyTable, ReadTransaction,
    ReadableDatabase, ReadableTable, TableDefinition, TableError, WriteTransaction,
};

use super::{Backend, Direction, Durability, KeyRange, ReadTxn, StoreKind, Table, Value, WriteTxn};
use crate::error::StorageError;

mod journal;
mod open;
mod txn;
pub use journal::{path_for as journal_path, JournalError, JournalFile, MemoryJournal, CAPACITY as JOURNAL_CAPACITY};
use journal::{Changes, Journal, JournalOptions, PathJournal};
pub use open::OpenError;
use open::*;
pub use txn::{RedbRead, RedbWrite};

/// Format byte in front of every stored value: 1 = CBOR.
pub const FORMAT_VERSION: u8 = 1;
/// Schema version written to new stores and the newest one this build reads.
///
/// * 1: the first layout.
/// * 2: compute stores may keep the events of record creations and changes by reference (the
///   record's ID, state, version and update time, resolved against the record; see
///   `compute::events`), index their deletions in `event_deletes`, and keep history entries as
///   arrays without the ID their key holds (`compute::history`). A schema-1 store is a valid
///   schema-2 store, so a writable open upgrades the number in place; a build that reads only
///   schema 1 refuses the upgraded file at open rather than failing on its first reference.
/// * 3: compute history rows hold up to 16 consecutive entries of one execution, the creation
///   comment as a code; reference events keep a prefixed UUID ID as bytes and leave out an update
///   time equal to their timestamp (`compact`); job history entries are arrays without their job
///   ID (`jobstore::history`). Schema-2 rows, events and entries read as before (a schema-2
///   history row is a row of one), so schema-2 stores upgrade in place the same way.
pub const SCHEMA_VERSION: u32 = 3;
/// Name of the reserved metadata table.
pub const META_TABLE: &str = "meta";

const META: TableDefinition<&[u8], &[u8]> = TableDefinition::new(META_TABLE);
const META_SCHEMA_VERSION: &[u8] = b"schema_version";
const META_STORE_KIND: &[u8] = b"store_kind";
const META_CREATED_BY: &[u8] = b"created_by";

const REDB_MAGIC: [u8; 9] = [b'r', b'e', b'd', b'b', 0x1A, 0x0A, 0xA9, 0x0D, 0x0A];
const BBOLT_MAGIC: u32 = 0xED0C_DAED;
/// bbolt's meta struct starts after the 16-byte page header of page 0; its first field is the
/// magic.
const BBOLT_MAGIC_OFFSET: usize = 16;
const LOCK_RETRY_INTERVAL: Duration = Duration::from_millis(25);
const CLOSED: &str = "store is closed";
const READ_ONLY: &str = "store is open read-only";
/// The [`RedbBackend::path`] of a store opened with [`RedbBackend::open_with_backend`].
const CUSTOM_BACKEND: &str = "<custom backend>";

type Bytes = &'static [u8];
type ReadTable = ReadOnlyTable<Bytes, Bytes>;
/// A table of the write transaction; `'static` stands for "as long as the boxed transaction",
/// which [`RedbWrite`] guarantees by dropping its tables first.
type WriteTable = ::redb::Table<'static, Bytes, Bytes>;

/// A read transaction's table, `None` when it does not exist in the snapshot.
type ReadSlot = (&'static str, Option<Rc<ReadTable>>);
type RawVisitor<'v> = dyn FnMut(&[u8], &[u8]) -> Result<bool, StorageError> + 'v;
use crate::kv::ScanVisitor;

fn definition(name: &'static str) -> TableDefinition<'static, Bytes, Bytes> {
    TableDefinition::new(name)
}

/// How to open a store.
#[derive(Clone, Debug)]
pub struct RedbOptions {
    /// How long an open waits for another handle to release the store before failing with
    /// [`OpenError::InUse`]. Zero fails at once. Default 2 s.
    pub lock_timeout: Duration,
    /// redb page cache size in bytes; `None` keeps redb's default (1 GiB, allocated as used).
    pub cache_size: Option<usize>,
    /// Let [`RedbBackend::open_read_only`] handles (other processes) read while this handle
    /// writes. Every commit is then a redb durable commit (redb allows no other kind while the
    /// file is shared), so readers see each commit as soon as it returns; [`Durability::None`]
    /// is upgraded to [`Durability::Immediate`]. See the module documentation. Default `false`.
    pub shared_readers: bool,
    /// Open a store that was not closed cleanly even though its commit journal is missing or
    /// belongs to another store, giving up the commits only that journal held (a new journal
    /// replaces it). Without it such an open fails with [`OpenError::Journal`]. Default `false`.
    pub accept_journal_loss: bool,
    /// Journal bytes between checkpoints (the journal file's largest size; at least 4 KiB).
    /// A larger journal means fewer redb durable commits. Default [`JOURNAL_CAPACITY`] (16 MiB).
    pub checkpoint_bytes: u64,
}

impl Default for RedbOptions {
    fn default() -> Self {
        Self {
            lock_timeout: Duration::from_secs(2),
            cache_size: None,
            shared_readers: false,
            accept_journal_loss: false,
            checkpoint_bytes: JOURNAL_CAPACITY,
        }
    }
}

enum Handle {
    Write(Database),
    Read(ReadOnlyDatabase),
}

/// A store in a redb file. `Send + Sync`; one write transaction at a time, reads concurrent with
/// it (each on its own snapshot).
pub struct RedbBackend {
    db: RwLock<Option<Handle>>,
    path: PathBuf,
    kind: StoreKind,
    read_only: bool,
    shared_readers: bool,
    /// The commit journal; every writer has one.
    journal: Option<Journal>,
}

impl fmt::Debug for RedbBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedbBackend")
            .field("path", &self.path)
            .field("kind", &self.kind)
            .field("read_only", &self.read_only)
            .finish()
    }
}

impl RedbBackend {
    /// Opens the store at `path` for reading and writing, creating it (and missing parent
    /// directories, mode 0700; the file gets mode 0600) if nothing is there.
    pub fn open(path: &Path, kind: StoreKind, options: &RedbOptions) -> Result<RedbBackend, OpenError> {
        let mode =
            if options.shared_readers { ConcurrencyMode::SingleWriter } else { ConcurrencyMode::ExclusiveWriter };
        let builder = make_builder(options, mode);
        let deadline = Instant::now() + options.lock_timeout;
        let mut created = false;
        let db = loop {
            match fs::metadata(path) {
                Err(e) if e.kind() == io::ErrorKind::NotFound && !created => {
                    create_store(path, kind, &builder)?;
                    created = true;
                    continue;
                }
                Err(e) => return Err(io_error(path, e)),
                Ok(meta) => check_file_type(path, &meta)?,
            }
            sniff(path, kind)?;
            // redb rewrites header state when it opens a file for writing, so the metadata of
            // an existing file is checked read-only first: a foreign redb file, or a store of
            // the wrong kind or a newer schema, stays byte-for-byte unchanged.
            if !created {
                let readonly = make_builder(options, mode);
                match catch_unwind(AssertUnwindSafe(|| readonly.open_read_only(path))) {
                    Ok(Ok(db)) => {
                        let handle = Handle::Read(db);
                        check_meta(path, kind, &handle)?;
                        close_quietly(handle);
                    }
                    Ok(Err(DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch)) => {
                        wait_for_lock(path, deadline)?;
                        continue;
                    }
                    // A store whose writer crashed needs the repair only a writable open does;
                    // its metadata is checked after that open.
                    Ok(Err(_)) => {}
                    Err(_) => return Err(panicked(path)),
                }
            }
            match catch_unwind(AssertUnwindSafe(|| builder.open(path))) {
                Ok(Ok(db)) => break db,
                Ok(Err(DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch)) => {
                    wait_for_lock(path, deadline)?
                }
                Ok(Err(e)) => return Err(database_error(path, e)),
                Err(_) => return Err(panicked(path)),
            }
        };
        let journal_path = journal_path(path);
        let file = PathJournal::open(journal_path.clone()).map_err(|source| {
            journal_error(path, JournalError::Io { journal: journal_path.clone(), op: "open", source })
        })?;
        Self::writer(path, db, kind, Box::new(file), journal_path, options)
    }

    /// The one way a writer is made, whatever it opened: the metadata is checked and the journal
    /// recovered (replayed, or the open refused) before anything can be written.
    fn writer(
        path: &Path,
        db: Database,
        kind: StoreKind,
        file: Box<dyn JournalFile>,
        journal_path: PathBuf,
        options: &RedbOptions,
    ) -> Result<RedbBackend, OpenError> {
        let handle = Handle::Write(db);
        check_meta(path, kind, &handle)?;
        let Handle::Write(db) = &handle else { unreachable!("made as a writer above") };
        let journal_options = JournalOptions {
            accept_loss: options.accept_journal_loss,
            capacity: options.checkpoint_bytes,
            direct: options.shared_readers,
        };
        let journal =
            Journal::open(path, db, file, journal_path, &journal_options).map_err(|e| journal_error(path, e))?;
        Ok(RedbBackend {
            db: RwLock::new(Some(handle)),
            path: path.to_path_buf(),
            kind,
            read_only: false,
            shared_readers: options.shared_readers,
            journal: Some(journal),
        })
    }

    /// Opens an existing store for reading only: never creates, repairs or writes the file.
    ///
    /// Succeeds beside a writer only if that writer opened the store with
    /// [`RedbOptions::shared_readers`]; otherwise fails with [`OpenError::InUse`] after
    /// [`RedbOptions::lock_timeout`]. While open, it prevents a writer without `shared_readers`
    /// from opening the store. See the module documentation.
    pub fn open_read_only(path: &Path, kind: StoreKind, options: &RedbOptions) -> Result<RedbBackend, OpenError> {
        let deadline = Instant::now() + options.lock_timeout;
        let mut mode = ConcurrencyMode::SingleWriter;
        let db = loop {
            match fs::metadata(path) {
                Err(e) => return Err(io_error(path, e)),
                Ok(meta) => check_file_type(path, &meta)?,
            }
            sniff(path, kind)?;
            let builder = make_builder(options, mode);
            match catch_unwind(AssertUnwindSafe(|| builder.open_read_only(path))) {
                Ok(Ok(db)) => break db,
                Ok(Err(DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch)) => {
                    wait_for_lock(path, deadline)?
                }
                // Platforms without byte-range locks support only the whole-file mode.
                Ok(Err(DatabaseError::Storage(::redb::StorageError::Unsupported)))
                    if mode == ConcurrencyMode::SingleWriter =>
                {
                    mode = ConcurrencyMode::ExclusiveWriter;
                }
                Ok(Err(e)) => return Err(database_error(path, e)),
                Err(_) => return Err(panicked(path)),
            }
        };
        let handle = Handle::Read(db);
        check_meta(path, kind, &handle)?;
        if let Handle::Read(db) = &handle {
            // Commits still only in the journal would be invisible here: refuse rather than
            // show an older state as the current one.
            if journal::has_pending(path, db).map_err(|e| journal_error(path, e))? {
                return Err(OpenError::Storage {
                    path: path.to_path_buf(),
                    detail: format!(
                        "its journal {} holds commits the file does not have yet (the writer did not close it); open the store for writing once to recover them",
                        journal_path(path).display()
                    ),
                });
            }
        }
        Ok(RedbBackend {
            db: RwLock::new(Some(handle)),
            path: path.to_path_buf(),
            kind,
            read_only: true,
            shared_readers: true,
            journal: None,
        })
    }

    /// Opens a store over a caller-supplied redb [`StorageBackend`](::redb::StorageBackend) and
    /// journal file instead of a path: an empty backend gets a new store (metadata written),
    /// anything else must hold a store of `kind` (a backend whose redb database holds no table
    /// yet counts as empty). The journal is recovered exactly as [`RedbBackend::open`] does. For
    /// tests that inject I/O faults or simulate power loss; nodes use [`RedbBackend::open`].
    /// There is no path ([`RedbBackend::path`] is `<custom backend>`, [`RedbBackend::file_size`]
    /// is `None`), no sniffing of foreign bytes and no lock wait.
    #[doc(hidden)]
    pub fn open_with_backend(
        backend: impl ::redb::StorageBackend,
        journal: impl JournalFile + 'static,
        kind: StoreKind,
        options: &RedbOptions,
    ) -> Result<RedbBackend, OpenError> {
        let path = Path::new(CUSTOM_BACKEND);
        let builder = make_builder(options, ConcurrencyMode::ExclusiveWriter);
        let db = match catch_unwind(AssertUnwindSafe(|| builder.create_with_backend(backend))) {
            Ok(Ok(db)) => db,
            Ok(Err(e)) => return Err(database_error(path, e)),
            Err(_) => return Err(panicked(path)),
        };
        // New, or created by an earlier call that failed before its metadata committed.
        let fresh = db
            .begin_read()
            .map_err(|e| OpenError::Storage { path: path.to_path_buf(), detail: transaction_error(e).to_string() })?
            .list_tables()
            .map_err(|e| OpenError::Storage { path: path.to_path_buf(), detail: storage_error(e).to_string() })?
            .next()
            .is_none();
        if fresh {
            write_meta(&db, kind).map_err(|e| match e {
                StorageError::StorageFull { detail } => {
                    io_error(path, io::Error::new(io::ErrorKind::StorageFull, detail))
                }
                other => OpenError::Storage { path: path.to_path_buf(), detail: other.to_string() },
            })?;
        }
        let options = RedbOptions { shared_readers: false, ..options.clone() };
        Self::writer(path, db, kind, Box::new(journal), journal_path(path), &options)
    }

    /// The store path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The kind of store this file holds.
    pub fn kind(&self) -> StoreKind {
        self.kind
    }

    /// Whether this handle was opened with [`RedbBackend::open_read_only`].
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Current size of the file in bytes (`None` if it cannot be read).
    pub fn file_size(&self) -> Option<u64> {
        fs::metadata(&self.path).ok().map(|m| m.len())
    }

    /// Bytes in the file's allocated pages: the records, indexes, history, event log and redb's
    /// own metadata, without the free space redb keeps in the file (it grows the file in
    /// doubling regions, so [`file_size`](Self::file_size) moves in steps). The journal is not
    /// included. Fails while a write transaction of this handle is alive (it waits for it).
    pub fn bytes_in_use(&self) -> Result<u64, StorageError> {
        let guard = self.db.read().unwrap_or_else(|e| e.into_inner());
        match guard.as_ref() {
            None => Err(closed()),
            Some(Handle::Read(_)) => Err(backend(READ_ONLY)),
            Some(Handle::Write(db)) => {
                let txn = db.begin_write().map_err(transaction_error)?;
                let stats = txn.stats().map_err(storage_error)?;
                txn.abort().map_err(storage_error)?;
                Ok(stats.allocated_pages() * stats.page_size() as u64)
            }
        }
    }

    /// Verifies every page checksum, repairing the file if possible: `Ok(true)` if it was intact,
    /// `Ok(false)` if it was repaired. Fails while any transaction of this handle is alive.
    pub fn check_integrity(&self) -> Result<bool, StorageError> {
        let mut guard = self.write_handle();
        match guard.as_mut() {
            None => Err(closed()),
            Some(Handle::Read(_)) => Err(backend(READ_ONLY)),
            Some(Handle::Write(db)) => {
                self.checkpoint(db)?;
                db.check_integrity().map_err(database_storage_error)
            }
        }
    }

    /// Rewrites the file to release free space; `Ok(true)` if anything was reclaimed. Fails while
    /// any transaction of this handle is alive.
    pub fn compact(&self) -> Result<bool, StorageError> {
        let mut guard = self.write_handle();
        match guard.as_mut() {
            None => Err(closed()),
            Some(Handle::Read(_)) => Err(backend(READ_ONLY)),
            Some(Handle::Write(db)) => {
                // Recorded as closed before compacting: a commit after the compaction (the
                // close's) would need pages the compaction gave back, and grow the file again.
                if let Some(journal) = &self.journal {
                    journal.checkpoint(db, true)?;
                }
                db.compact().map_err(|e| match e {
                    ::redb::CompactionError::Storage(e) => storage_error(e),
                    other => backend(other),
                })
            }
        }
    }

    /// Makes everything the journal holds durable in the file and starts the journal over. A
    /// write transaction of this handle that is still alive is left to finish on its own (its
    /// frames are recovered at the next open).
    fn checkpoint(&self, db: &Database) -> Result<(), StorageError> {
        match &self.journal {
            Some(journal) => journal.checkpoint(db, false),
            None => Ok(()),
        }
    }

    fn read_handle(&self) -> RwLockReadGuard<'_, Option<Handle>> {
        self.db.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_handle(&self) -> RwLockWriteGuard<'_, Option<Handle>> {
        self.db.write().unwrap_or_else(|e| e.into_inner())
    }
}

// ---- error mapping ----

fn backend(detail: impl fmt::Display) -> StorageError {
    StorageError::Backend { detail: detail.to_string() }
}

fn closed() -> StorageError {
    backend(CLOSED)
}

fn is_storage_full(e: &io::Error) -> bool {
    const ENOSPC: i32 = 28;
    e.kind() == io::ErrorKind::StorageFull || e.raw_os_error() == Some(ENOSPC)
}

fn storage_error(e: ::redb::StorageError) -> StorageError {
    match e {
        ::redb::StorageError::Io(io) if is_storage_full(&io) => StorageError::StorageFull { detail: io.to_string() },
        ::redb::StorageError::DatabaseClosed => closed(),
        ::redb::StorageError::ValueTooLarge(len) => {
            StorageError::Encode { detail: format!("value of {len} bytes exceeds redb's limit") }
        }
        other => backend(other),
    }
}

fn table_error(e: TableError) -> StorageError {
    match e {
        TableError::Storage(e) => storage_error(e),
        other => backend(other),
    }
}

fn transaction_error(e: ::redb::TransactionError) -> StorageError {
    match e {
        ::redb::TransactionError::Storage(e) => storage_error(e),
        other => backend(other),
    }
}

fn commit_error(e: ::redb::CommitError) -> StorageError {
    match e {
        ::redb::CommitError::Storage(e) => storage_error(e),
        other => backend(other),
    }
}

fn database_storage_error(e: DatabaseError) -> StorageError {
    match e {
        DatabaseError::Storage(e) => storage_error(e),
        other => backend(other),
    }
}

impl Backend for RedbBackend {
    type Read<'a> = RedbRead<'a>;
    type Write<'a> = RedbWrite<'a>;

    fn begin_read(&self) -> Result<RedbRead<'_>, StorageError> {
        let txn = match self.read_handle().as_ref() {
            None => return Err(closed()),
            Some(Handle::Write(db)) => db.begin_read(),
            Some(Handle::Read(db)) => db.begin_read(),
        }
        .map_err(transaction_error)?;
        Ok(RedbRead::new(txn))
    }

    fn begin_write(&self, durability: Durability) -> Result<RedbWrite<'_>, StorageError> {
        // The handle stays read-locked until the journal knows of the transaction, so that a
        // checkpoint (which write-locks the handle) never waits for a redb write lock that a
        // transaction it cannot see holds.
        let guard = self.read_handle();
        let (db, journal) = match (guard.as_ref(), &self.journal) {
            (None, _) => return Err(closed()),
            (Some(Handle::Read(_)), _) | (_, None) => return Err(backend(READ_ONLY)),
            (Some(Handle::Write(db)), Some(journal)) => (db, journal),
        };
        let mut txn = db.begin_write().map_err(transaction_error)?;
        journal.begin()?;
        if self.shared_readers {
            // Every commit is a redb durable commit (two-phase in this mode anyway): quick
            // repair costs little more and makes the open after a crash fast.
            txn.set_quick_repair(true);
        } else if let Err(e) = txn.set_durability(::redb::Durability::None) {
            journal.abandon();
            return Err(backend(e));
        }
        drop(guard);
        Ok(RedbWrite::new(txn, journal, durability == Durability::None))
    }

    fn close(&self) -> Result<(), StorageError> {
        let handle = self.write_handle().take();
        match handle {
            None => Ok(()),
            Some(Handle::Read(db)) => db.close().map_err(database_storage_error),
            Some(Handle::Write(db)) => {
                let checkpointed = match &self.journal {
                    Some(journal) => journal.checkpoint(&db, true).and_then(|()| journal.shrink()),
                    None => Ok(()),
                };
                match db.close() {
                    // The live write transaction keeps the file open and closes it when it ends.
                    Ok(()) | Err(DatabaseError::TransactionInProgress) => checkpointed,
                    Err(e) => Err(database_storage_error(e)),
                }
            }
        }
    }
}

impl Drop for RedbBackend {
    fn drop(&mut self) {
        // Leaves the journal empty, so that a read-only open can follow.
        let _ = self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::txn::{decode, encode};
    use super::*;

    #[test]
    fn foreign_files_are_described_by_their_first_bytes() {
        assert_eq!(describe_foreign(b""), "an empty file");
        assert_eq!(describe_foreign(b"hello\nworld\t\r\n"), "a text file");
        let mut bolt = vec![0u8; 4096];
        bolt[16..20].copy_from_slice(&BBOLT_MAGIC.to_le_bytes());
        assert_eq!(describe_foreign(&bolt), "a bbolt (Bacalhau v1.x) database");
        assert_eq!(describe_foreign(&[0xff, 0x00, 0x13, 0x37]), "a file of unknown format (not a redb database)");
        // Text cut inside a multi-byte character is still text.
        assert_eq!(describe_foreign("héllo".as_bytes().split_at(2).0), "a text file");
    }

    #[test]
    fn values_carry_a_format_byte_before_their_cbor() {
        let mut buf = Vec::new();
        encode(&mut buf, &"x".to_string()).unwrap();
        assert_eq!(buf[0], FORMAT_VERSION);
        assert_eq!(decode::<String>("t", &buf).unwrap(), "x");
        buf[0] = 7;
        let err = decode::<String>("t", &buf).unwrap_err();
        assert_eq!(err, StorageError::Corrupt { table: "t", detail: "unknown value format 7".into() });
    }

    #[test]
    fn the_backend_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<RedbBackend>();
    }
}
