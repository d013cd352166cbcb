//! Migrating Bacalhau v1.2 bbolt stores (compute `executions.db`, requester `jobs.db`) into this
//! crate's redb stores, without loss and safely against crashes.
//!
//! [`convert_compute`] and [`convert_requester`] turn what the [`bbolt`](crate::bbolt) reader
//! extracted into store snapshots (their documentation lists every decision: event log, embedded
//! jobs, history order, time zones). [`run`] applies the safe sequence to one store path:
//!
//! 1. look at the path: a bbolt file is locked (shared `flock`, so a running Bacalhau node,
//!    which holds an exclusive one, makes this fail with [`MigrateError::InUse`]), read, its
//!    layout detected, every record decoded and checked to convert without loss; any problem is
//!    a typed error naming the path, and nothing has been written;
//! 2. write the new store beside it, `<path>.migrating`, in one import transaction;
//! 3. verify: reopen it read-only, compare its full snapshot with the converted one, its counts
//!    with the source's, and run its consistency check;
//! 4. check that the bbolt file did not change meanwhile, hard-link it to
//!    `<path>.bbolt-backup` (never deleted, never overwritten: an existing backup with other
//!    contents makes it `<path>.bbolt-backup.1`, `.2`, ...), and rename the new store over the
//!    path (atomic), syncing the directory after each step.
//!
//! At every instant the path holds either the untouched bbolt file or the complete, verified new
//! store. A rerun finishes an interrupted migration: a leftover `.migrating` file is deleted and
//! redone, a backup identical to the bbolt file is reused, and a redb store at the path is
//! reported as [`Outcome::AlreadyMigrated`].
//!
//! ```no_run
//! use bacalhau_state::migrate::{run, MigrateOptions};
//! let report = run(&MigrateOptions::new("/home/me/.bacalhau/QmX-requester/jobs.db"))?;
//! println!("{report}");
//! # Ok::<(), bacalhau_state::migrate::MigrateError>(())
//! ```

mod convert;
mod error;
mod run;
mod verify;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

pub use convert::{convert_compute, convert_requester};
pub use error::MigrateError;
pub use run::{plan, run};

use crate::config::{StoreConfig, StoreRole};
use crate::kv::redb::RedbOptions;
use crate::kv::StoreKind;

/// What to migrate and how.
#[derive(Clone, Debug)]
pub struct MigrateOptions {
    /// The store path: where the bbolt file is and where the new store will be.
    pub path: PathBuf,
    /// The store the path must hold; `None` accepts either layout.
    pub expect: Option<StoreKind>,
    /// Report what would be migrated and write nothing (no file is created, deleted or changed).
    pub dry_run: bool,
    /// Options for creating and reopening the new store.
    pub redb: RedbOptions,
    /// Tests only: stop at this point as if the process had been killed (no cleanup).
    #[doc(hidden)]
    pub fail_at: Option<FailPoint>,
}

impl MigrateOptions {
    /// Migrate the store at `path`, whichever layout it has.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into(), expect: None, dry_run: false, redb: RedbOptions::default(), fail_at: None }
    }

    /// Migrate one resolved node store ([`crate::config::resolve`]): its path, with its role's
    /// layout required.
    pub fn for_store(store: &StoreConfig) -> Self {
        let kind = match store.role {
            StoreRole::Compute => StoreKind::Compute,
            StoreRole::Requester => StoreKind::Requester,
        };
        Self { expect: Some(kind), ..Self::new(store.path.clone()) }
    }

    /// Sets [`MigrateOptions::dry_run`].
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }
}

/// Where [`MigrateOptions::fail_at`] stops a migration (tests simulate a crash after each step).
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailPoint {
    /// The new store file exists but the import was never committed.
    DuringWrite,
    /// The new store is written and closed, not yet verified.
    AfterWrite,
    /// The new store is verified; no backup yet.
    AfterVerify,
    /// The backup link exists; the new store is not in place yet.
    AfterBackup,
    /// The new store is in place (renamed), before the report.
    AfterSwap,
}

/// How a [`run`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The bbolt store was converted, verified, backed up and replaced.
    Migrated,
    /// Dry run: the bbolt store was read and converted; nothing was written.
    WouldMigrate,
    /// The path already holds a redb store (a finished migration, or a store that never was
    /// bbolt); nothing was done apart from removing a stale `.migrating` file.
    AlreadyMigrated,
    /// Nothing at the path: a node that never ran with this role.
    NoStore,
}

/// Records of one kind: the total and the count per state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KindCounts {
    /// `executions`, `jobs`, `evaluations`, `history entries` or `events`.
    pub kind: &'static str,
    /// All records of the kind.
    pub total: u64,
    /// Per state name (history entries: per level); empty for kinds without states.
    pub by_state: BTreeMap<String, u64>,
}

/// What a [`run`] did or (dry run) would do.
#[derive(Clone, Debug, PartialEq)]
pub struct MigrationReport {
    /// The store path.
    pub path: PathBuf,
    /// The store found (`None` when [`Outcome::NoStore`], or already migrated).
    pub kind: Option<StoreKind>,
    /// How it ended.
    pub outcome: Outcome,
    /// The bbolt backup: made or reused by this run, or found beside an already migrated store.
    pub backup: Option<PathBuf>,
    /// Counts per kind and state of what was (or would be) migrated; empty when nothing was read.
    pub counts: Vec<KindCounts>,
    /// Requester executions whose embedded job was dropped, each checked to equal the stored job
    /// except for state, revision and modify time.
    pub embedded_jobs_dropped: u64,
    /// Differences between the bbolt indexes and what the records imply. The records are
    /// authoritative and our indexes are rebuilt from them, so these are informational.
    pub notes: Vec<String>,
    /// Size of the bbolt file in bytes.
    pub source_bytes: u64,
    /// Wall-clock time of the run.
    pub elapsed: Duration,
}

impl MigrationReport {
    /// The total of one kind (`0` when absent).
    pub fn total(&self, kind: &str) -> u64 {
        self.counts.iter().find(|c| c.kind == kind).map_or(0, |c| c.total)
    }
}

impl fmt::Display for MigrationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = self.kind.map_or("store", StoreKind::as_str);
        match self.outcome {
            Outcome::Migrated => write!(f, "migrated {what} store {}", self.path.display())?,
            Outcome::WouldMigrate => write!(f, "would migrate {what} store {} (dry run)", self.path.display())?,
            Outcome::AlreadyMigrated => write!(f, "{} is already a bacalhau-state store", self.path.display())?,
            Outcome::NoStore => write!(f, "no store at {}", self.path.display())?,
        }
        writeln!(f, " in {:.3?}", self.elapsed)?;
        if let Some(b) = &self.backup {
            writeln!(f, "  bbolt backup: {}", b.display())?;
        }
        for c in &self.counts {
            write!(f, "  {}: {}", c.kind, c.total)?;
            let states: Vec<String> = c.by_state.iter().map(|(s, n)| format!("{s} {n}")).collect();
            if !states.is_empty() {
                write!(f, " ({})", states.join(", "))?;
            }
            writeln!(f)?;
        }
        if self.embedded_jobs_dropped > 0 {
            writeln!(f, "  embedded jobs dropped (derivable from the job): {}", self.embedded_jobs_dropped)?;
        }
        for n in &self.notes {
            writeln!(f, "  note: {n}")?;
        }
        Ok(())
    }
}
