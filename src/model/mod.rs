//! The data model of SPEC §1, serialized in Bacalhau's JSON shapes (PascalCase keys, execution
//! states as integers, job states as names), so a record taken from a Bacalhau API response is
//! stored as is. Maps are `BTreeMap`s: encodings are deterministic, which makes snapshots
//! byte-identical across platforms.

mod evaluation;
mod execution;
mod history;
mod job;
mod local;
mod size;
mod stored;

pub use evaluation::Evaluation;
pub use execution::{AllocatedResources, Execution, RunCommandResult, SpecConfig};
pub use history::{JobHistory, LocalStateHistory, StateChange};
pub use job::{Constraint, Job, JobType, Task};
pub use local::LocalExecutionState;
pub(crate) use local::LocalView;
pub(crate) use stored::Stored;

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

/// Which field of a record a map key names (`None`: an unknown key, skipped): the field
/// identifier of every record's deserializer, shared, so each record does not carry its own copy
/// of the name matching. Accepts what serde's derived field identifiers accept: the name as text
/// or bytes, or the field's index.
#[doc(hidden)]
pub struct FieldIndex(pub &'static [&'static str]);

impl<'de> serde::de::DeserializeSeed<'de> for FieldIndex {
    type Value = Option<usize>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl serde::de::Visitor<'_> for FieldIndex {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("field identifier")
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Option<usize>, E> {
        Ok(usize::try_from(v).ok().filter(|i| *i < self.0.len()))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Option<usize>, E> {
        Ok(self.0.iter().position(|n| *n == v))
    }
    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Option<usize>, E> {
        Ok(self.0.iter().position(|n| n.as_bytes() == v))
    }
}

/// The key loop of every hand-written struct deserializer (records, snapshot bodies, the wasm
/// bindings' requests), with serde's derived behaviour: each key is looked up in `fields`, an
/// unknown key's value is skipped, a repeated key is refused (`duplicate field ...`), and
/// `field(i, map)` reads the value of field `i`. Returns the fields seen, one bit each (so at
/// most 64 fields). Always inlined, as the loop was when each macro spelled it out: called, it
/// made the wasm module 0.4 KB larger gzipped; inlined, 1.4 KB smaller than the three copies.
#[doc(hidden)]
#[inline(always)]
pub fn visit_fields<'de, A: serde::de::MapAccess<'de>>(
    map: &mut A,
    fields: &'static [&'static str],
    mut field: impl FnMut(usize, &mut A) -> Result<(), A::Error>,
) -> Result<u64, A::Error> {
    let mut seen: u64 = 0;
    while let Some(key) = map.next_key_seed(FieldIndex(fields))? {
        let Some(i) = key else {
            map.next_value::<serde::de::IgnoredAny>()?;
            continue;
        };
        if seen & (1 << i) != 0 {
            return Err(<A::Error as serde::de::Error>::duplicate_field(fields[i]));
        }
        seen |= 1 << i;
        field(i, map)?;
    }
    Ok(seen)
}

