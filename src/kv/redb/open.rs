//! Opening a store file: the error type, what is checked before redb may touch a file, and how
//! a new store is created.

use super::*;

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
    /// The store's commit journal cannot be recovered: missing or foreign beside a store that
    /// was not closed cleanly, not a journal at all, or unreadable. Nothing was changed.
    Journal {
        /// Store path.
        path: PathBuf,
        /// What is wrong with the journal (it names the journal's path).
        source: JournalError,
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
            OpenError::Journal { source, .. } => source.code(),
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
            | OpenError::Journal { path, .. }
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
                    kind.path_flag()
                )
            }
            OpenError::Io { path, source } => {
                write!(f, "cannot open store {}: {source}", path.display())
            }
            OpenError::Journal { path, source } => write!(f, "cannot open store {}: {source}", path.display()),
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
            OpenError::Journal { source, .. } => Some(source),
            _ => None,
        }
    }
}

pub(super) fn make_builder(options: &RedbOptions, mode: ConcurrencyMode) -> Builder {
    let mut builder = Builder::new();
    builder.set_concurrency_mode(mode);
    if let Some(size) = options.cache_size {
        builder.set_cache_size(size);
    }
    builder
}

pub(super) fn close_quietly(handle: Handle) {
    // Only the lock release matters here; a read-only close has nothing to flush.
    if let Handle::Read(db) = handle {
        let _ = db.close();
    }
}

pub(super) fn wait_for_lock(path: &Path, deadline: Instant) -> Result<(), OpenError> {
    let now = Instant::now();
    if now >= deadline {
        return Err(OpenError::InUse { path: path.to_path_buf() });
    }
    std::thread::sleep(LOCK_RETRY_INTERVAL.min(deadline - now));
    Ok(())
}

pub(super) fn journal_error(path: &Path, source: JournalError) -> OpenError {
    OpenError::Journal { path: path.to_path_buf(), source }
}

pub(super) fn io_error(path: &Path, source: io::Error) -> OpenError {
    OpenError::Io { path: path.to_path_buf(), source }
}

pub(super) fn not_a_store(path: &Path, found: &str) -> OpenError {
    OpenError::NotAStore { path: path.to_path_buf(), found: found.into() }
}

pub(super) fn panicked(path: &Path) -> OpenError {
    OpenError::Storage {
        path: path.to_path_buf(),
        detail: "redb panicked while opening the file, which is probably corrupt".into(),
    }
}

pub(super) fn database_error(path: &Path, e: DatabaseError) -> OpenError {
    match e {
        DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch => {
            OpenError::InUse { path: path.to_path_buf() }
        }
        DatabaseError::Storage(::redb::StorageError::Io(source)) => io_error(path, source),
        other => OpenError::Storage { path: path.to_path_buf(), detail: other.to_string() },
    }
}

pub(super) fn check_file_type(path: &Path, meta: &fs::Metadata) -> Result<(), OpenError> {
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
pub(super) fn sniff(path: &Path, kind: StoreKind) -> Result<(), OpenError> {
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

pub(super) const BBOLT_FOUND: &str = "a bbolt (Bacalhau v1.x) database";

pub(super) fn describe_foreign(head: &[u8]) -> &'static str {
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
pub(super) fn create_store(path: &Path, kind: StoreKind, builder: &Builder) -> Result<(), OpenError> {
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
pub(super) struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

#[cfg(unix)]
pub(super) fn create_dirs(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
pub(super) fn create_dirs(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

pub(super) fn create_file(path: &Path) -> io::Result<File> {
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
pub(super) fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

pub(super) fn write_meta(db: &Database, kind: StoreKind) -> Result<(), StorageError> {
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

pub(super) fn check_meta(path: &Path, kind: StoreKind, handle: &Handle) -> Result<(), OpenError> {
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
    drop(meta);
    drop(txn);
    if let (Handle::Write(db), true) = (handle, found < SCHEMA_VERSION) {
        upgrade_schema(db).map_err(storage)?;
    }
    Ok(())
}

/// Records that the store is now written with [`SCHEMA_VERSION`]'s layout (which reads every
/// older one).
fn upgrade_schema(db: &Database) -> Result<(), StorageError> {
    let txn = db.begin_write().map_err(transaction_error)?;
    {
        let mut meta = txn.open_table(META).map_err(table_error)?;
        meta.insert(META_SCHEMA_VERSION, SCHEMA_VERSION.to_string().as_bytes()).map_err(storage_error)?;
    }
    txn.commit().map_err(commit_error)
}
