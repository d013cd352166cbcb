//! Integration tests of the `bacalhau-state` binary, run in temp repos (HOME and BACALHAU_DIR
//! always point at temp dirs; the real home is never touched).
#![cfg(feature = "cli")]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_bacalhau-state");

const STORE_VARS: [&str; 7] = [
    "BACALHAU_DIR",
    "BACALHAU_NODE_ID",
    "BACALHAU_COMPUTE_STORE_TYPE",
    "BACALHAU_COMPUTE_STORE_PATH",
    "BACALHAU_JOB_STORE_TYPE",
    "BACALHAU_JOB_STORE_PATH",
    "RUST_BACKTRACE",
];

/// A temp HOME with a repo under it.
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        Sandbox { dir }
    }
    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }
    fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }
    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }
    /// The binary with HOME and BACALHAU_DIR set to the sandbox and every other store setting
    /// cleared.
    fn cmd(&self) -> Command {
        let mut c = Command::new(BIN);
        for v in STORE_VARS {
            c.env_remove(v);
        }
        c.env("HOME", self.home()).env("BACALHAU_DIR", self.repo()).current_dir(self.dir.path());
        c
    }
    fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }
    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "{args:?} failed: {}\n{}",
            String::from_utf8_lossy(&o.stderr),
            String::from_utf8_lossy(&o.stdout)
        );
        String::from_utf8(o.stdout).unwrap()
    }
    fn json(&self, args: &[&str]) -> Value {
        let mut a = args.to_vec();
        a.extend(["--output", "json"]);
        let out = self.ok(&a);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
    }
    fn node_id(&self) -> String {
        std::fs::read_to_string(self.repo().join("node-id")).unwrap().trim().to_string()
    }
}

/// Exit code and the single stderr line of a failing command.
fn fails(o: &Output, code: i32) -> String {
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(code), "stderr: {err}\nstdout: {}", String::from_utf8_lossy(&o.stdout));
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err:?}");
    assert!(!err.contains("panicked") && !err.contains("backtrace"), "{err}");
    err
}

/// The store reports without what differs between repos (paths, sizes, node IDs).
fn counts(stats: &Value) -> Vec<Value> {
    stats["stores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let mut s = s.clone();
            let o = s.as_object_mut().unwrap();
            for k in ["path", "fileSize", "nodeId"] {
                o.remove(k);
            }
            s
        })
        .collect()
}

fn simulate(s: &Sandbox, extra: &[&str]) -> Value {
    let mut a = vec!["simulate", "--quiet"];
    a.extend(extra);
    s.json(&a)
}

#[test]
fn every_command_has_help() {
    let s = Sandbox::new();
    let cmds: &[&[&str]] = &[
        &[],
        &["simulate"],
        &["stats"],
        &["jobs"],
        &["jobs", "list"],
        &["jobs", "show"],
        &["jobs", "history"],
        &["jobs", "executions"],
        &["requester"],
        &["requester", "executions"],
        &["evals"],
        &["evals", "show"],
        &["evals", "list"],
        &["executions"],
        &["executions", "list"],
        &["executions", "show"],
        &["executions", "history"],
        &["events"],
        &["export"],
        &["import"],
        &["check"],
        &["compact"],
    ];
    for c in cmds {
        let mut a = c.to_vec();
        a.push("--help");
        let out = s.ok(&a);
        assert!(out.contains("Usage:"), "{c:?}: {out}");
    }
    let top = s.ok(&["--help"]);
    for flag in [
        "--compute-execution-store-type",
        "--requester-job-store-path",
        "BACALHAU_JOB_STORE_TYPE",
        "alias redb",
        "--node-id",
        "--output",
    ] {
        assert!(top.contains(flag), "{flag} missing from --help");
    }
}

