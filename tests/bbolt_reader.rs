//! The read-only bbolt reader against real Bacalhau v1.2.1 files (`tests/fixtures/bacalhau-v1.2`)
//! and against corrupt and synthetic inputs.
#![cfg(feature = "bbolt")]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bacalhau_state::bbolt::{
    detect, looks_like_bbolt, read_compute, read_requester, BacalhauLayout, BoltError, BoltFile, Entry,
};
use serde_json::Value;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/bacalhau-v1.2");

fn expected() -> Value {
    let text = std::fs::read_to_string(format!("{FIXTURES}/expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn fixture(side: &str) -> PathBuf {
    let e = expected();
    PathBuf::from(format!("{FIXTURES}/{}", e[side]["path"].as_str().unwrap()))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect()
}

fn string_map(v: &Value) -> BTreeMap<String, Vec<String>> {
    v.as_object().unwrap().iter().map(|(k, v)| (k.clone(), strings(v))).collect()
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
    assert_eq!(detect(fixture("compute")).unwrap(), Some(BacalhauLayout::Compute));
    assert_eq!(detect(fixture("requester")).unwrap(), Some(BacalhauLayout::Requester));
    for (file, side) in [(&c, "compute"), (&r, "requester")] {
        let mut names: Vec<String> =
            file.root().entries().unwrap().iter().map(|e| String::from_utf8(e.key().to_vec()).unwrap()).collect();
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
    assert_eq!(d.executions.len() as u64, e["execution_count"].as_u64().unwrap());
    let hist: usize = d.history.values().map(Vec::len).sum();
    assert_eq!(hist as u64, e["history_entry_count"].as_u64().unwrap());
    assert_eq!(d.live_ids, strings(&e["live_execution_ids"]));
    assert_eq!(d.job_index, string_map(&e["job_index"]));
    let ids: Vec<&String> = d.executions.iter().map(|(id, _)| id).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "executions come back in byte order");

    let names = ["Undefined", "Created", "BidAccepted", "Running", "Publishing", "Completed", "Failed", "Cancelled"];
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for (_, v) in &d.executions {
        let code = v["State"].as_u64().unwrap() as usize;
        *counts.entry(names[code].to_string()).or_default() += 1;
    }
    let want: BTreeMap<String, u64> =
        e["state_counts"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap())).collect();
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
        assert_eq!(d.live_ids.iter().any(|l| l == id), x["in_live_index"].as_bool().unwrap());
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
    let sum = |f: &dyn Fn(&bacalhau_state::bbolt::JobDump) -> usize| -> usize { d.jobs.iter().map(f).sum() };
    assert_eq!(sum(&|j| j.executions.len()), n("execution_count"));
    assert_eq!(sum(&|j| j.evaluations.len()), n("evaluation_count"));
    assert_eq!(sum(&|j| j.job_history.len()), n("job_history_entry_count"));
    assert_eq!(sum(&|j| j.execution_history.len()), n("execution_history_entry_count"));
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
        assert_eq!(d.in_progress.contains(id), x["in_progress"].as_bool().unwrap());

        assert_eq!(j.job_history.len() as u64, x["history_len"].as_u64().unwrap());
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
            assert_eq!(got.get("Job").is_some_and(|j| !j.is_null()), want["embedded_job"].as_bool().unwrap(), "{id}");
        }
        assert_eq!(j.execution_history.len() as u64, x["execution_history_len"].as_u64().unwrap());
        for (got, want) in j.execution_history.iter().zip(x["execution_history"].as_array().unwrap()) {
            assert_eq!(got["ExecutionID"], want["execution_id"], "{id}");
            assert_eq!(got["NewRevision"], want["revision"], "{id}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Corrupt input: every result is Ok or Err, never a panic, in bounded time.

/// Opens the bytes and, if that works, reads everything the file offers. Returns the open error
/// code, or whether a Bacalhau dump succeeded.
fn read_all(data: Vec<u8>) -> Result<bool, &'static str> {
    let file = BoltFile::from_bytes("/mem/x.db", data).map_err(|e| e.code())?;
    let _ = file.layout();
    let dumped = read_compute(&file).is_ok() | read_requester(&file).is_ok();
    let root = file.root();
    for name in ["execution", "jobs", "idx_tags", "nope"] {
        if let Ok(Some(b)) = root.bucket(name.as_bytes()) {
            let _ = b.get(b"spec");
            let _ = b.entries();
        }
    }
    Ok(dumped)
}

/// xorshift64*: a tiny deterministic generator for reproducible random inputs.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[test]
fn an_empty_file_is_not_bbolt() {
    let err = BoltFile::from_bytes("/mem/empty.db", Vec::new()).unwrap_err();
    assert_eq!(err.code(), "NotBbolt");
    assert_eq!(err.to_string(), "not a bbolt file: /mem/empty.db: empty file");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("empty.db");
    std::fs::write(&p, b"").unwrap();
    assert_eq!(detect(&p).unwrap_err().code(), "NotBbolt");
}

#[test]
fn a_missing_file_is_an_io_error_and_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("absent.db");
    let err = BoltFile::open(&p).unwrap_err();
    assert_eq!(err.code(), "Io");
    assert!(err.to_string().contains("absent.db"));
    assert!(std::error::Error::source(&err).is_some());
    assert!(!p.exists());
}

#[test]
fn a_text_file_is_not_bbolt() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("config.yaml");
    std::fs::write(&p, "node:\n  compute:\n    executionstore:\n      Type: BoltDB\n".repeat(200)).unwrap();
    let err = detect(&p).unwrap_err();
    assert_eq!(err.code(), "NotBbolt", "{err}");
    assert!(err.to_string().starts_with("not a bbolt file: "), "{err}");
    assert!(!looks_like_bbolt(&std::fs::read(&p).unwrap()));
}

