//! Deserializers of the request and query arguments (`updateExecution`'s request, `getJobs`'
//! query...). The core's requests derive `Deserialize`; serde's derived code for a struct keeps
//! one optional local per field and matches field names byte by byte in two copies, which for
//! these wide structs of optional fields made them the largest functions of the module. Here
//! each request is decoded through `Arg<T>` into `T::default()` in place, its keys looked up in
//! one shared key loop ([`visit_fields`]), with the derive's exact behaviour: unknown keys
//! skipped, a repeated key refused (`duplicate field ...`), missing fields defaulted, a
//! sequence read positionally, the same "expected struct ..." text. The tests compare each one
//! with the core's derived impl on random CBOR and JSON input, so a field added to a request in
//! the core fails them (and the struct literal below does not need one: fields are set on
//! `T::default()`).

use bacalhau_state::compute::UpdateExecutionStateRequest;
use bacalhau_state::jobstore::{
    ExecutionPatch, GetExecutionsOptions, JobHistoryQuery, JobQuery, UpdateEvaluationRequest, UpdateExecutionRequest,
    UpdateJobStateRequest,
};
use bacalhau_state::model::{visit_fields, AllocatedResources, RunCommandResult, SpecConfig};
use bacalhau_state::selector::Selector;
use bacalhau_state::state::{
    EvaluationStatus, ExecutionDesiredStateType, ExecutionStateType, JobStateType, LocalExecutionStateType,
};
use bacalhau_state::PageRequest;
use serde::de::{self, Deserialize, Deserializer};

/// A request or query decoded by this module's deserializers.
#[derive(Debug, Default)]
pub(crate) struct Arg<T>(pub T);

/// A field with serde's `deserialize_with = "double_option"`: present (even `null`) is `Some`.
struct DoubleOption<T>(Option<Option<T>>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for DoubleOption<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Option::<T>::deserialize(d).map(|v| DoubleOption(Some(v)))
    }
}

/// The type a field is read as: itself (`plain`), through `Arg` (`arg`, a nested request) or
/// as a double option (`double`).
macro_rules! field_type {
    (plain $t:ty) => { $t };
    (arg $t:ty) => { Arg<$t> };
    (double $t:ty) => { DoubleOption<$t> };
}

/// The field's value from what was read.
macro_rules! field_value {
    (plain $v:expr) => {
        $v
    };
    (arg $v:expr) => {
        $v.0
    };
    (double $v:expr) => {
        $v.0
    };
}

macro_rules! arg_deserialize {
    ($ty:ident, $name:literal { $($i:literal $field:ident: $kind:ident $fty:ty = $key:literal),+ $(,)? }) => {
        impl<'de> Deserialize<'de> for Arg<$ty> {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                const FIELDS: &[&str] = &[$($key),+];
                struct V;
                impl<'de> de::Visitor<'de> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                        f.write_str(concat!("struct ", $name))
                    }
                    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<$ty, A::Error> {
                        let mut out = <$ty as Default>::default();
                        $(
                            if let Some(v) = seq.next_element::<field_type!($kind $fty)>()? {
                                out.$field = field_value!($kind v);
                            }
                        )+
                        Ok(out)
                    }
                    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<$ty, A::Error> {
                        let mut out = <$ty as Default>::default();
                        visit_fields(&mut map, FIELDS, |i, map| {
                            match i {
                                $($i => {
                                    let v = map.next_value::<field_type!($kind $fty)>()?;
                                    out.$field = field_value!($kind v);
                                })+
                                _ => {}
                            }
                            Ok(())
                        })?;
                        Ok(out)
                    }
                }
                d.deserialize_struct($name, FIELDS, V).map(Arg)
            }
        }
    };
}

arg_deserialize!(UpdateJobStateRequest, "UpdateJobStateRequest" {
    0 job_id: plain String = "jobId",
    1 new_state: plain JobStateType = "newState",
    2 expected_state: plain JobStateType = "expectedState",
    3 unexpected_states: plain Vec<JobStateType> = "unexpectedStates",
    4 expected_revision: plain u64 = "expectedRevision",
    5 comment: plain String = "comment",
});

arg_deserialize!(ExecutionPatch, "ExecutionPatch" {
    0 compute_state: plain Option<ExecutionStateType> = "computeState",
    1 compute_message: plain Option<String> = "computeMessage",
    2 desired_state: plain Option<ExecutionDesiredStateType> = "desiredState",
    3 desired_message: plain Option<String> = "desiredMessage",
    4 node_id: plain Option<String> = "nodeId",
    5 eval_id: plain Option<String> = "evalId",
    6 name: plain Option<String> = "name",
    7 allocated_resources: plain Option<AllocatedResources> = "allocatedResources",
    8 published_result: double SpecConfig = "publishedResult",
    9 run_output: double RunCommandResult = "runOutput",
    10 previous_execution: plain Option<String> = "previousExecution",
    11 next_execution: plain Option<String> = "nextExecution",
    12 followup_eval_id: plain Option<String> = "followupEvalId",
});

