//! The compute store's operations, written once over the table traits. The same code runs as a
//! single-operation transaction (the store's methods) or inside a caller's multi-operation
//! transaction.
//!
//! Every write operation reads and checks everything first and writes only after every check
//! passed, so a rejected operation inside a larger transaction leaves nothing behind. A storage
//! failure poisons the transaction: it can then only roll back.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::history_rows;
use super::{
    decide_state_update, event_object, validate_new_execution, ComputeStats, Stored, UpdateExecutionStateRequest,
    BY_JOB, BY_STATE, COUNTS, CREATED_COMMENT, EVENTS_SCOPE_HISTORY, EVENTS_SCOPE_LIST, EXECUTIONS, HISTORY, LOG,
};
use crate::clock::Clock;
use crate::error::{ComputeError, StorageError};
use crate::event::{Event, Operation, SharedObject};
use crate::kv::key::KeyBuf;
use crate::kv::{Direction, KeyRange, ReadTxn, WriteTxn};
use crate::model::{LocalExecutionState, LocalStateHistory};
use crate::page::{self, Page, PageRequest};
use crate::state::LocalExecutionStateType;
use crate::store::{ids_under, lookup, paged, Counters, Lookup, Poison};
use crate::transition::Policy;

/// A transaction on the compute store: the same operations as
/// [`ExecutionStore`](super::ExecutionStore), applied atomically when the transaction commits.
pub struct ComputeTx<'s, T> {
    txn: T,
    policy: Policy,
    clock: &'s dyn Clock,
    poison: Poison,
    counters: Counters<1>,
    /// The record this transaction last created or changed, with its next history number, so
    /// that a batch taking one execution through several changes reads (on redb: decodes) it
    /// once. It is what the table holds: it was just written to it, or read from it and changed
    /// only in State, Version and UpdateTime, which round-trip exactly; any other write of
    /// records (delete, import) drops it.
    last: Option<(String, Stored, history_rows::Tail)>,
}

fn state_key(state: LocalExecutionStateType, id: &str) -> KeyBuf {
    KeyBuf::new().u8(state.as_u8()).str(id)
}

impl<'s, T: ReadTxn> crate::store::OpenTx<'s, T> for ComputeTx<'s, T> {
    type Error = ComputeError;

    fn open(txn: T, policy: Policy, clock: &'s dyn Clock) -> Self {
        Self { txn, policy, clock, poison: Poison::default(), counters: Counters::new([COUNTS]), last: None }
    }
}

impl<'s, T: ReadTxn> ComputeTx<'s, T> {
    pub(crate) fn txn(&self) -> &T {
        &self.txn
    }

    pub(crate) fn counters(&self) -> &Counters<1> {
        &self.counters
    }

    /// The backend transaction and the counters, for writes that bypass the operations (import).
    pub(crate) fn parts_mut(&mut self) -> (&mut T, &mut Counters<1>) {
        self.last = None;
        (&mut self.txn, &mut self.counters)
    }

    fn resolve(&self, id: &str) -> Result<(String, Stored), ComputeError> {
        if let Some((last_id, rec, _)) = &self.last {
            if last_id == id {
                return Ok((last_id.clone(), rec.clone()));
            }
        }
        match lookup(&self.txn, EXECUTIONS, id)? {
            Lookup::Found(id, rec) => Ok((id, rec)),
            Lookup::Missing => Err(ComputeError::ExecutionNotFound { id: id.into() }),
            Lookup::Ambiguous(matches) => Err(ComputeError::AmbiguousId { prefix: id.into(), matches }),
        }
    }

    fn load(&self, id: &str) -> Result<LocalExecutionState, ComputeError> {
        self.txn.get(EXECUTIONS, KeyBuf::new().str(id).as_bytes())?.map(Stored::into_record).ok_or_else(|| {
            StorageError::Corrupt {
                table: EXECUTIONS.name(),
                detail: alloc::format!("index entry for missing execution {id}"),
            }
            .into()
        })
    }

