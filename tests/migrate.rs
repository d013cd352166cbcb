//! Migrating Bacalhau v1.2 bbolt stores (`tests/fixtures/bacalhau-v1.2`) into redb stores:
//! the migrated stores, read through the public store API, reproduce `expected.json`; plus dry
//! runs, crashes at every step, damaged input, the refusal on open and the default repo paths.
#![cfg(all(feature = "bbolt", feature = "redb"))]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use bacalhau_state::bbolt::{read_compute, read_requester, BoltFile};
use bacalhau_state::config::{resolve, ConfigInputs};
use bacalhau_state::jobstore::{GetExecutionsOptions, JobHistoryQuery, JobQuery};
use bacalhau_state::kv::redb::{RedbBackend, RedbOptions};
use bacalhau_state::kv::StoreKind;
use bacalhau_state::migrate::{convert_requester, plan, run, FailPoint, MigrateError, MigrateOptions, Outcome};
use bacalhau_state::state::JobHistoryType;
use bacalhau_state::time::Timestamp;
use bacalhau_state::{ExecutionStore, JobStore, PageRequest, StoreBuilder};
use serde_json::Value;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/bacalhau-v1.2");

fn expected() -> Value {
    serde_json::from_str(&fs::read_to_string(format!("{FIXTURES}/expected.json")).unwrap()).unwrap()
}

/// A writable copy of the fixture repo (fresh directories, files copied and made writable).
fn repo() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let e = expected();
    let mut paths = Vec::new();
    for side in ["compute", "requester"] {
        let rel = e[side]["path"].as_str().unwrap();
        let to = dir.path().join(rel);
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::copy(format!("{FIXTURES}/{rel}"), &to).unwrap();
        let mut perm = fs::metadata(&to).unwrap().permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perm.set_readonly(false);
        fs::set_permissions(&to, perm).unwrap();
        paths.push(to);
    }
    let requester = paths.pop().unwrap();
    (dir, paths.pop().unwrap(), requester)
}

fn ts(v: &Value) -> Timestamp {
    Timestamp::parse_rfc3339(v.as_str().unwrap()).unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect()
}

fn counts(v: &Value) -> BTreeMap<String, u64> {
    v.as_object()
        .unwrap()
        .iter()
        .filter(|(_, n)| n.as_u64() != Some(0))
        .map(|(k, n)| (k.clone(), n.as_u64().unwrap()))
        .collect()
}

fn open_compute(path: &Path) -> ExecutionStore<RedbBackend> {
    StoreBuilder::new().compute(RedbBackend::open(path, StoreKind::Compute, &RedbOptions::default()).unwrap())
}

fn open_jobs(path: &Path) -> JobStore<RedbBackend> {
    StoreBuilder::new().jobs(RedbBackend::open(path, StoreKind::Requester, &RedbOptions::default()).unwrap())
}

/// Every file under `dir` with its bytes.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.extend(tree(&p));
        } else {
            out.insert(p.clone(), fs::read(&p).unwrap());
        }
    }
    out
}

