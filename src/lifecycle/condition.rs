//! The conditions of a conditional update, checked in SPEC §2.8 order (expected state(s),
//! revision, unexpected states, then terminal) for every record kind, so the error a caller sees
//! for a given situation is the same in every store and matches Bacalhau's.

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::{ConditionError, RecordKind};

/// A state enum as the checks see it.
pub trait StateLike: Copy + PartialEq {
    /// The canonical name.
    fn name(self) -> &'static str;
    /// Whether the state accepts no further update.
    fn is_terminal(self) -> bool;
}

/// Expected state(s), expected revision (0 = skip) and ruled-out states of an update.
pub(crate) struct Conditions<'a, S> {
    pub expected: &'a [S],
    pub expected_revision: u64,
    pub unexpected: &'a [S],
}

impl<S: StateLike> Conditions<'_, S> {
    /// Checks everything but terminality, against the record's current state and revision.
    pub fn check(&self, kind: RecordKind, id: &str, actual: S, revision: u64) -> Result<(), ConditionError> {
        if !self.expected.is_empty() && !self.expected.contains(&actual) {
            return Err(ConditionError::StateMismatch {
                kind,
                id: String::from(id),
                actual: actual.name(),
                expected: self.expected.iter().map(|s| s.name()).collect::<Vec<_>>(),
            });
        }
        if self.expected_revision != 0 && self.expected_revision != revision {
            return Err(ConditionError::RevisionMismatch {
                kind,
                id: String::from(id),
                actual: revision,
                expected: self.expected_revision,
            });
        }
        if self.unexpected.contains(&actual) {
            return Err(ConditionError::UnexpectedState { kind, id: String::from(id), actual: actual.name() });
        }
        Ok(())
    }
}

/// A terminal record accepts no update, whatever the requested state.
pub(crate) fn not_terminal<S: StateLike>(kind: RecordKind, id: &str, actual: S, new: S) -> Result<(), ConditionError> {
    if actual.is_terminal() {
        return Err(ConditionError::AlreadyTerminal {
            kind,
            id: String::from(id),
            actual: actual.name(),
            new: new.name(),
        });
    }
    Ok(())
}
