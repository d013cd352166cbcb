//! The job store's operations, written once over the table traits (see the compute store's
//! `tx.rs` for the rules: checks before writes, storage failures poison the transaction).

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use super::index::{execution_entries, job_entries, reindex};
use super::requests::GetExecutionsOptions;
use super::{
    JobStoreStats, EVALUATIONS, EVAL_BY_JOB, EXECUTIONS, EXEC_BY_JOB, EXEC_BY_NODE, EXEC_COUNTS, EXEC_IN_PROGRESS,
    HISTORY, JOBS, JOBS_IN_PROGRESS, JOB_COUNTS, JOB_CREATED_COMMENT, LOG,
};
use crate::clock::Clock;
use crate::error::{JobStoreError, RecordKind, StorageError};
use crate::event::{Event, EventObject, Operation};
use crate::kv::key::{prefix_upper_bound, KeyBuf};
use crate::kv::{Direction, KeyRange, ReadTxn, Value, WriteTxn};
use crate::lifecycle::jobs::{apply_evaluation_update, apply_execution_update, apply_job_update};
use crate::lifecycle::requests::{UpdateEvaluationRequest, UpdateExecutionRequest, UpdateJobStateRequest};
use crate::model::{Evaluation, Execution, Job, JobHistory, StateChange};
use crate::state::{ExecutionStateType, JobHistoryType, JobStateType};
use crate::store::{decode_str_key, ids_under, lookup, next_seq, Counters, Lookup, Poison};
use crate::transition::Policy;

/// A transaction on the job store: the same operations as [`JobStore`](super::JobStore), applied
/// atomically when the transaction commits.
pub struct JobTx<'s, T> {
    pub(super) txn: T,
    policy: Policy,
    clock: &'s dyn Clock,
    poison: Poison,
    pub(super) counters: Counters<2>,
}

pub(super) fn missing<V: Value>(table: crate::kv::Table<V>, what: &str) -> StorageError {
    StorageError::Corrupt { table: table.name(), detail: alloc::format!("index entry for missing record {what}") }
}

impl<'s, T: ReadTxn> crate::store::OpenTx<'s, T> for JobTx<'s, T> {
    type Error = JobStoreError;

    fn open(txn: T, policy: Policy, clock: &'s dyn Clock) -> Self {
        Self { txn, policy, clock, poison: Poison::default(), counters: Counters::new([JOB_COUNTS, EXEC_COUNTS]) }
    }
}

impl<'s, T: ReadTxn> JobTx<'s, T> {
    pub(super) fn resolve_job(&self, id: &str) -> Result<(String, Job), JobStoreError> {
        match lookup(&self.txn, JOBS, id)? {
            Lookup::Found(id, job) => Ok((id, job)),
            Lookup::Missing => Err(JobStoreError::JobNotFound { id: id.into() }),
            Lookup::Ambiguous(matches) => {
                Err(JobStoreError::AmbiguousId { kind: RecordKind::Job, prefix: id.into(), matches })
            }
        }
    }

    fn resolve_execution(&self, id: &str) -> Result<(String, Execution), JobStoreError> {
        match lookup(&self.txn, EXECUTIONS, id)? {
            Lookup::Found(id, e) => Ok((id, e)),
            Lookup::Missing => Err(JobStoreError::ExecutionNotFound { id: id.into() }),
            Lookup::Ambiguous(matches) => {
                Err(JobStoreError::AmbiguousId { kind: RecordKind::Execution, prefix: id.into(), matches })
            }
        }
    }

    fn resolve_evaluation(&self, id: &str) -> Result<(String, Evaluation), JobStoreError> {
        match lookup(&self.txn, EVALUATIONS, id)? {
            Lookup::Found(id, e) => Ok((id, e)),
            Lookup::Missing => Err(JobStoreError::EvaluationNotFound { id: id.into() }),
            Lookup::Ambiguous(matches) => {
                Err(JobStoreError::AmbiguousId { kind: RecordKind::Evaluation, prefix: id.into(), matches })
            }
        }
    }

