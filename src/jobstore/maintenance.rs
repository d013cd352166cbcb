//! Snapshots and consistency checks of the job store. Index entries come from
//! [`index`](super::index), the same functions the operations use.

use alloc::collections::BTreeSet;
use alloc::string::String;
use alloc::vec::Vec;
use serde::Serialize;

use super::index::{execution_entries, job_entries, reindex, Entry};
use super::tx::JobTx;
use super::{
    EVALUATIONS, EVAL_BY_JOB, EXECUTIONS, EXEC_BY_JOB, EXEC_BY_NODE, EXEC_COUNTS, EXEC_IN_PROGRESS, HISTORY, JOBS,
    JOBS_BY_CREATED, JOBS_BY_MODIFIED, JOBS_BY_NS, JOBS_BY_NS_CREATED, JOBS_BY_NS_MODIFIED, JOBS_BY_TAG,
    JOBS_IN_PROGRESS, JOB_COUNTS, LOG,
};
use crate::error::{JobStoreError, StorageError};
use crate::event::{Event, StoredEvent};
use crate::kv::key::{KeyBuf, KeyReader};
use crate::kv::{Direction, KeyRange, ReadTxn, StoreKind, Table, WriteTxn};
use crate::model::{Evaluation, Execution, Job, JobHistory};
use crate::snapshot::{self, SnapshotError};
use crate::store::{check_log, corrupt_key, diff_counts, diff_index, restore_log, CheckReport, StateCounts};

/// Everything a job store holds, in key order.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobSnapshot {
    /// Jobs, by ID.
    pub jobs: Vec<Job>,
    /// Executions, by ID.
    pub executions: Vec<Execution>,
    /// Evaluations, by ID.
    pub evaluations: Vec<Evaluation>,
    /// History entries as (job ID, sequence, entry), in key order.
    pub history: Vec<(String, u64, JobHistory)>,
    /// The event log.
    pub events: Vec<Event>,
    /// Consumer checkpoints, by name.
    pub checkpoints: Vec<(String, u64)>,
    /// The last event sequence number ever assigned.
    pub last_event_seq: u64,
}

snapshot::body_deserialize!(JobSnapshot, "JobSnapshot", JobSnapshotTwin {
    0 jobs: Vec<Job> = "jobs",
    1 executions: Vec<Execution> = "executions",
    2 evaluations: Vec<Evaluation> = "evaluations",
    3 history: Vec<(String, u64, JobHistory)> = "history",
    4 events: Vec<Event> = "events",
    5 checkpoints: Vec<(String, u64)> = "checkpoints",
    6 last_event_seq: u64 = "lastEventSeq",
});

const INDEXES: [Table<()>; 11] = [
    JOBS_IN_PROGRESS,
    JOBS_BY_NS,
    JOBS_BY_TAG,
    JOBS_BY_CREATED,
    JOBS_BY_MODIFIED,
    JOBS_BY_NS_CREATED,
    JOBS_BY_NS_MODIFIED,
    EXEC_BY_JOB,
    EXEC_BY_NODE,
    EXEC_IN_PROGRESS,
    EVAL_BY_JOB,
];

fn eval_entry(e: &Evaluation) -> Entry {
    (EVAL_BY_JOB, KeyBuf::new().str(&e.job_id).str(&e.id).into_vec())
}

fn scan_all<T: ReadTxn, V: crate::kv::Value>(txn: &T, table: Table<V>) -> Result<Vec<V>, StorageError> {
    let mut out = Vec::new();
    txn.scan(table, KeyRange::ALL, Direction::Forward, &mut |_, v| {
        out.push(v);
        Ok(true)
    })?;
    Ok(out)
}