    /// See [`ExecutionStore::get_execution`](super::ExecutionStore::get_execution).
    pub fn get_execution(&self, id: &str) -> Result<LocalExecutionState, ComputeError> {
        self.resolve(id).map(|(_, rec)| rec.into_record())
    }

    /// See [`ExecutionStore::get_executions`](super::ExecutionStore::get_executions).
    pub fn get_executions(&self, job_id: &str) -> Result<Vec<LocalExecutionState>, ComputeError> {
        let ids = ids_under(&self.txn, BY_JOB, job_id)?;
        if ids.is_empty() {
            return Err(ComputeError::ExecutionsNotFoundForJob { job_id: job_id.into() });
        }
        let mut out = ids.iter().map(|id| self.load(id)).collect::<Result<Vec<_>, _>>()?;
        out.sort_by(|a, b| (a.update_time, a.id()).cmp(&(b.update_time, b.id())));
        Ok(out)
    }

    /// See [`ExecutionStore::get_live_executions`](super::ExecutionStore::get_live_executions).
    pub fn get_live_executions(&self) -> Result<Vec<LocalExecutionState>, ComputeError> {
        let mut out = Vec::new();
        for state in [LocalExecutionStateType::Running, LocalExecutionStateType::Publishing] {
            for id in ids_in_state(&self.txn, state)? {
                out.push(self.load(&id)?);
            }
        }
        out.sort_by(|a, b| (a.update_time, a.id()).cmp(&(b.update_time, b.id())));
        Ok(out)
    }

    /// See [`ExecutionStore::get_active_execution`](super::ExecutionStore::get_active_execution).
    pub fn get_active_execution(&self, job_id: &str) -> Result<Option<LocalExecutionState>, ComputeError> {
        Ok(self.get_executions(job_id)?.into_iter().rev().find(|e| e.state.is_active()))
    }

    /// See [`ExecutionStore::get_execution_history`](super::ExecutionStore::get_execution_history).
    pub fn get_execution_history(&self, id: &str, req: &PageRequest) -> Result<Page<LocalStateHistory>, ComputeError> {
        let id = match self.resolve(id) {
            Ok((id, _)) => id,
            Err(ComputeError::ExecutionNotFound { id }) => return Err(ComputeError::ExecutionHistoryNotFound { id }),
            Err(e) => return Err(e),
        };
        let fp = page::fingerprint(&[id.as_bytes()]);
        let scope = (EVENTS_SCOPE_HISTORY, fp);
        history_rows::page(&self.txn, &id, req.limit, req.next_token.as_deref(), scope, invalid_token)
    }

    /// See [`ExecutionStore::list_executions`](super::ExecutionStore::list_executions).
    pub fn list_executions(&self, req: &PageRequest) -> Result<Page<LocalExecutionState>, ComputeError> {
        let page = paged(
            &self.txn,
            EXECUTIONS,
            &[],
            req.limit,
            req.next_token.as_deref(),
            (EVENTS_SCOPE_LIST, 0),
            |_| true,
            invalid_token,
        )?;
        Ok(Page { items: page.items.into_iter().map(Stored::into_record).collect(), next_token: page.next_token })
    }

    /// See [`ExecutionStore::get_execution_count`](super::ExecutionStore::get_execution_count).
    pub fn get_execution_count(&self, state: LocalExecutionStateType) -> Result<u64, ComputeError> {
        Ok(self.counters.count(&self.txn, COUNTS, state.as_u8())?)
    }

    /// See [`ExecutionStore::stats`](super::ExecutionStore::stats).
    pub fn stats(&self) -> Result<ComputeStats, ComputeError> {
        let mut counts = alloc::collections::BTreeMap::new();
        let mut total = 0;
        for &state in LocalExecutionStateType::ALL {
            let n = self.counters.count(&self.txn, COUNTS, state.as_u8())?;
            if n > 0 {
                counts.insert(state.name().into(), n);
                total += n;
            }
        }
        Ok(ComputeStats { counts, total, last_event_seq: self.counters.last_seq(&self.txn, &LOG)? })
    }

