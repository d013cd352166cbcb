//! The conformance runner: executes the JSON scenarios of this directory against any backend.
//! Shared by the native test binary (`tests/conformance.rs`) and the wasm32 tests of the bindings
//! crate, so it uses only `std` facilities that exist on `wasm32-unknown-unknown`.

use std::sync::Arc;

use bacalhau_state::clock::ManualClock;
use bacalhau_state::kv::Backend;
use bacalhau_state::{ComputeError, ExecutionStore, JobStore, JobStoreError, Policy, StoreBuilder};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Makes stores on one backend.
pub trait Factory {
    /// The backend.
    type B: Backend;
    /// Whether stores survive `reopen`.
    fn durable(&self) -> bool;
    /// A fresh compute store.
    fn compute(&mut self, builder: StoreBuilder) -> ExecutionStore<Self::B>;
    /// A fresh job store.
    fn jobs(&mut self, builder: StoreBuilder) -> JobStore<Self::B>;
    /// The same compute store after close and reopen.
    fn reopen_compute(&mut self, old: ExecutionStore<Self::B>, builder: StoreBuilder) -> ExecutionStore<Self::B>;
    /// The same job store after close and reopen.
    fn reopen_jobs(&mut self, old: JobStore<Self::B>, builder: StoreBuilder) -> JobStore<Self::B>;
}

type Outcome = Result<Value, (String, String)>;

fn arg<T: DeserializeOwned + Default>(args: &[Value], i: usize) -> Result<T, (String, String)> {
    match args.get(i) {
        None | Some(Value::Null) => Ok(T::default()),
        Some(v) => {
            serde_json::from_value(v.clone()).map_err(|e| ("InvalidArgument".into(), format!("argument {i}: {e}")))
        }
    }
}

fn ret<T: serde::Serialize>(r: Result<T, impl Into<Fail>>) -> Outcome {
    match r {
        Ok(v) => Ok(serde_json::to_value(v).expect("results serialize")),
        Err(e) => {
            let f: Fail = e.into();
            Err((f.0, f.1))
        }
    }
}

/// How a scenario transaction ends when it does not commit.
#[derive(Debug)]
enum TxEnd {
    Rollback,
    #[allow(dead_code)]
    Store(String),
}
impl From<ComputeError> for TxEnd {
    fn from(e: ComputeError) -> Self {
        TxEnd::Store(e.to_string())
    }
}
impl From<JobStoreError> for TxEnd {
    fn from(e: JobStoreError) -> Self {
        TxEnd::Store(e.to_string())
    }
}

struct Fail(String, String);
impl From<ComputeError> for Fail {
    fn from(e: ComputeError) -> Self {
        Fail(e.code().into(), e.to_string())
    }
}
impl From<JobStoreError> for Fail {
    fn from(e: JobStoreError) -> Self {
        Fail(e.code().into(), e.to_string())
    }
}

/// One dispatch table per store, used for the store itself and for a transaction handle.
macro_rules! compute_ops {
    ($r:expr, $op:expr, $a:expr) => {{
        let a: &[Value] = $a;
        match $op {
            "createExecution" => ret($r.create_execution(arg(a, 0)?)),
            "getExecution" => ret($r.get_execution(&arg::<String>(a, 0)?)),
            "getExecutions" => ret($r.get_executions(&arg::<String>(a, 0)?)),
            "getLiveExecutions" => ret($r.get_live_executions()),
            "getActiveExecution" => ret($r.get_active_execution(&arg::<String>(a, 0)?)),
            "getExecutionHistory" => ret($r.get_execution_history(&arg::<String>(a, 0)?, &arg(a, 1)?)),
            "listExecutions" => ret($r.list_executions(&arg(a, 0)?)),
            "updateExecutionState" => ret($r.update_execution_state(arg(a, 0)?)),
            "deleteExecution" => ret($r.delete_execution(&arg::<String>(a, 0)?)),
            "getExecutionCount" => ret($r.get_execution_count(arg(a, 0)?)),
            "stats" => ret($r.stats()),
            "eventsAfter" => ret($r.events_after(arg(a, 0)?, arg(a, 1)?)),
            "checkpoint" => ret($r.checkpoint(&arg::<String>(a, 0)?, arg(a, 1)?)),
            "getCheckpoint" => ret($r.get_checkpoint(&arg::<String>(a, 0)?)),
            "trimEvents" => ret($r.trim_events(arg(a, 0)?)),
            "exportSnapshot" => ret($r.export_snapshot().map(|b| hex(&b))),
            "importSnapshot" => ret($r.import_snapshot(&unhex(&arg::<String>(a, 0)?)?)),
            "check" => ret($r.check()),
            other => panic!("unknown compute op {other}"),
        }
    }};
}

