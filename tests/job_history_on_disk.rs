//! The job store's history on disk (schema 3, src/jobstore/history_entries.rs): entries are arrays
//! without their job ID, and entries an older build wrote as maps still read beside them.
#![cfg(feature = "redb")]

use std::path::Path;

use bacalhau_state::jobstore::{JobHistoryQuery, UpdateJobStateRequest};
use bacalhau_state::kv::key::KeyBuf;
use bacalhau_state::kv::redb::{RedbBackend, RedbOptions, FORMAT_VERSION};
use bacalhau_state::kv::StoreKind;
use bacalhau_state::model::{Job, JobHistory, Task};
use bacalhau_state::state::JobStateType as J;
use bacalhau_state::{JobStore, StoreBuilder};
use redb::ReadableDatabase;

type RawTable = redb::TableDefinition<'static, &'static [u8], &'static [u8]>;
const RAW_HISTORY: RawTable = redb::TableDefinition::new("job_history");

fn store(path: &Path) -> JobStore<RedbBackend> {
    let backend = RedbBackend::open(path, StoreKind::Requester, &RedbOptions::default()).unwrap();
    StoreBuilder::new().jobs(backend)
}

fn job(id: &str) -> Job {
    Job {
        id: id.into(),
        name: "n".into(),
        job_type: "batch".into(),
        tasks: vec![Task::new("t", "docker")],
        ..Job::default()
    }
}

fn history(s: &JobStore<RedbBackend>) -> Vec<JobHistory> {
    s.get_job_history("j-1", &JobHistoryQuery::default()).unwrap().items
}

fn raw_row(path: &Path, seq: u64) -> Vec<u8> {
    let db = redb::Database::open(path).unwrap();
    let txn = db.begin_read().unwrap();
    let key = KeyBuf::new().str("j-1").u64(seq).into_vec();
    let value = txn.open_table(RAW_HISTORY).unwrap().get(key.as_slice()).unwrap().unwrap().value().to_vec();
    value
}

#[test]
fn entries_are_compact_and_entries_written_as_maps_by_an_older_build_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.redb");
    let s = store(&path);
    s.create_job(job("j-1")).unwrap();
    s.update_job_state(UpdateJobStateRequest::new("j-1", J::Running)).unwrap();
    let before = history(&s);
    assert_eq!(before.len(), 2);
    s.close().unwrap();

    // What schema 2 stored: the entry as a map with field names, its job ID included.
    let mut map = vec![FORMAT_VERSION];
    ciborium::into_writer(&before[1], &mut map).unwrap();
    let compact = raw_row(&path, 2);
    assert!(compact.len() * 3 < map.len(), "compact {} bytes, map {} bytes", compact.len(), map.len());
    {
        let db = redb::Database::open(&path).unwrap();
        let txn = db.begin_write().unwrap();
        let key = KeyBuf::new().str("j-1").u64(2).into_vec();
        txn.open_table(RAW_HISTORY).unwrap().insert(key.as_slice(), map.as_slice()).unwrap();
        txn.commit().unwrap();
    }

    let s = store(&path);
    assert_eq!(history(&s), before, "the map reads as the same entry");
    s.update_job_state(UpdateJobStateRequest::new("j-1", J::Completed)).unwrap();
    let after = history(&s);
    assert_eq!(&after[..2], &before[..]);
    assert_eq!((after[2].job_id.as_str(), after[2].seq_num), ("j-1", 3));
    assert!(s.check().unwrap().problems.is_empty());
    s.close().unwrap();
    assert!(raw_row(&path, 3).len() * 3 < map.len(), "the new entry is compact");
}
