//! The journal's typed errors: what recovery refuses, and why a journal operation failed.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why the commit journal could not be opened, recovered or written.
///
/// Every message names the journal's path, and, where it is about the pair, the store's too.
#[derive(Debug)]
#[non_exhaustive]
pub enum JournalError {
    /// The store was not closed cleanly and its journal is gone: commits acknowledged since the
    /// last checkpoint may be only in that journal (a backup or move of the store file alone, a
    /// hard link or symlink opened under another name). Nothing was changed; open with
    /// [`RedbOptions::accept_journal_loss`](super::super::RedbOptions::accept_journal_loss) to
    /// go on without them.
    Missing {
        /// The store file.
        store: PathBuf,
        /// Where its journal should be.
        journal: PathBuf,
    },
    /// The file at the journal's path is not a bacalhau-state journal (bad magic).
    NotAJournal {
        /// The store file.
        store: PathBuf,
        /// The file at the journal's path.
        journal: PathBuf,
        /// Whether the store was closed cleanly (nothing can be lost by replacing it).
        store_clean: bool,
    },
    /// The journal belongs to another store (its journal ID differs from the store's).
    Foreign {
        /// The store file.
        store: PathBuf,
        /// The journal.
        journal: PathBuf,
        /// The journal's ID.
        found: String,
        /// The store's journal ID.
        expected: String,
    },
    /// A journal file operation failed.
    Io {
        /// The journal.
        journal: PathBuf,
        /// What was being done ("read", "write a frame to", "sync", ...).
        op: &'static str,
        /// The failure.
        source: io::Error,
    },
    /// The store's journal metadata (`meta.journal_*`) cannot be read or is malformed.
    Meta {
        /// What is wrong.
        detail: String,
    },
    /// redb failed while replaying the journal or recording a new journal generation.
    Replay {
        /// The journal.
        journal: PathBuf,
        /// What redb reported.
        detail: String,
    },
}

impl JournalError {
    /// Stable code.
    pub const fn code(&self) -> &'static str {
        match self {
            JournalError::Missing { .. } => "JournalMissing",
            JournalError::NotAJournal { .. } => "NotAJournal",
            JournalError::Foreign { .. } => "JournalForeign",
            JournalError::Io { .. } => "JournalIo",
            JournalError::Meta { .. } => "JournalMeta",
            JournalError::Replay { .. } => "JournalReplay",
        }
    }
}

impl fmt::Display for JournalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const ACCEPT: &str = "open it with accept_journal_loss (CLI: --accept-journal-loss) to go on without them";
        match self {
            JournalError::Missing { store, journal } => write!(
                f,
                "store {} was not closed cleanly and its journal {} is missing: commits acknowledged since its last \
                 checkpoint may be lost; put the journal back beside the store, or {ACCEPT}",
                store.display(),
                journal.display()
            ),
            JournalError::NotAJournal { store, journal, store_clean } => {
                write!(f, "{} (the journal of store {}) is not a bacalhau-state journal", journal.display(), store.display())?;
                if *store_clean {
                    f.write_str("; the store was closed cleanly, so removing that file loses nothing")
                } else {
                    write!(f, "; the store was not closed cleanly, so commits may be lost: {ACCEPT}")
                }
            }
            JournalError::Foreign { store, journal, found, expected } => write!(
                f,
                "{} belongs to another store (journal id {found:?}, the id of store {} is {expected:?}); move it away, or {ACCEPT}",
                journal.display(),
                store.display()
            ),
            JournalError::Io { journal, op, source } => write!(f, "cannot {op} journal {}: {source}", journal.display()),
            JournalError::Meta { detail } => write!(f, "journal metadata: {detail}"),
            JournalError::Replay { journal, detail } => write!(f, "replaying journal {}: {detail}", journal.display()),
        }
    }
}

impl std::error::Error for JournalError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            JournalError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
