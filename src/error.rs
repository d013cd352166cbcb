//! Errors. One enum per store family ([`ComputeError`], [`JobStoreError`]) built from shared parts
//! ([`StorageError`], [`ConditionError`], [`TransitionError`]) whose `Display` and `code()` the
//! families delegate to, so each message is written once.
//!
//! Every variant has a stable `code()` string (bindings expose it as `err.code`); codes never
//! change meaning. Messages say what failed and for which ID.
//!
//! # Codes
//!
//! | code | meaning |
//! | --- | --- |
//! | `ExecutionNotFound`, `JobNotFound`, `EvaluationNotFound` | no record has this ID or unique ID prefix |
//! | `ExecutionsNotFoundForJob`, `ExecutionHistoryNotFound` | the compute store has nothing for this job / execution |
//! | `ExecutionAlreadyExists`, `JobAlreadyExists`, `EvaluationAlreadyExists` | a record with this ID exists |
//! | `AmbiguousId` | the ID prefix matches several records |
//! | `Validation` | the record is invalid (every problem is listed) |
//! | `InvalidState`, `RevisionMismatch`, `UnexpectedState`, `AlreadyTerminal` | a conditional update's condition failed |
//! | `InvalidTransition` | the policy does not allow the transition |
//! | `InvalidArgument`, `InvalidToken` | a malformed argument or page token |
//! | `Closed` | the store was closed |
//! | `StoreNotEmpty`, `SnapshotInvalid` | a snapshot import was refused |
//! | `Storage`, `StorageFull`, `Corrupt`, `Encode`, `Reentrant` | the storage engine failed; nothing was applied |
//! | `CommitUncertain` | the commit itself failed and may have been applied |
//!
//! Opening a durable store (`kv::redb::OpenError`) adds `InUse`, `NewerSchema`, `WrongKind`,
//! `NotAStore`, `LegacyBbolt`, `Io`, `Storage`, and for its journal `JournalMissing`,
//! `NotAJournal`, `JournalForeign`, `JournalIo`, `JournalMeta`, `JournalReplay`.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

pub(crate) mod quote;
pub use quote::Quoted;

/// Which kind of record an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecordKind {
    /// A requester job.
    Job,
    /// A requester-side execution.
    Execution,
    /// A compute node's local execution state.
    LocalExecution,
    /// An evaluation.
    Evaluation,
}

impl RecordKind {
    /// Lower-case noun used in messages.
    pub const fn noun(self) -> &'static str {
        match self {
            RecordKind::Job => "job",
            RecordKind::Execution | RecordKind::LocalExecution => "execution",
            RecordKind::Evaluation => "evaluation",
        }
    }
}

/// A failure of the storage engine or of decoding what it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StorageError {
    /// The engine (I/O, file) failed.
    Backend {
        /// Engine message.
        detail: String,
    },
    /// The device is full; nothing of the failed transaction was applied.
    StorageFull {
        /// Engine message.
        detail: String,
    },
    /// A stored value or key could not be decoded.
    Corrupt {
        /// Table holding it.
        table: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// A value could not be encoded.
    Encode {
        /// What was wrong.
        detail: String,
    },
    /// The store was used from inside one of its own transactions (use the transaction handle).
    Reentrant,
    /// The commit itself failed, and the engine may have passed its commit point before failing
    /// (a sync that fails after the header is written): the transaction may or may not be durable.
    /// Re-read before retrying. Every other storage error means nothing was applied.
    CommitUncertain {
        /// What failed.
        cause: alloc::boxed::Box<StorageError>,
    },
}

impl StorageError {
    /// Stable code.
    pub const fn code(&self) -> &'static str {
        match self {
            StorageError::Backend { .. } => "Storage",
            StorageError::StorageFull { .. } => "StorageFull",
            StorageError::Corrupt { .. } => "Corrupt",
            StorageError::Encode { .. } => "Encode",
            StorageError::Reentrant => "Reentrant",
            StorageError::CommitUncertain { .. } => "CommitUncertain",
        }
    }
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StorageError::Backend { detail } => write!(f, "storage failure: {detail}"),
            StorageError::StorageFull { detail } => write!(f, "storage full: {detail}"),
            StorageError::Corrupt { table, detail } => write!(f, "corrupt data in table {table}: {detail}"),
            StorageError::Encode { detail } => write!(f, "cannot encode value: {detail}"),
            StorageError::Reentrant => {
                f.write_str("store used from inside its own transaction: call the transaction handle's methods instead")
            }
            StorageError::CommitUncertain { cause } => write!(
                f,
                "commit outcome unknown ({cause}): the change may or may not have been applied; re-read before retrying"
            ),
        }
    }
}