    pub(super) fn load_job(&self, id: &str) -> Result<Job, JobStoreError> {
        Ok(self.txn.get(JOBS, KeyBuf::new().str(id).as_bytes())?.ok_or_else(|| missing(JOBS, id))?)
    }

    fn load_execution(&self, id: &str) -> Result<Execution, JobStoreError> {
        Ok(self.txn.get(EXECUTIONS, KeyBuf::new().str(id).as_bytes())?.ok_or_else(|| missing(EXECUTIONS, id))?)
    }

    /// See [`JobStore::get_job`](super::JobStore::get_job).
    pub fn get_job(&self, id: &str) -> Result<Job, JobStoreError> {
        self.resolve_job(id).map(|(_, j)| j)
    }

    /// See [`JobStore::get_in_progress_jobs`](super::JobStore::get_in_progress_jobs).
    pub fn get_in_progress_jobs(&self) -> Result<Vec<Job>, JobStoreError> {
        let mut ids = Vec::new();
        self.txn.scan_keys(JOBS_IN_PROGRESS, KeyRange::ALL, Direction::Forward, &mut |k| {
            ids.push(decode_str_key(JOBS_IN_PROGRESS, k)?);
            Ok(true)
        })?;
        ids.iter().map(|id| self.load_job(id)).collect()
    }

    /// See [`JobStore::get_execution`](super::JobStore::get_execution).
    pub fn get_execution(&self, id: &str) -> Result<Execution, JobStoreError> {
        self.resolve_execution(id).map(|(_, e)| e)
    }

