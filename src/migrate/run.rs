//! The safe sequence for one store path (see the module documentation).

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::convert::{convert_compute, convert_requester};
use super::verify;
use super::{FailPoint, MigrateError, MigrateOptions, MigrationReport, Outcome};
use crate::bbolt::{read_compute, read_requester, BacalhauLayout, BoltFile};
use crate::kv::redb::RedbBackend;
use crate::kv::StoreKind;
use crate::StoreBuilder;

/// redb's file magic: a store already migrated (or never bbolt).
const REDB_MAGIC: &[u8] = b"redb\x1A\x0A\xA9\x0D\x0A";
/// Numbered backups tried after `<path>.bbolt-backup`.
const MAX_BACKUPS: u32 = 100;

/// [`run`] with `dry_run` set: reads and converts the store at `path`, reports counts per kind
/// and state, and writes nothing.
pub fn plan(path: impl Into<PathBuf>) -> Result<MigrationReport, MigrateError> {
    run(&MigrateOptions::new(path).dry_run(true))
}

/// Migrates the store at `options.path` (see the [module documentation](super) for the
/// sequence and what a crash at each point leaves). Idempotent: rerunning after success reports
/// [`Outcome::AlreadyMigrated`]; rerunning after a crash finishes the migration.
pub fn run(options: &MigrateOptions) -> Result<MigrationReport, MigrateError> {
    let start = Instant::now();
    let path = options.path.as_path();
    let tmp = sibling(path, ".migrating");
    let mut report = MigrationReport {
        path: path.to_path_buf(),
        kind: None,
        outcome: Outcome::NoStore,
        backup: None,
        counts: Vec::new(),
        embedded_jobs_dropped: 0,
        notes: Vec::new(),
        source_bytes: 0,
        elapsed: Default::default(),
    };
    let finish = |mut report: MigrationReport, outcome| {
        report.outcome = outcome;
        report.elapsed = start.elapsed();
        Ok(report)
    };
    let fail = |point: FailPoint| -> Result<(), MigrateError> {
        match options.fail_at == Some(point) {
            true => Err(MigrateError::Injected { path: path.to_path_buf(), point }),
            false => Ok(()),
        }
    };

    // 1. What is at the path.
    let (file, bytes) = match open_source(path)? {
        Source::Bbolt(file, bytes) => (file, bytes),
        done => {
            if !options.dry_run {
                remove_leftovers(&tmp)?;
            }
            report.backup = existing_backup(path);
            let outcome = if matches!(done, Source::Absent) { Outcome::NoStore } else { Outcome::AlreadyMigrated };
            return finish(report, outcome);
        }
    };
    report.source_bytes = bytes.len() as u64;
    // 2. Read and convert; every failure so far has written nothing.
    let converted = convert(path, &bytes, options.expect, &mut report)?;
    if options.dry_run {
        return finish(report, Outcome::WouldMigrate);
    }
    // 3. Write the new store beside the old one, in one transaction.
    remove_leftovers(&tmp)?;
    write_new_store(&tmp, &converted, options, &fail)?;
    fail(FailPoint::AfterWrite)?;
    // 4. Verify against the source.
    converted.verify(path, &tmp, &options.redb)?;
    fail(FailPoint::AfterVerify)?;
    // 5. Back up and swap.
    report.backup = Some(swap(path, &tmp, &bytes, &fail)?);
    drop(file);
    finish(report, Outcome::Migrated)
}

/// What [`open_source`] found at the store path.
enum Source {
    Absent,
    /// A redb store: migrated already.
    Migrated,
    /// A bbolt file, locked shared, and its bytes.
    Bbolt(File, Vec<u8>),
}

