//! From the bbolt dumps (JSON values) to this crate's snapshots, checking that nothing is lost.
//!
//! Every record is decoded into the model and encoded back; the result must equal the source
//! JSON except where a difference is documented: RFC 3339 times with a zone offset come back in
//! UTC (same instant), a requester execution's embedded `Job` is dropped (after checking that it
//! is derivable), and history entries gain our `SeqNum`. Anything else is a
//! [`MigrateError::Lossy`] and nothing is migrated.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::MigrateError;
use crate::bbolt::{ComputeDump, RequesterDump};
use crate::compute::ComputeSnapshot;
use crate::event::{Event, EventObject, Operation};
use crate::jobstore::JobSnapshot;
use crate::model::{Evaluation, Execution, Job, JobHistory, LocalExecutionState, LocalStateHistory};
use crate::time::Timestamp;

/// Job fields that legitimately differ between a requester execution's embedded job (the job as
/// the scheduler saw it when it created the execution) and the stored job (its current state):
/// the job's state moves on, and every state change bumps the revision and the modify time. The
/// old values are in the job's history (the entry whose `NewRevision` is the embedded revision).
const JOB_STATE_FIELDS: [&str; 3] = ["State", "Revision", "ModifyTime"];

/// Converts a compute store dump into a snapshot of our compute store.
///
/// * Records keep every field, including the embedded execution and job; the RFC 3339 times
///   (`CreateTime`, `UpdateTime`, history `Time`) become UTC instants (the host offset, e.g.
///   `+05:30`, is not kept: only the instant is).
/// * Each execution's history keeps its write order (bbolt sequence order, numerically, so entry
///   1000 follows 999) as our sequence 1, 2, 3 ...
/// * Event log: one `CREATE` event per record, holding the record as imported, ordered by
///   (`CreateTime`, ID), timestamped with the record's `UpdateTime`; `last_event_seq` is the
///   number of records and there are no checkpoints.
///
/// `path` only names the source in errors.
pub fn convert_compute(dump: &ComputeDump, path: &Path) -> Result<ComputeSnapshot, MigrateError> {
    let mut snap = ComputeSnapshot::default();
    let mut ids = BTreeSet::new();
    for (id, v) in &dump.executions {
        let rec: LocalExecutionState = decode(path, "execution", id, v)?;
        if rec.id() != id {
            return Err(inconsistent(path, format!("execution key {id:?} holds execution {:?}", rec.id())));
        }
        lossless(path, "execution", id, v, &rec, &[])?;
        ids.insert(id.clone());
        snap.executions.push(rec);
    }
    for (id, entries) in &dump.history {
        if !ids.contains(id) {
            return Err(inconsistent(path, format!("history of execution {id:?}, which has no record")));
        }
        for (i, v) in entries.iter().enumerate() {
            let h: LocalStateHistory = decode(path, "execution history entry", id, v)?;
            lossless(path, "execution history entry", id, v, &h, &[])?;
            snap.history.push((id.clone(), i as u64 + 1, h));
        }
    }
    // Key order of the store: (ID, seq) tuples compare like the encoded keys.
    snap.executions.sort_by(|a, b| a.id().cmp(b.id()));
    snap.history.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    let mut order: Vec<&LocalExecutionState> = snap.executions.iter().collect();
    order.sort_by(|a, b| (a.create_time, a.id()).cmp(&(b.create_time, b.id())));
    let objects: Vec<(i64, EventObject)> = order
        .into_iter()
        .map(|r| (r.update_time.saturating_unix_nanos(), EventObject::LocalExecution(r.clone())))
        .collect();
    (snap.events, snap.last_event_seq) = events(objects);
    Ok(snap)
}

