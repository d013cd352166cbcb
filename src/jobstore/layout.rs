//! How the job store lays its data out: every table and its key. Table IDs and names are part of
//! the file format: never renumber or rename one. The requester store's records change in any
//! field, so its events keep whole records and its history one entry per row on every backend:
//! unlike the compute store (`compute/layout.rs`), nothing here depends on the backend.
//!
//! | table | key | value |
//! | --- | --- | --- |
//! | `jobs` | `(id)` | `Job` |
//! | `executions` | `(id)` | `Execution` (without its job) |
//! | `executions_by_job` / `_by_node` | `(job id / node id, id)` | - |
//! | `executions_in_progress` | `(id)` | - |
//! | `evaluations` | `(id)` | `Evaluation` |
//! | `evaluations_by_job` | `(job id, id)` | - |
//! | `job_history` | `(job id, entry number)` | an entry without its job ID (`history_entries.rs`) |
//! | `jobs_in_progress` | `(id)` | - |
//! | `jobs_by_namespace`, `_by_tag` | `(namespace / lower-cased tag, id)` | - |
//! | `jobs_by_created`, `_by_modified` | `(time, id)` | - |
//! | `jobs_by_namespace_created`, `_modified` | `(namespace, time, id)` | - |
//! | `job_state_counts`, `execution_state_counts` | `(state byte)` | count (absent when 0) |
//! | `events`, `checkpoints`, `counters` | as in the compute store | |
//!
//! Index entries are written from one list per record (`index.rs`: `job_entries`,
//! `execution_entries`), so a write and the check derive them the same way.

use crate::kv::Table;
use crate::model::{Evaluation, Execution, Job};
use crate::store::LogTables;

use super::history_entries;

pub(crate) const JOBS: Table<Job> = Table::new(1, "jobs");
pub(crate) const EXECUTIONS: Table<Execution> = Table::new(2, "executions");
pub(crate) const EXEC_BY_JOB: Table<()> = Table::new(3, "executions_by_job");
pub(crate) const EXEC_BY_NODE: Table<()> = Table::new(4, "executions_by_node");
pub(crate) const EXEC_IN_PROGRESS: Table<()> = Table::new(5, "executions_in_progress");
pub(crate) const EVALUATIONS: Table<Evaluation> = Table::new(6, "evaluations");
pub(crate) const EVAL_BY_JOB: Table<()> = Table::new(7, "evaluations_by_job");
pub(crate) const HISTORY: Table<history_entries::StoredJobHistory> = Table::new(8, "job_history");
pub(crate) const JOBS_IN_PROGRESS: Table<()> = Table::new(9, "jobs_in_progress");
pub(crate) const JOBS_BY_NS: Table<()> = Table::new(10, "jobs_by_namespace");
pub(crate) const JOBS_BY_TAG: Table<()> = Table::new(11, "jobs_by_tag");
pub(crate) const JOBS_BY_CREATED: Table<()> = Table::new(12, "jobs_by_created");
pub(crate) const JOBS_BY_MODIFIED: Table<()> = Table::new(13, "jobs_by_modified");
pub(crate) const JOBS_BY_NS_CREATED: Table<()> = Table::new(14, "jobs_by_namespace_created");
pub(crate) const JOBS_BY_NS_MODIFIED: Table<()> = Table::new(15, "jobs_by_namespace_modified");
pub(crate) const JOB_COUNTS: Table<u64> = Table::new(16, "job_state_counts");
pub(crate) const EXEC_COUNTS: Table<u64> = Table::new(17, "execution_state_counts");
pub(crate) const LOG: LogTables = LogTables {
    events: Table::new(18, "events"),
    checkpoints: Table::new(19, "checkpoints"),
    counters: Table::new(20, "counters"),
};