fn check_compute(path: &Path) {
    let want = &expected()["compute"];
    let store = open_compute(path);
    let stats = store.stats().unwrap();
    assert_eq!(stats.total, want["execution_count"].as_u64().unwrap());
    assert_eq!(stats.counts, counts(&want["state_counts"]));
    assert_eq!(stats.last_event_seq, stats.total, "one CREATE event per record");
    let mut live: Vec<String> = store.get_live_executions().unwrap().iter().map(|e| e.id().to_string()).collect();
    live.sort();
    assert_eq!(live, strings(&want["live_execution_ids"]));
    for (job, ids) in want["job_index"].as_object().unwrap() {
        let mut got: Vec<String> = store.get_executions(job).unwrap().iter().map(|e| e.id().to_string()).collect();
        got.sort();
        assert_eq!(got, strings(ids), "job {job}");
    }
    let mut history = 0;
    for x in want["executions"].as_array().unwrap() {
        let id = x["id"].as_str().unwrap();
        let rec = store.get_execution(id).unwrap();
        assert_eq!(rec.job_id(), x["job_id"].as_str().unwrap());
        assert_eq!(rec.requester_node_id, x["requester_node_id"].as_str().unwrap());
        assert_eq!(rec.state.name(), x["state"].as_str().unwrap());
        assert_eq!(u64::from(rec.state.as_u8()), x["state_code"].as_u64().unwrap());
        assert_eq!(rec.version, x["version"].as_u64().unwrap());
        assert_eq!(rec.create_time, ts(&x["create_time"]));
        assert_eq!(rec.update_time, ts(&x["update_time"]));
        assert_eq!(live.iter().any(|l| l == id), x["in_live_index"].as_bool().unwrap());
        // The embedded execution is the one sent with AskForBid, job included.
        assert_eq!((rec.execution.revision, rec.execution.create_time), (0, 0));
        assert_eq!(rec.execution.job.as_ref().unwrap().id, rec.job_id());
        let h = store.get_execution_history(id, &PageRequest::default()).unwrap().items;
        assert_eq!(h.len() as u64, x["history_len"].as_u64().unwrap());
        for (got, w) in h.iter().zip(x["history"].as_array().unwrap()) {
            assert_eq!(got.previous_state.name(), w["previous"].as_str().unwrap());
            assert_eq!(got.new_state.name(), w["new"].as_str().unwrap());
            assert_eq!(got.new_version, w["revision"].as_u64().unwrap());
            assert_eq!(got.comment, w["comment"].as_str().unwrap());
            assert_eq!(got.time, ts(&w["time"]), "{id}");
        }
        history += h.len() as u64;
    }
    assert_eq!(history, want["history_entry_count"].as_u64().unwrap());
    let report = store.check().unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

fn history_query(exec: Option<&str>, job_level: bool) -> JobHistoryQuery {
    JobHistoryQuery {
        exclude_job_level: !job_level,
        exclude_execution_level: job_level,
        execution_id: exec.unwrap_or_default().to_string(),
        ..JobHistoryQuery::default()
    }
}

fn check_requester(path: &Path) {
    let want = &expected()["requester"];
    let store = open_jobs(path);
    let stats = store.stats().unwrap();
    assert_eq!(stats.job_total, want["job_count"].as_u64().unwrap());
    assert_eq!(stats.jobs, counts(&want["job_state_counts"]));
    assert_eq!(stats.execution_total, want["execution_count"].as_u64().unwrap());
    assert_eq!(stats.executions, counts(&want["execution_compute_state_counts"]));
    let in_progress: Vec<String> = store.get_in_progress_jobs().unwrap().into_iter().map(|j| j.id).collect();
    assert_eq!(in_progress, strings(&want["in_progress_job_ids"]));
    for (ns, ids) in want["namespaces"].as_object().unwrap() {
        let q = JobQuery { namespace: ns.clone(), ..JobQuery::default() };
        let got: BTreeSet<String> = store.get_jobs(&q).unwrap().items.into_iter().map(|j| j.id).collect();
        assert_eq!(got, strings(ids).into_iter().collect(), "namespace {ns}");
    }
    for (tag, ids) in want["tags"].as_object().unwrap() {
        let q = JobQuery { include_tags: vec![tag.clone()], ..JobQuery::default() };
        let got: BTreeSet<String> = store.get_jobs(&q).unwrap().items.into_iter().map(|j| j.id).collect();
        assert_eq!(got, strings(ids).into_iter().collect(), "tag {tag}");
    }
    let (mut desired, mut evals, mut job_hist, mut exec_hist) = (BTreeMap::new(), 0, 0, 0);
    let mut by_type: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for j in want["jobs"].as_array().unwrap() {
        let id = j["id"].as_str().unwrap();
        let job = store.get_job(id).unwrap();
        assert_eq!(job.name, j["name"].as_str().unwrap());
        assert_eq!(job.namespace, j["namespace"].as_str().unwrap());
        assert_eq!(job.job_type, j["type"].as_str().unwrap());
        assert_eq!(job.state.state_type.name(), j["state"].as_str().unwrap());
        assert_eq!(u64::from(job.state.state_type.as_u8()), j["state_code"].as_u64().unwrap());
        assert_eq!((job.revision, job.version), (j["revision"].as_u64().unwrap(), j["version"].as_u64().unwrap()));
        assert_eq!(job.count, j["count"].as_i64().unwrap());
        assert_eq!(
            (job.create_time, job.modify_time),
            (j["create_time"].as_i64().unwrap(), j["modify_time"].as_i64().unwrap())
        );
        assert_eq!(!job.is_terminal(), j["in_progress"].as_bool().unwrap());
        assert_eq!(serde_json::to_value(&job.labels).unwrap(), j["labels"]);
        *by_type.entry(job.job_type.clone()).or_default().entry(job.state.state_type.name().into()).or_default() += 1;

        let h = store.get_job_history(id, &history_query(None, true)).unwrap().items;
        assert_eq!(h.len() as u64, j["history_len"].as_u64().unwrap());
        for (got, w) in h.iter().zip(j["history"].as_array().unwrap()) {
            let change = got.job_state.as_ref().unwrap();
            assert_eq!(
                (change.previous.name(), change.new.name()),
                (w["previous"].as_str().unwrap(), w["new"].as_str().unwrap())
            );
            assert_eq!(got.new_revision, w["revision"].as_u64().unwrap());
            assert_eq!(got.comment, w["comment"].as_str().unwrap());
            assert_eq!(got.time, ts(&w["time"]));
        }
        job_hist += h.len();
        let h = store.get_job_history(id, &history_query(None, false)).unwrap().items;
        assert_eq!(h.len() as u64, j["execution_history_len"].as_u64().unwrap());
        for (got, w) in h.iter().zip(j["execution_history"].as_array().unwrap()) {
            let change = got.execution_state.as_ref().unwrap();
            assert_eq!(got.execution_id, w["execution_id"].as_str().unwrap());
            assert_eq!(
                (change.previous.name(), change.new.name()),
                (w["previous"].as_str().unwrap(), w["new"].as_str().unwrap())
            );
            assert_eq!(got.new_revision, w["revision"].as_u64().unwrap());
        }
        exec_hist += h.len();
        let all = store.get_job_history(id, &JobHistoryQuery::default()).unwrap().items;
        assert!(all.iter().enumerate().all(|(i, h)| h.seq_num == i as u64 + 1), "one sequence per job");

        // The manifest lists evaluations in creation order; the store lists them by ID.
        let got: BTreeMap<String, _> =
            store.get_evaluations(id).unwrap().into_iter().map(|e| (e.id.clone(), e)).collect();
        assert_eq!(got.keys().cloned().collect::<BTreeSet<_>>(), strings(&j["evaluation_ids"]).into_iter().collect());
        for w in j["evaluations"].as_array().unwrap() {
            let e = &got[w["id"].as_str().unwrap()];
            assert_eq!(
                (e.id.as_str(), e.triggered_by.as_str()),
                (w["id"].as_str().unwrap(), w["triggered_by"].as_str().unwrap())
            );
            assert_eq!(
                (e.status.name(), e.create_time),
                (w["status"].as_str().unwrap(), w["create_time"].as_i64().unwrap())
            );
        }
        evals += got.len();

        let opts = GetExecutionsOptions { job_id: Some(id.into()), ..GetExecutionsOptions::default() };
        let execs: BTreeMap<String, _> =
            store.get_executions(&opts).unwrap().into_iter().map(|e| (e.id.clone(), e)).collect();
        assert_eq!(execs.keys().cloned().collect::<BTreeSet<_>>(), strings(&j["execution_ids"]).into_iter().collect());
        for w in j["executions"].as_array().unwrap() {
            let e = &execs[w["id"].as_str().unwrap()];
            assert_eq!(e.node_id, w["node_id"].as_str().unwrap());
            assert_eq!(e.compute_state.state_type.name(), w["compute_state"].as_str().unwrap());
            assert_eq!(u64::from(e.compute_state.state_type.as_u8()), w["compute_state_code"].as_u64().unwrap());
            assert_eq!(e.compute_state.message, w["compute_state_message"].as_str().unwrap());
            assert_eq!(e.desired_state.state_type.name(), w["desired_state"].as_str().unwrap());
            assert_eq!(u64::from(e.desired_state.state_type.as_u8()), w["desired_state_code"].as_u64().unwrap());
            assert_eq!(e.desired_state.message, w["desired_state_message"].as_str().unwrap());
            assert_eq!(e.revision, w["revision"].as_u64().unwrap());
            assert_eq!(
                (e.create_time, e.modify_time),
                (w["create_time"].as_i64().unwrap(), w["modify_time"].as_i64().unwrap())
            );
            assert_eq!(e.published_result.is_some(), w["has_published_result"].as_bool().unwrap());
            assert_eq!(e.run_output.is_some(), w["has_run_output"].as_bool().unwrap());
            // The embedded job is not stored; the job history holds its revision.
            assert!(e.job.is_none());
            if w["embedded_job"].as_bool().unwrap() {
                let rev = w["embedded_job_revision"].as_u64().unwrap();
                assert!(store
                    .get_job_history(id, &history_query(None, true))
                    .unwrap()
                    .items
                    .iter()
                    .any(|h| h.new_revision == rev));
            }
            *desired.entry(e.desired_state.state_type.name().to_string()).or_insert(0u64) += 1;
            let h = store.get_job_history(id, &history_query(Some(&e.id), false)).unwrap().items;
            assert_eq!(h.len() as u64, w["history_len"].as_u64().unwrap());
            for (got, x) in h.iter().zip(w["history"].as_array().unwrap()) {
                let change = got.execution_state.as_ref().unwrap();
                assert_eq!(
                    (change.previous.name(), change.new.name()),
                    (x["previous"].as_str().unwrap(), x["new"].as_str().unwrap())
                );
                assert_eq!(
                    (got.new_revision, got.comment.as_str()),
                    (x["revision"].as_u64().unwrap(), x["comment"].as_str().unwrap())
                );
                assert_eq!(got.time, ts(&x["time"]));
            }
        }
    }
    assert_eq!(desired, counts(&want["execution_desired_state_counts"]));
    let want_types: BTreeMap<String, BTreeMap<String, u64>> =
        want["job_type_state_counts"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), counts(v))).collect();
    assert_eq!(by_type, want_types);
    assert_eq!(evals as u64, want["evaluation_count"].as_u64().unwrap());
    assert_eq!(job_hist as u64, want["job_history_entry_count"].as_u64().unwrap());
    assert_eq!(exec_hist as u64, want["execution_history_entry_count"].as_u64().unwrap());
    let total = stats.job_total + stats.execution_total + evals as u64;
    assert_eq!(stats.last_event_seq, total, "one CREATE event per record");
    let report = store.check().unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[test]
