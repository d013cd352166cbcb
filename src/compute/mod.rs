//! The compute node's execution store (SPEC §3): one record per execution allocated to this
//! node, its history, and exact per-state counts.
//!
//! Lifecycle (strict policy, SPEC §2.9): an ask-for-bid creates a record in `Created` (approval
//! needed) or `BidAccepted` (pre-approved); the requester's decision moves `Created` to
//! `BidAccepted` or `Cancelled`; the executor moves `BidAccepted → Running → (Publishing →)
//! Completed`; any active record may end in `Failed` or `Cancelled`. `Running` and `Publishing`
//! records are "live": what a node restart must resume.
//!
//! Every operation is one transaction in which the record, its indexes, its per-state count, its
//! history and the event log change together. [`ExecutionStore::transaction`] groups several
//! operations into one atomic (and, on a durable backend, one fsync'd) commit.

mod events;
mod history_rows;
mod layout;
pub(crate) use layout::*;
mod maintenance;
mod tx;

pub(crate) use crate::lifecycle::compute::decide_state_update;
pub use crate::lifecycle::compute::{apply_state_update, validate_new_execution, UpdateExecutionStateRequest};
pub(crate) use crate::model::Stored;
pub(crate) use history_rows::StoredHistory;
pub use maintenance::ComputeSnapshot;
pub use tx::ComputeTx;

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use crate::error::ComputeError;
use crate::event::SharedObject;
use crate::kv::memory::MemoryBackend;
use crate::kv::Backend;
use crate::model::{LocalExecutionState, LocalStateHistory};
use crate::page::{Page, PageRequest};
use crate::state::LocalExecutionStateType;
use crate::store::{read_op, write_op, StoreCore};

/// Page-token scopes: a token from one listing is refused by another.
pub(crate) const EVENTS_SCOPE_HISTORY: u8 = 1;
pub(crate) const EVENTS_SCOPE_LIST: u8 = 2;

/// The comment of every creation history entry (as Bacalhau writes it).
pub const CREATED_COMMENT: &str = "LocalExecutionState created";

/// Per-state counts and totals.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComputeStats {
    /// Records per state name, for every state with at least one record.
    pub counts: BTreeMap<String, u64>,
    /// All records.
    pub total: u64,
    /// Sequence number of the last event (0 when none).
    pub last_event_seq: u64,
}

/// The compute node's execution store over a backend `B` (memory by default).
pub struct ExecutionStore<B: Backend = MemoryBackend> {
    core: StoreCore<B>,
}

impl ExecutionStore<MemoryBackend> {
    /// An in-memory store with the strict policy and the default clock.
    pub fn in_memory() -> Self {
        crate::StoreBuilder::new().compute(MemoryBackend::new())
    }
}

crate::store::store_surface!(ExecutionStore, ComputeTx, ComputeError, ComputeSnapshot, ComputeStats);

/// The store's error type, for the operation macros.
type OpError = ComputeError;

impl<B: Backend> ExecutionStore<B> {
    read_op!(
        /// The record with this ID, or with this unique ID prefix.
        get_execution(id: &str) -> LocalExecutionState
    );
    read_op!(
        /// The job's records on this node, oldest update first (`ExecutionsNotFoundForJob` when none).
        get_executions(job_id: &str) -> Vec<LocalExecutionState>
    );
    read_op!(
        /// Records in `Running` or `Publishing`, oldest update first (empty when none).
        get_live_executions() -> Vec<LocalExecutionState>
    );
    read_op!(
        /// The job's most recently updated active record, `None` when none is active.
        get_active_execution(job_id: &str) -> Option<LocalExecutionState>
    );
    read_op!(
        /// The execution's history in write order, one page at a time.
        get_execution_history(id: &str, page: &PageRequest) -> Page<LocalStateHistory>
    );
    read_op!(
        /// Every record, by ID, one page at a time.
        list_executions(page: &PageRequest) -> Page<LocalExecutionState>
    );
    read_op!(
        /// Number of records in `state` (exact, O(1)).
        get_execution_count(state: LocalExecutionStateType) -> u64
    );

    write_op!(
        /// Inserts a new record (state `Created` or `BidAccepted`, version 1) and returns it as
        /// stored.
        create_execution(state: LocalExecutionState) -> LocalExecutionState
    );
    write_op!(
        /// Applies a conditional state change and returns the updated record.
        update_execution_state(req: UpdateExecutionStateRequest) -> LocalExecutionState
    );
    write_op!(
        /// Removes a record, its history and every index entry, and adjusts the counts.
        delete_execution(id: &str) -> ()
    );
}

/// The event object of a compute record's creation or change: the stored version itself, not a
/// copy, kept by reference in a file (see [`events`]).
pub(crate) fn event_object(s: &Stored) -> SharedObject {
    SharedObject::LocalVersion(s.clone())
}
