//! Runs the conformance scenarios (`tests/conformance/*.json`) against every native backend.

#[path = "conformance/runner.rs"]
mod runner;

use bacalhau_state::kv::memory::MemoryBackend;
use bacalhau_state::{ExecutionStore, JobStore, StoreBuilder};
use runner::Factory;

struct Memory;

impl Factory for Memory {
    type B = MemoryBackend;
    fn durable(&self) -> bool {
        false
    }
    fn compute(&mut self, builder: StoreBuilder) -> ExecutionStore<MemoryBackend> {
        builder.compute(MemoryBackend::new())
    }
    fn jobs(&mut self, builder: StoreBuilder) -> JobStore<MemoryBackend> {
        builder.jobs(MemoryBackend::new())
    }
    fn reopen_compute(&mut self, _: ExecutionStore<MemoryBackend>, _: StoreBuilder) -> ExecutionStore<MemoryBackend> {
        unreachable!("durable scenarios are skipped on memory")
    }
    fn reopen_jobs(&mut self, _: JobStore<MemoryBackend>, _: StoreBuilder) -> JobStore<MemoryBackend> {
        unreachable!("durable scenarios are skipped on memory")
    }
}

/// Every scenario file of `tests/conformance/`, read from the directory so that a new file runs
/// without being listed anywhere; none is a failure, not an empty pass.
fn files() -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (name, text)
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no scenario files in {}", dir.display());
    files
}

fn scenarios(files: &[(String, String)]) -> Vec<(&'static str, serde_json::Value)> {
    let mut out = Vec::new();
    for (file, text) in files {
        let list: Vec<serde_json::Value> = serde_json::from_str(text).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(!list.is_empty(), "{file}: no scenarios");
        let file: &'static str = Box::leak(file.clone().into_boxed_str());
        out.extend(list.into_iter().map(|sc| (file, sc)));
    }
    out
}

/// The wasm32 runner cannot read the directory, so it lists the files: it must list them all.
fn the_wasm32_runner_lists_every_scenario_file(files: &[(String, String)]) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bindings/tests/conformance.rs");
    let source = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for (file, _) in files {
        assert!(source.contains(&format!("\"{file}\"")), "{} does not run {file}", path.display());
    }
}

/// One trial per scenario and backend, named `backend::file::scenario`, so a failure names its
/// scenario and `cargo test --test conformance -- <words>` runs a subset.
fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let files = files();
    let mut trials = Vec::new();
    {
        let files = files.clone();
        trials.push(libtest_mimic::Trial::test("the_wasm32_runner_lists_every_scenario_file", move || {
            the_wasm32_runner_lists_every_scenario_file(&files);
            Ok(())
        }));
    }
    trials.push(libtest_mimic::Trial::test("an_expectation_of_absent_fields_needs_an_object", || {
        use serde_json::{json, Value};
        // `$absent` is about a key of a result: a missing result (null) is not an object whose
        // keys are all absent, so an operation that wrongly returns nothing cannot pass.
        assert!(runner::matches(&json!({"nextToken": "$absent"}), &Value::Null, "$".into()).is_err());
        assert!(runner::matches(&json!({"a": null}), &Value::Null, "$".into()).is_err());
        assert!(runner::matches(&json!({"nextToken": "$absent"}), &json!({"items": []}), "$".into()).is_ok());
        assert!(runner::matches(&json!({"a": "$absent"}), &json!({"a": null}), "$".into()).is_ok());
        Ok(())
    }));
    for (file, sc) in scenarios(&files) {
        let name = format!("{}::{}", file.trim_end_matches(".json"), sc["name"].as_str().unwrap_or("unnamed"));
        if sc["durable"].as_bool() != Some(true) {
            let sc = sc.clone();
            trials.push(libtest_mimic::Trial::test(format!("memory::{name}"), move || {
                runner::run_scenario(&mut Memory, file, &sc);
                Ok(())
            }));
        }
        #[cfg(feature = "redb")]
        trials.push(libtest_mimic::Trial::test(format!("redb::{name}"), move || {
            runner::run_scenario(&mut redb_backend::Redb::new(), file, &sc);
            Ok(())
        }));
    }
    libtest_mimic::run(&args, trials).exit();
}

#[cfg(feature = "redb")]
mod redb_backend {
    use super::*;
    use bacalhau_state::kv::redb::{RedbBackend, RedbOptions};
    use bacalhau_state::kv::StoreKind;
    use std::path::PathBuf;

    pub struct Redb {
        dir: tempfile::TempDir,
        n: usize,
        current: PathBuf,
    }

    impl Redb {
        pub fn new() -> Self {
            Redb { dir: tempfile::tempdir().unwrap(), n: 0, current: PathBuf::new() }
        }
        fn fresh(&mut self) -> PathBuf {
            self.n += 1;
            self.current = self.dir.path().join(format!("store-{}.redb", self.n));
            self.current.clone()
        }
        fn open(&self, kind: StoreKind) -> RedbBackend {
            RedbBackend::open(&self.current, kind, &RedbOptions::default()).expect("open redb store")
        }
    }

    impl Factory for Redb {
        type B = RedbBackend;
        fn durable(&self) -> bool {
            true
        }
        fn compute(&mut self, builder: StoreBuilder) -> ExecutionStore<RedbBackend> {
            self.fresh();
            builder.compute(self.open(StoreKind::Compute))
        }
        fn jobs(&mut self, builder: StoreBuilder) -> JobStore<RedbBackend> {
            self.fresh();
            builder.jobs(self.open(StoreKind::Requester))
        }
        fn reopen_compute(
            &mut self,
            old: ExecutionStore<RedbBackend>,
            builder: StoreBuilder,
        ) -> ExecutionStore<RedbBackend> {
            old.close().expect("close");
            drop(old);
            builder.compute(self.open(StoreKind::Compute))
        }
        fn reopen_jobs(&mut self, old: JobStore<RedbBackend>, builder: StoreBuilder) -> JobStore<RedbBackend> {
            old.close().expect("close");
            drop(old);
            builder.jobs(self.open(StoreKind::Requester))
        }
    }
}