impl core::error::Error for StorageError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            StorageError::CommitUncertain { cause } => Some(&**cause),
            _ => None,
        }
    }
}

/// A conditional update whose condition did not hold, or whose record is terminal. Checked in the
/// order of SPEC §2.8: expected state(s), expected revision, unexpected states, terminal.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConditionError {
    /// The current state is not one of the expected ones.
    StateMismatch {
        /// Record kind.
        kind: RecordKind,
        /// Record ID.
        id: String,
        /// Current state.
        actual: &'static str,
        /// Expected states.
        expected: Vec<&'static str>,
    },
    /// The current revision (version, for compute records) differs from the expected one.
    RevisionMismatch {
        /// Record kind.
        kind: RecordKind,
        /// Record ID.
        id: String,
        /// Current revision.
        actual: u64,
        /// Expected revision.
        expected: u64,
    },
    /// The current state is one the caller ruled out.
    UnexpectedState {
        /// Record kind.
        kind: RecordKind,
        /// Record ID.
        id: String,
        /// Current state.
        actual: &'static str,
    },
    /// The record is in a terminal state and accepts no update.
    AlreadyTerminal {
        /// Record kind.
        kind: RecordKind,
        /// Record ID.
        id: String,
        /// Current (terminal) state.
        actual: &'static str,
        /// Requested state.
        new: &'static str,
    },
}

impl ConditionError {
    /// Stable code.
    pub const fn code(&self) -> &'static str {
        match self {
            ConditionError::StateMismatch { .. } => "InvalidState",
            ConditionError::RevisionMismatch { .. } => "RevisionMismatch",
            ConditionError::UnexpectedState { .. } => "UnexpectedState",
            ConditionError::AlreadyTerminal { .. } => "AlreadyTerminal",
        }
    }
}

impl fmt::Display for ConditionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConditionError::StateMismatch { kind, id, actual, expected } => {
                write!(f, "{} {id} is in state {actual} but expected one of [", kind.noun())?;
                for (i, s) in expected.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    f.write_str(s)?;
                }
                f.write_str("]")
            }
            ConditionError::RevisionMismatch { kind, id, actual, expected } => {
                let what = if *kind == RecordKind::LocalExecution { "version" } else { "revision" };
                write!(f, "{} {id} has {what} {actual} but expected {expected}", kind.noun())
            }
            ConditionError::UnexpectedState { kind, id, actual } => {
                write!(f, "{} {id} is in unexpected state {actual}", kind.noun())
            }
            ConditionError::AlreadyTerminal { kind, id, actual, new } => {
                write!(f, "{} {id} is in terminal state {actual} and cannot transition to {new}", kind.noun())
            }
        }
    }
}

impl core::error::Error for ConditionError {}

/// A transition the store's policy does not allow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransitionError {
    /// Record kind.
    pub kind: RecordKind,
    /// Record ID.
    pub id: String,
    /// Which state field ("state", "compute state", "desired state", "status").
    pub field: &'static str,
    /// Current value; `None` when the record is being created.
    pub from: Option<&'static str>,
    /// Requested value.
    pub to: &'static str,
    /// Whether the strict policy rejected it (the permissive policy rejects only `Undefined`).
    pub strict: bool,
}

impl fmt::Display for TransitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let noun = self.kind.noun();
        let policy = if self.strict { "strict" } else { "permissive" };
        match self.from {
            Some(from) => write!(
                f,
                "invalid transition of {noun} {} {}: {from} -> {} is not allowed by the {policy} policy",
                self.id, self.field, self.to
            ),
            None => write!(
                f,
                "invalid initial {} {} for {noun} {}: not allowed by the {policy} policy",
                self.field, self.to, self.id
            ),
        }
    }
}

impl core::error::Error for TransitionError {}