#[cfg(feature = "redb")]
#[test]
fn a_redb_file_is_not_bbolt() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("state.redb");
    {
        let db = redb::Database::create(&p).unwrap();
        let t: redb::TableDefinition<&str, &str> = redb::TableDefinition::new("t");
        let w = db.begin_write().unwrap();
        w.open_table(t).unwrap().insert("k", "v").unwrap();
        w.commit().unwrap();
    }
    let bytes = std::fs::read(&p).unwrap();
    assert!(!looks_like_bbolt(&bytes));
    let err = detect(&p).unwrap_err();
    assert_eq!(err.code(), "NotBbolt", "{err}");
    assert!(err.to_string().contains("bad magic"), "{err}");
}

#[test]
fn the_fixtures_look_like_bbolt_from_their_first_bytes() {
    for side in ["compute", "requester"] {
        let bytes = std::fs::read(fixture(side)).unwrap();
        assert!(looks_like_bbolt(&bytes[..80]));
        // With meta page 0 wiped, the second meta page still gives it away.
        let mut wiped = bytes[..8192].to_vec();
        wiped[..4096].fill(0);
        assert!(looks_like_bbolt(&wiped));
        assert!(!looks_like_bbolt(&wiped[..4096]));
    }
}

#[test]
fn one_hundred_random_files_are_rejected_without_panicking() {
    let seed = std::env::var("BBOLT_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed_b017_u64);
    println!("random-file seed: {seed} (set BBOLT_FUZZ_SEED to replay)");
    let mut rng = Rng(seed | 1);
    let head = std::fs::read(fixture("compute")).unwrap()[..8192].to_vec();
    for i in 0..100 {
        let len = (rng.next() % 40_000) as usize;
        let mut data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        // Half of them keep the fixture's valid meta pages so parsing reaches the trees.
        if i % 2 == 1 && len >= 8192 {
            data[..8192].copy_from_slice(&head);
        }
        let started = Instant::now();
        let r = read_all(data);
        assert!(started.elapsed() < Duration::from_secs(5), "file {i}");
        if i % 2 == 0 {
            assert!(r.is_err(), "random file {i} (seed {seed}) was accepted");
        }
    }
}

#[test]
fn truncated_fixtures_fail_cleanly() {
    for side in ["compute", "requester"] {
        let bytes = std::fs::read(fixture(side)).unwrap();
        let used = BoltFile::from_bytes("x", bytes.clone()).unwrap().high_water() as usize * 4096;
        for len in [0, 1, 15, 16, 20, 79, 80, 4095, 4096, 8191, 8192, 8193, used / 2, used - 1] {
            let err = BoltFile::from_bytes("/mem/cut.db", bytes[..len].to_vec()).unwrap_err();
            let want = match len {
                0 | 1 | 15 | 16 => "NotBbolt",
                _ => "Truncated",
            };
            assert_eq!(err.code(), want, "{side} cut at {len}: {err}");
        }
        let err = BoltFile::from_bytes("/mem/cut.db", bytes[..4096].to_vec()).unwrap_err();
        assert_eq!(err.to_string(), "truncated bbolt file /mem/cut.db: 4096 bytes, need at least 8192");
        // Cut after the last used page: nothing is lost.
        assert_eq!(read_all(bytes[..used].to_vec()), Ok(true));
    }
}

#[test]
fn fixtures_with_single_bytes_flipped_give_ok_or_err_never_a_panic() {
    for (side, stride) in [("compute", 61), ("requester", 997)] {
        let bytes = std::fs::read(fixture(side)).unwrap();
        let used = BoltFile::from_bytes("x", bytes.clone()).unwrap().high_water() as usize * 4096;
        let mut offsets: Vec<usize> = (0..96).chain(4096..4192).collect();
        offsets.extend((8192..used).step_by(stride));
        let (mut dumped, mut dump_err, mut open_err) = (0, 0, 0);
        let started = Instant::now();
        for (n, &at) in offsets.iter().enumerate() {
            let mut data = bytes.clone();
            data[at] ^= 1 << (n % 8);
            let t = Instant::now();
            match read_all(data) {
                Ok(true) => dumped += 1,
                Ok(false) => dump_err += 1,
                Err(_) => open_err += 1,
            }
            assert!(t.elapsed() < Duration::from_secs(5), "{side} flip at {at}");
        }
        println!(
            "{side}: {} flips: {dumped} read fully, {dump_err} failed while reading, {open_err} failed to open, {:?}",
            offsets.len(),
            started.elapsed()
        );
    }
}

#[test]
fn a_damaged_newest_meta_page_falls_back_to_the_older_one() {
    let bytes = std::fs::read(fixture("compute")).unwrap();
    let newest = BoltFile::from_bytes("x", bytes.clone()).unwrap().txid();
    let mut data = bytes.clone();
    data[70] ^= 0xff; // checksum of meta page 0, which holds the newest txid in this fixture
    let file = BoltFile::from_bytes("x", data).unwrap();
    assert_eq!(file.txid(), newest - 1);
    read_compute(&file).unwrap();
    // Both damaged: a corrupt file, naming both problems.
    let mut data = bytes.clone();
    data[70] ^= 0xff;
    data[4096 + 70] ^= 0xff;
    let err = BoltFile::from_bytes("/mem/x.db", data).unwrap_err();
    assert_eq!(err.code(), "Corrupt");
    assert!(err.to_string().contains("both meta pages invalid"), "{err}");
    // An unknown format version.
    let mut data = bytes;
    data[20] = 3;
    data[4096 + 20] = 3;
    let err = BoltFile::from_bytes("/mem/x.db", data).unwrap_err();
    assert_eq!(err.code(), "UnsupportedVersion", "{err}");
}

// ---------------------------------------------------------------------------------------------
// Synthetic files: a minimal bbolt writer (every bucket inline, one root leaf page).

enum Node {
    Val(&'static str),
    Bkt(Vec<(String, Node)>),
}

fn val(s: &'static str) -> Node {
    Node::Val(s)
}

fn bkt(entries: Vec<(&str, Node)>) -> Node {
    let mut v: Vec<(String, Node)> = entries.into_iter().map(|(k, n)| (k.to_string(), n)).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    Node::Bkt(v)
}

/// A leaf page (header id 0) holding `entries`; nested buckets become inline bucket values.
fn leaf_page(entries: &[(String, Node)]) -> Vec<u8> {
    let n = entries.len();
    let mut page = vec![0u8; 16 + 16 * n];
    page[8..10].copy_from_slice(&2u16.to_le_bytes());
    page[10..12].copy_from_slice(&(n as u16).to_le_bytes());
    for (i, (k, node)) in entries.iter().enumerate() {
        let (flags, value) = match node {
            Node::Val(s) => (0u32, s.as_bytes().to_vec()),
            Node::Bkt(children) => {
                let mut v = vec![0u8; 16];
                v[8..16].copy_from_slice(&(children.len() as u64).to_le_bytes()); // sequence
                v.extend(leaf_page(children));
                (1, v)
            }
        };
        let at = 16 + 16 * i;
        let pos = (page.len() - at) as u32;
        page[at..at + 4].copy_from_slice(&flags.to_le_bytes());
        page[at + 4..at + 8].copy_from_slice(&pos.to_le_bytes());
        page[at + 8..at + 12].copy_from_slice(&(k.len() as u32).to_le_bytes());
        page[at + 12..at + 16].copy_from_slice(&(value.len() as u32).to_le_bytes());
        page.extend(k.as_bytes());
        page.extend(value);
    }
    page
}

/// A whole file: two meta pages, the root bucket's leaf page at page 2 (with overflow pages).
fn bolt_file(root: Node) -> Vec<u8> {
    const PS: usize = 4096;
    let Node::Bkt(entries) = root else { panic!() };
    let mut page = leaf_page(&entries);
    let pages = page.len().div_ceil(PS);
    page[0..8].copy_from_slice(&2u64.to_le_bytes());
    page[12..16].copy_from_slice(&((pages - 1) as u32).to_le_bytes());
    page.resize(pages * PS, 0);
    let mut data = vec![0u8; 2 * PS];
    for (i, txid) in [(0usize, 1u64), (1, 2)] {
        let p = &mut data[i * PS..(i + 1) * PS];
        p[0..8].copy_from_slice(&(i as u64).to_le_bytes());
        p[8..10].copy_from_slice(&4u16.to_le_bytes());
        let m = &mut p[16..80];
        m[0..4].copy_from_slice(&0xED0C_DAEDu32.to_le_bytes());
        m[4..8].copy_from_slice(&2u32.to_le_bytes());
        m[8..12].copy_from_slice(&(PS as u32).to_le_bytes());
        m[16..24].copy_from_slice(&2u64.to_le_bytes()); // root page
        m[32..40].copy_from_slice(&u64::MAX.to_le_bytes()); // no freelist
        m[40..48].copy_from_slice(&((2 + pages) as u64).to_le_bytes());
        m[48..56].copy_from_slice(&txid.to_le_bytes());
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for &b in &m[..56] {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        m[56..64].copy_from_slice(&h.to_le_bytes());
    }
    data.extend(page);
    data
}

fn compute_file(history: Node) -> Vec<u8> {
    bolt_file(bkt(vec![
        ("execution", bkt(vec![("e-1", val(r#"{"State":3}"#))])),
        ("execution-history", bkt(vec![("e-1", history)])),
        ("execution-index", bkt(vec![("j-1", bkt(vec![("e-1", val(""))]))])),
        ("execution-live-index", bkt(vec![("e-1", val(""))])),
    ]))
}

#[test]
fn compute_history_comes_back_in_numeric_order_past_entry_999() {
    let keys: Vec<String> = (1..=1001).map(|i| format!("{i:03}")).collect();
    let vals: Vec<&'static str> =
        (1..=1001).map(|i| &*Box::leak(format!("{{\"NewVersion\":{i}}}").into_boxed_str())).collect();
    let entries = keys.iter().zip(&vals).map(|(k, v)| (k.as_str(), val(v))).collect();
    let file = BoltFile::from_bytes("/mem/c.db", compute_file(bkt(entries))).unwrap();
    assert_eq!(file.layout().unwrap(), Some(BacalhauLayout::Compute));
    // bbolt's own order puts "1000" between "100" and "101".
    let raw = file.root().bucket(b"execution-history").unwrap().unwrap();
    let raw = raw.bucket(b"e-1").unwrap().unwrap();
    assert_eq!(raw.sequence(), 1001);
    let order: Vec<Vec<u8>> = raw.entries().unwrap().iter().map(|e| e.key().to_vec()).collect();
    assert_eq!(order[100], b"1000".to_vec());
    let d = read_compute(&file).unwrap();
    let revs: Vec<u64> = d.history["e-1"].iter().map(|v| v["NewVersion"].as_u64().unwrap()).collect();
    assert_eq!(revs, (1..=1001).collect::<Vec<u64>>());
    assert_eq!(d.job_index["j-1"], vec!["e-1".to_string()]);
    assert_eq!(d.live_ids, vec!["e-1".to_string()]);
}

#[test]
fn invalid_json_names_the_bucket_path_and_key() {
    let data = compute_file(bkt(vec![("001", val("{not json"))]));
    let err = read_compute(&BoltFile::from_bytes("/mem/c.db", data).unwrap()).unwrap_err();
    assert_eq!(err.code(), "InvalidJson");
    let BoltError::InvalidJson { bucket, key, .. } = &err else { panic!("{err}") };
    assert_eq!((bucket.as_str(), key.as_str()), ("execution-history/e-1", "001"));
    assert!(err.to_string().contains("/mem/c.db"), "{err}");
}

#[test]
fn a_non_numeric_history_key_is_an_invalid_key() {
    let data = compute_file(bkt(vec![("x1", val("{}"))]));
    let err = read_compute(&BoltFile::from_bytes("/mem/c.db", data).unwrap()).unwrap_err();
    assert_eq!(err.code(), "InvalidKey", "{err}");
}

#[test]
fn a_bbolt_file_with_other_buckets_has_no_bacalhau_layout() {
    let data = bolt_file(bkt(vec![("widgets", bkt(vec![("a", val("1"))]))]));
    let file = BoltFile::from_bytes("/mem/o.db", data).unwrap();
    assert_eq!(file.layout().unwrap(), None);
    let err = read_compute(&file).unwrap_err();
    assert_eq!(err.code(), "UnexpectedLayout");
    assert!(err.to_string().contains("\"execution\""), "{err}");
    assert_eq!(read_requester(&file).unwrap_err().code(), "UnexpectedLayout");
}

#[test]
fn job_ids_containing_slashes_are_rejoined_from_nested_buckets() {
    let job = |id: &'static str, extra: Vec<(&'static str, Node)>| {
        let mut v = vec![
            ("spec", val(Box::leak(format!("{{\"ID\":\"{id}\"}}").into_boxed_str()))),
            ("executions", bkt(vec![("e-1", val("{}"))])),
            ("evaluations", bkt(vec![])),
            ("job_history", bkt(vec![("0000000000000002", val("2")), ("0000000000000001", val("1"))])),
            ("execution_history", bkt(vec![])),
        ];
        v.extend(extra);
        bkt(v)
    };
    let data = bolt_file(bkt(vec![
        (
            "jobs",
            bkt(vec![
                ("x", job("x", vec![("y", job("x/y", vec![]))])),
                ("p", bkt(vec![("q", job("p/q", vec![])), ("gone", bkt(vec![]))])),
                ("x-1", job("x-1", vec![])),
            ]),
        ),
        ("idx_tags", bkt(vec![("a", bkt(vec![("b", bkt(vec![("x/y", val(""))]))]))])),
        ("idx_inprogress", bkt(vec![("p/q", val(""))])),
        ("idx_namespaces", bkt(vec![("default", bkt(vec![("x", val("")), ("x-1", val(""))]))])),
        ("idx_executions", bkt(vec![("e-1", bkt(vec![("x", val(""))]))])),
        ("idx_evaluations", bkt(vec![])),
    ]));
    let file = BoltFile::from_bytes("/mem/r.db", data).unwrap();
    assert_eq!(file.layout().unwrap(), Some(BacalhauLayout::Requester));
    let d = read_requester(&file).unwrap();
    let ids: Vec<&str> = d.jobs.iter().map(|j| j.id.as_str()).collect();
    assert_eq!(ids, ["p/q", "x", "x-1", "x/y"]);
    for j in &d.jobs {
        assert_eq!(j.spec["ID"].as_str(), Some(j.id.as_str()));
        assert_eq!(j.job_history, vec![Value::from(1), Value::from(2)]);
        assert_eq!(j.executions.len(), 1);
    }
    assert_eq!(d.tags["a/b"], vec!["x/y".to_string()]);
    assert_eq!(d.tag_bucket_paths["a/b"], ["idx_tags", "a", "b"]);
    assert!(!d.tags.contains_key("a"));
    assert_eq!(d.in_progress, ["p/q"]);
    assert_eq!(d.namespaces["default"], ["x", "x-1"]);
    assert_eq!(d.execution_jobs["e-1"], ["x"]);
}

#[test]
fn bucket_lookups_agree_with_iteration_and_skip_the_other_kind() {
    let file = BoltFile::open(fixture("requester")).unwrap();
    let jobs = file.root().bucket(b"jobs").unwrap().unwrap();
    let entries = jobs.entries().unwrap();
    assert_eq!(entries.len(), 40);
    for e in &entries {
        let Entry::Bucket { key, bucket } = e else { panic!() };
        let found = jobs.bucket(key).unwrap().unwrap();
        assert_eq!(found.path(), bucket.path());
        assert!(jobs.get(key).unwrap().is_none(), "get() skips buckets");
        let spec = found.get(b"spec").unwrap().unwrap();
        assert!(spec.starts_with(b"{"));
        assert!(found.bucket(b"spec").unwrap().is_none(), "bucket() skips values");
        assert!(found.get(b"nope").unwrap().is_none());
    }
    assert!(jobs.bucket(b"\xff\xff").unwrap().is_none());
    assert!(jobs.bucket(b"").unwrap().is_none());
}
