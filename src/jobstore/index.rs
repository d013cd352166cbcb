//! Every index entry a record implies, computed from the record alone. Create writes them,
//! delete removes them, update applies the difference, and a consistency check recomputes them:
//! the four can never disagree about what a record's index entries are.

use alloc::string::String;
use alloc::vec::Vec;

use super::{
    EXEC_BY_JOB, EXEC_BY_NODE, EXEC_IN_PROGRESS, JOBS_BY_CREATED, JOBS_BY_MODIFIED, JOBS_BY_NS, JOBS_BY_NS_CREATED,
    JOBS_BY_NS_MODIFIED, JOBS_BY_TAG, JOBS_IN_PROGRESS,
};
use crate::error::StorageError;
use crate::kv::key::KeyBuf;
use crate::kv::{Table, WriteTxn};
use crate::model::{Execution, Job};

pub(crate) type Entry = (Table<()>, Vec<u8>);

/// A tag as the tag index keys it: lower-cased the way Go's `strings.ToLower` does (upstream
/// wrote these keys), rune by rune with Unicode's simple mappings. So a final capital sigma
/// becomes `σ`, where `str::to_lowercase` writes `ς`, and `İ` becomes `i`, where it writes `i̇`
/// (the one unconditional multi-character lower-case mapping).
pub(crate) fn tag_key(tag: &str) -> String {
    let mut out = String::with_capacity(tag.len());
    for c in tag.chars() {
        if c == '\u{130}' {
            out.push('i');
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

pub(crate) fn job_entries(job: &Job) -> Vec<Entry> {
    let id = job.id.as_str();
    let ns = job.namespace.as_str();
    let mut out = Vec::with_capacity(7 + job.labels.len());
    out.push((JOBS_BY_NS, KeyBuf::new().str(ns).str(id).into_vec()));
    out.push((JOBS_BY_CREATED, KeyBuf::new().i64(job.create_time).str(id).into_vec()));
    out.push((JOBS_BY_MODIFIED, KeyBuf::new().i64(job.modify_time).str(id).into_vec()));
    out.push((JOBS_BY_NS_CREATED, KeyBuf::new().str(ns).i64(job.create_time).str(id).into_vec()));
    out.push((JOBS_BY_NS_MODIFIED, KeyBuf::new().str(ns).i64(job.modify_time).str(id).into_vec()));
    if !job.is_terminal() {
        out.push((JOBS_IN_PROGRESS, KeyBuf::new().str(id).into_vec()));
    }
    for key in job.labels.keys() {
        let entry = (JOBS_BY_TAG, KeyBuf::new().str(&tag_key(key)).str(id).into_vec());
        if !out.iter().any(|(t, k)| t.id() == entry.0.id() && *k == entry.1) {
            out.push(entry);
        }
    }
    out
}

pub(crate) fn execution_entries(e: &Execution) -> Vec<Entry> {
    let mut out = Vec::with_capacity(3);
    out.push((EXEC_BY_JOB, KeyBuf::new().str(&e.job_id).str(&e.id).into_vec()));
    if !e.node_id.is_empty() {
        out.push((EXEC_BY_NODE, KeyBuf::new().str(&e.node_id).str(&e.id).into_vec()));
    }
    if !e.is_terminal_state() {
        out.push((EXEC_IN_PROGRESS, KeyBuf::new().str(&e.id).into_vec()));
    }
    out
}

fn contains(set: &[Entry], e: &Entry) -> bool {
    set.iter().any(|(t, k)| t.id() == e.0.id() && *k == e.1)
}

/// Moves a record's index entries from `old` to `new`, touching only what changed.
pub(crate) fn reindex<T: WriteTxn>(txn: &mut T, old: &[Entry], new: &[Entry]) -> Result<(), StorageError> {
    for e in old {
        if !contains(new, e) {
            txn.delete(e.0, &e.1)?;
        }
    }
    for e in new {
        if !contains(old, e) {
            txn.put(e.0, &e.1, ())?;
        }
    }
    Ok(())
}
