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
//! A commit with [`Durability::Immediate`] is durable when it returns. By default
//! ([`RedbOptions::journal`]) a writer makes it so with the commit journal beside the file
//! (`<path>.journal`, [`journal_path`]): the transaction's changes are appended there and synced,
//! and the redb commit itself skips its sync; every 4 MiB of journal, and at close, one redb
//! durable commit makes the file whole again. An open after a crash replays the journal. A store
//! operation writes six or seven tables, so this halves the bytes synced per operation; the
//! format and its invariants are in `src/kv/redb/journal.rs`. Moving a store means moving a
//! closed one (a clean close leaves nothing in the journal that the file lacks).
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
//!   writer's latest commit. The price: [`Durability::None`] is not available to a writer that
//!   shares the file (redb refuses it, since such a commit would exist only in the writer's
//!   memory), so it is upgraded to [`Durability::Immediate`]; and beginning a read transaction
//!   costs a few microseconds more (byte-range locks).
//! * A read-only handle refuses every write: [`Backend::begin_write`] fails with
//!   [`StorageError::Backend`] ("store is open read-only"). It never repairs a file; a store whose
//!   writer crashed and that nobody reopened since may fail to open read-only with
//!   [`OpenError::Storage`] until a writer has opened (and so repaired) it.

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
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use ::redb::backends::FileBackend;
use ::redb::{
    Builder, ConcurrencyMode, Database, DatabaseError, ReadOnlyDatabase, ReadOnlyTable, ReadTransaction,
    ReadableDatabase, ReadableTable, TableDefinition, TableError, WriteTransaction,
};

use super::{Backend, Direction, Durability, KeyRange, ReadTxn, StoreKind, Table, Value, WriteTxn};
use crate::error::StorageError;

mod journal;
pub use journal::path_for as journal_path;
use journal::{Changes, Journal, Plan};

/// Format byte in front of every stored value: 1 = CBOR.
pub const FORMAT_VERSION: u8 = 1;
/// Schema version written to new stores and the newest one this build reads.
pub const SCHEMA_VERSION: u32 = 1;
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
use crate::kv::Visitor;

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
    /// writes. Upgrades [`Durability::None`] commits to [`Durability::Immediate`]; see the module
    /// documentation. Default `false`.
    pub shared_readers: bool,
    /// Make durable commits through the commit journal (`<path>.journal`, see the module
    /// documentation) instead of a redb durable commit each. Ignored with `shared_readers`
    /// (readers in other processes see only the redb file). Default `true`.
    pub journal: bool,
}

impl Default for RedbOptions {
    fn default() -> Self {
        Self { lock_timeout: Duration::from_secs(2), cache_size: None, shared_readers: false, journal: true }
    }
}

/// Why a store could not be opened. Every message names the path.
#[derive(Debug)]
#[non_exhaustive]
pub enum OpenError {
    /// Another handle (this process or another) has the store open.
    InUse {
        /// Store path.
        path: PathBuf,
    },
    /// The store was written by a newer version with a schema this build cannot read.
    NewerSchema {
        /// Store path.
        path: PathBuf,
        /// Schema version in the file.
        found: u32,
        /// Newest schema version this build reads.
        supported: u32,
    },
    /// The store holds the other kind of store (a job store opened as a compute store, or the
    /// other way round).
    WrongKind {
        /// Store path.
        path: PathBuf,
        /// Kind asked for.
        expected: StoreKind,
        /// Kind recorded in the file.
        found: String,
    },
    /// The path holds something other than a bacalhau-state store; it was left untouched.
    NotAStore {
        /// Store path.
        path: PathBuf,
        /// What is there instead ("an empty file", "a directory", ...).
        found: String,
    },
    /// The path holds a Bacalhau v1.x bbolt store (the same default paths): it is never opened
    /// or modified; the message names the `bacalhau-state migrate` command that converts it.
    LegacyBbolt {
        /// Store path.
        path: PathBuf,
        /// The store kind that was being opened.
        kind: StoreKind,
    },
    /// The file system refused (permissions, missing file for a read-only open, disk full, ...).
    Io {
        /// Store path.
        path: PathBuf,
        /// The failure.
        source: io::Error,
    },
    /// The file is a redb database that redb could not open (corruption, unsupported format).
    Storage {
        /// Store path.
        path: PathBuf,
        /// What redb reported.
        detail: String,
    },
}