    /// See [`JobStore::get_executions`](super::JobStore::get_executions).
    pub fn get_executions(&self, opts: &GetExecutionsOptions) -> Result<Vec<Execution>, JobStoreError> {
        let job_id = match &opts.job_id {
            Some(id) => Some(self.resolve_job(id)?.0),
            None => None,
        };
        // Drive from the most selective index given; the other filters check the record.
        let ids = if let Some(job_id) = &job_id {
            ids_under(&self.txn, EXEC_BY_JOB, job_id)?
        } else if let Some(node) = &opts.node_id {
            ids_under(&self.txn, EXEC_BY_NODE, node)?
        } else if opts.in_progress_only {
            let mut ids = Vec::new();
            self.txn.scan_keys(EXEC_IN_PROGRESS, KeyRange::ALL, Direction::Forward, &mut |k| {
                ids.push(decode_str_key(EXEC_IN_PROGRESS, k)?);
                Ok(true)
            })?;
            ids
        } else {
            let mut ids = Vec::new();
            self.txn.scan_keys(EXECUTIONS, KeyRange::ALL, Direction::Forward, &mut |k| {
                ids.push(decode_str_key(EXECUTIONS, k)?);
                Ok(true)
            })?;
            ids
        };
        // Each job loaded once: its position in `jobs` by ID. (A map to positions, not to the
        // jobs: `BTreeMap<String, u64>` is compiled anyway, a map of jobs would be one more
        // B-tree in the wasm package.)
        let mut jobs: Vec<alloc::sync::Arc<Job>> = Vec::new();
        let mut job_at: BTreeMap<String, u64> = BTreeMap::new();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let mut e = self.load_execution(&id)?;
            if opts.node_id.as_deref().is_some_and(|n| n != e.node_id)
                || (opts.in_progress_only && e.is_terminal_state())
            {
                continue;
            }
            if opts.include_job {
                let at = match job_at.get(&e.job_id) {
                    Some(&at) => at as usize,
                    None => {
                        jobs.push(alloc::sync::Arc::new(self.load_job(&e.job_id)?));
                        job_at.insert(e.job_id.clone(), jobs.len() as u64 - 1);
                        jobs.len() - 1
                    }
                };
                e.job = Some(jobs[at].clone());
            }
            out.push(e);
        }
        Ok(out)
    }

    /// See [`JobStore::get_evaluation`](super::JobStore::get_evaluation).
    pub fn get_evaluation(&self, id: &str) -> Result<Evaluation, JobStoreError> {
        self.resolve_evaluation(id).map(|(_, e)| e)
    }

    /// See [`JobStore::get_evaluations`](super::JobStore::get_evaluations).
    pub fn get_evaluations(&self, job_id: &str) -> Result<Vec<Evaluation>, JobStoreError> {
        let (job_id, _) = self.resolve_job(job_id)?;
        ids_under(&self.txn, EVAL_BY_JOB, &job_id)?
            .iter()
            .map(|id| {
                Ok(self
                    .txn
                    .get(EVALUATIONS, KeyBuf::new().str(id).as_bytes())?
                    .ok_or_else(|| missing(EVALUATIONS, id))?)
            })
            .collect()
    }

    /// See [`JobStore::get_job_count`](super::JobStore::get_job_count).
    pub fn get_job_count(&self, state: JobStateType) -> Result<u64, JobStoreError> {
        Ok(self.counters.count(&self.txn, JOB_COUNTS, state.as_u8())?)
    }

    /// See [`JobStore::get_execution_count`](super::JobStore::get_execution_count).
    pub fn get_execution_count(&self, state: ExecutionStateType) -> Result<u64, JobStoreError> {
        Ok(self.counters.count(&self.txn, EXEC_COUNTS, state.as_u8())?)
    }

    /// See [`JobStore::stats`](super::JobStore::stats).
    pub fn stats(&self) -> Result<JobStoreStats, JobStoreError> {
        let mut s =
            JobStoreStats { last_event_seq: self.counters.last_seq(&self.txn, &LOG)?, ..JobStoreStats::default() };
        for &state in JobStateType::ALL {
            let n = self.counters.count(&self.txn, JOB_COUNTS, state.as_u8())?;
            if n > 0 {
                s.jobs.insert(state.name().into(), n);
                s.job_total += n;
            }
        }
        for &state in ExecutionStateType::ALL {
            let n = self.counters.count(&self.txn, EXEC_COUNTS, state.as_u8())?;
            if n > 0 {
                s.executions.insert(state.name().into(), n);
                s.execution_total += n;
            }
        }
        Ok(s)
    }

    /// See [`JobStore::events_after`](super::JobStore::events_after).
    pub fn events_after(&self, after: u64, limit: u32) -> Result<Vec<Event>, JobStoreError> {
        Ok(LOG.after(&self.txn, after, limit)?)
    }

    /// See [`JobStore::get_checkpoint`](super::JobStore::get_checkpoint).
    pub fn get_checkpoint(&self, name: &str) -> Result<Option<u64>, JobStoreError> {
        Ok(LOG.checkpoint(&self.txn, name)?)
    }
}

impl<T: WriteTxn> crate::store::CommitTx for JobTx<'_, T> {
    type Error = JobStoreError;

    fn commit(mut self) -> Result<(), JobStoreError> {
        self.poison.check::<JobStoreError>()?;
        self.counters.flush(&mut self.txn, &LOG)?;
        Ok(self.txn.commit()?)
    }
}

