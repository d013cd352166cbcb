// The memory-backend lifecycle workload of the benchmark suite, in Node through the
// wasm package in pkg/ (built by `just wasm`): per execution, createExecution, then
// Created -> BidAccepted -> Running -> Publishing -> Completed, each a conditional
// updateExecutionState (expected state + version) in its own transaction. The record mirrors
// the Rust bench's (benches/bench.rs `record`): about 600 bytes encoded.
//
//   node tests/js/bench.mjs [executions]     prints ops_per_sec=<n> (create + 4 updates = 5 ops)
//
// `cargo bench --bench bench` runs this script and reports the ratio wasm/native.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const pkg = await import(join(root, "pkg", "bacalhau_state_wasm.js"));
pkg.initSync({ module: readFileSync(join(root, "pkg", "bacalhau_state_wasm_bg.wasm")) });

const n = Number(process.argv[2] ?? 50000);

function uuid(i) {
  const h = (i >>> 0).toString(16).padStart(8, "0");
  return `${h}-0000-4000-8000-${(i * 2654435761 >>> 0).toString(16).padStart(12, "0")}`;
}

function record(i) {
  const jobId = `j-${uuid(i * 2 + 2)}`;
  return {
    Execution: {
      ID: `e-${uuid(i * 2 + 1)}`,
      Namespace: "default",
      EvalID: uuid(i * 7 + 3),
      NodeID: "QmComputeNode0001",
      JobID: jobId,
      Job: {
        ID: jobId,
        Name: `bench-job-${i}`,
        Namespace: "default",
        Type: "batch",
        Priority: 50,
        Count: 1,
        Tasks: [{
          Name: "main",
          Engine: { Type: "docker", Params: { Image: "ubuntu:24.04" } },
        }],
        State: { StateType: "Running" },
        Version: 1,
        Revision: 2,
        CreateTime: 1700000000000000000n,
        ModifyTime: 1700000000000000000n,
      },
      AllocatedResources: { Tasks: { main: { CPU: 0.5, Memory: 536870912 } } },
      DesiredState: { StateType: "Running" },
      ComputeState: { StateType: "New" },
      Revision: 1,
      CreateTime: 1700000000000000000n,
      ModifyTime: 1700000000000000000n,
    },
    RequesterNodeID: "QmRequesterNode0001",
    State: "Created",
    Version: 1,
    CreateTime: 1700000000000000000n,
    UpdateTime: 1700000000000000000n,
  };
}

const steps = [["Created", "BidAccepted"], ["BidAccepted", "Running"], ["Running", "Publishing"], ["Publishing", "Completed"]];

function run(store, from, to) {
  for (let i = from; i < to; i++) {
    const rec = record(i);
    const id = rec.Execution.ID;
    store.createExecution(rec);
    for (let v = 0; v < steps.length; v++) {
      store.updateExecutionState({ executionId: id, newState: steps[v][1], expectedStates: [steps[v][0]], expectedVersion: v + 1 });
    }
  }
}

const store = new pkg.ComputeStore({ clock: { start: 1700000000000000000n, step: 1000 } });
// Warm-up (JIT, wasm tier-up) on records the measured run does not reuse.
const warm = Math.min(2000, Math.max(1, n >> 4));
run(store, 1e8, 1e8 + warm);
const t0 = performance.now();
run(store, 0, n);
const secs = (performance.now() - t0) / 1000;
const done = store.getExecutionCount("Completed");
if (Number(done) !== n + warm) throw new Error(`expected ${n + warm} completed, found ${done}`);
console.log(`executions=${n} ops=${n * 5} seconds=${secs.toFixed(3)}`);
console.log(`ops_per_sec=${(n * 5 / secs).toFixed(0)}`);
