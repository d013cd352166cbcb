//! Counting, index cross-checks and the verification of a written store against its source.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::{KindCounts, MigrateError};
use crate::bbolt::{ComputeDump, RequesterDump};
use crate::compute::ComputeSnapshot;
use crate::jobstore::JobSnapshot;
use crate::kv::redb::{RedbBackend, RedbOptions};
use crate::kv::StoreKind;
use crate::state::LocalExecutionStateType;
use crate::StoreBuilder;

fn kind_counts<'a>(kind: &'static str, states: impl Iterator<Item = &'a str>) -> KindCounts {
    let mut c = KindCounts { kind, ..KindCounts::default() };
    for s in states {
        c.total += 1;
        *c.by_state.entry(s.to_string()).or_default() += 1;
    }
    c
}

fn plain(kind: &'static str, total: usize) -> KindCounts {
    KindCounts { kind, total: total as u64, by_state: BTreeMap::new() }
}

pub(super) fn compute_counts(s: &ComputeSnapshot) -> Vec<KindCounts> {
    vec![
        kind_counts("executions", s.executions.iter().map(|e| e.state.name())),
        plain("history entries", s.history.len()),
        plain("events", s.events.len()),
    ]
}

pub(super) fn requester_counts(s: &JobSnapshot) -> Vec<KindCounts> {
    vec![
        kind_counts("jobs", s.jobs.iter().map(|j| j.state.state_type.name())),
        kind_counts("executions", s.executions.iter().map(|e| e.compute_state.state_type.name())),
        kind_counts("evaluations", s.evaluations.iter().map(|e| e.status.name())),
        kind_counts("history entries", s.history.iter().map(|(_, _, h)| h.history_type.name())),
        plain("events", s.events.len()),
    ]
}

/// Where the bbolt indexes disagree with the records (which our rebuilt indexes follow).
pub(super) fn compute_notes(dump: &ComputeDump, s: &ComputeSnapshot) -> Vec<String> {
    let live: BTreeSet<&str> = s
        .executions
        .iter()
        .filter(|e| matches!(e.state, LocalExecutionStateType::Running | LocalExecutionStateType::Publishing))
        .map(|e| e.id())
        .collect();
    let mut by_job: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for e in &s.executions {
        by_job.entry(e.job_id()).or_default().insert(e.id());
    }
    let mut notes = Vec::new();
    compare_set(&mut notes, "execution-live-index", dump.live_ids.iter().map(String::as_str).collect(), live);
    compare_map(&mut notes, "execution-index", &dump.job_index, &by_job);
    notes
}

pub(super) fn requester_notes(dump: &RequesterDump, s: &JobSnapshot) -> Vec<String> {
    let in_progress = s.jobs.iter().filter(|j| !j.is_terminal()).map(|j| j.id.as_str()).collect();
    let mut ns: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut tags: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for j in &s.jobs {
        ns.entry(j.namespace.as_str()).or_default().insert(j.id.as_str());
        for k in j.labels.keys() {
            tags.entry(crate::jobstore::index::tag_key(k)).or_default().insert(j.id.as_str());
        }
    }
    let tags: BTreeMap<&str, BTreeSet<&str>> = tags.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let mut exec_jobs: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for e in &s.executions {
        exec_jobs.entry(e.id.as_str()).or_default().insert(e.job_id.as_str());
    }
    let mut eval_jobs: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for e in &s.evaluations {
        eval_jobs.entry(e.id.as_str()).or_default().insert(e.job_id.as_str());
    }
    let mut notes = Vec::new();
    compare_set(&mut notes, "idx_inprogress", dump.in_progress.iter().map(String::as_str).collect(), in_progress);
    compare_map(&mut notes, "idx_namespaces", &dump.namespaces, &ns);
    compare_map(&mut notes, "idx_tags", &dump.tags, &tags);
    compare_map(&mut notes, "idx_executions", &dump.execution_jobs, &exec_jobs);
    compare_map(&mut notes, "idx_evaluations", &dump.evaluation_jobs, &eval_jobs);
    notes
}

fn compare_set(notes: &mut Vec<String>, index: &str, bolt: BTreeSet<&str>, records: BTreeSet<&str>) {
    for id in bolt.difference(&records) {
        notes.push(format!("{index} lists {id:?}, which the records do not imply (dropped)"));
    }
    for id in records.difference(&bolt) {
        notes.push(format!("{index} misses {id:?}, which the records imply (added)"));
    }
}

fn compare_map(
    notes: &mut Vec<String>,
    index: &str,
    bolt: &BTreeMap<String, Vec<String>>,
    records: &BTreeMap<&str, BTreeSet<&str>>,
) {
    let empty = BTreeSet::new();
    let keys: BTreeSet<&str> = bolt.keys().map(String::as_str).chain(records.keys().copied()).collect();
    for k in keys {
        let b: BTreeSet<&str> = bolt.get(k).map(|v| v.iter().map(String::as_str).collect()).unwrap_or_default();
        compare_set(notes, &format!("{index}[{k:?}]"), b, records.get(k).unwrap_or(&empty).clone());
    }
}