/// `Deserialize` for a record whose fields all default (`#[serde(default)]` on the struct) and
/// are renamed: the same behaviour as serde's derive (unknown keys skipped, duplicates refused,
/// missing fields defaulted, a sequence read positionally; the same messages), written so that
/// the record's fields are set in place and its keys looked up through [`FieldIndex`]. serde's
/// derived code keeps one optional local per field, matches names byte by byte in two copies
/// (text and bytes) and moves the record twice; here the wasm module holds a third of that.
/// Tests compare it with a derived twin of each record (`$twin`, test builds only).
macro_rules! record_deserialize {
    ($ty:ident, $name:literal, $twin:ident { $($i:literal $field:ident: $fty:ty = $key:literal),+ $(,)? }) => {
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                const FIELDS: &[&str] = &[$($key),+];
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                        f.write_str(concat!("struct ", $name))
                    }
                    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<$ty, A::Error> {
                        let mut out = <$ty as Default>::default();
                        $(
                            if let Some(v) = seq.next_element::<$fty>()? {
                                out.$field = v;
                            }
                        )+
                        Ok(out)
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<$ty, A::Error> {
                        let mut out = <$ty as Default>::default();
                        crate::model::visit_fields(&mut map, FIELDS, |i, map| {
                            match i {
                                $($i => out.$field = map.next_value::<$fty>()?,)+
                                _ => {}
                            }
                            Ok(())
                        })?;
                        Ok(out)
                    }
                }
                d.deserialize_struct($name, FIELDS, V)
            }
        }

        /// The derived deserializer of the same fields, which the hand-written one must match.
        #[cfg(test)]
        #[derive(Debug, serde::Deserialize)]
        #[serde(default, rename = $name)]
        #[allow(dead_code)]
        pub(crate) struct $twin {
            $(#[serde(rename = $key)] $field: $fty,)+
        }

        #[cfg(test)]
        impl Default for $twin {
            fn default() -> Self {
                let d = <$ty as Default>::default();
                $twin { $($field: d.$field,)+ }
            }
        }
    };
}
pub(crate) use record_deserialize;

/// A value the stores keep but never interpret (task specs, resources, publisher params): any
/// JSON-like tree. Map entries are kept sorted by key (as Go's JSON encoder writes them), so the
/// same value stores and exports the same bytes whatever order a caller's object had: JS objects
/// and JSON documents need not agree on key order.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Opaque(pub ciborium::Value);

impl<'de> Deserialize<'de> for Opaque {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut v = ciborium::Value::deserialize(d)?;
        canonicalize(&mut v);
        Ok(Opaque(v))
    }
}

fn canonicalize(v: &mut ciborium::Value) {
    use ciborium::Value;
    match v {
        Value::Map(entries) => {
            for (k, v) in entries.iter_mut() {
                canonicalize(k);
                canonicalize(v);
            }
            if entries.iter().all(|(k, _)| k.is_text()) {
                entries.sort_by(|(a, _), (b, _)| a.as_text().cmp(&b.as_text()));
            }
        }
        Value::Array(items) => items.iter_mut().for_each(canonicalize),
        Value::Tag(_, inner) => canonicalize(inner),
        _ => {}
    }
}

impl Default for Opaque {
    fn default() -> Self {
        Opaque(ciborium::Value::Map(Vec::new()))
    }
}

impl Opaque {
    /// The text under `key` when this is a map holding a string there.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(|v| v.as_text())
    }

    /// The value under `key` when this is a map.
    pub fn get(&self, key: &str) -> Option<&ciborium::Value> {
        self.0.as_map()?.iter().find(|(k, _)| k.as_text() == Some(key)).map(|(_, v)| v)
    }
}

/// A state with an optional human-readable reason (`State[T]` in Bacalhau).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State<T> {
    /// The state.
    #[serde(rename = "StateType")]
    pub state_type: T,
    /// Why it is in this state; empty when none was given.
    #[serde(rename = "Message", default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

impl<T> State<T> {
    /// A state without a message.
    pub fn new(state_type: T) -> Self {
        Self { state_type, message: String::new() }
    }
    /// A state with a message.
    pub fn with_message(state_type: T, message: impl Into<String>) -> Self {
        Self { state_type, message: message.into() }
    }
}

/// Checks shared by every record ID (SPEC §1.3, §1.5): non-empty, no whitespace, no NUL.
pub(crate) fn check_id(problems: &mut Vec<String>, what: &str, id: &str) {
    use alloc::format;
    if id.is_empty() {
        problems.push(format!("missing {what} ID"));
    } else if id.chars().any(char::is_whitespace) {
        problems.push(format!("{what} ID {} contains whitespace", crate::error::Quoted(id)));
    } else if id.contains('\0') {
        problems.push(format!("{what} ID contains a NUL character"));
    }
}

