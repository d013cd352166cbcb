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
    fn reopen_compute(&mut self, old: ExecutionStore<MemoryBackend>, _: StoreBuilder) -> ExecutionStore<MemoryBackend> {
        // Durable scenarios are skipped on memory (`durable()` is false), so this never runs.
        old
    }
    fn reopen_jobs(&mut self, old: JobStore<MemoryBackend>, _: StoreBuilder) -> JobStore<MemoryBackend> {
        old
    }
}

macro_rules! scenario_file {
    ($test:ident, $file:literal) => {
        #[wasm_bindgen_test]
        fn $test() {
            let n = runner::run_file(&mut Memory, $file, include_str!(concat!("../../tests/conformance/", $file)));
            wasm_bindgen_test::console_log!("{}: {} scenarios passed on wasm32", $file, n);
        }
    };
}

scenario_file!(compute_json, "compute.json");
scenario_file!(jobs_json, "jobs.json");
scenario_file!(jobs_upstream_json, "jobs_upstream.json");
scenario_file!(events_json, "events.json");
scenario_file!(transactions_json, "transactions.json");
scenario_file!(snapshots_json, "snapshots.json");
scenario_file!(durable_json, "durable.json");