impl OpenError {
    /// Stable code.
    pub const fn code(&self) -> &'static str {
        match self {
            OpenError::InUse { .. } => "InUse",
            OpenError::NewerSchema { .. } => "NewerSchema",
            OpenError::WrongKind { .. } => "WrongKind",
            OpenError::NotAStore { .. } => "NotAStore",
            OpenError::LegacyBbolt { .. } => "LegacyBbolt",
            OpenError::Io { .. } => "Io",
            OpenError::Storage { .. } => "Storage",
        }
    }

    /// The store path the error is about.
    pub fn path(&self) -> &Path {
        match self {
            OpenError::InUse { path }
            | OpenError::NewerSchema { path, .. }
            | OpenError::WrongKind { path, .. }
            | OpenError::NotAStore { path, .. }
            | OpenError::LegacyBbolt { path, .. }
            | OpenError::Io { path, .. }
            | OpenError::Storage { path, .. } => path,
        }
    }
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::InUse { path } => {
                write!(f, "store {} is in use: another process or handle has it open", path.display())
            }
            OpenError::NewerSchema { path, found, supported } => write!(
                f,
                "store {} has schema version {found}, newer than the supported version \
                 {supported}: it was written by a newer bacalhau-state",
                path.display()
            ),
            OpenError::WrongKind { path, expected, found } => {
                write!(f, "store {} is a {found} store, not a {} store", path.display(), expected.as_str())
            }
            OpenError::NotAStore { path, found } => {
                write!(f, "{} is not a bacalhau-state store: found {found}", path.display())
            }
            OpenError::LegacyBbolt { path, kind } => {
                let role = match kind {
                    StoreKind::Compute => crate::config::StoreRole::Compute,
                    StoreKind::Requester => crate::config::StoreRole::Requester,
                };
                let shown = path.display().to_string();
                let quoted = if shown.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+:@".contains(c)) {
                    shown.clone()
                } else {
                    format!("'{}'", shown.replace('\'', "'\\''"))
                };
                write!(
                    f,
                    "{shown} is a Bacalhau v1.x bbolt {} store; it is left untouched. Convert it with: \
                     bacalhau-state migrate {} {quoted} (the bbolt file is kept as {shown}.bbolt-backup)",
                    kind.as_str(),
                    role.path_flag()
                )
            }
            OpenError::Io { path, source } => {
                write!(f, "cannot open store {}: {source}", path.display())
            }
            OpenError::Storage { path, detail } => {
                write!(f, "cannot open store {}: {detail}", path.display())
            }
        }
    }
}