/// Converts a requester store dump into a snapshot of our job store.
///
/// * Jobs, executions and evaluations keep every field (IDs, states, revisions, versions,
///   nanosecond times, messages); evaluation `WaitUntil` and history `Time` become UTC instants.
/// * Executions lose their embedded `Job` (our job store never embeds; `include_job` joins the
///   current job on read), after checking that it equals the stored job except for state,
///   revision and modify time, which the job's history records
///   ([`MigrateError::EmbeddedJobDiffers`] otherwise).
/// * History: a job's two bbolt sequences (`job_history`, `execution_history`) are merged into
///   our single per-job sequence by time. Each bucket keeps its own write order even where its
///   times go backwards; between the buckets the earlier `Time` goes first, and on equal times
///   the job-level entry goes first. Entries get `SeqNum` 1, 2, 3 ... in that order.
/// * Event log: one `CREATE` event per record. Jobs in (`CreateTime`, ID) order, each followed
///   by its evaluations and then its executions, each in (`CreateTime`, ID) order. Timestamp:
///   the record's `ModifyTime`, else its `CreateTime`, else the job's `CreateTime` (v2
///   job-register evaluations carry 0 for both).
///
/// `path` only names the source in errors.
pub fn convert_requester(dump: &RequesterDump, path: &Path) -> Result<JobSnapshot, MigrateError> {
    let mut snap = JobSnapshot::default();
    let mut objects = Vec::new();
    let mut jobs = Vec::new();
    for jd in &dump.jobs {
        let job: Job = decode(path, "job", &jd.id, &jd.spec)?;
        if job.id != jd.id {
            return Err(inconsistent(path, format!("job bucket {:?} holds job {:?}", jd.id, job.id)));
        }
        lossless(path, "job", &jd.id, &jd.spec, &job, &[])?;

        let mut execs = Vec::new();
        for (id, v) in &jd.executions {
            let mut e: Execution = decode(path, "execution", id, v)?;
            if e.id != *id || e.job_id != job.id {
                return Err(inconsistent(
                    path,
                    format!("execution {:?} of job {:?} found under key {id:?} of job {:?}", e.id, e.job_id, job.id),
                ));
            }
            if let Some(embedded) = v.get("Job") {
                if let Some((field, _)) = diff(&strip(&jd.spec), &strip(embedded), "", &[]) {
                    return Err(MigrateError::EmbeddedJobDiffers {
                        path: path.to_path_buf(),
                        execution_id: id.clone(),
                        field,
                    });
                }
            }
            lossless(path, "execution", id, v, &e, &["Job"])?;
            e.job = None;
            execs.push(e);
        }
        let mut evals = Vec::new();
        for (id, v) in &jd.evaluations {
            let ev: Evaluation = decode(path, "evaluation", id, v)?;
            if ev.id != *id || ev.job_id != job.id {
                return Err(inconsistent(
                    path,
                    format!("evaluation {:?} of job {:?} found under key {id:?} of job {:?}", ev.id, ev.job_id, job.id),
                ));
            }
            lossless(path, "evaluation", id, v, &ev, &[])?;
            evals.push(ev);
        }
        let level = |what: &'static str, values: &[Value]| -> Result<Vec<JobHistory>, MigrateError> {
            values
                .iter()
                .map(|v| {
                    let h: JobHistory = decode(path, what, &jd.id, v)?;
                    if h.job_id != job.id {
                        return Err(inconsistent(path, format!("{what} of job {:?} names job {:?}", job.id, h.job_id)));
                    }
                    lossless(path, what, &jd.id, v, &h, &[])?;
                    Ok(h)
                })
                .collect()
        };
        let merged = merge_history(
            level("job history entry", &jd.job_history)?,
            level("execution history entry", &jd.execution_history)?,
        );
        for (i, mut h) in merged.into_iter().enumerate() {
            h.seq_num = i as u64 + 1;
            snap.history.push((job.id.clone(), h.seq_num, h));
        }
        jobs.push((job, evals, execs));
    }
    jobs.sort_by(|a, b| (a.0.create_time, &a.0.id).cmp(&(b.0.create_time, &b.0.id)));
    for (job, mut evals, mut execs) in jobs {
        let fallback = |modify: i64, create: i64| {
            if modify != 0 {
                modify
            } else if create != 0 {
                create
            } else {
                job.create_time
            }
        };
        objects.push((job.modify_time, EventObject::Job(job.clone())));
        evals.sort_by(|a, b| (a.create_time, &a.id).cmp(&(b.create_time, &b.id)));
        for ev in evals {
            objects.push((fallback(ev.modify_time, ev.create_time), EventObject::Evaluation(ev.clone())));
            snap.evaluations.push(ev);
        }
        execs.sort_by(|a, b| (a.create_time, &a.id).cmp(&(b.create_time, &b.id)));
        for e in execs {
            objects.push((fallback(e.modify_time, e.create_time), EventObject::Execution(e.clone())));
            snap.executions.push(e);
        }
        snap.jobs.push(job);
    }
    snap.jobs.sort_by(|a, b| a.id.cmp(&b.id));
    snap.executions.sort_by(|a, b| a.id.cmp(&b.id));
    snap.evaluations.sort_by(|a, b| a.id.cmp(&b.id));
    snap.history.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    (snap.events, snap.last_event_seq) = events(objects);
    Ok(snap)
}

