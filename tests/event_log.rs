//! The compute store's event log on disk (schema 2, src/compute/events.rs): record versions are
//! kept by reference and resolved against the record, or against the copy a later `DELETE` event
//! keeps; imports store whole what does not resolve; schema-1 files (whole events, history
//! entries as maps) still read.
#![cfg(feature = "redb")]

use std::path::Path;

use bacalhau_state::error::StorageError;
use bacalhau_state::event::{Event, EventObject, Operation};
use bacalhau_state::kv::key::KeyBuf;
use bacalhau_state::kv::redb::{RedbBackend, RedbOptions};
use bacalhau_state::kv::{Backend, Durability, StoreKind, Table, WriteTxn};
use bacalhau_state::model::{Execution, LocalExecutionState, LocalStateHistory};
use bacalhau_state::state::LocalExecutionStateType as S;
use bacalhau_state::time::Timestamp;
use bacalhau_state::{ComputeError, ExecutionStore, PageRequest, StoreBuilder, UpdateExecutionStateRequest};

type RawTable = redb::TableDefinition<'static, &'static [u8], &'static [u8]>;
const RAW_EVENTS: RawTable = redb::TableDefinition::new("events");
const RAW_EXECUTIONS: RawTable = redb::TableDefinition::new("executions");
const RAW_META: RawTable = redb::TableDefinition::new("meta");

fn store(path: &Path) -> ExecutionStore<RedbBackend> {
    let backend = RedbBackend::open(path, StoreKind::Compute, &RedbOptions::default()).unwrap();
    StoreBuilder::new().compute(backend)
}

fn record(id: &str, requester: &str) -> LocalExecutionState {
    let execution = Execution { id: id.into(), job_id: "j-1".into(), namespace: "ns".into(), ..Execution::default() };
    LocalExecutionState::new(execution, requester, Timestamp::from_unix_nanos(1))
}

fn advance(s: &ExecutionStore<RedbBackend>, id: &str, to: S) {
    s.update_execution_state(UpdateExecutionStateRequest::new(id, to)).unwrap();
}

/// The stored size of each event and of each record, by key, read with redb itself.
fn raw_sizes(path: &Path, table: RawTable) -> Vec<usize> {
    use redb::{ReadableDatabase, ReadableTable};
    let db = redb::Database::open(path).unwrap();
    let txn = db.begin_read().unwrap();
    let t = txn.open_table(table).unwrap();
    t.iter().unwrap().map(|e| e.unwrap().1.value().len()).collect()
}

fn meta(path: &Path, key: &str) -> String {
    use redb::ReadableDatabase;
    let db = redb::Database::open(path).unwrap();
    let txn = db.begin_read().unwrap();
    let v = txn.open_table(RAW_META).unwrap().get(key.as_bytes()).unwrap().unwrap().value().to_vec();
    String::from_utf8(v).unwrap()
}

fn local(e: &Event) -> (&LocalExecutionState, Operation) {
    match &e.object {
        EventObject::LocalExecution(r) => (r, e.operation),
        other => panic!("event {} holds {other:?}", e.seq_num),
    }
}

#[test]
fn events_of_creations_and_changes_store_a_reference_not_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let s = store(&path);
    s.create_execution(record("e-1", "req-1")).unwrap();
    advance(&s, "e-1", S::BidAccepted);
    advance(&s, "e-1", S::Running);
    let events = s.events_after(0, 0).unwrap();
    let current = s.get_execution("e-1").unwrap();
    s.close().unwrap();

    let record_size = raw_sizes(&path, RAW_EXECUTIONS)[0];
    let event_sizes = raw_sizes(&path, RAW_EVENTS);
    assert_eq!(event_sizes.len(), 3);
    for size in event_sizes {
        assert!(size * 3 < record_size, "event of {size} bytes beside a record of {record_size}");
    }
    // Each event still reads as the record as it was after its change.
    let versions: Vec<_> = events.iter().map(|e| (local(e).0.state, local(e).0.version)).collect();
    assert_eq!(versions, [(S::Created, 1), (S::BidAccepted, 2), (S::Running, 3)]);
    let mut last = local(&events[2]).0.clone();
    last.update_time = current.update_time;
    assert_eq!(last, current);
    assert_eq!(store(&path).events_after(0, 0).unwrap(), events, "the same after a reopen");
}

#[test]
fn a_deletion_keeps_the_record_whole_for_the_events_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let s = store(&path);
    s.create_execution(record("e-1", "first")).unwrap();
    advance(&s, "e-1", S::BidAccepted);
    s.delete_execution("e-1").unwrap();
    s.create_execution(record("e-1", "second")).unwrap();
    let events = s.events_after(0, 0).unwrap();
    let requesters: Vec<_> = events.iter().map(|e| local(e).0.requester_node_id.as_str()).collect();
    assert_eq!(requesters, ["first", "first", "first", "second"]);
    assert_eq!(local(&events[2]).1, Operation::Delete);
    assert!(s.check().unwrap().problems.is_empty());
    s.close().unwrap();
    let sizes = raw_sizes(&path, RAW_EVENTS);
    assert!(sizes[2] > 3 * sizes[0], "the DELETE event is whole: {sizes:?}");
}