impl std::error::Error for OpenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OpenError::Io { source, .. } => Some(source),
            _ => None,
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
    /// The commit journal of a writer opened by path without `shared_readers`.
    journal: Option<Mutex<Journal>>,
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
        let handle = Handle::Write(db);
        check_meta(path, kind, &handle)?;
        let journal = match &handle {
            Handle::Write(db) if options.journal && !options.shared_readers => Some(Mutex::new(
                Journal::open(path, db).map_err(|detail| OpenError::Storage { path: path.to_path_buf(), detail })?,
            )),
            _ => None,
        };
        Ok(RedbBackend {
            db: RwLock::new(Some(handle)),
            path: path.to_path_buf(),
            kind,
            read_only: false,
            shared_readers: options.shared_readers,
            journal,
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
            let (_, applied) =
                journal::read_meta(db).map_err(|detail| OpenError::Storage { path: path.to_path_buf(), detail })?;
            if journal::has_pending(path, applied) {
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

    /// Opens a store over a caller-supplied redb [`StorageBackend`](::redb::StorageBackend)
    /// instead of a file: an empty backend gets a new store (metadata written), anything else
    /// must hold a store of `kind` (a backend whose redb database holds no table yet counts as
    /// empty). For tests that inject I/O faults or keep the bytes in memory
    /// to reopen them; nodes use [`RedbBackend::open`]. There is no path ([`RedbBackend::path`]
    /// is `<custom backend>`, [`RedbBackend::file_size`] is `None`), no sniffing of foreign
    /// bytes and no lock wait: locking is whatever the backend implements.
    #[doc(hidden)]
    pub fn open_with_backend(
        backend: impl ::redb::StorageBackend,
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
        let handle = Handle::Write(db);
        check_meta(path, kind, &handle)?;
        Ok(RedbBackend {
            db: RwLock::new(Some(handle)),
            path: path.to_path_buf(),
            kind,
            read_only: false,
            shared_readers: false,
            journal: None,
        })
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
                self.checkpoint(db)?;
                db.compact().map_err(|e| match e {
                    ::redb::CompactionError::Storage(e) => storage_error(e),
                    other => backend(other),
                })
            }
        }
    }

    fn journal(&self) -> Option<MutexGuard<'_, Journal>> {
        self.journal.as_ref().map(|j| j.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Makes everything the journal holds durable in the file and starts the journal over. A
    /// write transaction of this handle that is still alive is left to finish on its own (its
    /// frames are recovered at the next open).
    fn checkpoint(&self, db: &Database) -> Result<(), StorageError> {
        let Some(mut journal) = self.journal() else { return Ok(()) };
        if journal.active() || !journal.needs_checkpoint() {
            return Ok(());
        }
        let txn = db.begin_write().map_err(transaction_error)?;
        journal::set_seq(&txn, journal.seq())?;
        txn.commit().map_err(commit_error)?;
        journal.checkpointed();
        Ok(())
    }

    fn read_handle(&self) -> RwLockReadGuard<'_, Option<Handle>> {
        self.db.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_handle(&self) -> RwLockWriteGuard<'_, Option<Handle>> {
        self.db.write().unwrap_or_else(|e| e.into_inner())
    }
}

fn make_builder(options: &RedbOptions, mode: ConcurrencyMode) -> Builder {
    let mut builder = Builder::new();
    builder.set_concurrency_mode(mode);
    if let Some(size) = options.cache_size {
        builder.set_cache_size(size);
    }
    builder
}

fn close_quietly(handle: Handle) {
    // Only the lock release matters here; a read-only close has nothing to flush.
    if let Handle::Read(db) = handle {
        let _ = db.close();
    }
}

fn wait_for_lock(path: &Path, deadline: Instant) -> Result<(), OpenError> {
    let now = Instant::now();
    if now >= deadline {
        return Err(OpenError::InUse { path: path.to_path_buf() });
    }
    std::thread::sleep(LOCK_RETRY_INTERVAL.min(deadline - now));
    Ok(())
}

fn io_error(path: &Path, source: io::Error) -> OpenError {
    OpenError::Io { path: path.to_path_buf(), source }
}

fn not_a_store(path: &Path, found: &str) -> OpenError {
    OpenError::NotAStore { path: path.to_path_buf(), found: found.into() }
}

fn panicked(path: &Path) -> OpenError {
    OpenError::Storage {
        path: path.to_path_buf(),
        detail: "redb panicked while opening the file, which is probably corrupt".into(),
    }
}

fn database_error(path: &Path, e: DatabaseError) -> OpenError {
    match e {
        DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch => {
            OpenError::InUse { path: path.to_path_buf() }
        }
        DatabaseError::Storage(::redb::StorageError::Io(source)) => io_error(path, source),
        other => OpenError::Storage { path: path.to_path_buf(), detail: other.to_string() },
    }
}

fn check_file_type(path: &Path, meta: &fs::Metadata) -> Result<(), OpenError> {
    if meta.is_dir() {
        Err(not_a_store(path, "a directory"))
    } else if !meta.is_file() {
        Err(not_a_store(path, "something that is not a regular file"))
    } else {
        Ok(())
    }
}

