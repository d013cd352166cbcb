//! The conformance scenarios (`tests/conformance/*.json`) on wasm32, through the same Rust runner
//! as the native suite, on the memory backend the JS package uses. Run by `just wasm-test` in
//! Node via wasm-bindgen-test-runner.
#![cfg(target_arch = "wasm32")]

#[path = "../../tests/conformance/runner.rs"]
#[allow(dead_code)]
mod runner;

use bacalhau_state::kv::memory::MemoryBackend;
use bacalhau_state::{ExecutionStore, JobStore, StoreBuilder};
use runner::Factory;
use wasm_bindgen_test::wasm_bindgen_test;

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
    // Durable scenarios are skipped on memory (`durable()` is false); a `reopen` anywhere else is
    // a scenario bug, which keeping the old store would hide (as the native runner, fail).
    fn reopen_compute(&mut self, _: ExecutionStore<MemoryBackend>, _: StoreBuilder) -> ExecutionStore<MemoryBackend> {
        unreachable!("durable scenarios are skipped on memory")
    }
    fn reopen_jobs(&mut self, _: JobStore<MemoryBackend>, _: StoreBuilder) -> JobStore<MemoryBackend> {
        unreachable!("durable scenarios are skipped on memory")
    }
}

/// Every file must run scenarios here, except a file of durable scenarios only, which must be
/// just that (`durable_only`): a test that ran nothing would pass without checking anything.
/// `tests/conformance.rs` checks that this list names every file of the directory.
macro_rules! scenario_file {
    ($test:ident, $file:literal) => {
        #[wasm_bindgen_test]
        fn $test() {
            let n = runner::run_file(&mut Memory, $file, include_str!(concat!("../../tests/conformance/", $file)));
            assert!(n > 0, "{}: no scenario ran on wasm32", $file);
            wasm_bindgen_test::console_log!("{}: {} scenarios passed on wasm32", $file, n);
        }
    };
    ($test:ident, $file:literal, durable_only) => {
        #[wasm_bindgen_test]
        fn $test() {
            let text = include_str!(concat!("../../tests/conformance/", $file));
            let all: Vec<serde_json::Value> = serde_json::from_str(text).expect("valid JSON");
            assert!(!all.is_empty(), "{}: no scenarios", $file);
            assert!(all.iter().all(|sc| sc["durable"] == true), "{}: a scenario that is not durable", $file);
            assert_eq!(runner::run_file(&mut Memory, $file, text), 0, "{}: durable scenarios ran on memory", $file);
            wasm_bindgen_test::console_log!("{}: {} durable scenarios skipped on wasm32 (memory)", $file, all.len());
        }
    };
}

scenario_file!(compute_json, "compute.json");
scenario_file!(jobs_json, "jobs.json");
scenario_file!(jobs_upstream_json, "jobs_upstream.json");
scenario_file!(events_json, "events.json");
scenario_file!(transactions_json, "transactions.json");
scenario_file!(snapshots_json, "snapshots.json");
scenario_file!(durable_json, "durable.json", durable_only);
