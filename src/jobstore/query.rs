//! Listing: `GetJobs` over sorted indexes with key-set paging (SPEC W-J5), and filtered, paged
//! job history (SPEC §4.3.5, §8).
//!
//! A query walks one index in the requested order: `(namespace, time, id)` when a namespace is
//! given, `(time, id)` otherwise, or the ID order itself. Tags and the selector filter the jobs
//! the walk reaches; the walk stops as soon as the page is full, so the first page costs what it
//! returns plus what the filters skip, not the size of the store. The ID is the last key
//! component, so equal times are ordered by ID and pages never overlap or skip.

use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Bound;

use super::index::tag_key;
use super::requests::{JobHistoryQuery, JobQuery, JobSortBy};
use super::tx::JobTx;
use super::{HISTORY, JOBS, JOBS_BY_CREATED, JOBS_BY_MODIFIED, JOBS_BY_NS, JOBS_BY_NS_CREATED, JOBS_BY_NS_MODIFIED};
use crate::error::{JobStoreError, StorageError};
use crate::kv::key::{prefix_upper_bound, KeyBuf, KeyReader};
use crate::kv::{Direction, KeyRange, ReadTxn, Table};
use crate::model::{Job, JobHistory};
use crate::page::{self, Page};
use crate::state::JobHistoryType;
use crate::store::{corrupt_key, paged};

const SCOPE_HISTORY: u8 = 1;
const SCOPE_JOBS: u8 = 16;

/// The job ID in an index key: the last component after `skip` leading strings and `ints`
/// integers.
fn job_id_of(table: Table<()>, key: &[u8], strings: usize, ints: usize) -> Result<String, StorageError> {
    let mut r = KeyReader::new(key);
    for _ in 0..strings {
        r.str().ok_or_else(|| corrupt_key(table))?;
    }
    for _ in 0..ints {
        r.u64().ok_or_else(|| corrupt_key(table))?;
    }
    match r.str() {
        Some(id) if r.is_empty() => Ok(id),
        _ => Err(corrupt_key(table)),
    }
}

fn lowered(tags: &[String]) -> Vec<String> {
    let mut v: Vec<String> = tags.iter().map(|t| tag_key(t.trim())).filter(|t| !t.is_empty()).collect();
    v.sort();
    v.dedup();
    v
}

impl<T: ReadTxn> JobTx<'_, T> {
    /// See [`JobStore::get_jobs`](super::JobStore::get_jobs).
    pub fn get_jobs(&self, q: &JobQuery) -> Result<Page<Job>, JobStoreError> {
        let include = lowered(&q.include_tags);
        let exclude = lowered(&q.exclude_tags);
        let (scope, fingerprint) = token_identity(q, &include, &exclude);
        let index = JobIndex::for_query(&q.namespace, q.sort_by);
        let after = match &q.next_token {
            Some(t) => {
                Some(page::decode(t, scope, fingerprint).map_err(|reason| JobStoreError::InvalidToken { reason })?)
            }
            None => None,
        };
        let dir = if q.reverse { Direction::Reverse } else { Direction::Forward };
        let upper = prefix_upper_bound(&index.prefix);
        let range = resume_range(KeyRange::prefix(&index.prefix, &upper), after.as_deref(), dir);
        let keep = |job: &Job| -> bool {
            let has = |tags: &[String]| job.labels.keys().any(|k| tags.binary_search(&tag_key(k)).is_ok());
            (include.is_empty() || has(&include))
                && (exclude.is_empty() || !has(&exclude))
                && q.selector.as_ref().is_none_or(|s| s.matches(&job.labels))
        };
        // A token already encodes the position, so the offset applies to the first page only.
        let mut page = PageBuilder::new(q.limit, if after.is_some() { 0 } else { q.offset });
        self.scan_jobs(&index, range, dir, &mut |key, job| match keep(&job) {
            true => Ok(page.offer(key, job)),
            false => Ok(true),
        })?;
        Ok(page.finish(scope, fingerprint))
    }

    /// Visits the jobs of `range` of `index` in `dir` order (the job table itself when the index
    /// is none), each with its index key, while `visit` returns `true`.
    fn scan_jobs(
        &self,
        index: &JobIndex,
        range: KeyRange<'_>,
        dir: Direction,
        visit: &mut crate::kv::ScanVisitor<'_, Job>,
    ) -> Result<(), JobStoreError> {
        let Some(table) = index.table else {
            return Ok(self.txn.scan(JOBS, range, dir, &mut |k, job| visit(k, job))?);
        };
        let mut failure = None;
        self.txn.scan_keys(table, range, dir, &mut |key| {
            let id = job_id_of(table, key, index.strings, index.ints)?;
            match self.load_job(&id) {
                Ok(job) => visit(key, job),
                Err(e) => {
                    failure = Some(e);
                    Ok(false)
                }
            }
        })?;
        failure.map_or(Ok(()), Err)
    }

    /// See [`JobStore::get_job_history`](super::JobStore::get_job_history).
    pub fn get_job_history(&self, job_id: &str, q: &JobHistoryQuery) -> Result<Page<JobHistory>, JobStoreError> {
        let (id, _) = self.resolve_job(job_id)?;
        let flags = [u8::from(q.exclude_job_level), u8::from(q.exclude_execution_level)];
        let since = q.since.to_be_bytes();
        let fingerprint =
            page::fingerprint(&[id.as_bytes(), &flags, &since, q.execution_id.as_bytes(), q.node_id.as_bytes()]);
        let keep = |h: &super::history_entries::StoredJobHistory| -> bool {
            let h = h.peek();
            let level_ok = match h.history_type {
                JobHistoryType::JobLevel => !q.exclude_job_level,
                JobHistoryType::ExecutionLevel => !q.exclude_execution_level,
                JobHistoryType::Undefined => true,
            };
            level_ok
                && h.execution_id.starts_with(q.execution_id.as_str())
                && h.node_id.starts_with(q.node_id.as_str())
                && h.time.unix_seconds() >= q.since
        };
        let prefix = KeyBuf::new().str(&id).into_vec();
        let page = paged(
            &self.txn,
            HISTORY,
            &prefix,
            q.limit,
            q.next_token.as_deref(),
            (SCOPE_HISTORY, fingerprint),
            keep,
            |reason| JobStoreError::InvalidToken { reason },
        )?;
        // A loop, not `map().collect()`: the in-place collect between two types of different
        // sizes was most of the 0.65 KB this conversion added to the wasm package.
        let mut items = Vec::with_capacity(page.items.len());
        for h in page.items {
            items.push(h.into_entry(&id));
        }
        Ok(Page { items, next_token: page.next_token })
    }
}