#[cfg(test)]
mod tests {
    //! The hand-written record deserializers against serde's derive of the same fields, on CBOR
    //! (the snapshot and wasm decoder) and JSON (the native API), valid and invalid input.

    use alloc::format;
    use alloc::string::String;
    use alloc::vec;
    use alloc::vec::Vec;
    use ciborium::Value;
    use core::fmt::Debug;
    use serde::de::DeserializeOwned;

    use super::evaluation::EvaluationTwin;
    use super::execution::{AllocatedResourcesTwin, ExecutionTwin, RunCommandResultTwin, SpecConfigTwin};
    use super::history::{JobHistoryTwin, LocalStateHistoryTwin};
    use super::job::{ConstraintTwin, JobTwin};
    use super::local::LocalExecutionStateTwin;
    use super::*;

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
        "ID",
        "Name",
        "Namespace",
        "Type",
        "Priority",
        "Count",
        "Constraints",
        "Meta",
        "Labels",
        "Tasks",
        "State",
        "Version",
        "Revision",
        "CreateTime",
        "ModifyTime",
        "Key",
        "Operator",
        "Values",
        "EvalID",
        "NodeID",
        "JobID",
        "Job",
        "AllocatedResources",
        "DesiredState",
        "ComputeState",
        "PublishedResult",
        "RunOutput",
        "PreviousExecution",
        "NextExecution",
        "FollowupEvalID",
        "Params",
        "Stdout",
        "StdoutTruncated",
        "stderr",
        "StderrTruncated",
        "ExitCode",
        "ErrorMsg",
        "TriggeredBy",
        "Status",
        "Comment",
        "WaitUntil",
        "Execution",
        "RequesterNodeID",
        "UpdateTime",
        "LatestComment",
        "ExecutionID",
        "JobState",
        "ExecutionState",
        "NewRevision",
        "Time",
        "SeqNum",
        "PreviousState",
        "NewState",
        "NewVersion",
        "id",
        "Other",
        "",
    ];

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    fn map(entries: Vec<(Value, Value)>) -> Value {
        Value::Map(entries)
    }

    /// A random value: scalars of every kind, and shapes the records hold.
    fn value(rng: &mut Rng, depth: u32) -> Value {
        match rng.below(if depth > 2 { 12 } else { 16 }) {
            0 => text("x"),
            1 => text(["Running", "pending", "BidAccepted", "New", "Stopped", "JobLevel"][rng.below(6)]),
            2 => text(["2024-01-02T03:04:05Z", "1970-01-01T00:00:01.5+02:00", "not a time"][rng.below(3)]),
            3 => Value::Integer([0i64, 1, 3, 7, -1, 1 << 40][rng.below(6)].into()),
            4 => Value::Integer(u64::MAX.into()),
            5 => Value::Float([0.5, 2.0, -1.0][rng.below(3)]),
            6 => Value::Bool(rng.below(2) == 0),
            7 => Value::Null,
            8 => Value::Bytes(vec![1, 2]),
            9 => Value::Array(vec![text("a"), text("b")]),
            10 => map(vec![(text("k"), text("v")), (text("z"), text("w"))]),
            11 => map(vec![(text("StateType"), value(rng, depth + 1)), (text("Message"), text("m"))]),
            12 => map(vec![(text("Previous"), value(rng, depth + 1)), (text("New"), value(rng, depth + 1))]),
            13 => Value::Array((0..rng.below(3)).map(|_| value(rng, depth + 1)).collect()),
            14 => map(vec![(text("Name"), text("t")), (text("Engine"), map(vec![(text("Type"), text("docker"))]))]),
            _ => record(rng, depth + 1),
        }
    }

    /// A random map with record keys (as text, bytes or field indexes), some repeated or unknown.
    fn record(rng: &mut Rng, depth: u32) -> Value {
        let n = rng.below(8);
        let entries = (0..n)
            .map(|_| {
                let name = KEYS[rng.below(KEYS.len())];
                let key = match rng.below(10) {
                    0 => Value::Bytes(name.as_bytes().to_vec()),
                    1 => Value::Integer((rng.below(20) as u64).into()),
                    _ => text(name),
                };
                (key, value(rng, depth + 1))
            })
            .collect();
        map(entries)
    }

    /// `v` as JSON text; map keys that are not text become text, duplicates are kept.
    fn json_text(v: &Value) -> String {
        match v {
            Value::Text(s) => serde_json::Value::from(s.as_str()).to_string(),
            Value::Integer(i) => match i64::try_from(*i) {
                Ok(n) => n.to_string(),
                Err(_) => u64::try_from(*i).unwrap().to_string(),
            },
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
                            Value::Integer(i) => format!("{}", i128::from(*i)),
                            other => format!("{other:?}"),
                        };
                        format!("{}:{}", serde_json::Value::from(k), json_text(v))
                    })
                    .collect();
                format!("{{{}}}", entries.join(","))
            }
            _ => String::from("null"),
        }
    }

    fn same<T: DeserializeOwned + Debug, Twin: DeserializeOwned + Debug>(name: &str, twin: &str, v: &Value) {
        // The twin's name shows in its Debug output and in derive's "expected struct ..." text.
        let strip = |s: String| s.replace(twin, name);
        let mut bytes = Vec::new();
        ciborium::into_writer(v, &mut bytes).unwrap();
        let ours = format!("{:?}", crate::snapshot::from_cbor::<T>(&bytes));
        let derived = strip(format!("{:?}", crate::snapshot::from_cbor::<Twin>(&bytes)));
        assert_eq!(ours, derived, "{name} from {v:?}");
        let j = json_text(v);
        let ours = format!("{:?}", serde_json::from_str::<T>(&j).map_err(|e| e.to_string()));
        let derived = strip(format!("{:?}", serde_json::from_str::<Twin>(&j).map_err(|e| e.to_string())));
        assert_eq!(ours, derived, "{name} from JSON {j}");
    }

    fn all(v: &Value) {
        same::<Job, JobTwin>("Job", "JobTwin", v);
        same::<Constraint, ConstraintTwin>("Constraint", "ConstraintTwin", v);
        same::<Execution, ExecutionTwin>("Execution", "ExecutionTwin", v);
        same::<AllocatedResources, AllocatedResourcesTwin>("AllocatedResources", "AllocatedResourcesTwin", v);
        same::<SpecConfig, SpecConfigTwin>("SpecConfig", "SpecConfigTwin", v);
        same::<RunCommandResult, RunCommandResultTwin>("RunCommandResult", "RunCommandResultTwin", v);
        same::<Evaluation, EvaluationTwin>("Evaluation", "EvaluationTwin", v);
        same::<LocalExecutionState, LocalExecutionStateTwin>("LocalExecutionState", "LocalExecutionStateTwin", v);
        same::<JobHistory, JobHistoryTwin>("JobHistory", "JobHistoryTwin", v);
        same::<LocalStateHistory, LocalStateHistoryTwin>("LocalStateHistory", "LocalStateHistoryTwin", v);
    }

    #[test]
    fn record_deserializers_behave_as_derived_ones() {
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        for _ in 0..4000 {
            let v = match rng.below(10) {
                // Positional (JSON arrays reach the sequence form).
                0 => Value::Array((0..rng.below(20)).map(|_| value(&mut rng, 1)).collect()),
                1 => value(&mut rng, 0),
                _ => record(&mut rng, 0),
            };
            all(&v);
        }
        // Every key of every record once, with a plausible value.
        for key in KEYS {
            for _ in 0..20 {
                let v = map(vec![(text(key), value(&mut rng, 1))]);
                all(&v);
            }
        }
    }
}
