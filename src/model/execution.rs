//! Requester-side executions (SPEC §1.5).

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use serde::Serialize;

use super::{check_id, Job, Opaque, State};
use crate::error::{RecordKind, ValidationError};
use crate::state::{ExecutionDesiredStateType, ExecutionStateType};

/// One placement of a job on a compute node.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(default)]
pub struct Execution {
    /// Unique execution ID (`e-<uuid>`), unique across jobs.
    #[serde(rename = "ID")]
    pub id: String,
    /// Copied from the job.
    #[serde(rename = "Namespace")]
    pub namespace: String,
    /// Evaluation that created it.
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    /// Optional name.
    #[serde(rename = "Name")]
    pub name: String,
    /// Target compute node.
    #[serde(rename = "NodeID")]
    pub node_id: String,
    /// Parent job.
    #[serde(rename = "JobID")]
    pub job_id: String,
    /// The job: never stored by the job store (joined on read with `include_job`); the compute
    /// store keeps the job its requester sent. Shared, not copied: a record is cloned several
    /// times per state change (the stored record, its event), and the job is most of its size.
    #[serde(rename = "Job", skip_serializing_if = "Option::is_none")]
    pub job: Option<Arc<Job>>,
    /// Resources per task.
    #[serde(rename = "AllocatedResources")]
    pub allocated_resources: AllocatedResources,
    /// What the orchestrator wants.
    #[serde(rename = "DesiredState")]
    pub desired_state: State<ExecutionDesiredStateType>,
    /// What was last observed or reported.
    #[serde(rename = "ComputeState")]
    pub compute_state: State<ExecutionStateType>,
    /// Where the result went.
    #[serde(rename = "PublishedResult")]
    pub published_result: Option<SpecConfig>,
    /// Output of the run.
    #[serde(rename = "RunOutput")]
    pub run_output: Option<RunCommandResult>,
    /// (unused upstream)
    #[serde(rename = "PreviousExecution")]
    pub previous_execution: String,
    /// (unused upstream)
    #[serde(rename = "NextExecution")]
    pub next_execution: String,
    /// (unused upstream)
    #[serde(rename = "FollowupEvalID")]
    pub followup_eval_id: String,
    /// 1 on create, +1 per update (store-managed in the job store).
    #[serde(rename = "Revision")]
    pub revision: u64,
    /// Nanoseconds since the Unix epoch.
    #[serde(rename = "CreateTime")]
    pub create_time: i64,
    /// Nanoseconds since the Unix epoch.
    #[serde(rename = "ModifyTime")]
    pub modify_time: i64,
}

super::record_deserialize!(Execution, "Execution", ExecutionTwin {
    0 id: String = "ID",
    1 namespace: String = "Namespace",
    2 eval_id: String = "EvalID",
    3 name: String = "Name",
    4 node_id: String = "NodeID",
    5 job_id: String = "JobID",
    6 job: Option<Arc<Job>> = "Job",
    7 allocated_resources: AllocatedResources = "AllocatedResources",
    8 desired_state: State<ExecutionDesiredStateType> = "DesiredState",
    9 compute_state: State<ExecutionStateType> = "ComputeState",
    10 published_result: Option<SpecConfig> = "PublishedResult",
    11 run_output: Option<RunCommandResult> = "RunOutput",
    12 previous_execution: String = "PreviousExecution",
    13 next_execution: String = "NextExecution",
    14 followup_eval_id: String = "FollowupEvalID",
    15 revision: u64 = "Revision",
    16 create_time: i64 = "CreateTime",
    17 modify_time: i64 = "ModifyTime",
});

/// Resources allocated to each task, by task name (opaque values).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(default)]
pub struct AllocatedResources {
    /// Per task name.
    #[serde(rename = "Tasks")]
    pub tasks: BTreeMap<String, Opaque>,
}

super::record_deserialize!(AllocatedResources, "AllocatedResources", AllocatedResourcesTwin {
    0 tasks: BTreeMap<String, Opaque> = "Tasks",
});

/// A typed plugin configuration (`SpecConfig`): a type name and opaque parameters.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(default)]
pub struct SpecConfig {
    /// Plugin type.
    #[serde(rename = "Type")]
    pub spec_type: String,
    /// Plugin parameters (omitted when empty, as Go's `omitempty` does).
    #[serde(rename = "Params", skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, Opaque>,
}

super::record_deserialize!(SpecConfig, "SpecConfig", SpecConfigTwin {
    0 spec_type: String = "Type",
    1 params: BTreeMap<String, Opaque> = "Params",
});

/// The output of a run. Note the lower-case `stderr` key, as Bacalhau writes it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(default)]
pub struct RunCommandResult {
    /// Captured standard output.
    #[serde(rename = "Stdout")]
    pub stdout: String,
    /// Whether stdout was truncated.
    #[serde(rename = "StdoutTruncated")]
    pub stdout_truncated: bool,
    /// Captured standard error.
    #[serde(rename = "stderr")]
    pub stderr: String,
    /// Whether stderr was truncated.
    #[serde(rename = "StderrTruncated")]
    pub stderr_truncated: bool,
    /// Process exit code.
    #[serde(rename = "ExitCode")]
    pub exit_code: i64,
    /// Error text, if the run failed to start.
    #[serde(rename = "ErrorMsg")]
    pub error_msg: String,
}

super::record_deserialize!(RunCommandResult, "RunCommandResult", RunCommandResultTwin {
    0 stdout: String = "Stdout",
    1 stdout_truncated: bool = "StdoutTruncated",
    2 stderr: String = "stderr",
    3 stderr_truncated: bool = "StderrTruncated",
    4 exit_code: i64 = "ExitCode",
    5 error_msg: String = "ErrorMsg",
});

impl Execution {
    /// Bacalhau's `Normalize`: also normalizes the embedded job.
    pub fn normalize(&mut self) {
        if let Some(job) = self.job.as_mut() {
            Arc::make_mut(job).normalize();
        }
    }

    /// Bacalhau's `Validate`: ID, namespace and job ID are required.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut problems = Vec::new();
        check_id(&mut problems, "execution", &self.id);
        if self.namespace.is_empty() {
            problems.push("missing namespace".into());
        }
        if self.job_id.is_empty() {
            problems.push("missing job ID".into());
        }
        self.check_limits(&mut problems);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ValidationError { kind: RecordKind::Execution, id: self.id.clone(), problems })
        }
    }

    /// Size limits of every field a caller sets (see [`crate::limits`]).
    pub(crate) fn check_limits(&self, problems: &mut Vec<String>) {
        use crate::limits::{check_len, MAX_ID, MAX_MESSAGE, MAX_NAME};
        for (what, v) in [
            ("execution ID", &self.id),
            ("namespace", &self.namespace),
            ("job ID", &self.job_id),
            ("node ID", &self.node_id),
            ("evaluation ID", &self.eval_id),
            ("previous execution", &self.previous_execution),
            ("next execution", &self.next_execution),
            ("follow-up evaluation", &self.followup_eval_id),
        ] {
            check_len(problems, what, v, MAX_ID);
        }
        check_len(problems, "execution name", &self.name, MAX_NAME);
        check_len(problems, "compute state message", &self.compute_state.message, MAX_MESSAGE);
        check_len(problems, "desired state message", &self.desired_state.message, MAX_MESSAGE);
        super::size::check_record(problems, self);
    }

    /// Compute-terminal or desired `Stopped`.
    pub fn is_terminal_state(&self) -> bool {
        self.compute_state.state_type.is_terminal()
            || self.desired_state.state_type == ExecutionDesiredStateType::Stopped
    }
}
