//! The error type of the migration.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::bbolt::BoltError;
use crate::error::{ComputeError, JobStoreError};
use crate::kv::redb::OpenError;
use crate::kv::StoreKind;

use super::FailPoint;

/// Why a migration did not complete. Every variant names the store path it is about; none of
/// them leaves the bbolt file changed (see [`run`](super::run) for what is left where).
#[derive(Debug)]
#[non_exhaustive]
pub enum MigrateError {
    /// The bbolt file could not be read: not bbolt at all, truncated, corrupt, an unsupported
    /// format version, invalid JSON or keys, or buckets not shaped as Bacalhau v1.2 writes them.
    /// [`MigrateError::code`] is the reader's code (`Truncated`, `Corrupt`, ...).
    Bolt(BoltError),
    /// A readable bbolt file whose root buckets are neither the compute nor the requester layout.
    UnknownLayout {
        /// The file.
        path: PathBuf,
    },
    /// The file holds the other store (e.g. a requester `jobs.db` where a compute store was
    /// expected).
    WrongLayout {
        /// The file.
        path: PathBuf,
        /// The store the caller asked to migrate.
        expected: StoreKind,
        /// The store the file holds.
        found: StoreKind,
    },
    /// A record does not decode into this crate's model (a field of an unexpected type).
    InvalidRecord {
        /// The file.
        path: PathBuf,
        /// `job`, `execution`, `evaluation`, `job history`, ...
        what: &'static str,
        /// The record's ID (the owning ID for history entries).
        id: String,
        /// The decoder's message.
        reason: String,
    },
    /// A record decodes, but re-encoding it would not give back the source JSON: the model
    /// would drop or alter the field named. Nothing is migrated rather than something lost.
    Lossy {
        /// The file.
        path: PathBuf,
        /// Kind of record.
        what: &'static str,
        /// The record's ID.
        id: String,
        /// JSON path of the field, e.g. `/Execution/Job/Tasks/0/Name`.
        field: String,
        /// Source and converted values.
        detail: String,
    },
    /// A requester execution embeds a job whose spec differs from the stored job in more than
    /// state, revision and modify time, so dropping the embedded copy would lose data.
    EmbeddedJobDiffers {
        /// The file.
        path: PathBuf,
        /// The execution.
        execution_id: String,
        /// JSON path of the first differing field of the job.
        field: String,
    },
    /// Records disagree with the buckets holding them (e.g. an execution filed under another
    /// job than its `JobID`).
    Inconsistent {
        /// The file.
        path: PathBuf,
        /// What disagrees.
        detail: String,
    },
    /// Another process (a Bacalhau node) has the bbolt file open; stop it first.
    InUse {
        /// The file.
        path: PathBuf,
    },
    /// The bbolt file changed while it was being migrated; the new store was discarded.
    SourceChanged {
        /// The file.
        path: PathBuf,
    },
    /// The new store could not be created or reopened.
    Open(OpenError),
    /// The compute store refused the import or failed reading it back.
    Compute {
        /// The new store's path.
        path: PathBuf,
        /// The store's error.
        source: ComputeError,
    },
    /// The job store refused the import or failed reading it back.
    JobStore {
        /// The new store's path.
        path: PathBuf,
        /// The store's error.
        source: JobStoreError,
    },
    /// The new store does not hold what was converted; it was left beside the bbolt file as
    /// `<path>.migrating` for inspection (a rerun deletes it) and nothing was swapped.
    VerifyFailed {
        /// The bbolt store path.
        path: PathBuf,
        /// The first differences found.
        detail: String,
    },
    /// A file-system operation failed.
    Io {
        /// The file or directory operated on.
        path: PathBuf,
        /// What was being done (`read`, `hard-link backup`, `rename into place`, ...).
        op: &'static str,
        /// The failure.
        source: io::Error,
    },
    /// A crash simulated by [`MigrateOptions::fail_at`](super::MigrateOptions::fail_at)
    /// (tests only): the migration stopped without any cleanup, as a killed process would.
    #[doc(hidden)]
    Injected {
        /// The bbolt store path.
        path: PathBuf,
        /// Where it stopped.
        point: FailPoint,
    },
}

