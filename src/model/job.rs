//! Requester jobs (SPEC §1.3) and their opaque tasks (§1.4).

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use super::{check_id, Opaque, State};
use crate::error::{RecordKind, ValidationError};
use crate::state::JobStateType;

/// A job: what a user submitted plus the state the store manages.
///
/// `State`, `Revision`, `CreateTime` and `ModifyTime` are owned by the store: whatever a caller
/// puts there is replaced on create and on every state update.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(default)]
pub struct Job {
    /// Unique job ID (`j-<uuid>` usually); may contain `/`.
    #[serde(rename = "ID")]
    pub id: String,
    /// Logical name.
    #[serde(rename = "Name")]
    pub name: String,
    /// Tenant scope; `default` when empty.
    #[serde(rename = "Namespace")]
    pub namespace: String,
    /// `batch`, `service`, `daemon` or `ops`.
    #[serde(rename = "Type")]
    pub job_type: String,
    /// Scheduling priority.
    #[serde(rename = "Priority")]
    pub priority: i64,
    /// Desired replica count.
    #[serde(rename = "Count")]
    pub count: i64,
    /// Node selector requirements.
    #[serde(rename = "Constraints")]
    pub constraints: Vec<Constraint>,
    /// Free metadata.
    #[serde(rename = "Meta")]
    pub meta: BTreeMap<String, String>,
    /// User labels: keys feed the tag index, pairs are matched by label selectors.
    #[serde(rename = "Labels")]
    pub labels: BTreeMap<String, String>,
    /// Work definition; at least one, only the first is used.
    #[serde(rename = "Tasks")]
    pub tasks: Vec<Task>,
    /// Current state (store-managed).
    #[serde(rename = "State")]
    pub state: State<JobStateType>,
    /// Spec version (kept as given).
    #[serde(rename = "Version")]
    pub version: u64,
    /// Optimistic-concurrency counter: 1 on create, +1 per state update (store-managed).
    #[serde(rename = "Revision")]
    pub revision: u64,
    /// Nanoseconds since the Unix epoch (store-managed).
    #[serde(rename = "CreateTime")]
    pub create_time: i64,
    /// Nanoseconds since the Unix epoch (store-managed).
    #[serde(rename = "ModifyTime")]
    pub modify_time: i64,
}

super::record_deserialize!(Job, "Job", JobTwin {
    0 id: String = "ID",
    1 name: String = "Name",
    2 namespace: String = "Namespace",
    3 job_type: String = "Type",
    4 priority: i64 = "Priority",
    5 count: i64 = "Count",
    6 constraints: Vec<Constraint> = "Constraints",
    7 meta: BTreeMap<String, String> = "Meta",
    8 labels: BTreeMap<String, String> = "Labels",
    9 tasks: Vec<Task> = "Tasks",
    10 state: State<JobStateType> = "State",
    11 version: u64 = "Version",
    12 revision: u64 = "Revision",
    13 create_time: i64 = "CreateTime",
    14 modify_time: i64 = "ModifyTime",
});

/// A node selector requirement.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(default)]
pub struct Constraint {
    /// Node label key.
    #[serde(rename = "Key")]
    pub key: String,
    /// Operator (`=`, `!=`, `in`, `notin`, `exists`, `!`, `gt`, `lt`).
    #[serde(rename = "Operator")]
    pub operator: String,
    /// Operand values.
    #[serde(rename = "Values")]
    pub values: Vec<String>,
}

super::record_deserialize!(Constraint, "Constraint", ConstraintTwin {
    0 key: String = "Key",
    1 operator: String = "Operator",
    2 values: Vec<String> = "Values",
});

/// The job types Bacalhau schedules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobType {
    /// Runs to completion on `Count` nodes.
    Batch,
    /// Long-running on `Count` nodes.
    Service,
    /// Long-running on every matching node.
    Daemon,
    /// Runs to completion on every matching node.
    Ops,
}