/// Looks at the store path and, for a bbolt file, takes a shared lock and reads it whole.
fn open_source(path: &Path) -> Result<Source, MigrateError> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Source::Absent),
        Err(e) => return Err(io_err(path, "open", e)),
    };
    if fs::metadata(path).map_err(|e| io_err(path, "stat", e))?.is_dir() {
        return Err(crate::bbolt::BoltError::NotBbolt { path: path.to_path_buf(), reason: "a directory".into() }.into());
    }
    // The magic alone tells a finished migration, without locking: the node may be running on
    // the new store.
    let mut head = Vec::new();
    (&file).take(REDB_MAGIC.len() as u64).read_to_end(&mut head).map_err(|e| io_err(path, "read", e))?;
    if head == REDB_MAGIC {
        return Ok(Source::Migrated);
    }
    // A Bacalhau node holds an exclusive flock on its bbolt file; our shared lock fails while it
    // runs and keeps it from starting (and writing) until we are done.
    // Stable since Rust 1.89; the `redb` feature already needs 1.90 (redb 4's rust-version).
    #[allow(clippy::incompatible_msrv)]
    let locked = file.try_lock_shared();
    match locked {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => return Err(MigrateError::InUse { path: path.to_path_buf() }),
        Err(fs::TryLockError::Error(e)) => return Err(io_err(path, "lock", e)),
    }
    let mut bytes = head;
    file.read_to_end(&mut bytes).map_err(|e| io_err(path, "read", e))?;
    Ok(Source::Bbolt(file, bytes))
}

/// A bbolt store read and converted to a snapshot of ours.
enum Converted {
    Compute(crate::bbolt::ComputeDump, crate::compute::ComputeSnapshot),
    Requester(crate::bbolt::RequesterDump, crate::jobstore::JobSnapshot),
}

impl Converted {
    fn verify(&self, path: &Path, tmp: &Path, redb: &crate::kv::redb::RedbOptions) -> Result<(), MigrateError> {
        match self {
            Converted::Compute(dump, snap) => verify::verify_compute(path, tmp, redb, dump, snap),
            Converted::Requester(dump, snap) => verify::verify_requester(path, tmp, redb, dump, snap),
        }
    }
}

/// Reads the bbolt file's layout and records and converts them, filling the report's kind,
/// counts and notes.
fn convert(
    path: &Path,
    bytes: &[u8],
    expect: Option<StoreKind>,
    report: &mut MigrationReport,
) -> Result<Converted, MigrateError> {
    let bolt = BoltFile::from_bytes(path, bytes.to_vec())?;
    let kind = match bolt.layout()? {
        Some(BacalhauLayout::Compute) => StoreKind::Compute,
        Some(BacalhauLayout::Requester) => StoreKind::Requester,
        None => return Err(MigrateError::UnknownLayout { path: path.to_path_buf() }),
    };
    if let Some(expected) = expect.filter(|e| *e != kind) {
        return Err(MigrateError::WrongLayout { path: path.to_path_buf(), expected, found: kind });
    }
    report.kind = Some(kind);
    Ok(match kind {
        StoreKind::Compute => {
            let dump = read_compute(&bolt)?;
            let snap = convert_compute(&dump, path)?;
            report.counts = verify::compute_counts(&snap);
            report.notes = verify::compute_notes(&dump, &snap);
            Converted::Compute(dump, snap)
        }
        StoreKind::Requester => {
            let dump = read_requester(&bolt)?;
            let snap = convert_requester(&dump, path)?;
            report.counts = verify::requester_counts(&snap);
            report.notes = verify::requester_notes(&dump, &snap);
            report.embedded_jobs_dropped =
                dump.jobs.iter().flat_map(|j| j.executions.values()).filter(|e| e.get("Job").is_some()).count() as u64;
            Converted::Requester(dump, snap)
        }
    })
}

/// Writes the converted store at `tmp` in one transaction and closes it.
fn write_new_store(
    tmp: &Path,
    converted: &Converted,
    options: &MigrateOptions,
    fail: &dyn Fn(FailPoint) -> Result<(), MigrateError>,
) -> Result<(), MigrateError> {
    let kind = match converted {
        Converted::Compute(..) => StoreKind::Compute,
        Converted::Requester(..) => StoreKind::Requester,
    };
    let backend = RedbBackend::open(tmp, kind, &options.redb)?;
    fail(FailPoint::DuringWrite)?;
    match converted {
        Converted::Compute(_, snap) => {
            let store = StoreBuilder::new().compute(backend);
            let err = |source| MigrateError::Compute { path: tmp.to_path_buf(), source };
            store.import(snap.clone()).map_err(err)?;
            store.close().map_err(err)
        }
        Converted::Requester(_, snap) => {
            let store = StoreBuilder::new().jobs(backend);
            let err = |source| MigrateError::JobStore { path: tmp.to_path_buf(), source };
            store.import(snap.clone()).map_err(err)?;
            store.close().map_err(err)
        }
    }
}

