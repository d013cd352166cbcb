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

pub use evaluation::Evaluation;
pub use execution::{AllocatedResources, Execution, RunCommandResult, SpecConfig};
pub use history::{JobHistory, LocalStateHistory, StateChange};
pub use job::{Constraint, Job, JobType, Task};
pub use local::LocalExecutionState;
pub(crate) use local::LocalView;

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

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
        problems.push(format!("{what} ID {id:?} contains whitespace"));
    } else if id.contains('\0') {
        problems.push(format!("{what} ID contains a NUL character"));
    }
}