fn migrating_the_compute_fixture_reproduces_every_field_of_the_manifest() {
    let (_dir, compute, _) = repo();
    let original = fs::read(&compute).unwrap();
    let report = run(&MigrateOptions::new(&compute)).unwrap();
    assert_eq!((report.outcome, report.kind), (Outcome::Migrated, Some(StoreKind::Compute)));
    assert!(report.notes.is_empty(), "{:?}", report.notes);
    let backup = report.backup.clone().unwrap();
    assert_eq!(backup.file_name().unwrap(), "executions.db.bbolt-backup");
    assert_eq!(fs::read(&backup).unwrap(), original, "the bbolt file is kept as it was");
    eprintln!("{report}");
    check_compute(&compute);
}

#[test]
fn migrating_the_requester_fixture_reproduces_every_field_of_the_manifest() {
    let (_dir, _, requester) = repo();
    let report = run(&MigrateOptions::new(&requester)).unwrap();
    assert_eq!((report.outcome, report.kind), (Outcome::Migrated, Some(StoreKind::Requester)));
    assert!(report.notes.is_empty(), "{:?}", report.notes);
    assert_eq!(report.embedded_jobs_dropped, 55);
    eprintln!("{report}");
    check_requester(&requester);
}

#[test]
fn a_dry_run_reports_counts_per_kind_and_state_and_writes_nothing() {
    let (dir, compute, requester) = repo();
    let before = tree(dir.path());
    let c = plan(&compute).unwrap();
    let r = run(&MigrateOptions::new(&requester).dry_run(true)).unwrap();
    assert_eq!(tree(dir.path()), before, "no file created, changed or removed");
    assert_eq!((c.outcome, r.outcome), (Outcome::WouldMigrate, Outcome::WouldMigrate));
    let e = expected();
    assert_eq!(c.counts[0].by_state, counts(&e["compute"]["state_counts"]));
    assert_eq!(c.total("history entries"), 89);
    assert_eq!(r.counts[0].by_state, counts(&e["requester"]["job_state_counts"]));
    assert_eq!(r.counts[1].by_state, counts(&e["requester"]["execution_compute_state_counts"]));
    assert_eq!(r.counts[2].by_state, BTreeMap::from([("pending".to_string(), 105)]));
    assert_eq!(r.counts[3].by_state, BTreeMap::from([("ExecutionLevel".into(), 246), ("JobLevel".into(), 88)]));
    assert_eq!(r.total("events"), 40 + 55 + 105);
}