macro_rules! job_ops {
    ($r:expr, $op:expr, $a:expr) => {{
        let a: &[Value] = $a;
        match $op {
            "createJob" => ret($r.create_job(arg(a, 0)?)),
            "getJob" => ret($r.get_job(&arg::<String>(a, 0)?)),
            "getJobs" => ret($r.get_jobs(&arg(a, 0)?)),
            "getInProgressJobs" => ret($r.get_in_progress_jobs()),
            "getJobHistory" => ret($r.get_job_history(&arg::<String>(a, 0)?, &arg(a, 1)?)),
            "updateJobState" => ret($r.update_job_state(arg(a, 0)?)),
            "deleteJob" => ret($r.delete_job(&arg::<String>(a, 0)?)),
            "createExecution" => ret($r.create_execution(arg(a, 0)?)),
            "getExecution" => ret($r.get_execution(&arg::<String>(a, 0)?)),
            "getExecutions" => ret($r.get_executions(&arg(a, 0)?)),
            "updateExecution" => ret($r.update_execution(arg(a, 0)?)),
            "createEvaluation" => ret($r.create_evaluation(arg(a, 0)?)),
            "getEvaluation" => ret($r.get_evaluation(&arg::<String>(a, 0)?)),
            "getEvaluations" => ret($r.get_evaluations(&arg::<String>(a, 0)?)),
            "updateEvaluation" => ret($r.update_evaluation(arg(a, 0)?)),
            "deleteEvaluation" => ret($r.delete_evaluation(&arg::<String>(a, 0)?)),
            "getJobCount" => ret($r.get_job_count(arg(a, 0)?)),
            "getExecutionCount" => ret($r.get_execution_count(arg(a, 0)?)),
            "stats" => ret($r.stats()),
            "eventsAfter" => ret($r.events_after(arg(a, 0)?, arg(a, 1)?)),
            "checkpoint" => ret($r.checkpoint(&arg::<String>(a, 0)?, arg(a, 1)?)),
            "getCheckpoint" => ret($r.get_checkpoint(&arg::<String>(a, 0)?)),
            "trimEvents" => ret($r.trim_events(arg(a, 0)?)),
            "exportSnapshot" => ret($r.export_snapshot().map(|b| hex(&b))),
            "importSnapshot" => ret($r.import_snapshot(&unhex(&arg::<String>(a, 0)?)?)),
            "check" => ret($r.check()),
            other => panic!("unknown job store op {other}"),
        }
    }};
}

/// Snapshot bytes travel through scenarios as lower-case hex.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Result<Vec<u8>, (String, String)> {
    let bad = || ("InvalidArgument".to_string(), format!("not hex: {s:.32}"));
    if s.len() % 2 != 0 {
        return Err(bad());
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|_| bad())).collect()
}

enum Store<B: Backend> {
    Compute(ExecutionStore<B>),
    Jobs(JobStore<B>),
    Gone,
}

struct Run<'f, F: Factory> {
    factory: &'f mut F,
    scenario: String,
    policy: Policy,
    clock: Arc<ManualClock>,
    defs: Map<String, Value>,
    saved: Map<String, Value>,
    store: Store<F::B>,
}

