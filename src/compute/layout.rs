//! How the compute store lays its data out: every table, its key, and the one place each of
//! its physical choices is made. Table IDs and names are part of the file format: never renumber
//! or rename one.
//!
//! | table | key | value |
//! | --- | --- | --- |
//! | `executions` | `(id)` | the record (`model::Stored`: encodes as `LocalExecutionState`) |
//! | `execution_history` | `(id, first entry number)` | a row of entries (`history_rows::StoredHistory`) |
//! | `executions_by_job` | `(job id, id)` | - |
//! | `executions_by_state` | `(state byte, id)` | - |
//! | `execution_state_counts` | `(state byte)` | count (absent when 0) |
//! | `events` | `(event number, big-endian)` | `event::StoredEvent` |
//! | `checkpoints` | `(name)` | event number |
//! | `counters` | `("event_seq")` | the last event number |
//! | `event_deletes` | `(id, DELETE event number)` | - |
//!
//! Keys are `kv::key::KeyBuf` tuples (order-preserving). Both backends run the same store code
//! over these tables; where a backend that keeps values (`ReadTxn::KEEPS_VALUES`: the memory
//! backend) is cheaper served differently, it is told apart in exactly these places, and
//! `tests/backends_agree.rs` checks that every read answers the same on both:
//!
//! 1. **History rows** (`history_rows.rs`: `Tail::read`, `Tail::append`, `import`): redb keeps
//!    up to 16 consecutive entries of an execution in one row and rewrites the last row on a
//!    change; the memory backend keeps one entry per row (grouping would copy the row's entries
//!    at every change). Rows read back as the same entries either way.
//! 2. **Events of creations and changes**: a `SharedObject::LocalVersion` encodes as a reference
//!    (ID, state, version, update time; `event.rs`), which redb resolves when read against the
//!    record, or against the copy in the next `DELETE` event of that ID (`events.rs`:
//!    `events_after`, `for_import`); the memory backend keeps the version itself, never encoded
//!    (it shares the record's base, so it costs nothing).
//! 3. **`event_deletes`** (`events.rs`: `index_delete`, `trim_deletes`, `check`): the index
//!    those resolutions use; written only where references exist (redb).
//! 4. **The next history number** (`model::Stored::next_history`): the memory backend's record
//!    value remembers it, so a change skips the search for the last history key; redb never
//!    encodes it and searches (`crate::store::next_seq`) or reads it from the row it rewrites.

use crate::kv::Table;
use crate::model::Stored;
use crate::store::LogTables;

use super::history_rows::StoredHistory;

/// Records are kept as [`Stored`] versions, shared with the events of their changes; a version
/// encodes as the record it stands for, so this changes nothing on disk.
pub(crate) const EXECUTIONS: Table<Stored> = Table::new(1, "executions");
pub(crate) const HISTORY: Table<StoredHistory> = Table::new(2, "execution_history");
pub(crate) const BY_JOB: Table<()> = Table::new(3, "executions_by_job");
pub(crate) const BY_STATE: Table<()> = Table::new(4, "executions_by_state");
pub(crate) const COUNTS: Table<u64> = Table::new(5, "execution_state_counts");
pub(crate) const LOG: LogTables = LogTables {
    events: Table::new(6, "events"),
    checkpoints: Table::new(7, "checkpoints"),
    counters: Table::new(8, "counters"),
};

/// `(execution ID, DELETE event number)` of every deletion still in the log. Written only by
/// backends that encode values (a backend that keeps values never sees a reference).
pub(crate) const DELETES: Table<()> = Table::new(9, "event_deletes");