/// Reopens the new store read-only and checks it holds exactly `expected` (the converted
/// snapshot, whose record counts were checked against the dump), with consistent indexes.
pub(super) fn verify_compute(
    source: &Path,
    store_path: &Path,
    options: &RedbOptions,
    dump: &ComputeDump,
    expected: &ComputeSnapshot,
) -> Result<(), MigrateError> {
    let backend = RedbBackend::open_read_only(store_path, StoreKind::Compute, options)?;
    let store = StoreBuilder::new().compute(backend);
    let err = |source: crate::error::ComputeError| MigrateError::Compute { path: store_path.to_path_buf(), source };
    let got = store.snapshot().map_err(err)?;
    let report = store.check().map_err(err)?;
    let stats = store.stats().map_err(err)?;
    store.close().map_err(err)?;
    let history: usize = dump.history.values().map(Vec::len).sum();
    let mut problems = report.problems;
    let mut expect = |what: &str, got: usize, want: usize| {
        if got != want {
            problems.push(format!("{what}: store has {got}, source has {want}"));
        }
    };
    expect("executions", got.executions.len(), dump.executions.len());
    expect("execution total", stats.total as usize, dump.executions.len());
    expect("history entries", got.history.len(), history);
    expect("events", got.events.len(), dump.executions.len());
    if got.executions != expected.executions {
        problems.push(first_difference("execution", &got.executions, &expected.executions, |e| e.id().to_string()));
    }
    if got.history != expected.history || got.events != expected.events || got.last_event_seq != expected.last_event_seq
    {
        problems.push("history or event log differs from the converted records".into());
    }
    finish(source, problems)
}

/// [`verify_compute`] for a job store.
pub(super) fn verify_requester(
    source: &Path,
    store_path: &Path,
    options: &RedbOptions,
    dump: &RequesterDump,
    expected: &JobSnapshot,
) -> Result<(), MigrateError> {
    let backend = RedbBackend::open_read_only(store_path, StoreKind::Requester, options)?;
    let store = StoreBuilder::new().jobs(backend);
    let err = |source: crate::error::JobStoreError| MigrateError::JobStore { path: store_path.to_path_buf(), source };
    let got = store.snapshot().map_err(err)?;
    let report = store.check().map_err(err)?;
    let stats = store.stats().map_err(err)?;
    store.close().map_err(err)?;
    let sum = |f: fn(&crate::bbolt::JobDump) -> usize| dump.jobs.iter().map(f).sum::<usize>();
    let executions = sum(|j| j.executions.len());
    let evaluations = sum(|j| j.evaluations.len());
    let history = sum(|j| j.job_history.len() + j.execution_history.len());
    let mut problems = report.problems;
    let mut expect = |what: &str, got: usize, want: usize| {
        if got != want {
            problems.push(format!("{what}: store has {got}, source has {want}"));
        }
    };
    expect("jobs", got.jobs.len(), dump.jobs.len());
    expect("job total", stats.job_total as usize, dump.jobs.len());
    expect("executions", got.executions.len(), executions);
    expect("execution total", stats.execution_total as usize, executions);
    expect("evaluations", got.evaluations.len(), evaluations);
    expect("history entries", got.history.len(), history);
    expect("events", got.events.len(), dump.jobs.len() + executions + evaluations);
    if got.jobs != expected.jobs {
        problems.push(first_difference("job", &got.jobs, &expected.jobs, |j| j.id.clone()));
    }
    if got.executions != expected.executions {
        problems.push(first_difference("execution", &got.executions, &expected.executions, |e| e.id.clone()));
    }
    if got.evaluations != expected.evaluations {
        problems.push(first_difference("evaluation", &got.evaluations, &expected.evaluations, |e| e.id.clone()));
    }
    if got.history != expected.history || got.events != expected.events || got.last_event_seq != expected.last_event_seq
    {
        problems.push("history or event log differs from the converted records".into());
    }
    finish(source, problems)
}

fn first_difference<T: PartialEq>(what: &str, got: &[T], want: &[T], id: impl Fn(&T) -> String) -> String {
    match got.iter().zip(want).find(|(g, w)| g != w) {
        Some((g, _)) => format!("{what} {:?} differs from the converted record", id(g)),
        None => format!("{what}s: store has {}, converted {}", got.len(), want.len()),
    }
}

fn finish(source: &Path, problems: Vec<String>) -> Result<(), MigrateError> {
    if problems.is_empty() {
        return Ok(());
    }
    let shown: Vec<&str> = problems.iter().take(5).map(String::as_str).collect();
    Err(MigrateError::VerifyFailed { path: source.to_path_buf(), detail: shown.join("; ") })
}