/// Runs every scenario of a JSON file; returns how many ran (durable-only ones are skipped on
/// non-durable factories). Panics with the scenario name and step on the first mismatch.
#[allow(dead_code)] // used by the wasm32 runner (bindings/tests), not by the native harness
pub fn run_file<F: Factory>(factory: &mut F, file: &str, json_text: &str) -> usize {
    let scenarios: Vec<Value> = serde_json::from_str(json_text).unwrap_or_else(|e| panic!("{file}: invalid JSON: {e}"));
    let mut ran = 0;
    for sc in &scenarios {
        if sc["durable"].as_bool() == Some(true) && !factory.durable() {
            continue;
        }
        run_scenario(factory, file, sc);
        ran += 1;
    }
    ran
}

/// The keys a scenario may have.
const SCENARIO_KEYS: &[&str] = &["name", "spec", "store", "policy", "clock", "durable", "defs", "steps"];
/// The keys of an operation step, at the top level or inside a transaction.
const OP_KEYS: &[&str] = &["op", "args", "expect", "expectAt", "expectLen", "error", "errorContains", "save", "repeat"];

/// Panics when `value` has a key outside `allowed`: a misspelt key would otherwise be ignored,
/// and the check it was meant to make silently skipped.
fn known_keys(at: &str, value: &Value, allowed: &[&str]) {
    let obj = value.as_object().unwrap_or_else(|| panic!("{at}: not an object"));
    for k in obj.keys() {
        assert!(allowed.contains(&k.as_str()), "{at}: unknown key {k:?} (allowed here: {allowed:?})");
    }
}

/// The keys a top-level step may have, by its kind (the first key the runner dispatches on).
fn step_keys(step: &Value) -> &'static [&'static str] {
    if step.get("setTime").is_some() {
        &["setTime"]
    } else if step.get("advanceTime").is_some() {
        &["advanceTime"]
    } else if step.get("reopen").is_some() {
        &["reopen"]
    } else if step.get("transaction").is_some() {
        &["transaction", "rollback"]
    } else {
        OP_KEYS
    }
}

/// Runs one scenario; panics with the scenario, step and a diff on the first mismatch, and on
/// any key the format does not define.
pub fn run_scenario<F: Factory>(factory: &mut F, file: &str, sc: &Value) {
    let name = format!("{file}: {}", sc["name"].as_str().unwrap_or("<unnamed>"));
    known_keys(&name, sc, SCENARIO_KEYS);
    let policy = match sc["policy"].as_str() {
        Some("permissive") => Policy::Permissive,
        _ => Policy::Strict,
    };
    let start = sc["clock"]["start"].as_i64().unwrap_or(0);
    let step = sc["clock"]["step"].as_i64().unwrap_or(0);
    let clock = Arc::new(ManualClock::stepping(start, step));
    let builder = StoreBuilder::new().policy(policy).clock(clock.clone());
    let store = match sc["store"].as_str() {
        Some("compute") => Store::Compute(factory.compute(builder)),
        Some("jobs") => Store::Jobs(factory.jobs(builder)),
        other => panic!("{name}: unknown store {other:?}"),
    };
    let defs = sc["defs"].as_object().cloned().unwrap_or_default();
    let mut run = Run { factory, scenario: name, policy, clock, defs, saved: Map::new(), store };
    let steps = sc["steps"].as_array().cloned().unwrap_or_default();
    for (i, step) in steps.iter().enumerate() {
        run.step(i, step);
    }
}