impl JobType {
    /// Parses the job's `Type` field.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "batch" => Some(Self::Batch),
            "service" => Some(Self::Service),
            "daemon" => Some(Self::Daemon),
            "ops" => Some(Self::Ops),
            _ => None,
        }
    }
    /// The `Type` field value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Batch => "batch",
            Self::Service => "service",
            Self::Daemon => "daemon",
            Self::Ops => "ops",
        }
    }
    /// `service` and `daemon` never complete on their own.
    pub const fn is_long_running(self) -> bool {
        matches!(self, Self::Service | Self::Daemon)
    }
}

/// A task, kept opaque: the stores only need its `Name` and `Engine.Type` for validation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Task(pub Opaque);

impl Task {
    /// A minimal task: `{"Engine": {"Params": {}, "Type": engine}, "Name": name}` (keys in the
    /// canonical sorted order every `Opaque` value has).
    pub fn new(name: &str, engine: &str) -> Self {
        use ciborium::Value;
        let text = |s: &str| Value::Text(s.into());
        let engine = Value::Map(alloc::vec![(text("Params"), Value::Map(Vec::new())), (text("Type"), text(engine))]);
        Task(Opaque(Value::Map(alloc::vec![(text("Engine"), engine), (text("Name"), text(name))])))
    }

    /// The task's `Name`.
    pub fn name(&self) -> Option<&str> {
        self.0.get_str("Name")
    }

    /// The task's `Engine.Type`.
    pub fn engine_type(&self) -> Option<&str> {
        self.0.get("Engine")?.as_map()?.iter().find(|(k, _)| k.as_text() == Some("Type"))?.1.as_text()
    }
}

impl Job {
    /// The parsed job type, if valid.
    pub fn job_type(&self) -> Option<JobType> {
        JobType::parse(&self.job_type)
    }

    /// Fills defaults as Bacalhau's `Normalize` does: namespace `default`, count 1 for daemon and
    /// ops jobs when 0.
    pub fn normalize(&mut self) {
        if self.namespace.is_empty() {
            self.namespace = String::from("default");
        }
        if self.count == 0 && matches!(self.job_type(), Some(JobType::Daemon | JobType::Ops)) {
            self.count = 1;
        }
    }

    /// Bacalhau's `Validate`: every problem is reported at once.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut problems = Vec::new();
        check_id(&mut problems, "job", &self.id);
        if self.name.is_empty() {
            problems.push("missing job name".into());
        } else if self.name.contains('\0') {
            problems.push("job name contains a NUL character".into());
        }
        if self.namespace.is_empty() {
            problems.push("missing namespace".into());
        }
        if self.job_type().is_none() {
            problems.push(format!(
                "invalid job type {}: expected batch, service, daemon or ops",
                crate::error::Quoted(&self.job_type)
            ));
        }
        if self.count < 0 {
            problems.push(format!("count must be >= 0, got {}", self.count));
        }
        if self.tasks.is_empty() {
            problems.push("a job needs at least one task".into());
        }
        for (i, t) in self.tasks.iter().enumerate() {
            if t.name().is_none_or(str::is_empty) {
                problems.push(format!("task {i}: missing name"));
            }
            if t.engine_type().is_none_or(str::is_empty) {
                problems.push(format!("task {i}: missing engine type"));
            }
        }
        for (i, c) in self.constraints.iter().enumerate() {
            if c.key.is_empty() {
                problems.push(format!("constraint {i}: missing key"));
            }
        }
        use crate::limits::{check_len, check_map, MAX_ID, MAX_NAME};
        check_len(&mut problems, "job ID", &self.id, MAX_ID);
        check_len(&mut problems, "namespace", &self.namespace, MAX_ID);
        check_len(&mut problems, "job name", &self.name, MAX_NAME);
        check_map(&mut problems, "labels", &self.labels);
        check_map(&mut problems, "meta", &self.meta);
        super::size::check_record(&mut problems, self);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ValidationError { kind: RecordKind::Job, id: self.id.clone(), problems })
        }
    }

    /// Whether the job's state accepts no further update.
    pub fn is_terminal(&self) -> bool {
        self.state.state_type.is_terminal()
    }
}