/// A record that fails validation: every problem is listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationError {
    /// Record kind.
    pub kind: RecordKind,
    /// Record ID as given (may be empty).
    pub id: String,
    /// One entry per problem.
    pub problems: Vec<String>,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {} {}: ", self.kind.noun(), Quoted(&self.id))?;
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            f.write_str(p)?;
        }
        Ok(())
    }
}

impl core::error::Error for ValidationError {}

/// Bytes of a snapshot's framing (magic 8, format version and store kind 2, CRC 4); the
/// `snapshot` module asserts that its layout has this size.
pub(crate) const SNAPSHOT_FRAMING: usize = 14;
/// The snapshot format version written, and the newest one read (`snapshot::FORMAT_VERSION`).
pub(crate) const SNAPSHOT_FORMAT_VERSION: u8 = 1;

/// Why a snapshot was refused. Nothing is imported when any of these is returned.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SnapshotError {
    /// Fewer bytes than a header and checksum.
    Truncated {
        /// Bytes given.
        len: usize,
    },
    /// Not a snapshot at all.
    BadMagic,
    /// Written by a newer version of this library.
    UnsupportedVersion {
        /// Version found.
        found: u8,
    },
    /// A snapshot of the other store kind.
    WrongKind {
        /// Kind of the store importing.
        expected: &'static str,
        /// Kind byte found.
        found: u8,
    },
    /// The bytes were altered or cut.
    ChecksumMismatch {
        /// Checksum recorded.
        recorded: u32,
        /// Checksum computed.
        computed: u32,
    },
    /// The body does not decode.
    Decode {
        /// Decoder message.
        detail: String,
    },
    /// The body decodes but is inconsistent (a record referring to a missing job, a bad ID...).
    Invalid {
        /// What is wrong.
        detail: String,
    },
    /// Import requires an empty store.
    NotEmpty,
}

impl SnapshotError {
    /// Stable code: `SnapshotInvalid` for every defect of the bytes, `StoreNotEmpty` otherwise.
    pub const fn code(&self) -> &'static str {
        match self {
            SnapshotError::NotEmpty => "StoreNotEmpty",
            _ => "SnapshotInvalid",
        }
    }
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotError::Truncated { len } => {
                write!(f, "invalid snapshot: {len} bytes is shorter than header and checksum ({} bytes)", SNAPSHOT_FRAMING)
            }
            SnapshotError::BadMagic => f.write_str("invalid snapshot: not a bacalhau-state snapshot (bad magic)"),
            SnapshotError::UnsupportedVersion { found } => write!(
                f,
                "invalid snapshot: format version {found} is newer than the supported version {SNAPSHOT_FORMAT_VERSION}"
            ),
            SnapshotError::WrongKind { expected, found } => {
                let found = match found {
                    1 => "compute",
                    2 => "requester",
                    _ => "unknown",
                };
                write!(f, "invalid snapshot: a {found} store snapshot cannot be imported into a {expected} store")
            }
            SnapshotError::ChecksumMismatch { recorded, computed } => write!(
                f,
                "invalid snapshot: checksum mismatch (recorded {recorded:08x}, computed {computed:08x}): truncated or altered"
            ),
            SnapshotError::Decode { detail } => write!(f, "invalid snapshot: body does not decode: {detail}"),
            SnapshotError::Invalid { detail } => write!(f, "invalid snapshot: {detail}"),
            SnapshotError::NotEmpty => f.write_str("snapshot import needs an empty store"),
        }
    }
}

impl core::error::Error for SnapshotError {}

fn write_ambiguous(f: &mut fmt::Formatter<'_>, noun: &str, prefix: &str, matches: &[String]) -> fmt::Result {
    write!(f, "{noun} ID prefix {} is ambiguous: matches [", Quoted(prefix))?;
    for (i, m) in matches.iter().enumerate() {
        if i > 0 {
            f.write_str(" ")?;
        }
        f.write_str(m)?;
    }
    f.write_str("]")
}