impl<T: ReadTxn> JobTx<'_, T> {
    /// Everything in the store.
    pub fn snapshot(&self) -> Result<JobSnapshot, JobStoreError> {
        let mut snap = JobSnapshot {
            jobs: scan_all(&self.txn, JOBS)?,
            executions: scan_all(&self.txn, EXECUTIONS)?,
            evaluations: scan_all(&self.txn, EVALUATIONS)?,
            last_event_seq: self.counters.last_seq(&self.txn, &LOG)?,
            ..Default::default()
        };
        self.txn.scan(HISTORY, KeyRange::ALL, Direction::Forward, &mut |k, v| {
            let mut r = KeyReader::new(k);
            let (Some(id), Some(seq)) = (r.str(), r.u64()) else { return Err(corrupt_key(HISTORY)) };
            let entry = v.into_entry(&id);
            snap.history.push((id, seq, entry));
            Ok(true)
        })?;
        snap.events = LOG.after(&self.txn, 0, 0)?;
        snap.checkpoints = LOG.checkpoints(&self.txn)?;
        Ok(snap)
    }

    /// Recomputes every index and count from the records and compares.
    pub fn check(&self) -> Result<CheckReport, JobStoreError> {
        let mut report = CheckReport::default();
        // By position in INDEXES. (IDs and names as `String` sets throughout the check and the
        // import, so the wasm package holds one set type's code for them.)
        let mut expected: [BTreeSet<Vec<u8>>; INDEXES.len()] = Default::default();
        let mut add = |entries: Vec<Entry>| {
            for (t, k) in entries {
                if let Some(i) = INDEXES.iter().position(|x| x.id() == t.id()) {
                    expected[i].insert(k);
                }
            }
        };
        let mut job_counts: StateCounts = [0; 256];
        let mut exec_counts: StateCounts = [0; 256];
        let mut jobs = BTreeSet::new();
        for job in scan_all(&self.txn, JOBS)? {
            add(job_entries(&job));
            job_counts[usize::from(job.state.state_type.as_u8())] += 1;
            jobs.insert(job.id);
            report.records += 1;
        }
        for e in scan_all(&self.txn, EXECUTIONS)? {
            if !jobs.contains(&e.job_id) {
                report.problems.push(alloc::format!("executions: {} belongs to missing job {}", e.id, e.job_id));
            }
            add(execution_entries(&e));
            exec_counts[usize::from(e.compute_state.state_type.as_u8())] += 1;
            report.records += 1;
        }
        for e in scan_all(&self.txn, EVALUATIONS)? {
            if !jobs.contains(&e.job_id) {
                report.problems.push(alloc::format!("evaluations: {} belongs to missing job {}", e.id, e.job_id));
            }
            add(alloc::vec![eval_entry(&e)]);
            report.records += 1;
        }
        for (t, expected) in INDEXES.into_iter().zip(&expected) {
            diff_index(&self.txn, t, expected, &mut report.problems)?;
        }
        diff_counts(
            &self.txn,
            JOB_COUNTS,
            &job_counts,
            self.counters.pending_counts(JOB_COUNTS),
            &mut report.problems,
        )?;
        diff_counts(
            &self.txn,
            EXEC_COUNTS,
            &exec_counts,
            self.counters.pending_counts(EXEC_COUNTS),
            &mut report.problems,
        )?;
        self.txn.scan(
            HISTORY,
            KeyRange::ALL,
            Direction::Forward,
            &mut |k, _v: super::history_entries::StoredJobHistory| {
                let id = KeyReader::new(k).str().ok_or_else(|| corrupt_key(HISTORY))?;
                if !jobs.contains(&id) {
                    report.problems.push(alloc::format!("job_history: entries of missing job {id}"));
                }
                report.history_entries += 1;
                Ok(true)
            },
        )?;
        report.events = check_log(&self.txn, &LOG, self.counters.last_seq(&self.txn, &LOG)?, &mut report.problems)?;
        Ok(report)
    }

    /// The snapshot bytes of the store (see [`crate::snapshot`]).
    pub fn export_snapshot(&self) -> Result<Vec<u8>, JobStoreError> {
        Ok(snapshot::encode(StoreKind::Requester, &self.snapshot()?)?)
    }
}

fn invalid(detail: String) -> JobStoreError {
    JobStoreError::Snapshot(SnapshotError::Invalid { detail })
}