#[test]
fn imported_events_that_are_not_versions_of_their_record_stay_whole() {
    let source = ExecutionStore::in_memory();
    source.create_execution(record("e-1", "req-1")).unwrap();
    source.update_execution_state(UpdateExecutionStateRequest::new("e-1", S::BidAccepted)).unwrap();
    let mut snap = source.snapshot().unwrap();
    // A foreign log: the creation event names another requester than the record has.
    if let EventObject::LocalExecution(r) = &mut snap.events[0].object {
        r.requester_node_id = "someone-else".into();
    }

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let s = store(&path);
    s.import(snap.clone()).unwrap();
    assert_eq!(s.events_after(0, 0).unwrap(), snap.events);
    assert!(s.check().unwrap().problems.is_empty());
    s.close().unwrap();
    let sizes = raw_sizes(&path, RAW_EVENTS);
    assert!(sizes[0] > 3 * sizes[1], "the foreign event is whole, the other a reference: {sizes:?}");
    assert_eq!(store(&path).snapshot().unwrap(), snap);
}

#[test]
fn a_reference_to_a_missing_record_is_a_corrupt_error_and_a_check_problem() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let s = store(&path);
    s.create_execution(record("e-1", "req-1")).unwrap();
    s.close().unwrap();
    {
        let db = redb::Database::open(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(RAW_EXECUTIONS).unwrap().retain(|_, _| false).unwrap();
        txn.commit().unwrap();
    }
    let s = store(&path);
    match s.events_after(0, 0) {
        Err(ComputeError::Storage(StorageError::Corrupt { table, detail })) => {
            assert_eq!(table, "events");
            assert!(detail.contains("e-1"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    let problems = s.check().unwrap().problems;
    assert!(problems.iter().any(|p| p.contains("event 1") && p.contains("e-1")), "{problems:?}");
}

#[test]
fn a_schema_1_store_with_whole_events_is_upgraded_by_a_writable_open_and_reads_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let s = store(&path);
    s.create_execution(record("e-1", "req-1")).unwrap();
    advance(&s, "e-1", S::BidAccepted);
    let events = s.events_after(0, 0).unwrap();
    let history = s.get_execution_history("e-1", &PageRequest::default()).unwrap().items;
    s.close().unwrap();
    // Rewrite the log and the history as schema 1 wrote them: every event whole, every history
    // entry a map with its execution ID.
    {
        const EVENTS: Table<Event> = Table::new(6, "events");
        const HISTORY: Table<LocalStateHistory> = Table::new(2, "execution_history");
        let b = RedbBackend::open(&path, StoreKind::Compute, &RedbOptions::default()).unwrap();
        let mut w = b.begin_write(Durability::Immediate).unwrap();
        for e in &events {
            w.put(EVENTS, &e.seq_num.to_be_bytes(), e.clone()).unwrap();
        }
        for (seq, h) in (1..).zip(&history) {
            w.put(HISTORY, KeyBuf::new().str("e-1").u64(seq).as_bytes(), h.clone()).unwrap();
        }
        w.commit().unwrap();
        b.close().unwrap();
        let db = redb::Database::open(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(RAW_META).unwrap().insert(&b"schema_version"[..], &b"1"[..]).unwrap();
        txn.commit().unwrap();
    }
    let sizes = raw_sizes(&path, RAW_EVENTS);
    assert!(sizes.iter().all(|&n| n > raw_sizes(&path, RAW_EXECUTIONS)[0]), "whole events: {sizes:?}");

    let r = RedbBackend::open_read_only(&path, StoreKind::Compute, &RedbOptions::default()).unwrap();
    assert_eq!(StoreBuilder::new().compute(r).events_after(0, 0).unwrap(), events);
    assert_eq!(meta(&path, "schema_version"), "1", "a read-only open changes nothing");

    let s = store(&path);
    assert_eq!(s.events_after(0, 0).unwrap(), events);
    assert_eq!(s.get_execution_history("e-1", &PageRequest::default()).unwrap().items, history);
    advance(&s, "e-1", S::Running);
    let after = s.get_execution_history("e-1", &PageRequest::default()).unwrap().items;
    assert_eq!((&after[..2], after[2].new_version, after[2].execution_id.as_str()), (&history[..], 3, "e-1"));
    s.delete_execution("e-1").unwrap();
    let all = s.events_after(0, 0).unwrap();
    assert_eq!(&all[..2], &events[..]);
    assert_eq!(all.iter().map(|e| local(e).0.version).collect::<Vec<_>>(), [1, 2, 3, 3]);
    assert!(s.check().unwrap().problems.is_empty());
    s.close().unwrap();
    assert_eq!(meta(&path, "schema_version"), bacalhau_state::kv::redb::SCHEMA_VERSION.to_string());
}