macro_rules! family_common {
    ($ty:ident) => {
        impl From<StorageError> for $ty {
            fn from(e: StorageError) -> Self {
                $ty::Storage(e)
            }
        }
        impl From<ConditionError> for $ty {
            fn from(e: ConditionError) -> Self {
                $ty::Condition(e)
            }
        }
        impl From<TransitionError> for $ty {
            fn from(e: TransitionError) -> Self {
                $ty::InvalidTransition(e)
            }
        }
        impl From<ValidationError> for $ty {
            fn from(e: ValidationError) -> Self {
                $ty::Validation(e)
            }
        }
        /// Transparent over the shared parts: their `Display` is this error's, so the source
        /// is theirs (a `CommitUncertain` storage error's cause).
        impl core::error::Error for $ty {
            fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
                match self {
                    $ty::Storage(e) => e.source(),
                    _ => None,
                }
            }
        }
    };
}

/// Errors of the compute node's [`ExecutionStore`](crate::ExecutionStore).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ComputeError {
    /// No execution has this ID (or unique ID prefix).
    ExecutionNotFound {
        /// ID as given.
        id: String,
    },
    /// The job has no executions on this node.
    ExecutionsNotFoundForJob {
        /// Job ID.
        job_id: String,
    },
    /// An execution with this ID exists already.
    ExecutionAlreadyExists {
        /// Execution ID.
        id: String,
    },
    /// No execution with this ID, so no history.
    ExecutionHistoryNotFound {
        /// ID as given.
        id: String,
    },
    /// The ID prefix matches several executions.
    AmbiguousId {
        /// Prefix given.
        prefix: String,
        /// Matching IDs (at most a few).
        matches: Vec<String>,
    },
    /// The record is invalid.
    Validation(ValidationError),
    /// A condition of a conditional update failed, or the record is terminal.
    Condition(ConditionError),
    /// The transition is not allowed by the store's policy.
    InvalidTransition(TransitionError),
    /// An argument is malformed (empty checkpoint name, zero limit where one is required, ...).
    InvalidArgument {
        /// Which argument.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A page token was not produced by this query.
    InvalidToken {
        /// What is wrong.
        reason: String,
    },
    /// The store was closed.
    Closed,
    /// A snapshot was refused.
    Snapshot(SnapshotError),
    /// The storage engine failed. Nothing of the operation was applied, except when the code is
    /// `CommitUncertain` (see [`StorageError::CommitUncertain`]).
    Storage(StorageError),
}

impl ComputeError {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            ComputeError::ExecutionNotFound { .. } => "ExecutionNotFound",
            ComputeError::ExecutionsNotFoundForJob { .. } => "ExecutionsNotFoundForJob",
            ComputeError::ExecutionAlreadyExists { .. } => "ExecutionAlreadyExists",
            ComputeError::ExecutionHistoryNotFound { .. } => "ExecutionHistoryNotFound",
            ComputeError::AmbiguousId { .. } => "AmbiguousId",
            ComputeError::Validation(_) => "Validation",
            ComputeError::Condition(e) => e.code(),
            ComputeError::InvalidTransition(_) => "InvalidTransition",
            ComputeError::InvalidArgument { .. } => "InvalidArgument",
            ComputeError::InvalidToken { .. } => "InvalidToken",
            ComputeError::Closed => "Closed",
            ComputeError::Snapshot(e) => e.code(),
            ComputeError::Storage(e) => e.code(),
        }
    }
}

impl fmt::Display for ComputeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ComputeError::ExecutionNotFound { id } => write!(f, "execution not found: {id}"),
            ComputeError::ExecutionsNotFoundForJob { job_id } => write!(f, "no executions found for job: {job_id}"),
            ComputeError::ExecutionAlreadyExists { id } => write!(f, "execution already exists: {id}"),
            ComputeError::ExecutionHistoryNotFound { id } => write!(f, "no history found for execution: {id}"),
            ComputeError::AmbiguousId { prefix, matches } => write_ambiguous(f, "execution", prefix, matches),
            ComputeError::Validation(e) => e.fmt(f),
            ComputeError::Condition(e) => e.fmt(f),
            ComputeError::InvalidTransition(e) => e.fmt(f),
            ComputeError::InvalidArgument { field, reason } => write!(f, "invalid argument {field}: {reason}"),
            ComputeError::InvalidToken { reason } => write!(f, "invalid page token: {reason}"),
            ComputeError::Closed => f.write_str("execution store is closed"),
            ComputeError::Snapshot(e) => e.fmt(f),
            ComputeError::Storage(e) => e.fmt(f),
        }
    }
}

family_common!(ComputeError);