impl<T: WriteTxn> JobTx<'_, T> {
    /// Loads a snapshot into this (empty) store, rebuilding indexes and counts. Records are
    /// imported as they are: their states are data, not replayed through the policy.
    pub fn import(&mut self, snap: JobSnapshot) -> Result<(), JobStoreError> {
        let stats = self.stats()?;
        if stats.job_total > 0 || stats.last_event_seq > 0 || !LOG.checkpoints(&self.txn)?.is_empty() {
            return Err(JobStoreError::Snapshot(SnapshotError::NotEmpty));
        }
        let mut jobs = BTreeSet::new();
        for j in &snap.jobs {
            j.validate().map_err(|v| invalid(alloc::format!("{v}")))?;
            if !jobs.insert(j.id.clone()) {
                return Err(invalid(alloc::format!("job {} appears twice", j.id)));
            }
        }
        let mut execs = BTreeSet::new();
        for e in &snap.executions {
            e.validate().map_err(|v| invalid(alloc::format!("{v}")))?;
            if !jobs.contains(&e.job_id) {
                return Err(invalid(alloc::format!("execution {} belongs to unknown job {}", e.id, e.job_id)));
            }
            if !execs.insert(e.id.clone()) {
                return Err(invalid(alloc::format!("execution {} appears twice", e.id)));
            }
        }
        let mut evals = BTreeSet::new();
        for e in &snap.evaluations {
            if !jobs.contains(&e.job_id) || !evals.insert(e.id.clone()) {
                return Err(invalid(alloc::format!("evaluation {} is duplicated or of an unknown job", e.id)));
            }
        }
        for (id, _, _) in &snap.history {
            if !jobs.contains(id) {
                return Err(invalid(alloc::format!("history of unknown job {id}")));
            }
        }
        self.write_all(snap).map_err(JobStoreError::from)
    }

    fn write_all(&mut self, snap: JobSnapshot) -> Result<(), StorageError> {
        let (txn, counters) = (&mut self.txn, &mut self.counters);
        for j in snap.jobs {
            reindex(txn, &[], &job_entries(&j))?;
            counters.bump(txn, JOB_COUNTS, j.state.state_type.as_u8(), 1)?;
            txn.put(JOBS, KeyBuf::new().str(&j.id).as_bytes(), j)?;
        }
        for mut e in snap.executions {
            e.job = None;
            reindex(txn, &[], &execution_entries(&e))?;
            counters.bump(txn, EXEC_COUNTS, e.compute_state.state_type.as_u8(), 1)?;
            txn.put(EXECUTIONS, KeyBuf::new().str(&e.id).as_bytes(), e)?;
        }
        for e in snap.evaluations {
            let (t, k) = eval_entry(&e);
            txn.put(t, &k, ())?;
            txn.put(EVALUATIONS, KeyBuf::new().str(&e.id).as_bytes(), e)?;
        }
        for (id, seq, h) in snap.history {
            let stored = super::history_entries::StoredJobHistory::new(h, &id);
            txn.put(HISTORY, KeyBuf::new().str(&id).u64(seq).as_bytes(), stored)?;
        }
        let events = snap.events.into_iter().map(StoredEvent::from).collect();
        restore_log(txn, &LOG, events, snap.checkpoints, snap.last_event_seq)
    }

    /// Decodes snapshot bytes and imports them.
    pub fn import_snapshot(&mut self, bytes: &[u8]) -> Result<(), JobStoreError> {
        let snap: JobSnapshot = snapshot::decode(StoreKind::Requester, bytes).map_err(JobStoreError::Snapshot)?;
        self.import(snap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn the_body_decoder_behaves_as_the_derived_one_on_maps_and_refuses_sequences() {
        let snap = JobSnapshot {
            jobs: vec![Job::default()],
            executions: vec![Execution::default()],
            evaluations: vec![Evaluation::default()],
            history: vec![("j".into(), 1, JobHistory::default())],
            events: vec![],
            checkpoints: vec![("c".into(), 3)],
            last_event_seq: 5,
        };
        snapshot::assert_body_matches_twin::<JobSnapshot, JobSnapshotTwin>("JobSnapshot", "JobSnapshotTwin", &snap);
    }
}