impl<F: Factory> Run<'_, F> {
    fn builder(&self) -> StoreBuilder {
        StoreBuilder::new().policy(self.policy).clock(self.clock.clone())
    }

    fn step(&mut self, i: usize, step: &Value) {
        let at = format!("{} [step {i}: {}]", self.scenario, step);
        known_keys(&at, step, step_keys(step));
        if let Some(n) = step.get("setTime") {
            self.clock.set(n.as_i64().expect("setTime takes nanoseconds"));
        } else if let Some(n) = step.get("advanceTime") {
            self.clock.advance(n.as_i64().expect("advanceTime takes nanoseconds"));
        } else if step.get("reopen").is_some() {
            let builder = self.builder();
            self.store = match std::mem::replace(&mut self.store, Store::Gone) {
                Store::Compute(s) => Store::Compute(self.factory.reopen_compute(s, builder)),
                Store::Jobs(s) => Store::Jobs(self.factory.reopen_jobs(s, builder)),
                Store::Gone => unreachable!(),
            };
        } else if let Some(inner) = step.get("transaction") {
            self.transaction(
                &at,
                inner.as_array().expect("transaction takes steps"),
                step["rollback"].as_bool() == Some(true),
            );
        } else if step["op"].as_str() == Some("close") {
            let outcome = match &self.store {
                Store::Compute(s) => ret(s.close()),
                Store::Jobs(s) => ret(s.close()),
                Store::Gone => unreachable!(),
            };
            self.check(&at, step, outcome);
        } else if let Some(n) = step["repeat"].as_u64() {
            let mut once = step.clone();
            once.as_object_mut().expect("step is an object").remove("repeat");
            for _ in 0..n {
                self.step(i, &once);
            }
        } else {
            let op = step["op"].as_str().unwrap_or_else(|| panic!("{at}: step without op"));
            let args = self.args(step);
            let outcome = match &self.store {
                Store::Compute(s) => (|| compute_ops!(s, op, &args))(),
                Store::Jobs(s) => (|| job_ops!(s, op, &args))(),
                Store::Gone => unreachable!(),
            };
            self.check(&at, step, outcome);
        }
    }

    fn args(&self, step: &Value) -> Vec<Value> {
        step["args"].as_array().map(|a| a.iter().map(|v| self.resolve(v)).collect()).unwrap_or_default()
    }

    fn transaction(&mut self, at: &str, steps: &[Value], rollback: bool) {
        // A nested step with `repeat` runs that many times, as at the top level.
        let prepared: Vec<(String, &Value, String, Vec<Value>)> = steps
            .iter()
            .enumerate()
            .flat_map(|(i, s)| {
                known_keys(&format!("{at} [nested {i}]"), s, OP_KEYS);
                let op = s["op"].as_str().unwrap_or_else(|| panic!("{at}: nested step {i} without op")).to_string();
                let n = s["repeat"].as_u64().unwrap_or(1);
                (0..n).map(move |_| (i, s, op.clone()))
            })
            .map(|(i, s, op)| (format!("{at} [nested {i}: {s}]"), s, op, self.args(s)))
            .collect();
        let mut outcomes: Vec<(String, &Value, Outcome)> = Vec::new();
        let result: Result<(), TxEnd> = match &self.store {
            Store::Compute(s) => s.transaction(|tx| {
                for (where_, step, op, args) in &prepared {
                    let o = (|| compute_ops!(tx, op.as_str(), args))();
                    outcomes.push((where_.clone(), *step, o));
                }
                if rollback {
                    Err(TxEnd::Rollback)
                } else {
                    Ok(())
                }
            }),
            Store::Jobs(s) => s.transaction(|tx| {
                for (where_, step, op, args) in &prepared {
                    let o = (|| job_ops!(tx, op.as_str(), args))();
                    outcomes.push((where_.clone(), *step, o));
                }
                if rollback {
                    Err(TxEnd::Rollback)
                } else {
                    Ok(())
                }
            }),
            Store::Gone => unreachable!(),
        };
        match (&result, rollback) {
            (Err(TxEnd::Rollback), true) => {}
            (Ok(()), false) => {}
            (r, _) => panic!("{at}: transaction result {r:?} (rollback requested: {rollback})"),
        }
        for (where_, step, outcome) in outcomes {
            self.check(&where_, step, outcome);
        }
    }

    fn check(&mut self, at: &str, step: &Value, outcome: Outcome) {
        match (step.get("error"), outcome) {
            (Some(code), Err((got, message))) => {
                assert_eq!(Some(got.as_str()), code.as_str(), "{at}: wrong error code ({message})");
                if let Some(text) = step["errorContains"].as_str() {
                    assert!(message.contains(text), "{at}: message {message:?} lacks {text:?}");
                }
            }
            (Some(code), Ok(v)) => panic!("{at}: expected error {code}, got {v}"),
            (None, Err((code, message))) => panic!("{at}: unexpected error {code}: {message}"),
            (None, Ok(v)) => {
                if let Some(expected) = step.get("expect") {
                    let expected = self.resolve(expected);
                    if let Err(path) = matches(&expected, &v, String::from("$")) {
                        panic!("{at}: mismatch at {path}\n expected: {expected}\n actual:   {v}");
                    }
                }
                if let Some(at_paths) = step["expectAt"].as_object() {
                    for (p, expected) in at_paths {
                        let actual = lookup_path(&v, p);
                        if let Err(path) = matches(&self.resolve(expected), &actual, p.clone()) {
                            panic!("{at}: mismatch at {path}: expected {expected}, actual {actual}");
                        }
                    }
                }
                if let Some(n) = step["expectLen"].as_u64() {
                    let list = v.get("items").unwrap_or(&v);
                    let len = list.as_array().map(Vec::len);
                    assert_eq!(len, Some(n as usize), "{at}: wrong length; actual {v}");
                }
                if let Some(name) = step["save"].as_str() {
                    self.saved.insert(name.into(), v);
                }
            }
        }
    }

    fn resolve(&self, v: &Value) -> Value {
        match v {
            Value::String(s) if s.starts_with("$saved:") => {
                let mut parts = s["$saved:".len()..].split('.');
                let root = parts.next().unwrap_or_default();
                let mut cur =
                    self.saved.get(root).unwrap_or_else(|| panic!("{}: nothing saved as {root}", self.scenario));
                for p in parts {
                    cur = match p.parse::<usize>() {
                        Ok(i) if cur.is_array() => &cur[i],
                        _ => &cur[p],
                    };
                }
                cur.clone()
            }
            Value::Object(o) if o.contains_key("$def") => {
                let name = o["$def"].as_str().expect("$def takes a name");
                let mut base =
                    self.resolve(self.defs.get(name).unwrap_or_else(|| panic!("{}: no def {name}", self.scenario)));
                if let Some(set) = o.get("set") {
                    merge(&mut base, &self.resolve(set));
                }
                base
            }
            Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), self.resolve(v))).collect()),
            Value::Array(a) => Value::Array(a.iter().map(|v| self.resolve(v)).collect()),
            other => other.clone(),
        }
    }
}