/// Merges the two history sequences of a job: a merge step, not a sort, so that each input keeps
/// its own order; ties go to the job-level entry.
fn merge_history(job: Vec<JobHistory>, exec: Vec<JobHistory>) -> Vec<JobHistory> {
    let mut out = Vec::with_capacity(job.len() + exec.len());
    let mut job = job.into_iter().peekable();
    let mut exec = exec.into_iter().peekable();
    loop {
        let take_job = match (job.peek(), exec.peek()) {
            (Some(j), Some(e)) => j.time <= e.time,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return out,
        };
        out.extend(if take_job { job.next() } else { exec.next() });
    }
}

fn events(objects: Vec<(i64, EventObject)>) -> (Vec<Event>, u64) {
    let events: Vec<Event> = objects
        .into_iter()
        .enumerate()
        .map(|(i, (timestamp, object))| Event {
            seq_num: i as u64 + 1,
            operation: Operation::Create,
            timestamp,
            object,
        })
        .collect();
    let last = events.len() as u64;
    (events, last)
}

fn inconsistent(path: &Path, detail: String) -> MigrateError {
    MigrateError::Inconsistent { path: path.to_path_buf(), detail }
}

fn decode<T: DeserializeOwned>(path: &Path, what: &'static str, id: &str, v: &Value) -> Result<T, MigrateError> {
    T::deserialize(v).map_err(|e| MigrateError::InvalidRecord {
        path: path.to_path_buf(),
        what,
        id: id.to_string(),
        reason: e.to_string(),
    })
}

/// Fails unless `ours`, encoded as JSON, equals `source` up to time zones, ignoring the
/// top-level keys in `dropped` (removed on purpose) and our `SeqNum` extension.
fn lossless<T: Serialize>(
    path: &Path,
    what: &'static str,
    id: &str,
    source: &Value,
    ours: &T,
    dropped: &[&str],
) -> Result<(), MigrateError> {
    let lossy = |field: String, detail: String| MigrateError::Lossy {
        path: path.to_path_buf(),
        what,
        id: id.to_string(),
        field,
        detail,
    };
    let ours = serde_json::to_value(ours).map_err(|e| lossy(String::new(), format!("cannot encode: {e}")))?;
    match diff(source, &ours, "", dropped) {
        None => Ok(()),
        Some((field, detail)) => Err(lossy(field, detail)),
    }
}

/// The job document without the fields that track its state.
fn strip(job: &Value) -> Value {
    let mut job = job.clone();
    if let Value::Object(m) = &mut job {
        for k in JOB_STATE_FIELDS {
            m.remove(k);
        }
    }
    job
}

/// The first difference between `a` (source) and `b` (converted) as (JSON pointer, detail).
/// Strings that are both RFC 3339 times are equal when they are the same instant. `b` may add
/// empty maps and lists (Go omits them), and at the top level `SeqNum`; keys in `dropped` may be
/// missing from `b` at the top level.
pub(crate) fn diff(a: &Value, b: &Value, at: &str, dropped: &[&str]) -> Option<(String, String)> {
    let top = at.is_empty();
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                let here = format!("{at}/{k}");
                match y.get(k) {
                    Some(vb) => {
                        if let Some(d) = diff(va, vb, &here, &[]) {
                            return Some(d);
                        }
                    }
                    None if top && dropped.contains(&k.as_str()) => {}
                    None => return Some((here, format!("{va} would be dropped"))),
                }
            }
            let extra: BTreeMap<_, _> = y.iter().filter(|(k, _)| !x.contains_key(*k)).collect();
            // An added empty map or list is Go's omitted empty field written out (SpecConfig
            // `Params` is `omitempty` upstream, always written here): nothing is lost.
            let harmless = |k: &str, v: &Value| {
                (top && k == "SeqNum")
                    || matches!(v, Value::Object(m) if m.is_empty())
                    || matches!(v, Value::Array(a) if a.is_empty())
            };
            extra
                .into_iter()
                .find(|(k, v)| !harmless(k, v))
                .map(|(k, v)| (format!("{at}/{k}"), format!("{v} would be added")))
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            x.iter().zip(y).enumerate().find_map(|(i, (va, vb))| diff(va, vb, &format!("{at}/{i}"), &[]))
        }
        (Value::String(x), Value::String(y)) if x != y => {
            match (Timestamp::parse_rfc3339(x), Timestamp::parse_rfc3339(y)) {
                (Ok(tx), Ok(ty)) if tx == ty => None,
                _ => Some((at.to_string(), format!("{a} would become {b}"))),
            }
        }
        _ if a == b => None,
        _ => Some((at.to_string(), format!("{a} would become {b}"))),
    }
}