/// Errors of the requester's [`JobStore`](crate::JobStore).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum JobStoreError {
    /// No job has this ID (or unique ID prefix).
    JobNotFound {
        /// ID as given.
        id: String,
    },
    /// A job with this ID exists already.
    JobAlreadyExists {
        /// Job ID.
        id: String,
    },
    /// No execution has this ID.
    ExecutionNotFound {
        /// ID as given.
        id: String,
    },
    /// An execution with this ID exists already (execution IDs are unique across jobs).
    ExecutionAlreadyExists {
        /// Execution ID.
        id: String,
    },
    /// No evaluation has this ID.
    EvaluationNotFound {
        /// ID as given.
        id: String,
    },
    /// An evaluation with this ID exists already.
    EvaluationAlreadyExists {
        /// Evaluation ID.
        id: String,
    },
    /// The ID prefix matches several records.
    AmbiguousId {
        /// Kind of record looked up.
        kind: RecordKind,
        /// Prefix given.
        prefix: String,
        /// Matching IDs (at most a few).
        matches: Vec<String>,
    },
    /// The record is invalid.
    Validation(ValidationError),
    /// A condition of a conditional update failed, or the record is terminal.
    Condition(ConditionError),
    /// The transition is not allowed by the store's policy.
    InvalidTransition(TransitionError),
    /// An argument is malformed.
    InvalidArgument {
        /// Which argument.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A page token was not produced by this query.
    InvalidToken {
        /// What is wrong.
        reason: String,
    },
    /// The store was closed.
    Closed,
    /// A snapshot was refused.
    Snapshot(SnapshotError),
    /// The storage engine failed. Nothing of the operation was applied, except when the code is
    /// `CommitUncertain` (see [`StorageError::CommitUncertain`]).
    Storage(StorageError),
}

impl JobStoreError {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            JobStoreError::JobNotFound { .. } => "JobNotFound",
            JobStoreError::JobAlreadyExists { .. } => "JobAlreadyExists",
            JobStoreError::ExecutionNotFound { .. } => "ExecutionNotFound",
            JobStoreError::ExecutionAlreadyExists { .. } => "ExecutionAlreadyExists",
            JobStoreError::EvaluationNotFound { .. } => "EvaluationNotFound",
            JobStoreError::EvaluationAlreadyExists { .. } => "EvaluationAlreadyExists",
            JobStoreError::AmbiguousId { .. } => "AmbiguousId",
            JobStoreError::Validation(_) => "Validation",
            JobStoreError::Condition(e) => e.code(),
            JobStoreError::InvalidTransition(_) => "InvalidTransition",
            JobStoreError::InvalidArgument { .. } => "InvalidArgument",
            JobStoreError::InvalidToken { .. } => "InvalidToken",
            JobStoreError::Closed => "Closed",
            JobStoreError::Snapshot(e) => e.code(),
            JobStoreError::Storage(e) => e.code(),
        }
    }
}

impl fmt::Display for JobStoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobStoreError::JobNotFound { id } => write!(f, "job not found: {id}"),
            JobStoreError::JobAlreadyExists { id } => write!(f, "job already exists: {id}"),
            JobStoreError::ExecutionNotFound { id } => write!(f, "execution not found: {id}"),
            JobStoreError::ExecutionAlreadyExists { id } => write!(f, "execution already exists: {id}"),
            JobStoreError::EvaluationNotFound { id } => write!(f, "evaluation not found: {id}"),
            JobStoreError::EvaluationAlreadyExists { id } => write!(f, "evaluation already exists: {id}"),
            JobStoreError::AmbiguousId { kind, prefix, matches } => write_ambiguous(f, kind.noun(), prefix, matches),
            JobStoreError::Validation(e) => e.fmt(f),
            JobStoreError::Condition(e) => e.fmt(f),
            JobStoreError::InvalidTransition(e) => e.fmt(f),
            JobStoreError::InvalidArgument { field, reason } => write!(f, "invalid argument {field}: {reason}"),
            JobStoreError::InvalidToken { reason } => write!(f, "invalid page token: {reason}"),
            JobStoreError::Closed => f.write_str("job store is closed"),
            JobStoreError::Snapshot(e) => e.fmt(f),
            JobStoreError::Storage(e) => e.fmt(f),
        }
    }
}

family_common!(JobStoreError);

#[cfg(test)]
mod tests;
