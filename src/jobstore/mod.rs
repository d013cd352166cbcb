//! The requester's job store (SPEC §4): jobs, their executions and evaluations, one history
//! sequence per job, indexes for listing, exact per-state counts and the event log.
//!
//! Job lifecycle (strict policy, SPEC §2.11): created `Pending`; `Pending → Running`; `Pending`
//! or `Running` → `Completed | Failed | Stopped` (terminal). Executions follow SPEC §2.10 (see
//! [`transition`](crate::transition)).
//!
//! Storage is keyed by canonical full IDs in flat tables with order-preserving composite keys, so
//! IDs, namespaces and label keys may contain `/` (SPEC W-J6). Reads accept an exact ID first,
//! then a unique prefix (W-J2). Deletes cascade through every index in one transaction (W-J3).

mod history_entries;
mod layout;
pub(crate) use layout::*;
pub(crate) mod index;
mod maintenance;
mod query;
mod requests;
mod tx;

pub use crate::lifecycle::jobs::{apply_evaluation_update, apply_execution_update, apply_job_update};
pub use crate::lifecycle::requests::{
    ExecutionPatch, UpdateEvaluationRequest, UpdateExecutionRequest, UpdateJobStateRequest,
};
pub use maintenance::JobSnapshot;
pub use requests::{GetExecutionsOptions, JobHistoryQuery, JobQuery, JobSortBy};
pub use tx::JobTx;

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use crate::error::JobStoreError;
use crate::kv::memory::MemoryBackend;
use crate::kv::Backend;
use crate::model::{Evaluation, Execution, Job, JobHistory};
use crate::page::Page;
use crate::state::{ExecutionStateType, JobStateType};
use crate::store::{read_op, write_op, StoreCore};

/// The comment of every job creation history entry (as Bacalhau writes it).
pub const JOB_CREATED_COMMENT: &str = "Job created";

/// Per-state counts and totals of a job store.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobStoreStats {
    /// Jobs per state name (states with at least one job).
    pub jobs: BTreeMap<String, u64>,
    /// Executions per compute state name (states with at least one execution).
    pub executions: BTreeMap<String, u64>,
    /// All jobs.
    pub job_total: u64,
    /// All executions.
    pub execution_total: u64,
    /// Sequence number of the last event (0 when none).
    pub last_event_seq: u64,
}

/// The requester's job store over a backend `B` (memory by default).
pub struct JobStore<B: Backend = MemoryBackend> {
    core: StoreCore<B>,
}

impl JobStore<MemoryBackend> {
    /// An in-memory store with the strict policy and the default clock.
    pub fn in_memory() -> Self {
        crate::StoreBuilder::new().jobs(MemoryBackend::new())
    }
}

crate::store::store_surface!(JobStore, JobTx, JobStoreError, JobSnapshot, JobStoreStats);

/// The store's error type, for the operation macros.
type OpError = JobStoreError;

impl<B: Backend> JobStore<B> {
    read_op!(
        /// The job with this ID, or with this unique ID prefix.
        get_job(id: &str) -> Job
    );
    read_op!(
        /// Jobs matching `query`, one page at a time.
        get_jobs(query: &JobQuery) -> Page<Job>
    );
    read_op!(
        /// Every non-terminal job, in ID order.
        get_in_progress_jobs() -> Vec<Job>
    );
    read_op!(
        /// The job's history in write order, filtered and paged.
        get_job_history(job_id: &str, query: &JobHistoryQuery) -> Page<JobHistory>
    );
    read_op!(
        /// The execution with this ID, or with this unique ID prefix.
        get_execution(id: &str) -> Execution
    );
    read_op!(
        /// Executions matching every given filter, in ID order.
        get_executions(options: &GetExecutionsOptions) -> Vec<Execution>
    );
    read_op!(
        /// The evaluation with this ID, or with this unique ID prefix.
        get_evaluation(id: &str) -> Evaluation
    );
    read_op!(
        /// The job's evaluations, in ID order.
        get_evaluations(job_id: &str) -> Vec<Evaluation>
    );
    read_op!(
        /// Number of jobs in `state` (exact, O(1)).
        get_job_count(state: JobStateType) -> u64
    );
    read_op!(
        /// Number of executions in compute state `state` (exact, O(1)).
        get_execution_count(state: ExecutionStateType) -> u64
    );

    write_op!(
        /// Stores a new job (state `Pending`, revision 1, times from the store's clock) and
        /// returns it as stored.
        create_job(job: Job) -> Job
    );
    write_op!(
        /// Applies a conditional job state change and returns the updated job.
        update_job_state(req: UpdateJobStateRequest) -> Job
    );
    write_op!(
        /// Deletes a job with its executions, evaluations, history and index entries.
        delete_job(id: &str) -> ()
    );
    write_op!(
        /// Stores a new execution of an existing job (revision 1, times from the store's clock,
        /// embedded job stripped) and returns it as stored.
        create_execution(execution: Execution) -> Execution
    );
    write_op!(
        /// Applies a conditional execution patch and returns the updated execution.
        update_execution(req: UpdateExecutionRequest) -> Execution
    );
    write_op!(
        /// Stores a new evaluation of an existing job.
        create_evaluation(evaluation: Evaluation) -> Evaluation
    );
    write_op!(
        /// Applies a conditional evaluation status change.
        update_evaluation(req: UpdateEvaluationRequest) -> Evaluation
    );
    write_op!(
        /// Deletes an evaluation and its index entry.
        delete_evaluation(id: &str) -> ()
    );
}