arg_deserialize!(UpdateExecutionRequest, "UpdateExecutionRequest" {
    0 execution_id: plain String = "executionId",
    1 expected_states: plain Vec<ExecutionStateType> = "expectedStates",
    2 expected_revision: plain u64 = "expectedRevision",
    3 unexpected_states: plain Vec<ExecutionStateType> = "unexpectedStates",
    4 expected_desired_states: plain Vec<ExecutionDesiredStateType> = "expectedDesiredStates",
    5 patch: arg ExecutionPatch = "patch",
    6 comment: plain String = "comment",
});

arg_deserialize!(UpdateEvaluationRequest, "UpdateEvaluationRequest" {
    0 evaluation_id: plain String = "evaluationId",
    1 new_status: plain EvaluationStatus = "newStatus",
    2 expected_status: plain Option<EvaluationStatus> = "expectedStatus",
    3 comment: plain Option<String> = "comment",
});

arg_deserialize!(JobQuery, "JobQuery" {
    0 namespace: plain String = "namespace",
    1 include_tags: plain Vec<String> = "includeTags",
    2 exclude_tags: plain Vec<String> = "excludeTags",
    3 selector: plain Option<Selector> = "selector",
    4 sort_by: plain bacalhau_state::jobstore::JobSortBy = "sortBy",
    5 reverse: plain bool = "reverse",
    6 limit: plain u32 = "limit",
    7 offset: plain u32 = "offset",
    8 next_token: plain Option<String> = "nextToken",
});

arg_deserialize!(GetExecutionsOptions, "GetExecutionsOptions" {
    0 job_id: plain Option<String> = "jobId",
    1 node_id: plain Option<String> = "nodeId",
    2 in_progress_only: plain bool = "inProgressOnly",
    3 include_job: plain bool = "includeJob",
});

arg_deserialize!(JobHistoryQuery, "JobHistoryQuery" {
    0 since: plain i64 = "since",
    1 exclude_execution_level: plain bool = "excludeExecutionLevel",
    2 exclude_job_level: plain bool = "excludeJobLevel",
    3 execution_id: plain String = "executionId",
    4 node_id: plain String = "nodeId",
    5 limit: plain u32 = "limit",
    6 next_token: plain Option<String> = "nextToken",
});

arg_deserialize!(UpdateExecutionStateRequest, "UpdateExecutionStateRequest" {
    0 execution_id: plain String = "executionId",
    1 new_state: plain LocalExecutionStateType = "newState",
    2 expected_states: plain Vec<LocalExecutionStateType> = "expectedStates",
    3 expected_version: plain u64 = "expectedVersion",
    4 comment: plain String = "comment",
});

arg_deserialize!(PageRequest, "PageRequest" {
    0 limit: plain u32 = "limit",
    1 next_token: plain Option<String> = "nextToken",
});

#[cfg(test)]
mod tests {
    //! Each `Arg` deserializer against the core's derived one, on CBOR (what the bindings
    //! decode) and JSON, valid and invalid input. Runs natively: `cargo test -p
    //! bacalhau-state-wasm --lib` (part of `just wasm-test`).

    use super::*;
    use bacalhau_state::snapshot::from_cbor;
    use ciborium::Value;
    use core::fmt::Debug;
    use serde::de::DeserializeOwned;

    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    const KEYS: &[&str] = &[
        "jobId",
        "newState",
        "expectedState",
        "unexpectedStates",
        "expectedRevision",
        "comment",
        "computeState",
        "computeMessage",
        "desiredState",
        "desiredMessage",
        "nodeId",
        "evalId",
        "name",
        "allocatedResources",
        "publishedResult",
        "runOutput",
        "previousExecution",
        "nextExecution",
        "followupEvalId",
        "executionId",
        "expectedStates",
        "expectedDesiredStates",
        "patch",
        "evaluationId",
        "newStatus",
        "expectedStatus",
        "namespace",
        "includeTags",
        "excludeTags",
        "selector",
        "sortBy",
        "reverse",
        "limit",
        "offset",
        "nextToken",
        "inProgressOnly",
        "includeJob",
        "since",
        "excludeExecutionLevel",
        "excludeJobLevel",
        "expectedVersion",
        "job_id",
        "other",
        "",
    ];

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    fn value(rng: &mut Rng, depth: u32) -> Value {
        match rng.below(if depth > 2 { 13 } else { 16 }) {
            0 => text("x"),
            1 => text(["Running", "pending", "BidAccepted", "New", "Stopped", "failed", " running "][rng.below(7)]),
            2 => text(
                ["gpu=true,zone in (a,b)", "!x", "a in (", "created_at", "modifiedAt", "id", "create_time"]
                    [rng.below(7)],
            ),
            3 => Value::Integer([0i64, 1, 3, 7, -1, 1 << 40][rng.below(6)].into()),
            4 => Value::Integer(u64::MAX.into()),
            5 => Value::Float([0.5, 2.0, -1.0][rng.below(3)]),
            6 => Value::Bool(rng.below(2) == 0),
            7 => Value::Null,
            8 => Value::Bytes(vec![1, 2]),
            9 => Value::Array(vec![text("Running"), Value::Integer(2.into())]),
            10 => Value::Map(vec![(text("Type"), text("ipfs")), (text("Params"), Value::Map(vec![]))]),
            11 => Value::Map(vec![(text("Tasks"), Value::Map(vec![(text("t"), text("v"))]))]),
            12 => Value::Map(vec![(text("Stdout"), text("o")), (text("ExitCode"), Value::Integer(3.into()))]),
            13 => Value::Array((0..rng.below(3)).map(|_| value(rng, depth + 1)).collect()),
            _ => request(rng, depth + 1),
        }
    }