    /// See [`ExecutionStore::events_after`](super::ExecutionStore::events_after).
    pub fn events_after(&self, after: u64, limit: u32) -> Result<Vec<Event>, ComputeError> {
        Ok(super::events::events_after(&self.txn, after, limit)?)
    }

    /// See [`ExecutionStore::get_checkpoint`](super::ExecutionStore::get_checkpoint).
    pub fn get_checkpoint(&self, name: &str) -> Result<Option<u64>, ComputeError> {
        Ok(LOG.checkpoint(&self.txn, name)?)
    }
}

pub(crate) fn ids_in_state<T: ReadTxn>(txn: &T, state: LocalExecutionStateType) -> Result<Vec<String>, StorageError> {
    let prefix = KeyBuf::new().u8(state.as_u8());
    let upper = prefix.upper_bound();
    let mut ids = Vec::new();
    txn.scan_keys(BY_STATE, KeyRange::under(&prefix, &upper), Direction::Forward, &mut |k| {
        ids.push(crate::store::decode_str_key(BY_STATE, &k[1..])?);
        Ok(true)
    })?;
    Ok(ids)
}

fn invalid_token(reason: String) -> ComputeError {
    ComputeError::InvalidToken { reason }
}

impl<T: WriteTxn> crate::store::CommitTx for ComputeTx<'_, T> {
    type Error = ComputeError;

    fn commit(mut self) -> Result<(), ComputeError> {
        self.poison.check::<ComputeError>()?;
        self.counters.flush(&mut self.txn, &LOG)?;
        Ok(self.txn.commit()?)
    }
}