#[test]
fn a_crash_after_each_step_then_a_rerun_ends_migrated_and_verified() {
    for point in [
        FailPoint::DuringWrite,
        FailPoint::AfterWrite,
        FailPoint::AfterVerify,
        FailPoint::AfterBackup,
        FailPoint::AfterSwap,
    ] {
        let (_dir, compute, requester) = repo();
        for path in [&compute, &requester] {
            let original = fs::read(path).unwrap();
            let opts = MigrateOptions { fail_at: Some(point), ..MigrateOptions::new(path) };
            let err = run(&opts).unwrap_err();
            assert_eq!(err.code(), "Injected");
            let now = fs::read(path).unwrap();
            if point == FailPoint::AfterSwap {
                assert!(now.starts_with(b"redb"), "{point:?}: complete new store in place");
            } else {
                assert_eq!(now, original, "{point:?}: the bbolt file is untouched");
            }
            let report = run(&MigrateOptions::new(path)).unwrap();
            let want = if point == FailPoint::AfterSwap { Outcome::AlreadyMigrated } else { Outcome::Migrated };
            assert_eq!(report.outcome, want, "{point:?}");
            let backups: Vec<_> =
                fs::read_dir(path.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
            assert_eq!(backups.len(), 2, "{point:?}: store + one backup, no leftovers: {backups:?}");
            assert_eq!(fs::read(report.backup.unwrap()).unwrap(), original);
        }
        check_compute(&compute);
        check_requester(&requester);
    }
}

#[test]
fn truncated_and_corrupt_bbolt_files_are_typed_errors_and_nothing_is_written() {
    let (dir, compute, requester) = repo();
    let bytes = fs::read(&requester).unwrap();
    fs::write(&requester, &bytes[..bytes.len() / 2]).unwrap();
    let mut corrupt = fs::read(&compute).unwrap();
    for b in &mut corrupt[4096 * 2..4096 * 4] {
        *b = 0xA5;
    }
    fs::write(&compute, &corrupt).unwrap();
    let before = tree(dir.path());
    let e = run(&MigrateOptions::new(&requester)).unwrap_err();
    assert_eq!(e.code(), "Truncated");
    assert_eq!(e.path(), requester);
    assert!(e.to_string().contains(&requester.display().to_string()), "{e}");
    let e = run(&MigrateOptions::new(&compute)).unwrap_err();
    assert!(matches!(e, MigrateError::Bolt(_)), "{e}");
    assert!(e.to_string().contains(&compute.display().to_string()), "{e}");
    assert_eq!(tree(dir.path()), before);
}

#[test]
fn opening_a_bbolt_path_as_a_store_fails_naming_the_migrate_command_and_leaves_the_file_unchanged() {
    let (_dir, compute, requester) = repo();
    for (path, kind, flag) in [
        (&compute, StoreKind::Compute, "--compute-execution-store-path"),
        (&requester, StoreKind::Requester, "--requester-job-store-path"),
    ] {
        let before = fs::read(path).unwrap();
        let e = RedbBackend::open(path, kind, &RedbOptions::default()).unwrap_err();
        assert_eq!(e.code(), "LegacyBbolt");
        let text = e.to_string();
        let command = format!("bacalhau-state migrate {flag} {}", path.display());
        assert!(text.contains("bbolt") && text.contains(&command), "{text}");
        assert_eq!(fs::read(path).unwrap(), before);
    }
}

#[test]
fn a_repo_under_bacalhau_dir_migrates_through_the_default_paths() {
    let (dir, _, _) = repo();
    let node = expected()["node_id"].as_str().unwrap().to_string();
    let env = BTreeMap::from([("BACALHAU_DIR".to_string(), dir.path().display().to_string())]);
    let cfg = resolve(&ConfigInputs::default(), &env, &node).unwrap();
    assert!(cfg.compute.path.ends_with(format!("{node}-compute/executions.db")));
    assert!(cfg.requester.path.ends_with(format!("{node}-requester/jobs.db")));
    let start = Instant::now();
    for store in [&cfg.compute, &cfg.requester] {
        let report = run(&MigrateOptions::for_store(store)).unwrap();
        assert_eq!(report.outcome, Outcome::Migrated);
        eprintln!("{} bytes of bbolt: {report}", report.source_bytes);
    }
    eprintln!("both fixture stores migrated in {:?}", start.elapsed());
    // A node opened on the same default paths sees the migrated state.
    check_compute(&cfg.compute.path);
    check_requester(&cfg.requester.path);
    let again = run(&MigrateOptions::for_store(&cfg.requester)).unwrap();
    assert_eq!(again.outcome, Outcome::AlreadyMigrated);
    assert!(again.backup.is_some());
}

#[test]
fn a_store_of_the_other_role_a_running_node_and_a_missing_file_are_reported() {
    let (dir, compute, requester) = repo();
    let opts = MigrateOptions { expect: Some(StoreKind::Compute), ..MigrateOptions::new(&requester) };
    assert_eq!(run(&opts).unwrap_err().code(), "WrongLayout");
    let held = fs::File::open(&compute).unwrap();
    held.try_lock().unwrap(); // what bbolt does while a node runs
    assert_eq!(run(&MigrateOptions::new(&compute)).unwrap_err().code(), "InUse");
    drop(held);
    let missing = dir.path().join("nothing/jobs.db");
    assert_eq!(run(&MigrateOptions::new(&missing)).unwrap().outcome, Outcome::NoStore);
    assert!(!missing.parent().unwrap().exists());
}

#[test]
fn an_existing_backup_with_other_contents_is_never_overwritten() {
    let (_dir, compute, _) = repo();
    let taken = PathBuf::from(format!("{}.bbolt-backup", compute.display()));
    fs::write(&taken, b"someone else's backup").unwrap();
    let report = run(&MigrateOptions::new(&compute)).unwrap();
    assert_eq!(fs::read(&taken).unwrap(), b"someone else's backup");
    assert_eq!(report.backup.unwrap(), PathBuf::from(format!("{}.1", taken.display())));
}

#[test]
fn conversion_refuses_to_drop_unknown_fields_or_a_differing_embedded_job() {
    let (_dir, _, requester) = repo();
    let dump = read_requester(&BoltFile::open(&requester).unwrap()).unwrap();
    let mut extra = dump.clone();
    extra.jobs[0].spec["Unknown"] = Value::from(1);
    let e = convert_requester(&extra, &requester).unwrap_err();
    assert!(matches!(&e, MigrateError::Lossy { field, .. } if field == "/Unknown"), "{e}");
    let mut differs = dump.clone();
    let exec = differs.jobs[0].executions.values_mut().next().unwrap();
    exec["Job"]["Name"] = Value::from("renamed");
    let e = convert_requester(&differs, &requester).unwrap_err();
    assert!(matches!(&e, MigrateError::EmbeddedJobDiffers { field, .. } if field == "/Name"), "{e}");
    // Both buckets keep their write order in the merged history; ties go to the job level.
    let snap = convert_requester(&dump, &requester).unwrap();
    for j in &dump.jobs {
        let merged: Vec<_> = snap.history.iter().filter(|(id, _, _)| *id == j.id).map(|(_, _, h)| h).collect();
        let level = |t| merged.iter().filter(|h| h.history_type == t).map(|h| h.new_revision).collect::<Vec<_>>();
        let bucket = |v: &[Value]| v.iter().map(|h| h["NewRevision"].as_u64().unwrap()).collect::<Vec<_>>();
        assert_eq!(level(JobHistoryType::JobLevel), bucket(&j.job_history));
        assert_eq!(level(JobHistoryType::ExecutionLevel), bucket(&j.execution_history));
    }
    let _ = read_compute;
}