    fn request(rng: &mut Rng, depth: u32) -> Value {
        let n = rng.below(8);
        Value::Map(
            (0..n)
                .map(|_| {
                    let name = KEYS[rng.below(KEYS.len())];
                    let key = match rng.below(10) {
                        0 => Value::Bytes(name.as_bytes().to_vec()),
                        1 => Value::Integer((rng.below(15) as u64).into()),
                        _ => text(name),
                    };
                    (key, value(rng, depth + 1))
                })
                .collect(),
        )
    }

    fn json_text(v: &Value) -> String {
        match v {
            Value::Text(s) => serde_json::Value::from(s.as_str()).to_string(),
            Value::Integer(i) => i128::from(*i).to_string(),
            Value::Float(f) => serde_json::Value::from(*f).to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Bytes(b) => serde_json::Value::from(b.clone()).to_string(),
            Value::Array(a) => format!("[{}]", a.iter().map(json_text).collect::<Vec<_>>().join(",")),
            Value::Map(m) => {
                let entries: Vec<String> = m
                    .iter()
                    .map(|(k, v)| {
                        let k = match k {
                            Value::Text(s) => s.clone(),
                            Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
                            Value::Integer(i) => i128::from(*i).to_string(),
                            other => format!("{other:?}"),
                        };
                        format!("{}:{}", serde_json::Value::from(k), json_text(v))
                    })
                    .collect();
                format!("{{{}}}", entries.join(","))
            }
            _ => "null".into(),
        }
    }

    fn same<T: DeserializeOwned + Debug>(v: &Value)
    where
        Arg<T>: DeserializeOwned,
    {
        let mut bytes = Vec::new();
        ciborium::into_writer(v, &mut bytes).unwrap();
        let ours = format!("{:?}", from_cbor::<Arg<T>>(&bytes).map(|a| a.0));
        let derived = format!("{:?}", from_cbor::<T>(&bytes));
        assert_eq!(ours, derived, "{} from {v:?}", core::any::type_name::<T>());
        let j = json_text(v);
        let ours = format!("{:?}", serde_json::from_str::<Arg<T>>(&j).map(|a| a.0).map_err(|e| e.to_string()));
        let derived = format!("{:?}", serde_json::from_str::<T>(&j).map_err(|e| e.to_string()));
        assert_eq!(ours, derived, "{} from JSON {j}", core::any::type_name::<T>());
    }

    fn all(v: &Value) {
        same::<UpdateJobStateRequest>(v);
        same::<ExecutionPatch>(v);
        same::<UpdateExecutionRequest>(v);
        same::<UpdateEvaluationRequest>(v);
        same::<JobQuery>(v);
        same::<GetExecutionsOptions>(v);
        same::<JobHistoryQuery>(v);
        same::<UpdateExecutionStateRequest>(v);
        same::<PageRequest>(v);
    }

    #[test]
    fn request_deserializers_behave_as_derived_ones() {
        let mut rng = Rng(0x853C_49E6_748F_EA9B);
        for _ in 0..4000 {
            let v = match rng.below(10) {
                0 => Value::Array((0..rng.below(14)).map(|_| value(&mut rng, 1)).collect()),
                1 => value(&mut rng, 0),
                _ => request(&mut rng, 0),
            };
            all(&v);
        }
        for key in KEYS {
            for _ in 0..30 {
                all(&Value::Map(vec![(text(key), value(&mut rng, 1))]));
            }
        }
    }
}
