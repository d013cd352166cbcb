//! The memory and redb backends store some things differently (compute history rows, event
//! references and their deletion index: `src/compute/layout.rs`); every read must still answer
//! the same on both. One workload (tests/crash/workload.rs: both stores, transactions, a
//! rolled-back transaction, deletes, checkpoints, trimming, a large record) runs on both, and
//! after every step every read of each store is compared: records one by one, listings page by
//! page with small pages (so the paging tokens are compared too), history, events, counts,
//! stats, checkpoints, the check report and the snapshot bytes.
#![cfg(feature = "redb")]

#[path = "crash/workload.rs"]
mod workload;

use std::fmt::Debug;

use bacalhau_state::clock::ManualClock;
use bacalhau_state::jobstore::{GetExecutionsOptions, JobHistoryQuery, JobQuery};
use bacalhau_state::kv::memory::MemoryBackend;
use bacalhau_state::kv::redb::{MemoryJournal, RedbBackend, RedbOptions};
use bacalhau_state::kv::{Backend, StoreKind};
use bacalhau_state::state::{ExecutionStateType, JobStateType, LocalExecutionStateType};
use bacalhau_state::{ExecutionStore, JobStore, Page, PageRequest, Policy, StoreBuilder};

fn builder(policy: Policy) -> StoreBuilder {
    StoreBuilder::new().policy(policy).clock(ManualClock::stepping(1_700_000_000_000_000_000, 1_000))
}

fn redb(kind: StoreKind) -> RedbBackend {
    RedbBackend::open_with_backend(
        redb::backends::InMemoryBackend::new(),
        MemoryJournal::default(),
        kind,
        &RedbOptions::default(),
    )
    .unwrap()
}

/// Every page of a listing, two items a page, with the tokens that link them.
fn pages<T>(mut read: impl FnMut(&PageRequest) -> Page<T>) -> Vec<(Vec<T>, Option<String>)> {
    let mut out = Vec::new();
    let mut req = PageRequest { limit: 2, next_token: None };
    loop {
        let page = read(&req);
        let next = page.next_token.clone();
        out.push((page.items, next.clone()));
        match next {
            Some(t) if out.len() < 1_000 => req.next_token = Some(t),
            _ => return out,
        }
    }
}

fn same<T: PartialEq + Debug>(step: &str, what: &str, memory: T, redb: T) {
    assert_eq!(memory, redb, "after {step}: {what} differs between the memory and redb backends");
}

/// Everything a compute store answers, as one comparable value per read.
fn compute_reads<B: Backend>(s: &ExecutionStore<B>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut put = |what: &str, v: &dyn Debug| out.push((what.to_string(), format!("{v:?}")));
    let listed = pages(|p| s.list_executions(p).unwrap());
    put("list_executions", &listed);
    for (items, _) in &listed {
        for e in items {
            put(&format!("get_execution {}", e.id()), &s.get_execution(e.id()));
            put(&format!("history {}", e.id()), &pages(|p| s.get_execution_history(e.id(), p).unwrap()));
            put(&format!("executions of {}", e.job_id()), &s.get_executions(e.job_id()));
            put(&format!("active of {}", e.job_id()), &s.get_active_execution(e.job_id()));
        }
    }
    for id in ["e3", "e5", "nope"] {
        put(&format!("get_execution {id}"), &s.get_execution(id).map_err(|e| e.code()));
        put(&format!("history {id}"), &s.get_execution_history(id, &PageRequest::default()).map_err(|e| e.code()));
    }
    put("live", &s.get_live_executions());
    for state in
        [LocalExecutionStateType::Created, LocalExecutionStateType::BidAccepted, LocalExecutionStateType::Running]
    {
        put(&format!("count {state:?}"), &s.get_execution_count(state));
    }
    put("stats", &s.stats());
    put("events", &s.events_after(0, 0));
    put("events after 3, 2", &s.events_after(3, 2));
    put("checkpoint", &s.get_checkpoint("publisher"));
    put("check", &s.check().map(|r| r.problems));
    put("snapshot bytes", &s.export_snapshot());
    out
}