/// Refuses anything that is not a redb file before redb sees it, because redb initialises an
/// empty file and may rewrite what it takes for a damaged database of its own.
fn sniff(path: &Path, kind: StoreKind) -> Result<(), OpenError> {
    let mut head = Vec::with_capacity(4096);
    File::open(path).and_then(|f| f.take(4096).read_to_end(&mut head)).map_err(|e| io_error(path, e))?;
    if head.starts_with(&REDB_MAGIC) {
        return Ok(());
    }
    let found = describe_foreign(&head);
    if found == BBOLT_FOUND {
        return Err(OpenError::LegacyBbolt { path: path.to_path_buf(), kind });
    }
    Err(not_a_store(path, found))
}

const BBOLT_FOUND: &str = "a bbolt (Bacalhau v1.x) database";

fn describe_foreign(head: &[u8]) -> &'static str {
    if head.is_empty() {
        return "an empty file";
    }
    if let Some(magic) = head.get(BBOLT_MAGIC_OFFSET..BBOLT_MAGIC_OFFSET + 4) {
        if u32::from_le_bytes([magic[0], magic[1], magic[2], magic[3]]) == BBOLT_MAGIC {
            return BBOLT_FOUND;
        }
    }
    // A read may end inside a multi-byte character; only the complete prefix has to be valid.
    let text = match std::str::from_utf8(head) {
        Ok(s) => Some(s),
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).ok(),
        Err(_) => None,
    };
    match text {
        Some(s) if s.chars().all(|c| !c.is_control() || c.is_whitespace()) => "a text file",
        _ => "a file of unknown format (not a redb database)",
    }
}

/// Builds a complete store under a temporary name and links it into place, so the store path
/// never holds a half-initialised file, and a concurrent creator's store is never overwritten.
fn create_store(path: &Path, kind: StoreKind, builder: &Builder) -> Result<(), OpenError> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    create_dirs(&parent).map_err(|e| io_error(path, e))?;
    let name = path.file_name().ok_or_else(|| not_a_store(path, "a path without a file name"))?;
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".creating-{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed)));
    let tmp = TempFile(parent.join(tmp_name));

    let file = create_file(&tmp.0).map_err(|e| io_error(path, e))?;
    let backend = FileBackend::new(file).map_err(|e| database_error(path, e))?;
    let db = builder.create_with_backend(backend).map_err(|e| database_error(path, e))?;
    write_meta(&db, kind).map_err(|e| match e {
        StorageError::StorageFull { detail } => io_error(path, io::Error::new(io::ErrorKind::StorageFull, detail)),
        other => OpenError::Storage { path: path.to_path_buf(), detail: other.to_string() },
    })?;
    db.close().map_err(|e| database_error(path, e))?;

    match fs::hard_link(&tmp.0, path) {
        Ok(()) => {}
        // Someone else created the store meanwhile: theirs wins, ours is discarded.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        // File systems without hard links: a rename can only race with another creator.
        Err(_) if !path.exists() => fs::rename(&tmp.0, path).map_err(|e| io_error(path, e))?,
        Err(e) => return Err(io_error(path, e)),
    }
    drop(tmp);
    sync_dir(&parent);
    Ok(())
}

/// Removes the temporary file of an interrupted or finished creation.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