#[test]
fn default_paths_live_in_bacalhau_dir_and_the_node_id_is_kept() {
    let s = Sandbox::new();
    let v = simulate(&s, &["--jobs", "4", "--nodes", "2"]);
    let id = s.node_id();
    let req = s.repo().join(format!("{id}-requester")).join("jobs.db");
    let c0 = s.repo().join(format!("{id}-compute")).join("executions.db");
    let c1 = s.repo().join(format!("{id}-compute")).join("executions-1.db");
    for p in [&req, &c0, &c1] {
        assert!(p.is_file(), "{} missing", p.display());
    }
    assert_eq!(v["stores"][0]["path"], Value::from(req.to_str().unwrap()));
    assert_eq!(v["stores"][2]["nodeId"], Value::from(format!("{id}-1")));
    // A rerun finds the same node ID and the same stores: nothing new to do.
    let again = simulate(&s, &["--jobs", "4", "--nodes", "2"]);
    assert_eq!(s.node_id(), id);
    assert_eq!(again["run"]["jobsAlreadySettled"], 4);
    assert_eq!(again["run"]["operations"], 0);
    assert!(!s.home().join(".bacalhau").exists());
}

#[test]
fn default_repo_is_under_home() {
    let s = Sandbox::new();
    let o = s
        .cmd()
        .env_remove("BACALHAU_DIR")
        .args(["simulate", "--quiet", "--jobs", "2", "--nodes", "1"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let repo = s.home().join(".bacalhau");
    let id = std::fs::read_to_string(repo.join("node-id")).unwrap().trim().to_string();
    assert!(repo.join(format!("{id}-requester/jobs.db")).is_file());
    assert!(repo.join(format!("{id}-compute/executions.db")).is_file());
    assert!(!s.repo().exists());
}

#[test]
fn flags_win_over_env_and_env_over_defaults() {
    let s = Sandbox::new();
    // Paths: flag > env > default, both stores.
    let v = s.json(&[
        "simulate",
        "--quiet",
        "--jobs",
        "2",
        "--nodes",
        "1",
        "--requester-job-store-path",
        s.path("flag/jobs.db").to_str().unwrap(),
    ]);
    assert_eq!(v["stores"][0]["path"], Value::from(s.path("flag/jobs.db").to_str().unwrap()));
    let id = s.node_id();
    assert_eq!(
        v["stores"][1]["path"],
        Value::from(s.repo().join(format!("{id}-compute/executions.db")).to_str().unwrap())
    );

    let o = s
        .cmd()
        .env("BACALHAU_JOB_STORE_PATH", s.path("env/jobs.db"))
        .env("BACALHAU_COMPUTE_STORE_PATH", s.path("env/exec.db"))
        .args(["simulate", "--quiet", "--jobs", "2", "--nodes", "2", "--output", "json"])
        .args(["--compute-execution-store-path", s.path("flag/exec.db").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success());
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["stores"][0]["path"], Value::from(s.path("env/jobs.db").to_str().unwrap()));
    assert_eq!(v["stores"][1]["path"], Value::from(s.path("flag/exec.db").to_str().unwrap()));
    assert_eq!(v["stores"][2]["path"], Value::from(s.path("flag/exec-1.db").to_str().unwrap()));
    assert!(!s.path("env/exec.db").exists());

    // Types: env inmemory, flag boltdb wins; env alone applies; default is boltdb.
    let o = s
        .cmd()
        .env("BACALHAU_JOB_STORE_TYPE", "inmemory")
        .env("BACALHAU_COMPUTE_STORE_TYPE", "inmemory")
        .args([
            "simulate",
            "--quiet",
            "--jobs",
            "2",
            "--nodes",
            "1",
            "--output",
            "json",
            "--requester-job-store-type",
            "redb",
        ])
        .args(["--requester-job-store-path", s.path("t/jobs.db").to_str().unwrap()])
        .args(["--compute-execution-store-path", s.path("t/exec.db").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success());
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["stores"][0]["storeType"], "boltdb");
    assert_eq!(v["stores"][1]["storeType"], "inmemory");
    assert!(s.path("t/jobs.db").exists() && !s.path("t/exec.db").exists());
    assert!(String::from_utf8_lossy(&o.stderr).contains("compute execution store is inmemory: nothing will persist"));
    assert_eq!(v["run"]["persisted"], false);

    // Repo: --repo over BACALHAU_DIR.
    let o = s
        .cmd()
        .args(["simulate", "--quiet", "--jobs", "1", "--nodes", "1", "--repo", s.path("flagrepo").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(s.path("flagrepo/node-id").is_file());

    // Node ID: flag > env > the repo's file.
    let o = s
        .cmd()
        .env("BACALHAU_NODE_ID", "envnode")
        .args(["simulate", "--quiet", "--jobs", "1", "--nodes", "1"])
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(s.repo().join("envnode-requester/jobs.db").is_file());
    let o = s
        .cmd()
        .env("BACALHAU_NODE_ID", "envnode")
        .args(["simulate", "--quiet", "--jobs", "1", "--nodes", "1", "--node-id", "flagnode"])
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(s.repo().join("flagnode-requester/jobs.db").is_file());
    assert_eq!(s.node_id(), id, "an explicit node ID does not replace the persisted one");

    // Invalid types name where they came from; usage errors exit 2.
    let e = fails(&s.cmd().env("BACALHAU_JOB_STORE_TYPE", "postgres").args(["stats"]).output().unwrap(), 2);
    assert!(e.contains("invalid store type") && e.contains("BACALHAU_JOB_STORE_TYPE"), "{e}");
    let e = fails(
        &s.cmd()
            .env("BACALHAU_COMPUTE_STORE_TYPE", "postgres")
            .args(["stats", "--compute-execution-store-type", "mysql"])
            .output()
            .unwrap(),
        2,
    );
    assert!(e.contains("\"mysql\"") && e.contains("--compute-execution-store-type"), "{e}");
}

#[test]
fn simulate_then_inspect() {
    let s = Sandbox::new();
    let sim = simulate(&s, &["--jobs", "30", "--seed", "5"]);
    assert_eq!(sim["run"]["jobsCreated"], 30);
    let stats = s.json(&["stats"]);
    assert_eq!(sim["stores"], stats["stores"], "the summary is what stats reports");
    assert_eq!(stats["stores"][0]["total"], 30);
    let events: u64 = stats["stores"].as_array().unwrap().iter().map(|s| s["lastEventSeq"].as_u64().unwrap()).sum();
    assert_eq!(sim["run"]["eventsWritten"].as_u64().unwrap(), events);
    assert_eq!(sim["run"]["operations"].as_u64().unwrap(), events, "one event per store operation");
    // Every job ends terminal, or Running for a long-running job.
    let all = s.json(&["jobs", "list", "--limit", "0"]);
    for j in all["items"].as_array().unwrap() {
        let st = j["State"]["StateType"].as_str().unwrap();
        let t = j["Type"].as_str().unwrap();
        assert!(
            matches!(st, "Completed" | "Failed" | "Stopped") || (st == "Running" && matches!(t, "service" | "daemon")),
            "{t} {st}"
        );
    }

    // Paging with next tokens visits every job once.
    let mut seen = BTreeSet::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut a = vec!["jobs", "list", "--limit", "7"];
        if let Some(t) = &token {
            a.extend(["--next-token", t.as_str()]);
        }
        let p = s.json(&a);
        for j in p["items"].as_array().unwrap() {
            assert!(seen.insert(j["ID"].as_str().unwrap().to_string()));
        }
        pages += 1;
        token = p["nextToken"].as_str().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!((seen.len(), pages), (30, 5));
    // Filters.
    let completed = s.json(&["jobs", "list", "--limit", "0", "--state", "Completed"]);
    let n_completed = stats["stores"][0]["states"]["Completed"].as_u64().unwrap_or(0);
    assert_eq!(completed["items"].as_array().unwrap().len() as u64, n_completed);
    let paged = s.json(&["jobs", "list", "--limit", "3", "--state", "Completed"]);
    assert_eq!(paged["items"].as_array().unwrap().len() as u64, n_completed.min(3));
    for j in s.json(&["jobs", "list", "--limit", "0", "--selector", "tier=gold"])["items"].as_array().unwrap() {
        assert_eq!(j["Labels"]["tier"], "gold");
    }
    for j in s.json(&["jobs", "list", "--limit", "0", "--namespace", "team-a"])["items"].as_array().unwrap() {
        assert_eq!(j["Namespace"], "team-a");
    }
    s.ok(&["jobs", "list", "--tag", "gpu"]);

    // Show by prefix, history, executions, evaluations.
    let id = seen.iter().next().unwrap().clone();
    let job = s.json(&["jobs", "show", &id[..12]]);
    assert_eq!(job["ID"], Value::from(id.as_str()));
    let hist = s.json(&["jobs", "history", &id]);
    assert_eq!(hist["items"][0]["Comment"], "Job created");
    let execs = s.json(&["requester", "executions", "--job", &id]);
    let execs = execs.as_array().unwrap();
    assert!(!execs.is_empty());
    assert_eq!(s.json(&["jobs", "executions", &id]).as_array().unwrap().len(), execs.len());
    let evals = s.json(&["evals", "list", "--job", &id]);
    let eval_id = evals[0]["ID"].as_str().unwrap();
    assert_eq!(s.json(&["evals", "show", eval_id])["JobID"], Value::from(id.as_str()));

    // The compute side: the execution on its node.
    let node_id = s.node_id();
    let e = &execs[0];
    let node: usize = match e["NodeID"].as_str().unwrap().strip_prefix(&format!("{node_id}-")) {
        Some(i) => i.parse().unwrap(),
        None => 0,
    };
    let eid = e["ID"].as_str().unwrap();
    let n = node.to_string();
    let local = s.json(&["executions", "show", eid, "--node", &n]);
    assert_eq!(local["Execution"]["ID"], Value::from(eid));
    let h = s.json(&["executions", "history", eid, "--node", &n]);
    assert_eq!(h[0]["Comment"], "LocalExecutionState created");
    let list = s.json(&["executions", "list", "--node", &n, "--limit", "0"]);
    assert_eq!(list["items"].as_array().unwrap().len() as u64, stats["stores"][1 + node]["total"].as_u64().unwrap());

    // Events.
    let ev = s.ok(&["events", "--after", "5", "--limit", "3", "--output", "json"]);
    let seqs: Vec<u64> =
        ev.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()["seqNum"].as_u64().unwrap()).collect();
    assert_eq!(seqs, vec![6, 7, 8]);
    assert!(
        s.ok(&["events", "--store", "compute", "--node", "1"]).lines().count() as u64
            == stats["stores"][2]["lastEventSeq"].as_u64().unwrap()
    );

    // Integrity and compaction.
    let c = s.json(&["check"]);
    assert_eq!(c["ok"], true, "{c}");
    s.ok(&["compact"]);
    assert_eq!(counts(&s.json(&["stats"])), counts(&stats));
}

#[test]
fn same_seed_same_final_counts() {
    let (a, b) = (Sandbox::new(), Sandbox::new());
    let va = simulate(&a, &["--jobs", "25", "--seed", "99", "--concurrency", "5"]);
    let vb = simulate(&b, &["--jobs", "25", "--seed", "99", "--concurrency", "16"]);
    assert_eq!(counts(&va), counts(&vb));
    let ids = |s: &Sandbox| {
        s.json(&["jobs", "list", "--limit", "0", "--sort", "id"])["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["ID"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&a), ids(&b));
    let c = Sandbox::new();
    let vc = simulate(&c, &["--jobs", "25", "--seed", "100"]);
    assert_ne!(counts(&va), counts(&vc));
}

#[test]
fn killed_simulate_resumes_to_the_same_result() {
    let s = Sandbox::new();
    let args = ["simulate", "--quiet", "--jobs", "120", "--seed", "3", "--concurrency", "16"];
    let mut child = s.cmd().args(args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    // Watch it from another process while it writes (read-only inspection beside the writer),
    // and kill it once it has made progress.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut progressed = false;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("simulate ended before it was killed: {status}");
        }
        let o = s.cmd().args(["stats", "--output", "json"]).output().unwrap();
        if o.status.success() {
            let v: Value = serde_json::from_slice(&o.stdout).unwrap();
            if v["stores"][0]["total"].as_u64().unwrap() >= 40 {
                progressed = true;
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(progressed, "simulate made no visible progress");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let resumed = s.json(&args);
    let r = &resumed["run"];
    assert!(r["jobsCreated"].as_u64().unwrap() < 120, "{r}");
    assert!(r["jobsResumed"].as_u64().unwrap() + r["jobsAlreadySettled"].as_u64().unwrap() > 0, "{r}");
    let stats = s.json(&["stats"]);
    assert_eq!(stats["stores"][0]["total"], 120);
    let jobs = s.json(&["jobs", "list", "--limit", "0"]);
    let ids: BTreeSet<_> =
        jobs["items"].as_array().unwrap().iter().map(|j| j["ID"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids.len(), 120, "no duplicates");
    assert_eq!(s.json(&["check"])["ok"], true);
    // Exactly what an uninterrupted run with the same seed ends with.
    let clean = Sandbox::new();
    let v = simulate(&clean, &["--jobs", "120", "--seed", "3", "--concurrency", "16"]);
    let strip_events = |v: Vec<Value>| {
        v.into_iter()
            .map(|mut s| {
                s.as_object_mut().unwrap().remove("lastEventSeq");
                s
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(strip_events(counts(&stats)), strip_events(counts(&v)));
}

#[test]
fn export_import_round_trip() {
    let a = Sandbox::new();
    simulate(&a, &["--jobs", "20", "--nodes", "2", "--seed", "11"]);
    let b = Sandbox::new();
    b.ok(&["--node-id", "copy", "stats", "--help"]);
    for (store, node) in [("requester", "0"), ("compute", "0"), ("compute", "1")] {
        let snap = a.path(&format!("{store}-{node}.snap"));
        a.ok(&["export", snap.to_str().unwrap(), "--store", store, "--node", node]);
        b.ok(&["--node-id", "copy", "import", snap.to_str().unwrap(), "--store", store, "--node", node]);
        let again = b.path(&format!("{store}-{node}.snap"));
        b.ok(&["--node-id", "copy", "export", again.to_str().unwrap(), "--store", store, "--node", node]);
        assert_eq!(std::fs::read(&snap).unwrap(), std::fs::read(&again).unwrap(), "{store} {node}: bytes differ");
    }
    let sa = a.json(&["stats"]);
    let sb = b.json(&["--node-id", "copy", "stats"]);
    assert_eq!(counts(&sa), counts(&sb));
    assert_eq!(b.json(&["--node-id", "copy", "check"])["ok"], true);
    // Importing into a store that is not empty changes nothing.
    let snap = a.path("requester-0.snap");
    let e = fails(&b.run(&["--node-id", "copy", "import", snap.to_str().unwrap(), "--store", "requester"]), 1);
    assert!(e.contains("cannot import"), "{e}");
    assert_eq!(counts(&b.json(&["--node-id", "copy", "stats"])), counts(&sb));
}

#[test]
fn bad_input_is_one_line_and_a_nonzero_exit() {
    let s = Sandbox::new();
    // Usage errors: 2.
    let e = fails(&s.run(&["--requester-job-store-type", "sqlite", "stats"]), 2);
    assert!(e.contains("invalid store type \"sqlite\""), "{e}");
    std::fs::create_dir_all(s.path("adir")).unwrap();
    let e = fails(&s.run(&["--requester-job-store-path", s.path("adir").to_str().unwrap(), "simulate"]), 2);
    assert!(e.contains("is a directory") && e.contains("adir"), "{e}");
    std::fs::write(s.path("afile"), "x").unwrap();
    let e =
        fails(&s.run(&["--compute-execution-store-path", s.path("afile/sub/x.db").to_str().unwrap(), "simulate"]), 2);
    assert!(e.contains("afile"), "{e}");
    fails(&s.run(&["jobs", "frobnicate"]), 2);
    fails(&s.run(&["simulate", "--failure-rate", "2"]), 2);
    let e = fails(&s.run(&["--requester-job-store-type", "inmemory", "jobs", "list"]), 2);
    assert!(e.contains("inmemory"), "{e}");

    // No store yet: the node ID is unknown, then the store is missing.
    let e = fails(&s.run(&["jobs", "show", "j-1"]), 1);
    assert!(e.contains("no node ID"), "{e}");
    let e = fails(&s.run(&["--node-id", "ghost", "jobs", "show", "j-1"]), 1);
    assert!(e.contains("no requester job store at") && e.contains("ghost-requester"), "{e}");
    assert!(!s.repo().join("ghost-requester").exists(), "inspection must not create stores");

    simulate(&s, &["--jobs", "6", "--nodes", "1"]);
    let e = fails(&s.run(&["jobs", "show", "j-0000-nope"]), 1);
    assert!(e.contains("job not found: j-0000-nope"), "{e}");
    let e = fails(&s.run(&["jobs", "show", "j-"]), 1);
    assert!(e.contains("ambiguous"), "{e}");
    let e = fails(&s.run(&["executions", "show", "e-nope"]), 1);
    assert!(e.contains("execution not found"), "{e}");
    let e = fails(&s.run(&["evals", "show", "zz"]), 1);
    assert!(e.contains("evaluation not found"), "{e}");
    let e = fails(&s.run(&["jobs", "list", "--next-token", "garbage!"]), 1);
    assert!(e.contains("token"), "{e}");
    let e = fails(&s.run(&["jobs", "list", "--selector", "a in (b"]), 2);
    assert!(e.contains("--selector"), "{e}");

    // Corrupt snapshots: nothing is imported and no store is left behind.
    let target = s.path("imp/jobs.db");
    let imp = |file: &Path| {
        s.run(&[
            "--requester-job-store-path",
            target.to_str().unwrap(),
            "import",
            file.to_str().unwrap(),
            "--store",
            "requester",
        ])
    };
    std::fs::write(s.path("junk.snap"), b"not a snapshot at all").unwrap();
    let e = fails(&imp(&s.path("junk.snap")), 1);
    assert!(e.contains("junk.snap") && e.contains("nothing was imported"), "{e}");
    assert!(!target.exists());
    let good = s.path("good.snap");
    s.ok(&["export", good.to_str().unwrap(), "--store", "requester"]);
    let mut bytes = std::fs::read(&good).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(s.path("flipped.snap"), &bytes).unwrap();
    let e = fails(&imp(&s.path("flipped.snap")), 1);
    assert!(e.contains("nothing was imported"), "{e}");
    assert!(!target.exists());
    let e = fails(&imp(&s.path("missing.snap")), 1);
    assert!(e.contains("missing.snap"), "{e}");
    let e = fails(
        &s.run(&[
            "import",
            good.to_str().unwrap(),
            "--store",
            "compute",
            "--compute-execution-store-path",
            s.path("c/x.db").to_str().unwrap(),
        ]),
        1,
    );
    assert!(e.contains("nothing was imported"), "{e}");
    assert!(!s.path("c/x.db").exists());

    // A corrupt store is refused and named; it is left as it was.
    std::fs::write(s.path("bad.db"), vec![0x5a; 8192]).unwrap();
    for cmd in [&["stats"][..], &["check"][..], &["jobs", "list"][..]] {
        let mut a = vec!["--requester-job-store-path", s.path("bad.db").to_str().unwrap().to_string().leak()];
        a.extend(cmd);
        let e = fails(&s.run(&a), 1);
        assert!(e.contains("bad.db") && e.contains("not a bacalhau-state store"), "{e}");
    }
    assert_eq!(std::fs::read(s.path("bad.db")).unwrap(), vec![0x5a; 8192]);
    // A job store opened as a compute store.
    let id = s.node_id();
    let jobs_db = s.repo().join(format!("{id}-requester/jobs.db"));
    let e = fails(&s.run(&["--compute-execution-store-path", jobs_db.to_str().unwrap(), "executions", "list"]), 1);
    assert!(e.contains("jobs.db"), "{e}");
}

#[test]
fn inmemory_simulate_says_nothing_persists() {
    let s = Sandbox::new();
    let o = s
        .cmd()
        .env("BACALHAU_JOB_STORE_TYPE", "inmemory")
        .env("BACALHAU_COMPUTE_STORE_TYPE", "inmemory")
        .args(["simulate", "--quiet", "--jobs", "10"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("nothing of this run was persisted"), "{out}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("nothing will persist"));
    let id = s.node_id();
    assert!(!s.repo().join(format!("{id}-requester")).exists());
    assert!(!s.repo().join(format!("{id}-compute")).exists());
}

/// Copies the Bacalhau v1.2 fixture repo (compute + requester bbolt stores) into the sandbox repo.
fn legacy_repo(s: &Sandbox) -> String {
    let fixtures = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/bacalhau-v1.2"));
    let node = "QmerwS6bZ4hp7NtJ3B6G5EyEBjoAtNHmyfzZRyxGBKCcXq";
    for (dir, file) in [("compute", "executions.db"), ("requester", "jobs.db")] {
        let to = s.repo().join(format!("{node}-{dir}"));
        std::fs::create_dir_all(&to).unwrap();
        std::fs::copy(fixtures.join(format!("{node}-{dir}")).join(file), to.join(file)).unwrap();
    }
    node.to_string()
}

#[test]
fn a_bacalhau_v1_2_repo_is_refused_with_the_migrate_command_then_migrated_in_place() {
    let s = Sandbox::new();
    let node = legacy_repo(&s);
    let jobs_db = s.repo().join(format!("{node}-requester/jobs.db"));
    let before = std::fs::read(&jobs_db).unwrap();

    // Inspecting the old store names the exact command and touches nothing.
    let err = fails(&s.run(&["--node-id", &node, "jobs", "list"]), 1);
    assert!(err.contains("bacalhau-state migrate --requester-job-store-path"), "{err}");
    assert_eq!(std::fs::read(&jobs_db).unwrap(), before);

    // A dry run reports the counts and writes nothing.
    let dry = s.ok(&["migrate", "--dry-run"]);
    assert!(dry.contains(&format!("using {node}")), "{dry}");
    assert!(dry.contains("40"), "{dry}");
    assert_eq!(std::fs::read(&jobs_db).unwrap(), before);
    assert!(!jobs_db.with_extension("db.bbolt-backup").exists());

    // The migration keeps the bbolt files as backups and the node then sees the state.
    let out = s.ok(&["migrate"]);
    assert!(out.contains(&format!("--node-id {node}")), "{out}");
    let backup = s.repo().join(format!("{node}-requester/jobs.db.bbolt-backup"));
    assert_eq!(std::fs::read(&backup).unwrap(), before, "the backup is the untouched bbolt file");
    let stats = s.json(&["--node-id", &node, "stats"]);
    let text = stats.to_string();
    assert!(text.contains("\"Completed\":10") || text.contains("Completed"), "{text}");
    let listed = s.json(&["--node-id", &node, "jobs", "list", "--limit", "100"]);
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(40), "{listed}");
    s.ok(&["--node-id", &node, "check"]);

    // Rerunning is a no-op that says so.
    let again = s.ok(&["--node-id", &node, "migrate"]);
    assert_eq!(std::fs::read(&backup).unwrap(), before);
    assert!(!again.is_empty());
}

#[test]
fn a_store_copied_while_open_without_its_journal_is_refused_until_the_loss_is_accepted() {
    use bacalhau_state::kv::redb::{RedbBackend, RedbOptions};
    use bacalhau_state::kv::StoreKind;
    let s = Sandbox::new();
    let live = s.path("live.db");
    let copy = s.path("copy.db");
    let store = bacalhau_state::StoreBuilder::new()
        .jobs(RedbBackend::open(&live, StoreKind::Requester, &RedbOptions::default()).unwrap());
    store
        .create_job(bacalhau_state::model::Job {
            id: "j-1".into(),
            name: "hello".into(),
            job_type: "batch".into(),
            tasks: vec![bacalhau_state::model::Task::new("main", "docker")],
            ..Default::default()
        })
        .unwrap();
    // A backup of the file alone while it is open: the commit is only in the journal left behind.
    std::fs::copy(&live, &copy).unwrap();
    drop(store);
    let path = copy.to_str().unwrap();
    let err = fails(&s.run(&["check", "--store", "requester", "--requester-job-store-path", path]), 1);
    assert!(err.contains("copy.db.journal") && err.contains("--accept-journal-loss"), "{err}");
    assert!(!Path::new(&format!("{path}.journal")).exists(), "the refused open created nothing");
    let out = s.ok(&["check", "--store", "requester", "--requester-job-store-path", path, "--accept-journal-loss"]);
    assert!(!out.is_empty());
}
