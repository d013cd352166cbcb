//! The read-only bbolt reader against real Bacalhau v1.2.1 files (`shared/fixtures/bacalhau-v1.2`)
//! and against corrupt and synthetic inputs.
#![cfg(feature = "bbolt")]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bacalhau_state::bbolt::{
    detect, looks_like_bbolt, read_compute, read_requester, BacalhauLayout, BoltError, BoltFile,
    Entry,
};
use serde_json::Value;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/fixtures/bacalhau-v1.2"
);

fn expected() -> Value {
    let text = std::fs::read_to_string(format!("{FIXTURES}/expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn fixture(side: &str) -> PathBuf {
    let e = expected();
    PathBuf::from(format!("{FIXTURES}/{}", e[side]["path"].as_str().unwrap()))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn string_map(v: &Value) -> BTreeMap<String, Vec<String>> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), strings(v)))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Fixtures

#[test]
fn both_fixtures_open_and_are_detected_as_compute_and_requester() {
    let e = expected();
    let c = BoltFile::open(fixture("compute")).unwrap();
    let r = BoltFile::open(fixture("requester")).unwrap();
    assert_eq!(c.page_size(), 4096);
    assert_eq!(c.layout().unwrap(), Some(BacalhauLayout::Compute));
    assert_eq!(r.layout().unwrap(), Some(BacalhauLayout::Requester));
    assert_eq!(
        detect(fixture("compute")).unwrap(),
        Some(BacalhauLayout::Compute)
    );
    assert_eq!(
        detect(fixture("requester")).unwrap(),
        Some(BacalhauLayout::Requester)
    );
    for (file, side) in [(&c, "compute"), (&r, "requester")] {
        let mut names: Vec<String> = file
            .root()
            .entries()
            .unwrap()
            .iter()
            .map(|e| String::from_utf8(e.key().to_vec()).unwrap())
            .collect();
        let mut want = strings(&e[side]["root_buckets"]);
        names.sort();
        want.sort();
        assert_eq!(names, want, "{side}");
    }
}

#[test]
fn the_compute_fixture_matches_every_count_in_the_manifest() {
    let e = &expected()["compute"];
    let d = read_compute(&BoltFile::open(fixture("compute")).unwrap()).unwrap();
    assert_eq!(
        d.executions.len() as u64,
        e["execution_count"].as_u64().unwrap()
    );
    let hist: usize = d.history.values().map(Vec::len).sum();
    assert_eq!(hist as u64, e["history_entry_count"].as_u64().unwrap());
    assert_eq!(d.live_ids, strings(&e["live_execution_ids"]));
    assert_eq!(d.job_index, string_map(&e["job_index"]));
    let ids: Vec<&String> = d.executions.iter().map(|(id, _)| id).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "executions come back in byte order");

    let names = [
        "Undefined",
        "Created",
        "BidAccepted",
        "Running",
        "Publishing",
        "Completed",
        "Failed",
        "Cancelled",
    ];
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for (_, v) in &d.executions {
        let code = v["State"].as_u64().unwrap() as usize;
        *counts.entry(names[code].to_string()).or_default() += 1;
    }
    let want: BTreeMap<String, u64> = e["state_counts"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect();
    assert_eq!(counts, want);
}

#[test]
fn compute_records_and_histories_match_the_manifest_field_by_field() {
    let e = &expected()["compute"];
    let d = read_compute(&BoltFile::open(fixture("compute")).unwrap()).unwrap();
    let by_id: BTreeMap<_, _> = d.executions.iter().cloned().collect();
    let listed = e["executions"].as_array().unwrap();
    assert_eq!(listed.len(), d.executions.len());
    for x in listed {
        let id = x["id"].as_str().unwrap();
        let v = &by_id[id];
        assert_eq!(v["Execution"]["ID"], x["id"], "{id}");
        assert_eq!(v["Execution"]["JobID"], x["job_id"], "{id}");
        assert_eq!(v["RequesterNodeID"], x["requester_node_id"], "{id}");
        assert_eq!(v["State"], x["state_code"], "{id}");
        assert_eq!(v["Version"], x["version"], "{id}");
        assert_eq!(v["CreateTime"], x["create_time"], "{id}");
        assert_eq!(v["UpdateTime"], x["update_time"], "{id}");
        assert_eq!(
            d.live_ids.iter().any(|l| l == id),
            x["in_live_index"].as_bool().unwrap()
        );
        let h = &d.history[id];
        assert_eq!(h.len() as u64, x["history_len"].as_u64().unwrap(), "{id}");
        for (got, want) in h.iter().zip(x["history"].as_array().unwrap()) {
            assert_eq!(got["NewVersion"], want["revision"], "{id}");
            assert_eq!(got["Comment"], want["comment"], "{id}");
            assert_eq!(got["Time"], want["time"], "{id}");
            assert_eq!(got["ExecutionID"].as_str(), Some(id));
        }
    }
}