#[cfg(unix)]
fn create_dirs(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_dirs(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

fn create_file(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Makes the new directory entry durable; best effort, since some platforms cannot open
/// directories.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

fn write_meta(db: &Database, kind: StoreKind) -> Result<(), StorageError> {
    let txn = db.begin_write().map_err(transaction_error)?;
    {
        let mut meta = txn.open_table(META).map_err(table_error)?;
        let version = SCHEMA_VERSION.to_string();
        let created_by = concat!("bacalhau-state ", env!("CARGO_PKG_VERSION"));
        for (key, value) in [
            (META_SCHEMA_VERSION, version.as_bytes()),
            (META_STORE_KIND, kind.as_str().as_bytes()),
            (META_CREATED_BY, created_by.as_bytes()),
        ] {
            meta.insert(key, value).map_err(storage_error)?;
        }
    }
    txn.commit().map_err(commit_error)
}

fn check_meta(path: &Path, kind: StoreKind, handle: &Handle) -> Result<(), OpenError> {
    let storage = |e: StorageError| OpenError::Storage { path: path.to_path_buf(), detail: e.to_string() };
    let txn = match handle {
        Handle::Write(db) => db.begin_read(),
        Handle::Read(db) => db.begin_read(),
    }
    .map_err(|e| storage(transaction_error(e)))?;
    let meta = match txn.open_table(META) {
        Ok(t) => t,
        Err(TableError::TableDoesNotExist(_)) => {
            return Err(not_a_store(path, "a redb database without bacalhau-state metadata"))
        }
        Err(e) => return Err(storage(table_error(e))),
    };
    let read = |key: &[u8]| -> Result<Option<String>, OpenError> {
        let value = meta.get(key).map_err(|e| storage(storage_error(e)))?;
        Ok(value.map(|v| String::from_utf8_lossy(v.value()).into_owned()))
    };
    let version = read(META_SCHEMA_VERSION)?;
    let found_kind = read(META_STORE_KIND)?;
    let (Some(version), Some(found_kind)) = (version, found_kind) else {
        return Err(not_a_store(path, "a redb database with incomplete bacalhau-state metadata"));
    };
    let found: u32 = version.parse().map_err(|_| OpenError::Storage {
        path: path.to_path_buf(),
        detail: format!("unreadable schema_version {version:?} in the meta table"),
    })?;
    if found > SCHEMA_VERSION {
        return Err(OpenError::NewerSchema { path: path.to_path_buf(), found, supported: SCHEMA_VERSION });
    }
    if found < 1 {
        return Err(OpenError::Storage {
            path: path.to_path_buf(),
            detail: format!("unsupported schema_version {found}"),
        });
    }
    if StoreKind::parse(&found_kind) != Some(kind) {
        return Err(OpenError::WrongKind { path: path.to_path_buf(), expected: kind, found: found_kind });
    }
    Ok(())
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

// ---- values ----

fn encode<V: Value>(buf: &mut Vec<u8>, value: &V) -> Result<(), StorageError> {
    buf.clear();
    buf.push(FORMAT_VERSION);
    ciborium::into_writer(value, &mut *buf).map_err(|e| StorageError::Encode { detail: e.to_string() })
}

fn decode<V: Value>(table: &'static str, bytes: &[u8]) -> Result<V, StorageError> {
    match bytes.split_first() {
        Some((&FORMAT_VERSION, cbor)) => ciborium::from_reader(cbor)
            .map_err(|e| StorageError::Corrupt { table, detail: format!("CBOR decode: {e}") }),
        Some((&other, _)) => Err(StorageError::Corrupt { table, detail: format!("unknown value format {other}") }),
        None => Err(StorageError::Corrupt { table, detail: "empty value (no format byte)".into() }),
    }
}

/// Redb, like `BTreeMap`, must not be handed an inverted range; an inverted range is simply
/// empty.
fn is_empty_range(range: &KeyRange<'_>) -> bool {
    use Bound::*;
    match (range.start, range.end) {
        (Included(s), Included(e)) => s > e,
        (Included(s), Excluded(e)) | (Excluded(s), Included(e)) | (Excluded(s), Excluded(e)) => s >= e,
        _ => false,
    }
}

fn get_raw<T, R>(
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

fn scan_raw<T>(table: &T, range: KeyRange<'_>, dir: Direction, visit: &mut RawVisitor<'_>) -> Result<(), StorageError>
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

fn scan_values<T, V: Value>(
    table: &T,
    name: &'static str,
    range: KeyRange<'_>,
    dir: Direction,
    visit: &mut Visitor<'_, V>,
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
        visit: &mut Visitor<'_, V>,
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
    /// The backend's journal, when this transaction is made durable through it; the changes are
    /// recorded as they are made, for its frame.
    journal: Option<(&'a Mutex<Journal>, Changes)>,
    /// The caller asked for `Durability::None` on a journaled store.
    unlogged: bool,
}

impl<'a> RedbWrite<'a> {
    fn new(txn: WriteTransaction, journal: Option<(&'a Mutex<Journal>, Changes)>, unlogged: bool) -> Self {
        let txn = NonNull::from(Box::leak(Box::new(txn)));
        Self { tables: RefCell::new(Vec::new()), txn: Some(txn), buf: Vec::new(), journal, unlogged }
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
        visit: &mut Visitor<'_, V>,
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
        if let (Ok(()), Some((_, changes))) = (&result, &mut self.journal) {
            changes.put(table.name(), key, &buf);
        }
        self.buf = buf;
        result
    }

    fn delete<V: Value>(&mut self, table: Table<V>, key: &[u8]) -> Result<bool, StorageError> {
        let t = self.table_mut(table.name())?;
        let existed = t.remove(key).map_err(storage_error)?.is_some();
        if let (true, Some((_, changes))) = (existed, &mut self.journal) {
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
        let mut txn = unsafe { Box::from_raw(txn.as_ptr()) };
        // redb can fail after its commit point (the sync after the header write, or the
        // post-commit pass that frees pages), so a failed commit is never reported as "not
        // applied" (tests/faults.rs).
        let uncertain = |cause: StorageError| StorageError::CommitUncertain { cause: Box::new(cause) };
        let Some((journal, changes)) = self.journal.take() else {
            return txn.commit().map_err(|e| uncertain(commit_error(e)));
        };
        let mut journal = journal.lock().unwrap_or_else(|e| e.into_inner());
        journal.end();
        if self.unlogged {
            journal.note_unlogged();
            return txn.commit().map_err(|e| uncertain(commit_error(e)));
        }
        match journal.plan(&changes) {
            Plan::Frame if changes.is_empty() => txn.commit().map_err(|e| uncertain(commit_error(e))),
            Plan::Frame => {
                if let Err(e) = journal.write_frame(&changes) {
                    journal.poison(format!("writing the journal failed: {e}"));
                    return Err(uncertain(storage_error(::redb::StorageError::Io(e))));
                }
                txn.commit().map_err(|e| {
                    let e = commit_error(e);
                    journal.poison(format!("committing after the journal was written failed: {e}"));
                    uncertain(e)
                })
            }
            Plan::Checkpoint(seq) => {
                journal::set_seq(&txn, seq)?;
                txn.set_durability(::redb::Durability::Immediate).map_err(backend)?;
                txn.commit().map_err(|e| uncertain(commit_error(e)))?;
                journal.checkpointed();
                Ok(())
            }
        }
    }
}

impl Drop for RedbWrite<'_> {
    fn drop(&mut self) {
        self.tables.get_mut().clear();
        if let Some(txn) = self.txn.take() {
            // SAFETY: as in `commit`; dropping the transaction aborts it.
            drop(unsafe { Box::from_raw(txn.as_ptr()) });
        }
        if let Some((journal, _)) = self.journal.take() {
            journal.lock().unwrap_or_else(|e| e.into_inner()).end();
        }
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
        Ok(RedbRead { txn, tables: RefCell::new(Vec::new()), _backend: PhantomData })
    }

    fn begin_write(&self, durability: Durability) -> Result<RedbWrite<'_>, StorageError> {
        let mut txn = match self.read_handle().as_ref() {
            None => return Err(closed()),
            Some(Handle::Read(_)) => return Err(backend(READ_ONLY)),
            Some(Handle::Write(db)) => db.begin_write().map_err(transaction_error)?,
        };
        // Journaled: redb commits without a sync; durability comes from the journal frame (or a
        // checkpoint), decided at commit.
        let journal = match &self.journal {
            Some(journal) => {
                let mut guard = journal.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(e) = guard.poisoned() {
                    return Err(e);
                }
                guard.begin();
                Some((journal, Changes::default()))
            }
            None => None,
        };
        // A writer sharing the file cannot make a commit that exists only in its memory; the
        // durable commit it makes instead is visible at the same moment.
        if (durability == Durability::None || journal.is_some()) && !self.shared_readers {
            txn.set_durability(::redb::Durability::None).map_err(backend)?;
        }
        Ok(RedbWrite::new(txn, journal, durability == Durability::None))
    }

    fn close(&self) -> Result<(), StorageError> {
        let handle = self.write_handle().take();
        match handle {
            None => Ok(()),
            Some(Handle::Read(db)) => db.close().map_err(database_storage_error),
            Some(Handle::Write(db)) => {
                let checkpointed = self.checkpoint(&db);
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