fn job_reads<B: Backend>(s: &JobStore<B>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut put = |what: &str, v: &dyn Debug| out.push((what.to_string(), format!("{v:?}")));
    let query = |p: &PageRequest| JobQuery { limit: p.limit, next_token: p.next_token.clone(), ..JobQuery::default() };
    let jobs = pages(|p| s.get_jobs(&query(p)).unwrap());
    put("get_jobs", &jobs);
    for (items, _) in &jobs {
        for j in items {
            put(&format!("get_job {}", j.id), &s.get_job(&j.id));
            let history = |p: &PageRequest| JobHistoryQuery {
                limit: p.limit,
                next_token: p.next_token.clone(),
                ..Default::default()
            };
            put(&format!("history {}", j.id), &pages(|p| s.get_job_history(&j.id, &history(p)).unwrap()));
            let options = GetExecutionsOptions { job_id: Some(j.id.clone()), ..Default::default() };
            put(&format!("executions of {}", j.id), &s.get_executions(&options).map_err(|e| e.code()));
            put(&format!("evaluations of {}", j.id), &s.get_evaluations(&j.id).map_err(|e| e.code()));
        }
    }
    for id in ["j1", "x1", "v1", "nope"] {
        put(&format!("get_job {id}"), &s.get_job(id).map_err(|e| e.code()));
        put(&format!("get_execution {id}"), &s.get_execution(id).map_err(|e| e.code()));
        put(&format!("get_evaluation {id}"), &s.get_evaluation(id).map_err(|e| e.code()));
    }
    put("in progress", &s.get_in_progress_jobs());
    for state in [JobStateType::Pending, JobStateType::Running, JobStateType::Completed] {
        put(&format!("job count {state:?}"), &s.get_job_count(state));
    }
    for state in [ExecutionStateType::New, ExecutionStateType::BidAccepted, ExecutionStateType::Completed] {
        put(&format!("execution count {state:?}"), &s.get_execution_count(state));
    }
    put("stats", &s.stats());
    put("events", &s.events_after(0, 0));
    put("checkpoint", &s.get_checkpoint("scheduler"));
    put("check", &s.check().map(|r| r.problems));
    put("snapshot bytes", &s.export_snapshot());
    out
}

fn compare(step: &str, memory: Vec<(String, String)>, redb: Vec<(String, String)>) {
    assert_eq!(memory.len(), redb.len(), "after {step}: the two backends list different records");
    for ((what, m), (_, r)) in memory.into_iter().zip(redb) {
        same(step, &what, m, r);
    }
}

#[test]
fn every_read_of_the_compute_store_answers_the_same_on_the_memory_and_redb_backends() {
    let memory = builder(Policy::Strict).compute(MemoryBackend::new());
    let redb = builder(Policy::Strict).compute(redb(StoreKind::Compute));
    compare("creation", compute_reads(&memory), compute_reads(&redb));
    for i in 0..workload::COMPUTE_OPS {
        let (m, r) = (workload::compute_op(&memory, i), workload::compute_op(&redb, i));
        same(&format!("op {i}"), "the result", m, r);
        compare(&format!("compute op {i}"), compute_reads(&memory), compute_reads(&redb));
    }
}

#[test]
fn every_read_of_the_job_store_answers_the_same_on_the_memory_and_redb_backends() {
    let memory = builder(Policy::Permissive).jobs(MemoryBackend::new());
    let redb = builder(Policy::Permissive).jobs(redb(StoreKind::Requester));
    compare("creation", job_reads(&memory), job_reads(&redb));
    for i in 0..workload::JOB_OPS {
        let (m, r) = (workload::job_op(&memory, i), workload::job_op(&redb, i));
        same(&format!("op {i}"), "the result", m, r);
        compare(&format!("job op {i}"), job_reads(&memory), job_reads(&redb));
    }
}