#[test]
fn the_requester_fixture_matches_every_count_in_the_manifest() {
    let e = &expected()["requester"];
    let d = read_requester(&BoltFile::open(fixture("requester")).unwrap()).unwrap();
    let n = |k: &str| e[k].as_u64().unwrap() as usize;
    assert_eq!(d.jobs.len(), n("job_count"));
    let sum = |f: &dyn Fn(&bacalhau_state::bbolt::JobDump) -> usize| -> usize {
        d.jobs.iter().map(f).sum()
    };
    assert_eq!(sum(&|j| j.executions.len()), n("execution_count"));
    assert_eq!(sum(&|j| j.evaluations.len()), n("evaluation_count"));
    assert_eq!(sum(&|j| j.job_history.len()), n("job_history_entry_count"));
    assert_eq!(
        sum(&|j| j.execution_history.len()),
        n("execution_history_entry_count")
    );
    assert_eq!(d.in_progress, strings(&e["in_progress_job_ids"]));
    assert_eq!(d.namespaces, string_map(&e["namespaces"]));
    assert_eq!(d.tags, string_map(&e["tags"]));
    assert_eq!(d.tag_bucket_paths, string_map(&e["tag_bucket_paths"]));
    // Every execution and evaluation is indexed to its owning job, exactly once.
    for j in &d.jobs {
        for id in j.executions.keys() {
            assert_eq!(d.execution_jobs[id], vec![j.id.clone()]);
        }
        for id in j.evaluations.keys() {
            assert_eq!(d.evaluation_jobs[id], vec![j.id.clone()]);
        }
    }
    assert_eq!(d.execution_jobs.len(), n("execution_count"));
    assert_eq!(d.evaluation_jobs.len(), n("evaluation_count"));
}

#[test]
fn requester_jobs_executions_evaluations_and_histories_match_the_manifest_field_by_field() {
    let e = &expected()["requester"];
    let d = read_requester(&BoltFile::open(fixture("requester")).unwrap()).unwrap();
    let listed = e["jobs"].as_array().unwrap();
    let ids: Vec<&str> = d.jobs.iter().map(|j| j.id.as_str()).collect();
    let want: Vec<&str> = listed.iter().map(|x| x["id"].as_str().unwrap()).collect();
    assert_eq!(ids, want);
    for (j, x) in d.jobs.iter().zip(listed) {
        let id = &j.id;
        let s = &j.spec;
        assert_eq!(s["ID"].as_str(), Some(id.as_str()));
        assert_eq!(s["Name"], x["name"], "{id}");
        assert_eq!(s["Namespace"], x["namespace"], "{id}");
        assert_eq!(s["Type"], x["type"], "{id}");
        assert_eq!(s["State"]["StateType"], x["state"], "{id}");
        assert_eq!(s["Revision"], x["revision"], "{id}");
        assert_eq!(s["Version"], x["version"], "{id}");
        assert_eq!(s["Count"], x["count"], "{id}");
        assert_eq!(s["CreateTime"], x["create_time"], "{id}");
        assert_eq!(s["ModifyTime"], x["modify_time"], "{id}");
        assert_eq!(s["Labels"], x["labels"], "{id}");
        assert_eq!(
            d.in_progress.contains(id),
            x["in_progress"].as_bool().unwrap()
        );

        assert_eq!(
            j.job_history.len() as u64,
            x["history_len"].as_u64().unwrap()
        );
        for (got, want) in j.job_history.iter().zip(x["history"].as_array().unwrap()) {
            assert_eq!(got["JobState"]["Previous"], want["previous"], "{id}");
            assert_eq!(got["JobState"]["New"], want["new"], "{id}");
            assert_eq!(got["NewRevision"], want["revision"], "{id}");
            let comment = got["Comment"].as_str().unwrap_or(""); // omitempty
            assert_eq!(comment, want["comment"], "{id}");
            assert_eq!(got["Time"], want["time"], "{id}");
        }

        let mut want_ids = strings(&x["evaluation_ids"]); // listed by creation, not by key
        want_ids.sort();
        assert_eq!(j.evaluations.keys().cloned().collect::<Vec<_>>(), want_ids);
        for want in x["evaluations"].as_array().unwrap() {
            let got = &j.evaluations[want["id"].as_str().unwrap()];
            assert_eq!(got["TriggeredBy"], want["triggered_by"], "{id}");
            assert_eq!(got["Status"], want["status"], "{id}");
            assert_eq!(got["CreateTime"], want["create_time"], "{id}");
        }

        let mut want_ids = strings(&x["execution_ids"]);
        want_ids.sort();
        assert_eq!(j.executions.keys().cloned().collect::<Vec<_>>(), want_ids);
        for want in x["executions"].as_array().unwrap() {
            let got = &j.executions[want["id"].as_str().unwrap()];
            assert_eq!(got["NodeID"], want["node_id"], "{id}");
            assert_eq!(got["ComputeState"]["StateType"], want["compute_state_code"]);
            assert_eq!(got["DesiredState"]["StateType"], want["desired_state_code"]);
            assert_eq!(got["Revision"], want["revision"], "{id}");
            assert_eq!(got["CreateTime"], want["create_time"], "{id}");
            assert_eq!(got["ModifyTime"], want["modify_time"], "{id}");
            assert_eq!(
                got.get("Job").is_some_and(|j| !j.is_null()),
                want["embedded_job"].as_bool().unwrap(),
                "{id}"
            );
        }
        assert_eq!(
            j.execution_history.len() as u64,
            x["execution_history_len"].as_u64().unwrap()
        );
        for (got, want) in j
            .execution_history
            .iter()
            .zip(x["execution_history"].as_array().unwrap())
        {
            assert_eq!(got["ExecutionID"], want["execution_id"], "{id}");
            assert_eq!(got["NewRevision"], want["revision"], "{id}");
        }
    }
}