/// The value at a dotted path (`items.3.NewVersion`); null when absent.
pub fn lookup_path(v: &Value, path: &str) -> Value {
    let mut cur = v;
    for p in path.split('.') {
        cur = match p.parse::<usize>() {
            Ok(i) if cur.is_array() => &cur[i],
            _ => &cur[p],
        };
    }
    cur.clone()
}

fn merge(base: &mut Value, set: &Value) {
    match (base, set) {
        (Value::Object(b), Value::Object(s)) => {
            for (k, v) in s {
                merge(b.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (b, s) => *b = s.clone(),
    }
}

/// Partial match; returns the JSON path of the first mismatch.
pub fn matches(expected: &Value, actual: &Value, path: String) -> Result<(), String> {
    match (expected, actual) {
        (Value::String(s), a) if s == "$any" => {
            if a.is_null() {
                Err(path)
            } else {
                Ok(())
            }
        }
        (Value::String(s), a) if s == "$absent" => {
            if a.is_null() {
                Ok(())
            } else {
                Err(path)
            }
        }
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                let av = a.get(k).unwrap_or(&Value::Null);
                matches(ev, av, format!("{path}.{k}"))?;
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                return Err(format!("{path} (length {} != {})", e.len(), a.len()));
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                matches(ev, av, format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        (Value::Number(e), Value::Number(a)) => {
            let same = match (e.as_i64(), a.as_i64(), e.as_u64(), a.as_u64()) {
                (Some(x), Some(y), _, _) => x == y,
                (_, _, Some(x), Some(y)) => x == y,
                _ => e.as_f64() == a.as_f64(),
            };
            if same {
                Ok(())
            } else {
                Err(path)
            }
        }
        (e, a) => {
            if e == a {
                Ok(())
            } else {
                Err(path)
            }
        }
    }
}