/// Backs the bbolt file up and renames the new store over it; returns the backup's path. The
/// source's lock keeps flock-using writers out; the re-read catches others.
fn swap(
    path: &Path,
    tmp: &Path,
    bytes: &[u8],
    fail: &dyn Fn(FailPoint) -> Result<(), MigrateError>,
) -> Result<PathBuf, MigrateError> {
    if fs::read(path).map_err(|e| io_err(path, "re-read", e))? != bytes {
        remove_leftovers(tmp)?;
        return Err(MigrateError::SourceChanged { path: path.to_path_buf() });
    }
    let backup = make_backup(path, bytes)?;
    fail(FailPoint::AfterBackup)?;
    // The new store was closed cleanly, so its journal holds nothing the file lacks (and its
    // first open at the path creates a new one); a journal at the target path cannot belong to
    // the bbolt file being replaced.
    let _ = fs::remove_file(crate::kv::redb::journal_path(path));
    fs::rename(tmp, path).map_err(|e| io_err(path, "rename the new store into place at", e))?;
    let _ = fs::remove_file(crate::kv::redb::journal_path(tmp));
    sync_dir(path)?;
    fail(FailPoint::AfterSwap)?;
    Ok(backup)
}

/// `<path><suffix>`, e.g. `jobs.db.migrating`.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut s = OsString::from(path.as_os_str());
    s.push(suffix);
    PathBuf::from(s)
}

fn io_err(path: &Path, op: &'static str, source: io::Error) -> MigrateError {
    MigrateError::Io { path: path.to_path_buf(), op, source }
}

fn backup_candidates(path: &Path) -> impl Iterator<Item = PathBuf> + '_ {
    let base = sibling(path, ".bbolt-backup");
    std::iter::once(base.clone()).chain((1..=MAX_BACKUPS).map(move |n| sibling(&base, &format!(".{n}"))))
}

/// The newest backup beside `path`, if any.
fn existing_backup(path: &Path) -> Option<PathBuf> {
    backup_candidates(path).take_while(|p| p.exists()).last()
}

/// Links (or, on file systems without hard links, copies) the bbolt file to the first backup
/// name that is free, or reuses a backup with the same contents (a rerun after a crash).
fn make_backup(path: &Path, bytes: &[u8]) -> Result<PathBuf, MigrateError> {
    for candidate in backup_candidates(path) {
        match fs::read(&candidate) {
            Ok(existing) if existing == bytes => return Ok(candidate),
            Ok(_) => continue,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(&candidate, "read existing backup", e)),
        }
        if fs::hard_link(path, &candidate).is_err() {
            // No hard links here: copy under a temporary name, sync, then rename, so that a
            // backup name never holds a partial copy.
            let partial = sibling(&candidate, ".partial");
            fs::copy(path, &partial).map_err(|e| io_err(&partial, "copy backup to", e))?;
            File::open(&partial).and_then(|f| f.sync_all()).map_err(|e| io_err(&partial, "sync", e))?;
            fs::rename(&partial, &candidate).map_err(|e| io_err(&candidate, "rename backup to", e))?;
        }
        sync_dir(path)?;
        return Ok(candidate);
    }
    Err(io_err(
        path,
        "find a free backup name for",
        io::Error::new(io::ErrorKind::AlreadyExists, format!("{MAX_BACKUPS} backups exist already")),
    ))
}

/// Deletes an interrupted migration's new store and redb's temporary creation files for it.
fn remove_leftovers(tmp: &Path) -> Result<(), MigrateError> {
    let _ = fs::remove_file(crate::kv::redb::journal_path(tmp));
    match fs::remove_file(tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(tmp, "remove leftover", e)),
    }
    let (Some(dir), Some(name)) = (tmp.parent(), tmp.file_name()) else { return Ok(()) };
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let mut prefix = OsString::from(".");
    prefix.push(name);
    prefix.push(".creating-");
    let prefix = prefix.to_string_lossy().into_owned();
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
    Ok(())
}

/// Makes renames and links in the store's directory durable.
fn sync_dir(path: &Path) -> Result<(), MigrateError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    #[cfg(unix)]
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io_err(dir, "sync directory", e))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