/// The scope and fingerprint a `get_jobs` page token carries: which listing (sort order and
/// direction) and which query (namespace, selector, tags), so a token is refused by any other.
fn token_identity(q: &JobQuery, include: &[String], exclude: &[String]) -> (u8, u32) {
    let selector_text = q.selector.as_ref().map(alloc::string::ToString::to_string).unwrap_or_default();
    let mut parts: Vec<&[u8]> = alloc::vec![q.namespace.as_bytes(), selector_text.as_bytes(), b"|"];
    parts.extend(include.iter().map(|t| t.as_bytes()));
    parts.push(b"|");
    parts.extend(exclude.iter().map(|t| t.as_bytes()));
    (SCOPE_JOBS + (q.sort_by as u8) * 2 + u8::from(q.reverse), page::fingerprint(&parts))
}

/// The index a job listing walks: its table (`None`: the job table, in ID order), the key prefix
/// of the namespace, and how many string and integer components precede the job ID in a key.
struct JobIndex {
    table: Option<Table<()>>,
    prefix: Vec<u8>,
    strings: usize,
    ints: usize,
}

impl JobIndex {
    fn for_query(ns: &str, sort_by: JobSortBy) -> JobIndex {
        let of_ns = || KeyBuf::new().str(ns).into_vec();
        let (table, prefix, strings, ints) = match (ns.is_empty(), sort_by) {
            (true, JobSortBy::Id) => (None, Vec::new(), 0, 0),
            (true, JobSortBy::CreatedAt) => (Some(JOBS_BY_CREATED), Vec::new(), 0, 1),
            (true, JobSortBy::ModifiedAt) => (Some(JOBS_BY_MODIFIED), Vec::new(), 0, 1),
            (false, JobSortBy::Id) => (Some(JOBS_BY_NS), of_ns(), 1, 0),
            (false, JobSortBy::CreatedAt) => (Some(JOBS_BY_NS_CREATED), of_ns(), 1, 1),
            (false, JobSortBy::ModifiedAt) => (Some(JOBS_BY_NS_MODIFIED), of_ns(), 1, 1),
        };
        JobIndex { table, prefix, strings, ints }
    }
}

/// `whole`, starting strictly after the key `after` in the direction of the walk.
fn resume_range<'a>(whole: KeyRange<'a>, after: Option<&'a [u8]>, dir: Direction) -> KeyRange<'a> {
    match (after, dir) {
        (None, _) => whole,
        (Some(k), Direction::Forward) => KeyRange { start: Bound::Excluded(k), end: whole.end },
        (Some(k), Direction::Reverse) => KeyRange { start: whole.start, end: Bound::Excluded(k) },
    }
}

/// A page being filled: skips `skip` matches, keeps up to `limit` (0: all), and notes whether
/// one more exists (then the page gets a token naming its last key).
struct PageBuilder {
    limit: usize,
    skip: usize,
    jobs: Vec<Job>,
    last_key: Vec<u8>,
    more: bool,
}

impl PageBuilder {
    fn new(limit: u32, skip: u32) -> Self {
        PageBuilder { limit: limit as usize, skip: skip as usize, jobs: Vec::new(), last_key: Vec::new(), more: false }
    }

    /// Takes a match; `false` once the page is full (the walk stops).
    fn offer(&mut self, key: &[u8], job: Job) -> bool {
        if self.skip > 0 {
            self.skip -= 1;
            return true;
        }
        if self.limit != 0 && self.jobs.len() == self.limit {
            self.more = true;
            return false;
        }
        self.last_key.clear();
        self.last_key.extend_from_slice(key);
        self.jobs.push(job);
        true
    }

    fn finish(self, scope: u8, fingerprint: u32) -> Page<Job> {
        debug_assert!(self.limit == 0 || self.jobs.len() <= self.limit);
        let next_token = self.more.then(|| page::encode(scope, fingerprint, &self.last_key));
        Page { items: self.jobs, next_token }
    }
}