impl<T: WriteTxn> ComputeTx<'_, T> {
    /// Runs a write operation, refusing to continue after a storage failure and remembering one.
    fn guarded<R>(&mut self, op: impl FnOnce(&mut Self) -> Result<R, ComputeError>) -> Result<R, ComputeError> {
        Poison::guard(self, |tx| &mut tx.poison, op)
    }

    /// Appends an event in this transaction: it commits or rolls back with the change.
    /// Returns the event's number.
    fn append(&mut self, timestamp: i64, operation: Operation, object: SharedObject) -> Result<u64, StorageError> {
        let seq = self.counters.next_seq(&self.txn, &LOG)?;
        LOG.put_event(&mut self.txn, seq, timestamp, operation, object)?;
        Ok(seq)
    }

    fn now_nanos(&self) -> i64 {
        self.clock.now().saturating_unix_nanos()
    }

    /// See [`ExecutionStore::create_execution`](super::ExecutionStore::create_execution).
    pub fn create_execution(&mut self, mut rec: LocalExecutionState) -> Result<LocalExecutionState, ComputeError> {
        self.guarded(|tx| {
            Arc::make_mut(&mut rec.execution).normalize();
            rec.validate()?;
            validate_new_execution(&rec)?;
            tx.policy.check_local(rec.id(), None, rec.state)?;
            let key = KeyBuf::new().str(rec.id());
            if tx.txn.contains(EXECUTIONS, key.as_bytes())? {
                return Err(ComputeError::ExecutionAlreadyExists { id: rec.id().into() });
            }
            if rec.create_time == crate::time::Timestamp::default() {
                rec.create_time = tx.clock.now();
            }
            if rec.update_time == crate::time::Timestamp::default() {
                rec.update_time = rec.create_time;
            }
            // Checks done; from here on only writes.
            let id = String::from(rec.id());
            let (state, version, time) = (rec.state, rec.version, rec.update_time);
            let entry = LocalStateHistory {
                execution_id: id.clone(),
                previous_state: LocalExecutionStateType::Undefined,
                new_state: state,
                new_version: version,
                comment: CREATED_COMMENT.into(),
                time,
            };
            let tail = history_rows::Tail::empty().append(&mut tx.txn, &id, entry)?;
            let rec = Stored::new(rec).with_next_history(tail.next_seq());
            tx.txn.put(EXECUTIONS, key.as_bytes(), rec.clone())?;
            tx.txn.put(BY_JOB, KeyBuf::new().str(rec.job_id()).str(&id).as_bytes(), ())?;
            tx.txn.put(BY_STATE, state_key(state, &id).as_bytes(), ())?;
            tx.counters.bump(&mut tx.txn, COUNTS, state.as_u8(), 1)?;
            let now = tx.now_nanos();
            tx.append(now, Operation::Create, event_object(&rec))?;
            // A batch usually changes what it just created: the first change then reads nothing.
            tx.last = Some((id, rec.clone(), tail));
            Ok(rec.into_record())
        })
    }

    /// See [`ExecutionStore::update_execution_state`](super::ExecutionStore::update_execution_state).
    pub fn update_execution_state(
        &mut self,
        req: UpdateExecutionStateRequest,
    ) -> Result<LocalExecutionState, ComputeError> {
        self.guarded(|tx| {
            let (id, current) = tx.resolve(&req.execution_id)?;
            let now = tx.clock.now();
            let previous = current.state();
            // The lifecycle decides; from here on the store only writes what it decided.
            let change = decide_state_update(current.id(), previous, current.version(), &req, tx.policy, now)?;
            let tail = match tx.last.take() {
                Some((last_id, _, tail)) if last_id == id => tail,
                _ => history_rows::Tail::read(&tx.txn, &id, current.next_history())?,
            };
            // The new version shares the current one's record: nothing is copied until the
            // caller's copy is made on return.
            let next = current.at(change.state, change.version, change.update_time);
            drop(current);
            let entry = change.entry;
            let tail = tail.append(&mut tx.txn, &id, entry)?;
            let next = next.with_next_history(tail.next_seq());
            tx.txn.put(EXECUTIONS, KeyBuf::new().str(&id).as_bytes(), next.clone())?;
            if previous != next.state() {
                tx.txn.delete(BY_STATE, state_key(previous, &id).as_bytes())?;
                tx.txn.put(BY_STATE, state_key(next.state(), &id).as_bytes(), ())?;
                tx.counters.bump(&mut tx.txn, COUNTS, previous.as_u8(), -1)?;
                tx.counters.bump(&mut tx.txn, COUNTS, next.state().as_u8(), 1)?;
            }
            tx.append(now.saturating_unix_nanos(), Operation::Update, event_object(&next))?;
            tx.last = Some((id, next.clone(), tail));
            Ok(next.into_record())
        })
    }

    /// See [`ExecutionStore::delete_execution`](super::ExecutionStore::delete_execution).
    pub fn delete_execution(&mut self, id: &str) -> Result<(), ComputeError> {
        self.guarded(|tx| {
            let (id, rec) = tx.resolve(id)?;
            tx.last = None;
            let prefix = KeyBuf::new().str(&id);
            let upper = prefix.upper_bound();
            let mut history_keys = Vec::new();
            tx.txn.scan_keys(HISTORY, KeyRange::under(&prefix, &upper), Direction::Forward, &mut |k| {
                history_keys.push(k.to_vec());
                Ok(true)
            })?;
            // Checks done; from here on only writes. Every index entry and the count go in the
            // same transaction as the record (SPEC W-C1).
            tx.txn.delete(EXECUTIONS, KeyBuf::new().str(&id).as_bytes())?;
            tx.txn.delete(BY_JOB, KeyBuf::new().str(rec.job_id()).str(&id).as_bytes())?;
            tx.txn.delete(BY_STATE, state_key(rec.state(), &id).as_bytes())?;
            tx.counters.bump(&mut tx.txn, COUNTS, rec.state().as_u8(), -1)?;
            for k in &history_keys {
                tx.txn.delete(HISTORY, k)?;
            }
            // The deletion keeps the record whole: the references of its earlier events resolve
            // to it from now on.
            let now = tx.now_nanos();
            let seq = tx.append(now, Operation::Delete, SharedObject::LocalExecution(rec))?;
            super::events::index_delete(&mut tx.txn, &id, seq)?;
            Ok(())
        })
    }

    /// See [`ExecutionStore::checkpoint`](super::ExecutionStore::checkpoint).
    pub fn checkpoint(&mut self, name: &str, seq: u64) -> Result<(), ComputeError> {
        self.guarded(|tx| {
            if name.is_empty() || name.len() > crate::limits::MAX_ID {
                return Err(ComputeError::InvalidArgument {
                    field: "name",
                    reason: alloc::format!("a checkpoint name must be 1 to {} bytes", crate::limits::MAX_ID),
                });
            }
            Ok(LOG.set_checkpoint(&mut tx.txn, name, seq)?)
        })
    }

    /// See [`ExecutionStore::trim_events`](super::ExecutionStore::trim_events).
    pub fn trim_events(&mut self, through: u64) -> Result<u64, ComputeError> {
        self.guarded(|tx| {
            let trimmed = LOG.trim(&mut tx.txn, through)?;
            super::events::trim_deletes(&mut tx.txn, through)?;
            Ok(trimmed)
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::error::ComputeError;
    use crate::model::{Execution, LocalExecutionState};
    use crate::state::LocalExecutionStateType as S;
    use crate::{ExecutionStore, UpdateExecutionStateRequest};

    fn rec(id: &str) -> LocalExecutionState {
        let execution =
            Execution { id: id.into(), namespace: "ns".into(), job_id: "j-1".into(), ..Execution::default() };
        LocalExecutionState::new(execution, "requester", crate::time::Timestamp::from_unix_nanos(1))
    }

    #[test]
    fn counts_and_the_event_counter_read_pending_values_inside_a_transaction() {
        let store = ExecutionStore::in_memory();
        store.create_execution(rec("e-0")).unwrap();
        store
            .transaction(|tx| {
                tx.create_execution(rec("e-1"))?;
                tx.update_execution_state(UpdateExecutionStateRequest::new("e-1", S::BidAccepted))?;
                tx.update_execution_state(UpdateExecutionStateRequest::new("e-0", S::BidAccepted))?;
                assert_eq!(tx.get_execution_count(S::Created)?, 0);
                assert_eq!(tx.get_execution_count(S::BidAccepted)?, 2);
                assert_eq!(tx.stats()?.last_event_seq, 4);
                assert_eq!(tx.snapshot()?.last_event_seq, 4);
                assert!(tx.check()?.problems.is_empty());
                Ok::<_, ComputeError>(())
            })
            .unwrap();
        let failed: Result<(), ComputeError> = store.transaction(|tx| {
            tx.create_execution(rec("e-2"))?;
            Err(ComputeError::Closed)
        });
        assert!(failed.is_err());
        assert_eq!(store.get_execution_count(S::Created).unwrap(), 0);
        assert_eq!(store.get_execution_count(S::BidAccepted).unwrap(), 2);
        assert_eq!(store.stats().unwrap().last_event_seq, 4);
        assert!(store.check().unwrap().problems.is_empty());
    }

    #[test]
    fn changing_a_returned_record_changes_neither_the_store_nor_other_copies() {
        // The memory store's versions and the records it returns share one execution.
        let store = ExecutionStore::in_memory();
        let mut created = store.create_execution(rec("e-1")).unwrap();
        let mut updated =
            store.update_execution_state(UpdateExecutionStateRequest::new("e-1", S::BidAccepted)).unwrap();
        alloc::sync::Arc::make_mut(&mut created.execution).name = "changed".into();
        alloc::sync::Arc::make_mut(&mut updated.execution).namespace = "elsewhere".into();
        let stored = store.get_execution("e-1").unwrap();
        assert_eq!((stored.execution.name.as_str(), stored.execution.namespace.as_str()), ("", "ns"));
        assert_eq!((created.execution.namespace.as_str(), updated.execution.name.as_str()), ("ns", ""));
        let events = store.events_after(0, 10).unwrap();
        assert_eq!(events.len(), 2);
        for e in events {
            let crate::event::EventObject::LocalExecution(l) = e.object else { panic!("{e:?}") };
            assert_eq!((l.execution.name.as_str(), l.execution.namespace.as_str()), ("", "ns"));
        }
        assert!(store.check().unwrap().problems.is_empty());
    }

    fn history_of<B: crate::kv::Backend>(store: &ExecutionStore<B>, id: &str) -> alloc::vec::Vec<(S, S, u64)> {
        let page = store.get_execution_history(id, &crate::PageRequest::default()).unwrap();
        page.items.iter().map(|h| (h.previous_state, h.new_state, h.new_version)).collect()
    }

    fn changes_in_one_transaction<B: crate::kv::Backend>(store: ExecutionStore<B>) {
        store
            .transaction(|tx| {
                tx.create_execution(rec("e-1"))?;
                tx.update_execution_state(UpdateExecutionStateRequest::new("e-1", S::BidAccepted))?;
                let err =
                    tx.update_execution_state(UpdateExecutionStateRequest::new("e-1", S::Running).expecting_version(1));
                assert!(err.is_err());
                tx.update_execution_state(UpdateExecutionStateRequest::new("e-", S::Running))?;
                tx.delete_execution("e-1")?;
                tx.create_execution(rec("e-1"))?;
                let r = tx.update_execution_state(UpdateExecutionStateRequest::new("e-1", S::BidAccepted))?;
                assert_eq!((r.state, r.version), (S::BidAccepted, 2));
                let r = tx.update_execution_state(UpdateExecutionStateRequest::new("e-1", S::Running))?;
                assert_eq!((r.state, r.version), (S::Running, 3));
                assert_eq!(tx.get_execution("e-1")?.version, 3);
                Ok::<_, ComputeError>(())
            })
            .unwrap();
        let expected =
            [(S::Undefined, S::Created, 1), (S::Created, S::BidAccepted, 2), (S::BidAccepted, S::Running, 3)];
        assert_eq!(history_of(&store, "e-1"), expected);
        assert_eq!(store.get_execution("e-1").unwrap().state, S::Running);
        assert!(store.check().unwrap().problems.is_empty());
    }

    #[test]
    fn repeated_changes_of_one_record_in_a_transaction_read_their_own_writes() {
        changes_in_one_transaction(ExecutionStore::in_memory());
        #[cfg(feature = "redb")]
        {
            use crate::kv::redb::{RedbBackend, RedbOptions};
            let dir = tempfile::tempdir().unwrap();
            let backend =
                RedbBackend::open(&dir.path().join("s.redb"), crate::kv::StoreKind::Compute, &RedbOptions::default())
                    .unwrap();
            changes_in_one_transaction(crate::StoreBuilder::new().compute(backend));
        }
    }

    #[test]
    fn a_hand_made_history_token_with_another_executions_key_is_an_invalid_token() {
        let store = ExecutionStore::in_memory();
        store.create_execution(rec("e-1")).unwrap();
        let fingerprint = crate::page::fingerprint(&[b"e-1"]);
        let key = crate::kv::key::KeyBuf::new().str("e-2").u64(1);
        let token = crate::page::encode(super::super::EVENTS_SCOPE_HISTORY, fingerprint, key.as_bytes());
        let req = crate::PageRequest { limit: 1, next_token: Some(token) };
        let err = store.get_execution_history("e-1", &req).unwrap_err();
        assert_eq!(err.code(), "InvalidToken", "{err}");
    }

    #[cfg(feature = "redb")]
    mod on_redb {
        use super::rec;
        use crate::compute::{StoredHistory, HISTORY};
        use crate::error::ComputeError;
        use crate::kv::key::KeyBuf;
        use crate::kv::{Direction, KeyRange, ReadTxn, WriteTxn};
        use crate::model::LocalStateHistory;
        use crate::state::LocalExecutionStateType as S;
        use crate::UpdateExecutionStateRequest;

        /// The history rows of execution `id` as (first sequence number, entries).
        fn rows<T: ReadTxn>(txn: &T, id: &str) -> alloc::vec::Vec<(u64, usize)> {
            let prefix = KeyBuf::new().str(id);
            let upper = prefix.upper_bound();
            let mut out = alloc::vec::Vec::new();
            txn.scan(HISTORY, KeyRange::under(&prefix, &upper), Direction::Forward, &mut |k, row: StoredHistory| {
                let seq = crate::kv::key::KeyReader::new(&k[prefix.as_bytes().len()..]).u64().unwrap();
                out.push((seq, row.len()));
                Ok(true)
            })
            .unwrap();
            out
        }

        /// Writes a row of one entry under `(e-2, seq)` as a schema-2 build (or damage) would: `f`
        /// of e-2's first entry.
        fn put_row<B: crate::kv::Backend>(
            store: &crate::ExecutionStore<B>,
            seq: u64,
            f: impl FnOnce(LocalStateHistory) -> LocalStateHistory,
        ) {
            store
                .transaction(|tx| {
                    let e = tx.get_execution_history("e-2", &crate::PageRequest::default())?.items.remove(0);
                    let key = KeyBuf::new().str("e-2").u64(seq);
                    tx.parts_mut().0.put(HISTORY, key.as_bytes(), StoredHistory::new(f(e), "e-2"))?;
                    Ok::<_, ComputeError>(())
                })
                .unwrap();
        }

        #[test]
        fn on_redb_a_lifecycle_keeps_its_history_in_one_row_and_appends_to_rows_of_schema_2() {
            use crate::kv::redb::{RedbBackend, RedbOptions};
            use crate::kv::Backend;
            let dir = tempfile::tempdir().unwrap();
            let backend =
                RedbBackend::open(&dir.path().join("s.redb"), crate::kv::StoreKind::Compute, &RedbOptions::default())
                    .unwrap();
            let store = crate::StoreBuilder::new().compute(backend);
            store.create_execution(rec("e-1")).unwrap();
            for s in [S::BidAccepted, S::Running, S::Publishing, S::Completed] {
                store.update_execution_state(UpdateExecutionStateRequest::new("e-1", s)).unwrap();
            }
            assert_eq!(rows(&store.backend().begin_read().unwrap(), "e-1"), [(1, 5)]);

            // Schema 2 kept one entry per row: a change appends to the last one.
            store.create_execution(rec("e-2")).unwrap();
            put_row(&store, 2, |e| LocalStateHistory {
                previous_state: S::Created,
                new_state: S::Created,
                new_version: 2,
                ..e
            });
            store.update_execution_state(UpdateExecutionStateRequest::new("e-2", S::BidAccepted)).unwrap();
            assert_eq!(rows(&store.backend().begin_read().unwrap(), "e-2"), [(1, 1), (2, 2)]);
            let states: alloc::vec::Vec<(S, S)> = store
                .get_execution_history("e-2", &crate::PageRequest::default())
                .unwrap()
                .items
                .iter()
                .map(|h| (h.previous_state, h.new_state))
                .collect();
            assert_eq!(states, [(S::Undefined, S::Created), (S::Created, S::Created), (S::Created, S::BidAccepted)]);
            assert_eq!(store.check().unwrap().history_entries, 8);
            assert!(store.check().unwrap().problems.is_empty());

            // A row numbering an entry another row holds (only a damaged file has one) is reported.
            put_row(&store, 3, |e| e);
            let problems = store.check().unwrap().problems;
            assert_eq!(problems, ["execution_history: execution e-2 has entry 3 twice (the row before ends at 3)"]);
        }
    }
}