impl<T: WriteTxn> JobTx<'_, T> {
    /// Runs a write operation, refusing to continue after a storage failure and remembering one.
    fn guarded<R>(&mut self, op: impl FnOnce(&mut Self) -> Result<R, JobStoreError>) -> Result<R, JobStoreError> {
        Poison::guard(self, |tx| &mut tx.poison, op)
    }

    fn append_history(&mut self, job_id: &str, mut entry: JobHistory) -> Result<(), StorageError> {
        let seq = next_seq(&self.txn, HISTORY, job_id)?;
        entry.seq_num = seq;
        let stored = super::history_entries::StoredJobHistory::new(entry, job_id);
        self.txn.put(HISTORY, KeyBuf::new().str(job_id).u64(seq).as_bytes(), stored)
    }

    fn event(&mut self, op: Operation, object: EventObject) -> Result<(), StorageError> {
        let now = self.clock.now().saturating_unix_nanos();
        let seq = self.counters.next_seq(&self.txn, &LOG)?;
        LOG.put_event(&mut self.txn, seq, now, op, object.into())
    }

    /// See [`JobStore::create_job`](super::JobStore::create_job).
    pub fn create_job(&mut self, mut job: Job) -> Result<Job, JobStoreError> {
        self.guarded(|tx| {
            let now = tx.clock.now();
            job.state = crate::model::State::new(JobStateType::Pending);
            job.revision = 1;
            job.create_time = now.saturating_unix_nanos();
            job.modify_time = job.create_time;
            job.normalize();
            job.validate()?;
            tx.policy.check_job(&job.id, None, JobStateType::Pending)?;
            // Existence is an exact-ID question: a new ID that happens to prefix another job's
            // ID is not a duplicate (SPEC W-J2).
            if tx.txn.get(JOBS, KeyBuf::new().str(&job.id).as_bytes())?.is_some() {
                return Err(JobStoreError::JobAlreadyExists { id: job.id.clone() });
            }
            tx.txn.put(JOBS, KeyBuf::new().str(&job.id).as_bytes(), job.clone())?;
            reindex(&mut tx.txn, &[], &job_entries(&job))?;
            tx.counters.bump(&mut tx.txn, JOB_COUNTS, JobStateType::Pending.as_u8(), 1)?;
            let entry = JobHistory {
                history_type: JobHistoryType::JobLevel,
                job_id: job.id.clone(),
                job_state: Some(StateChange { previous: JobStateType::Undefined, new: JobStateType::Pending }),
                new_revision: 1,
                comment: JOB_CREATED_COMMENT.into(),
                time: now,
                ..JobHistory::default()
            };
            tx.append_history(&job.id, entry)?;
            tx.event(Operation::Create, EventObject::Job(job.clone()))?;
            Ok(job)
        })
    }

    /// See [`JobStore::update_job_state`](super::JobStore::update_job_state).
    pub fn update_job_state(&mut self, req: UpdateJobStateRequest) -> Result<Job, JobStoreError> {
        self.guarded(|tx| {
            let (id, current) = tx.resolve_job(&req.job_id)?;
            let now = tx.clock.now();
            let (next, entry) = apply_job_update(&current, &req, tx.policy, now)?;
            tx.txn.put(JOBS, KeyBuf::new().str(&id).as_bytes(), next.clone())?;
            reindex(&mut tx.txn, &job_entries(&current), &job_entries(&next))?;
            let (from, to) = (current.state.state_type, next.state.state_type);
            if from != to {
                tx.counters.bump(&mut tx.txn, JOB_COUNTS, from.as_u8(), -1)?;
                tx.counters.bump(&mut tx.txn, JOB_COUNTS, to.as_u8(), 1)?;
            }
            tx.append_history(&id, entry)?;
            tx.event(Operation::Update, EventObject::Job(next.clone()))?;
            Ok(next)
        })
    }

    /// See [`JobStore::delete_job`](super::JobStore::delete_job).
    pub fn delete_job(&mut self, id: &str) -> Result<(), JobStoreError> {
        self.guarded(|tx| {
            let (id, job) = tx.resolve_job(id)?;
            let executions = ids_under(&tx.txn, EXEC_BY_JOB, &id)?
                .iter()
                .map(|e| tx.load_execution(e))
                .collect::<Result<Vec<_>, _>>()?;
            let evaluations = ids_under(&tx.txn, EVAL_BY_JOB, &id)?
                .iter()
                .map(|e| {
                    Ok(tx
                        .txn
                        .get(EVALUATIONS, KeyBuf::new().str(e).as_bytes())?
                        .ok_or_else(|| missing(EVALUATIONS, e))?)
                })
                .collect::<Result<Vec<Evaluation>, JobStoreError>>()?;
            let prefix = KeyBuf::new().str(&id).into_vec();
            let upper = prefix_upper_bound(&prefix);
            let mut history = Vec::new();
            tx.txn.scan_keys(HISTORY, KeyRange::prefix(&prefix, &upper), Direction::Forward, &mut |k| {
                history.push(k.to_vec());
                Ok(true)
            })?;
            // Checks done; the whole cascade, indexes and counts included, is one transaction
            // (SPEC W-J3, W-J4).
            for e in executions {
                tx.txn.delete(EXECUTIONS, KeyBuf::new().str(&e.id).as_bytes())?;
                reindex(&mut tx.txn, &execution_entries(&e), &[])?;
                tx.counters.bump(&mut tx.txn, EXEC_COUNTS, e.compute_state.state_type.as_u8(), -1)?;
                tx.event(Operation::Delete, EventObject::Execution(e))?;
            }
            for ev in evaluations {
                tx.txn.delete(EVALUATIONS, KeyBuf::new().str(&ev.id).as_bytes())?;
                tx.txn.delete(EVAL_BY_JOB, KeyBuf::new().str(&id).str(&ev.id).as_bytes())?;
                tx.event(Operation::Delete, EventObject::Evaluation(ev))?;
            }
            for k in &history {
                tx.txn.delete(HISTORY, k)?;
            }
            tx.txn.delete(JOBS, KeyBuf::new().str(&id).as_bytes())?;
            reindex(&mut tx.txn, &job_entries(&job), &[])?;
            tx.counters.bump(&mut tx.txn, JOB_COUNTS, job.state.state_type.as_u8(), -1)?;
            tx.event(Operation::Delete, EventObject::Job(job))?;
            Ok(())
        })
    }

    /// See [`JobStore::create_execution`](super::JobStore::create_execution).
    pub fn create_execution(&mut self, mut e: Execution) -> Result<Execution, JobStoreError> {
        self.guarded(|tx| {
            let (job_id, job) = tx.resolve_job(&e.job_id)?;
            e.job_id = job_id;
            e.job = None;
            if e.namespace.is_empty() {
                e.namespace.clone_from(&job.namespace);
            }
            // The store owns revisions and timestamps (SPEC W-J9).
            let now = tx.clock.now();
            e.revision = 1;
            e.create_time = now.saturating_unix_nanos();
            e.modify_time = e.create_time;
            e.normalize();
            e.validate()?;
            tx.policy.check_compute(&e.id, None, e.compute_state.state_type)?;
            if tx.txn.get(EXECUTIONS, KeyBuf::new().str(&e.id).as_bytes())?.is_some() {
                return Err(JobStoreError::ExecutionAlreadyExists { id: e.id.clone() });
            }
            tx.txn.put(EXECUTIONS, KeyBuf::new().str(&e.id).as_bytes(), e.clone())?;
            reindex(&mut tx.txn, &[], &execution_entries(&e))?;
            tx.counters.bump(&mut tx.txn, EXEC_COUNTS, e.compute_state.state_type.as_u8(), 1)?;
            let entry = JobHistory {
                history_type: JobHistoryType::ExecutionLevel,
                job_id: e.job_id.clone(),
                node_id: e.node_id.clone(),
                execution_id: e.id.clone(),
                execution_state: Some(StateChange {
                    previous: ExecutionStateType::Undefined,
                    new: e.compute_state.state_type,
                }),
                new_revision: 1,
                time: now,
                ..JobHistory::default()
            };
            tx.append_history(&e.job_id, entry)?;
            tx.event(Operation::Create, EventObject::Execution(e.clone()))?;
            Ok(e)
        })
    }

    /// See [`JobStore::update_execution`](super::JobStore::update_execution).
    pub fn update_execution(&mut self, req: UpdateExecutionRequest) -> Result<Execution, JobStoreError> {
        self.guarded(|tx| {
            let (id, current) = tx.resolve_execution(&req.execution_id)?;
            let now = tx.clock.now();
            let (next, entry) = apply_execution_update(&current, &req, tx.policy, now)?;
            tx.txn.put(EXECUTIONS, KeyBuf::new().str(&id).as_bytes(), next.clone())?;
            reindex(&mut tx.txn, &execution_entries(&current), &execution_entries(&next))?;
            let (from, to) = (current.compute_state.state_type, next.compute_state.state_type);
            if from != to {
                tx.counters.bump(&mut tx.txn, EXEC_COUNTS, from.as_u8(), -1)?;
                tx.counters.bump(&mut tx.txn, EXEC_COUNTS, to.as_u8(), 1)?;
            }
            tx.append_history(&next.job_id, entry)?;
            tx.event(Operation::Update, EventObject::Execution(next.clone()))?;
            Ok(next)
        })
    }

    /// See [`JobStore::create_evaluation`](super::JobStore::create_evaluation).
    pub fn create_evaluation(&mut self, mut ev: Evaluation) -> Result<Evaluation, JobStoreError> {
        self.guarded(|tx| {
            let (job_id, job) = tx.resolve_job(&ev.job_id)?;
            ev.job_id = job_id;
            if ev.namespace.is_empty() {
                ev.namespace.clone_from(&job.namespace);
            }
            ev.validate()?;
            tx.policy.check_evaluation(&ev.id, None, ev.status)?;
            if tx.txn.get(EVALUATIONS, KeyBuf::new().str(&ev.id).as_bytes())?.is_some() {
                return Err(JobStoreError::EvaluationAlreadyExists { id: ev.id.clone() });
            }
            tx.txn.put(EVALUATIONS, KeyBuf::new().str(&ev.id).as_bytes(), ev.clone())?;
            tx.txn.put(EVAL_BY_JOB, KeyBuf::new().str(&ev.job_id).str(&ev.id).as_bytes(), ())?;
            tx.event(Operation::Create, EventObject::Evaluation(ev.clone()))?;
            Ok(ev)
        })
    }

    /// See [`JobStore::update_evaluation`](super::JobStore::update_evaluation).
    pub fn update_evaluation(&mut self, req: UpdateEvaluationRequest) -> Result<Evaluation, JobStoreError> {
        self.guarded(|tx| {
            let (id, current) = tx.resolve_evaluation(&req.evaluation_id)?;
            let next = apply_evaluation_update(&current, &req, tx.policy, tx.clock.now())?;
            tx.txn.put(EVALUATIONS, KeyBuf::new().str(&id).as_bytes(), next.clone())?;
            tx.event(Operation::Update, EventObject::Evaluation(next.clone()))?;
            Ok(next)
        })
    }

    /// See [`JobStore::delete_evaluation`](super::JobStore::delete_evaluation).
    pub fn delete_evaluation(&mut self, id: &str) -> Result<(), JobStoreError> {
        self.guarded(|tx| {
            let (id, ev) = tx.resolve_evaluation(id)?;
            tx.txn.delete(EVALUATIONS, KeyBuf::new().str(&id).as_bytes())?;
            tx.txn.delete(EVAL_BY_JOB, KeyBuf::new().str(&ev.job_id).str(&id).as_bytes())?;
            tx.event(Operation::Delete, EventObject::Evaluation(ev))?;
            Ok(())
        })
    }

    /// See [`JobStore::checkpoint`](super::JobStore::checkpoint).
    pub fn checkpoint(&mut self, name: &str, seq: u64) -> Result<(), JobStoreError> {
        self.guarded(|tx| {
            if name.is_empty() || name.len() > crate::limits::MAX_ID {
                return Err(JobStoreError::InvalidArgument {
                    field: "name",
                    reason: alloc::format!("a checkpoint name must be 1 to {} bytes", crate::limits::MAX_ID),
                });
            }
            Ok(LOG.set_checkpoint(&mut tx.txn, name, seq)?)
        })
    }

    /// See [`JobStore::trim_events`](super::JobStore::trim_events).
    pub fn trim_events(&mut self, through: u64) -> Result<u64, JobStoreError> {
        self.guarded(|tx| Ok(LOG.trim(&mut tx.txn, through)?))
    }
}