impl MigrateError {
    /// A stable, machine-readable code: the variant name, except for [`MigrateError::Bolt`],
    /// which gives the reader's [`BoltError::code`] (`Truncated`, `Corrupt`, `NotBbolt`, ...).
    /// [`MigrateError::Open`] gives `Open`; the wrapped [`OpenError::code`] has the detail.
    pub fn code(&self) -> &'static str {
        match self {
            MigrateError::Bolt(e) => e.code(),
            MigrateError::UnknownLayout { .. } => "UnknownLayout",
            MigrateError::WrongLayout { .. } => "WrongLayout",
            MigrateError::InvalidRecord { .. } => "InvalidRecord",
            MigrateError::Lossy { .. } => "Lossy",
            MigrateError::EmbeddedJobDiffers { .. } => "EmbeddedJobDiffers",
            MigrateError::Inconsistent { .. } => "Inconsistent",
            MigrateError::InUse { .. } => "InUse",
            MigrateError::SourceChanged { .. } => "SourceChanged",
            MigrateError::Open(_) => "Open",
            MigrateError::Compute { .. } => "ComputeStore",
            MigrateError::JobStore { .. } => "JobStore",
            MigrateError::VerifyFailed { .. } => "VerifyFailed",
            MigrateError::Io { .. } => "Io",
            MigrateError::Injected { .. } => "Injected",
        }
    }

    /// The path the error is about.
    pub fn path(&self) -> &Path {
        match self {
            MigrateError::Bolt(e) => e.path(),
            MigrateError::Open(e) => e.path(),
            MigrateError::UnknownLayout { path }
            | MigrateError::WrongLayout { path, .. }
            | MigrateError::InvalidRecord { path, .. }
            | MigrateError::Lossy { path, .. }
            | MigrateError::EmbeddedJobDiffers { path, .. }
            | MigrateError::Inconsistent { path, .. }
            | MigrateError::InUse { path }
            | MigrateError::SourceChanged { path }
            | MigrateError::Compute { path, .. }
            | MigrateError::JobStore { path, .. }
            | MigrateError::VerifyFailed { path, .. }
            | MigrateError::Io { path, .. }
            | MigrateError::Injected { path, .. } => path,
        }
    }
}

impl fmt::Display for MigrateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MigrateError::Bolt(e) => write!(f, "cannot migrate: {e}"),
            MigrateError::UnknownLayout { path } => write!(
                f,
                "cannot migrate {}: a bbolt file, but not a Bacalhau v1.2 compute or requester store",
                path.display()
            ),
            MigrateError::WrongLayout { path, expected, found } => write!(
                f,
                "cannot migrate {}: expected a {} store, the bbolt file holds a {} store",
                path.display(),
                expected.as_str(),
                found.as_str()
            ),
            MigrateError::InvalidRecord { path, what, id, reason } => {
                write!(f, "cannot migrate {}: {what} {id:?} does not decode: {reason}", path.display())
            }
            MigrateError::Lossy { path, what, id, field, detail } => {
                write!(f, "cannot migrate {} without loss: {what} {id:?} field {field}: {detail}", path.display())
            }
            MigrateError::EmbeddedJobDiffers { path, execution_id, field } => write!(
                f,
                "cannot migrate {} without loss: execution {execution_id:?} embeds a job that \
                 differs from the stored job at {field}",
                path.display()
            ),
            MigrateError::Inconsistent { path, detail } => {
                write!(f, "cannot migrate {}: {detail}", path.display())
            }
            MigrateError::InUse { path } => write!(
                f,
                "cannot migrate {}: another process has it open (stop the Bacalhau node first)",
                path.display()
            ),
            MigrateError::SourceChanged { path } => write!(
                f,
                "cannot migrate {}: the file changed during the migration (is a node running?); \
                 nothing was swapped",
                path.display()
            ),
            MigrateError::Open(e) => write!(f, "cannot migrate: {e}"),
            MigrateError::Compute { path, source } => {
                write!(f, "cannot migrate into {}: {source}", path.display())
            }
            MigrateError::JobStore { path, source } => {
                write!(f, "cannot migrate into {}: {source}", path.display())
            }
            MigrateError::VerifyFailed { path, detail } => {
                write!(f, "migration of {} failed verification, nothing was swapped: {detail}", path.display())
            }
            MigrateError::Io { path, op, source } => {
                write!(f, "cannot migrate: {op} {}: {source}", path.display())
            }
            MigrateError::Injected { path, point } => {
                write!(f, "migration of {} stopped at injected failure {point:?}", path.display())
            }
        }
    }
}

impl std::error::Error for MigrateError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            MigrateError::Bolt(e) => Some(e),
            MigrateError::Open(e) => Some(e),
            MigrateError::Compute { source, .. } => Some(source),
            MigrateError::JobStore { source, .. } => Some(source),
            MigrateError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<BoltError> for MigrateError {
    fn from(e: BoltError) -> Self {
        MigrateError::Bolt(e)
    }
}

impl From<OpenError> for MigrateError {
    fn from(e: OpenError) -> Self {
        MigrateError::Open(e)
    }
}
