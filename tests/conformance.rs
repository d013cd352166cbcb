//! Runs the conformance scenarios (`tests/conformance/*.json`) against every native backend.

#[path = "conformance/runner.rs"]
mod runner;

use bacalhau_state::kv::memory::MemoryBackend;
use bacalhau_state::{ExecutionStore, JobStore, StoreBuilder};
use runner::Factory;

/// Every scenario file, embedded so the wasm32 runner can use the same list.
pub const FILES: &[(&str, &str)] = &[
    ("compute.json", include_str!("conformance/compute.json")),
    ("jobs.json", include_str!("conformance/jobs.json")),
    ("jobs_upstream.json", include_str!("conformance/jobs_upstream.json")),
    ("events.json", include_str!("conformance/events.json")),
    ("transactions.json", include_str!("conformance/transactions.json")),
    ("snapshots.json", include_str!("conformance/snapshots.json")),
    ("durable.json", include_str!("conformance/durable.json")),
];

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

fn scenarios() -> Vec<(&'static str, serde_json::Value)> {
    let mut out = Vec::new();
    for (file, text) in FILES {
        let list: Vec<serde_json::Value> = serde_json::from_str(text).unwrap_or_else(|e| panic!("{file}: {e}"));
        out.extend(list.into_iter().map(|sc| (*file, sc)));
    }
    out
}

/// One trial per scenario and backend, named `backend::file::scenario`, so a failure names its
/// scenario and `cargo test --test conformance -- <words>` runs a subset.
fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let mut trials = Vec::new();
    for (file, sc) in scenarios() {
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
