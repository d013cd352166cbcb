//! The job store's read queries (its update requests are the lifecycle's, `lifecycle/requests.rs`).
//! Field names are camelCase in serialized form (the JS API); records themselves keep Bacalhau's
//! PascalCase shapes.

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use crate::selector::Selector;

/// Sort order of [`JobQuery`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobSortBy {
    /// Creation time, then ID.
    #[default]
    #[serde(rename = "created_at", alias = "createdAt", alias = "create_time")]
    CreatedAt,
    /// Last modification time, then ID.
    #[serde(rename = "modified_at", alias = "modifiedAt", alias = "modify_time")]
    ModifiedAt,
    /// ID (byte order).
    #[serde(rename = "id")]
    Id,
}

/// A `GetJobs` query (SPEC §4.2 with key-set paging).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct JobQuery {
    /// Only this namespace; empty means every namespace.
    pub namespace: String,
    /// Keep jobs having any of these label keys (case-insensitive).
    pub include_tags: Vec<String>,
    /// Drop jobs having any of these label keys (case-insensitive); wins over inclusion.
    pub exclude_tags: Vec<String>,
    /// Label selector over the job's labels (case-sensitive, as in Kubernetes).
    pub selector: Option<Selector>,
    /// Sort order; ties are broken by ID.
    pub sort_by: JobSortBy,
    /// Descending order.
    pub reverse: bool,
    /// Page size; 0 means no limit.
    pub limit: u32,
    /// Matches to skip before the first page (compatibility with offset paging; prefer tokens).
    /// Ignored when `next_token` is given: the token already says where the page starts.
    pub offset: u32,
    /// Token from the previous page.
    pub next_token: Option<String>,
}

/// Filters for [`JobStore::get_executions`](super::JobStore::get_executions); combined with AND.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct GetExecutionsOptions {
    /// Executions of this job (ID or unique prefix).
    pub job_id: Option<String>,
    /// Executions placed on this node.
    pub node_id: Option<String>,
    /// Only executions neither compute-terminal nor desired-stopped.
    pub in_progress_only: bool,
    /// Attach the current job to each execution.
    pub include_job: bool,
}

/// Filters and paging for job history (SPEC §4.3.5, §8).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct JobHistoryQuery {
    /// Drop entries older than this many seconds since the Unix epoch (inclusive bound).
    pub since: i64,
    /// Drop execution-level entries.
    pub exclude_execution_level: bool,
    /// Drop job-level entries.
    pub exclude_job_level: bool,
    /// Keep only entries whose execution ID starts with this.
    pub execution_id: String,
    /// Keep only entries whose node ID starts with this.
    pub node_id: String,
    /// Page size; 0 means no limit.
    pub limit: u32,
    /// Token from the previous page.
    pub next_token: Option<String>,
}
