//! `simulate`: a requester and K compute nodes in one process, driving N jobs through the strict
//! transition graphs of SPEC §2.9–§2.11 on the configured stores.
//!
//! # How a run proceeds, and why it can be resumed
//!
//! The driver keeps no state of its own. Each job is a small state machine over what the stores
//! hold: every round it reads the job, its evaluations and executions (requester store) and each
//! execution's local record (the compute store of the execution's node), picks exactly one next
//! step and writes it, in one transaction on one store. Every decision (job type, node, whether a
//! node declines, whether a run fails, ...) is a pure function of `--seed` and the job's index,
//! slot and attempt (see `plan`), and IDs are derived the same way. So:
//!
//! * a killed run leaves every job at a state the uninterrupted run also passed through (each
//!   step is one atomic commit), and rerunning with the same arguments continues each job from
//!   there, making the same decisions: no duplicates, no lost jobs, the same final counts;
//! * a step whose compute-side write committed but whose requester-side report did not is seen
//!   as such (the local record is ahead) and only the report is written.
//!
//! Up to `--concurrency` jobs are in flight; a round's requester steps commit in one
//! transaction and each node's compute steps in one transaction per node (one fsync each).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Result};
use bacalhau_state::compute::UpdateExecutionStateRequest;
use bacalhau_state::config::StoreType;
use bacalhau_state::error::{ComputeError, JobStoreError};
use bacalhau_state::jobstore::{
    ExecutionPatch, GetExecutionsOptions, UpdateEvaluationRequest, UpdateExecutionRequest, UpdateJobStateRequest,
};
use bacalhau_state::kv::memory::MemoryBackend;
use bacalhau_state::kv::{Backend, StoreKind};
use bacalhau_state::model::{
    Evaluation, Execution, Job, JobType, LocalExecutionState, RunCommandResult, SpecConfig, State,
};
use bacalhau_state::state::{
    EvaluationStatus, ExecutionDesiredStateType as D, ExecutionStateType as X, JobStateType as J,
    LocalExecutionStateType as L,
};
use bacalhau_state::{ExecutionStore, JobStore, StoreBuilder};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::ctx::{self, Node};
use crate::maint::{compute_report, print_reports, requester_report, StoreReport};
use crate::plan::{id_hash, ExecPlan, JobPlan, Params};
use crate::{GlobalArgs, OutputFormat};

/// Options of `simulate`.
#[derive(Args, Debug, Clone)]
#[command(after_help = "Resumable: if the run is killed, run the same command again; it continues \
each job from what the stores hold and creates the jobs still missing. Decisions depend only on \
--seed, so the same seed gives the same final counts. Compute node i >= 1 keeps its store at the \
compute store path with -<i> inserted before the extension.")]
pub struct SimulateArgs {
    /// Jobs to submit
    #[arg(long, default_value_t = 1000)]
    pub jobs: u64,
    /// Compute nodes (K)
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub nodes: u64,
    /// Seed of every random decision
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Probability that an execution fails while running (0..=1)
    #[arg(long, default_value_t = 0.1, value_parser = parse_rate)]
    pub failure_rate: f64,
    /// Retries of a failed or rejected execution before its job fails
    #[arg(long, default_value_t = 2)]
    pub max_retries: u32,
    /// Jobs in flight at once
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub concurrency: u64,
    /// No progress bar (it is also hidden when stderr is not a terminal)
    #[arg(long, short)]
    pub quiet: bool,
}

fn parse_rate(s: &str) -> Result<f64, String> {
    let v: f64 = s.trim().parse().map_err(|_| format!("{s:?} is not a number"))?;
    if !(0.0..=1.0).contains(&v) {
        return Err(format!("{v} is not between 0 and 1"));
    }
    Ok(v)
}

/// Runs the simulation.
pub fn run(g: &GlobalArgs, a: &SimulateArgs) -> Result<ExitCode> {
    let node = ctx::resolve(g, true)?;
    let k = a.nodes as usize;
    let mem_note = |what: &str| {
        eprintln!(
            "note: the {what} is inmemory: nothing will persist after this run ends (use boltdb/redb to keep it)"
        );
    };
    if node.cfg.requester.store_type == StoreType::InMemory {
        mem_note("requester job store");
    }
    if node.cfg.compute.store_type == StoreType::InMemory {
        mem_note("compute execution store");
    }
    let req_durable = node.cfg.requester.store_type == StoreType::Durable;
    let comp_durable = node.cfg.compute.store_type == StoreType::Durable;
    match (req_durable, comp_durable) {
        (true, true) => drive(&node, a, open_jobs(&node)?, open_computes(&node, k)?),
        (true, false) => drive(&node, a, open_jobs(&node)?, mem_computes(k)),
        (false, true) => drive(&node, a, mem_jobs(), open_computes(&node, k)?),
        (false, false) => drive(&node, a, mem_jobs(), mem_computes(k)),
    }
}

const WRITER_LOCK_TIMEOUT: Duration = Duration::from_secs(2);

fn open_jobs(node: &Node) -> Result<JobStore<bacalhau_state::kv::redb::RedbBackend>> {
    let s = &node.cfg.requester;
    s.prepare().map_err(|e| ctx::usage(e.to_string()))?;
    let b = ctx::open_rw(&s.path, StoreKind::Requester, s.path_source, WRITER_LOCK_TIMEOUT, true)?;
    Ok(StoreBuilder::new().jobs(b))
}

fn open_computes(node: &Node, k: usize) -> Result<Vec<ExecutionStore<bacalhau_state::kv::redb::RedbBackend>>> {
    let s = &node.cfg.compute;
    s.prepare().map_err(|e| ctx::usage(e.to_string()))?;
    (0..k)
        .map(|i| {
            let b = ctx::open_rw(&node.compute_path(i), StoreKind::Compute, s.path_source, WRITER_LOCK_TIMEOUT, true)?;
            Ok(StoreBuilder::new().compute(b))
        })
        .collect()
}

fn mem_jobs() -> JobStore<MemoryBackend> {
    StoreBuilder::new().jobs(MemoryBackend::new())
}

fn mem_computes(k: usize) -> Vec<ExecutionStore<MemoryBackend>> {
    (0..k).map(|_| StoreBuilder::new().compute(MemoryBackend::new())).collect()
}

/// One write on the requester store.
#[allow(clippy::large_enum_variant)]
enum ReqOp {
    CreateJob(Box<Job>),
    CreateEval(Evaluation),
    UpdateJob(UpdateJobStateRequest),
    CreateExec(Box<Execution>),
    UpdateExec(UpdateExecutionRequest),
    UpdateEval(UpdateEvaluationRequest),
}

/// One write on a compute store.
enum CompOp {
    Create(Box<LocalExecutionState>),
    Update(UpdateExecutionStateRequest),
}

enum Step {
    Settled,
    Req(Vec<ReqOp>),
    Comp(usize, CompOp),
}

/// What the stores hold about one job.
struct View {
    job: Option<Job>,
    execs: BTreeMap<String, Execution>,
    evals: Vec<Evaluation>,
    local: BTreeMap<String, LocalExecutionState>,
    /// Our executions by ID: (slot, attempt).
    attempts: BTreeMap<String, (usize, u32)>,
}

struct OpErr(String);
impl From<JobStoreError> for OpErr {
    fn from(e: JobStoreError) -> Self {
        OpErr(e.to_string())
    }
}
impl From<ComputeError> for OpErr {
    fn from(e: ComputeError) -> Self {
        OpErr(e.to_string())
    }
}

/// Highest attempt number looked for.
const MAX_ATTEMPTS: u32 = 64;

struct Sim<'a, JB: Backend, CB: Backend> {
    p: Params,
    node_ids: Vec<String>,
    requester_id: String,
    jobs: &'a JobStore<JB>,
    comps: &'a [ExecutionStore<CB>],
}

fn now_nanos() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0)
}

fn rank(e: &Execution) -> (u8, u8) {
    let c = match e.compute_state.state_type {
        X::New => 0,
        X::AskForBid => 1,
        X::AskForBidAccepted => 2,
        X::BidAccepted => 3,
        _ => 4,
    };
    (c, e.desired_state.state_type.as_u8())
}

fn exec_update(id: &str, patch: ExecutionPatch) -> UpdateExecutionRequest {
    UpdateExecutionRequest::new(id, patch)
}

fn local_update(id: &str, to: L) -> UpdateExecutionStateRequest {
    UpdateExecutionStateRequest::new(id, to)
}

const FAILURE_TEXT: &str = "simulated failure: task exited with code 1";

impl<JB: Backend, CB: Backend> Sim<'_, JB, CB> {
    fn observe(&self, plan: &JobPlan) -> Result<View> {
        let job = match self.jobs.get_job(&plan.id) {
            Ok(j) => Some(j),
            Err(JobStoreError::JobNotFound { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        let mut v =
            View { job, execs: BTreeMap::new(), evals: Vec::new(), local: BTreeMap::new(), attempts: BTreeMap::new() };
        if v.job.is_none() {
            return Ok(v);
        }
        let opts = GetExecutionsOptions { job_id: Some(plan.id.clone()), ..Default::default() };
        for e in self.jobs.get_executions(&opts)? {
            v.execs.insert(e.id.clone(), e);
        }
        v.evals = self.jobs.get_evaluations(&plan.id)?;
        for slot in 0..plan.slots {
            for a in 0..MAX_ATTEMPTS {
                let ep = self.p.exec(plan, slot, a);
                if !v.execs.contains_key(&ep.id) {
                    break;
                }
                v.attempts.insert(ep.id, (slot, a));
            }
        }
        for e in v.execs.values() {
            if e.compute_state.state_type.is_terminal() || !v.attempts.contains_key(&e.id) {
                continue;
            }
            let Some(n) = self.node_ids.iter().position(|id| *id == e.node_id) else { continue };
            match self.comps[n].get_execution(&e.id) {
                Ok(l) => {
                    v.local.insert(e.id.clone(), l);
                }
                Err(ComputeError::ExecutionNotFound { .. }) => {}
                Err(err) => return Err(err.into()),
            }
        }
        Ok(v)
    }

    fn eval(&self, plan: &JobPlan, job: &Job, what: u64, triggered_by: &str) -> Evaluation {
        let now = now_nanos();
        Evaluation {
            id: self.p.eval_id(plan, what),
            namespace: job.namespace.clone(),
            job_id: job.id.clone(),
            triggered_by: triggered_by.into(),
            priority: job.priority,
            eval_type: job.job_type.clone(),
            status: EvaluationStatus::Pending,
            create_time: now,
            modify_time: now,
            ..Evaluation::default()
        }
    }

    /// The latest attempt of each slot.
    fn latest<'v>(&self, plan: &JobPlan, v: &'v View) -> Vec<Option<(u32, &'v Execution)>> {
        let mut out = vec![None; plan.slots];
        for (id, &(slot, a)) in &v.attempts {
            let e = &v.execs[id];
            if out[slot].is_none_or(|(b, _)| a > b) {
                out[slot] = Some((a, e));
            }
        }
        out
    }

    fn decide(&self, plan: &JobPlan, v: &View) -> Result<Step> {
        let Some(job) = &v.job else {
            let eval = self.eval(plan, &plan.job, 0, "job-register");
            return Ok(Step::Req(vec![ReqOp::CreateJob(Box::new(plan.job.clone())), ReqOp::CreateEval(eval)]));
        };
        if let Some(ev) = v
            .evals
            .iter()
            .filter(|e| e.status == EvaluationStatus::Pending)
            .min_by_key(|e| (e.create_time, e.id.clone()))
        {
            return Ok(Step::Req(self.process_eval(plan, job, v, ev)));
        }
        let js = job.state.state_type;
        let mut cands: Vec<&Execution> = v
            .execs
            .values()
            .filter(|e| !e.compute_state.state_type.is_terminal() && v.attempts.contains_key(&e.id))
            .collect();
        cands.sort_by_key(|e| (rank(e), e.id.clone()));
        let mut steps = Vec::new();
        for e in &cands {
            if let Some(s) = self.step_exec(plan, job, e, v)? {
                steps.push(s);
                break;
            }
        }
        if plan.user_stop && js == J::Running && self.stop_due(plan, v, steps.is_empty() && !cands.is_empty()) {
            let req = UpdateJobStateRequest::new(&job.id, J::Stopped)
                .unexpected(&[J::Completed])
                .with_comment("job canceled by user");
            let eval = self.eval(plan, job, 1, "job-cancel");
            return Ok(Step::Req(vec![ReqOp::UpdateJob(req), ReqOp::CreateEval(eval)]));
        }
        Ok(steps.pop().unwrap_or(Step::Settled))
    }

    /// Whether the user stops the job now: a batch job while its first slot runs, a long-running
    /// job once it runs steadily.
    fn stop_due(&self, plan: &JobPlan, v: &View, steady: bool) -> bool {
        match plan.job_type {
            JobType::Batch => self.latest(plan, v)[0].is_some_and(|(_, e)| {
                e.compute_state.state_type == X::BidAccepted
                    && v.local.get(&e.id).is_some_and(|l| l.state == L::Running)
            }),
            JobType::Service | JobType::Daemon => steady,
            JobType::Ops => false,
        }
    }

    fn process_eval(&self, plan: &JobPlan, job: &Job, v: &View, ev: &Evaluation) -> Vec<ReqOp> {
        let mut ops = Vec::new();
        let done = ReqOp::UpdateEval(UpdateEvaluationRequest {
            evaluation_id: ev.id.clone(),
            new_status: EvaluationStatus::Complete,
            expected_status: Some(EvaluationStatus::Pending),
            comment: None,
        });
        let js = job.state.state_type;
        if js.is_terminal() {
            let msg = if js == J::Failed { "overall job has failed" } else { "execution not needed due to job update" };
            ops.extend(self.stop_all(v, msg));
            ops.push(done);
            return ops;
        }
        let mut creates = Vec::new();
        let mut fatal: Option<String> = None;
        let mut active = 0;
        for (slot, latest) in self.latest(plan, v).into_iter().enumerate() {
            let Some((a, e)) = latest else {
                creates.push((slot, 0));
                continue;
            };
            let c = e.compute_state.state_type;
            if !c.is_terminal() {
                active += 1;
                continue;
            }
            let skipped = matches!(plan.job_type, JobType::Daemon | JobType::Ops) && c == X::AskForBidRejected;
            if c == X::Completed || skipped {
                continue;
            }
            if plan.job_type == JobType::Ops && c == X::Failed {
                fatal = Some(format!("execution {} failed: {}", e.id, e.compute_state.message));
            } else if a < self.p.max_retries {
                creates.push((slot, a + 1));
            } else {
                let why = if e.compute_state.message.is_empty() {
                    c.name().to_string()
                } else {
                    e.compute_state.message.clone()
                };
                fatal = Some(format!("retries exhausted: execution {} ended {}: {why}", e.id, c.name()));
            }
        }
        if let Some(msg) = fatal {
            ops.push(ReqOp::UpdateJob(
                UpdateJobStateRequest::new(&job.id, J::Failed).expecting_revision(job.revision).with_comment(msg),
            ));
            ops.extend(self.stop_all(v, "overall job has failed"));
        } else if !creates.is_empty() {
            let pre_approved = matches!(plan.job_type, JobType::Daemon | JobType::Ops);
            for (slot, a) in creates {
                let ep = self.p.exec(plan, slot, a);
                let desired = if pre_approved { D::Running } else { D::Pending };
                ops.push(ReqOp::CreateExec(Box::new(Execution {
                    id: ep.id.clone(),
                    namespace: job.namespace.clone(),
                    eval_id: ev.id.clone(),
                    name: format!("{}/slot-{slot}/attempt-{a}", job.name),
                    node_id: self.node_ids[ep.node].clone(),
                    job_id: job.id.clone(),
                    desired_state: State::new(desired),
                    compute_state: State::new(X::New),
                    ..Execution::default()
                })));
            }
            if pre_approved && js == J::Pending {
                ops.push(ReqOp::UpdateJob(
                    UpdateJobStateRequest::new(&job.id, J::Running).expecting_revision(job.revision),
                ));
            }
        } else if active == 0 {
            match plan.job_type {
                JobType::Batch | JobType::Ops => {
                    ops.push(ReqOp::UpdateJob(
                        UpdateJobStateRequest::new(&job.id, J::Completed).expecting_revision(job.revision),
                    ));
                }
                JobType::Service | JobType::Daemon => {
                    ops.push(ReqOp::UpdateJob(
                        UpdateJobStateRequest::new(&job.id, J::Failed)
                            .expecting_revision(job.revision)
                            .with_comment("no nodes could be placed: every node declined"),
                    ));
                }
            }
        }
        ops.push(done);
        ops
    }

    /// Desired `Stopped` for every non-terminal execution not already stopping.
    fn stop_all(&self, v: &View, msg: &str) -> Vec<ReqOp> {
        v.execs
            .values()
            .filter(|e| !e.compute_state.state_type.is_terminal() && e.desired_state.state_type != D::Stopped)
            .map(|e| {
                let mut patch = ExecutionPatch::desired(D::Stopped);
                patch.desired_message = Some(msg.into());
                ReqOp::UpdateExec(exec_update(&e.id, patch).expecting_revision(e.revision).with_comment(msg))
            })
            .collect()
    }

    /// The requester's report of an execution's end, with the evaluation it triggers while the
    /// job still runs.
    fn end(&self, plan: &JobPlan, job: &Job, e: &Execution, req: UpdateExecutionRequest, trigger: &str) -> Step {
        let mut ops = vec![ReqOp::UpdateExec(req)];
        if !job.state.state_type.is_terminal() {
            ops.push(ReqOp::CreateEval(self.eval(plan, job, id_hash(&e.id), trigger)));
        }
        Step::Req(ops)
    }

    fn completed(&self, plan: &JobPlan, job: &Job, e: &Execution, ep: &ExecPlan) -> Step {
        let mut patch = ExecutionPatch::compute(X::Completed).and_desired(D::Stopped, "execution completed");
        patch.published_result = Some(Some(SpecConfig {
            spec_type: if ep.publishes { "s3".into() } else { "local".into() },
            ..SpecConfig::default()
        }));
        patch.run_output =
            Some(Some(RunCommandResult { stdout: format!("{} done\n", e.name), exit_code: 0, ..Default::default() }));
        let req = exec_update(&e.id, patch).expecting(&[X::BidAccepted, X::AskForBidAccepted, X::New]);
        self.end(plan, job, e, req, "exec-update")
    }

    fn failed(&self, plan: &JobPlan, job: &Job, e: &Execution) -> Step {
        let patch = ExecutionPatch::compute(X::Failed)
            .with_compute_message(FAILURE_TEXT)
            .and_desired(D::Stopped, "execution failed");
        let req = exec_update(&e.id, patch).unexpected(&[X::Completed, X::Cancelled]);
        self.end(plan, job, e, req, "exec-failure")
    }

    fn cancelled(&self, plan: &JobPlan, job: &Job, e: &Execution) -> Step {
        let req =
            exec_update(&e.id, ExecutionPatch::compute(X::Cancelled)).with_comment(e.desired_state.message.clone());
        self.end(plan, job, e, req, "exec-update")
    }

    /// One step of one execution, or `None` when it waits (or runs steadily).
    fn step_exec(&self, plan: &JobPlan, job: &Job, e: &Execution, v: &View) -> Result<Option<Step>> {
        let (slot, a) = v.attempts[&e.id];
        let ep = self.p.exec(plan, slot, a);
        let n = ep.node;
        let l = v.local.get(&e.id).map(|l| l.state);
        let c = e.compute_state.state_type;
        let d = e.desired_state.state_type;
        let comp = |op| Ok(Some(Step::Comp(n, op)));
        let req = |r: UpdateExecutionRequest| Ok(Some(Step::Req(vec![ReqOp::UpdateExec(r)])));
        if d == D::Stopped {
            if c == X::AskForBidAccepted {
                if l == Some(L::Created) {
                    let comment = format!("bid rejected due to: {}", e.desired_state.message);
                    return comp(CompOp::Update(
                        local_update(&e.id, L::Cancelled).expecting(&[L::Created]).with_comment(comment),
                    ));
                }
                let r = exec_update(&e.id, ExecutionPatch::compute(X::BidRejected)).expecting(&[X::AskForBidAccepted]);
                return Ok(Some(self.end(plan, job, e, r, "exec-update")));
            }
            return match l {
                Some(s) if s.is_active() => {
                    let comment = format!("execution canceled due to: {}", e.desired_state.message);
                    comp(CompOp::Update(local_update(&e.id, L::Cancelled).with_comment(comment)))
                }
                Some(L::Completed) if c == X::BidAccepted => Ok(Some(self.completed(plan, job, e, &ep))),
                Some(L::Failed) => Ok(Some(self.failed(plan, job, e))),
                _ => Ok(Some(self.cancelled(plan, job, e))),
            };
        }
        if job.state.state_type.is_terminal() {
            return Ok(None); // the pending evaluation stops it
        }
        match c {
            X::New => {
                let approval = d == D::Pending;
                if ep.declines {
                    if approval {
                        return req(exec_update(&e.id, ExecutionPatch::compute(X::AskForBid)).expecting(&[X::New]));
                    }
                    return Ok(Some(self.declined(plan, job, e)));
                }
                if l.is_none() {
                    let state = if approval { L::Created } else { L::BidAccepted };
                    let mut exec = e.clone();
                    exec.job = Some(std::sync::Arc::new(job.clone()));
                    let rec = LocalExecutionState {
                        execution: exec.into(),
                        requester_node_id: self.requester_id.clone(),
                        state,
                        version: 1,
                        ..LocalExecutionState::default()
                    };
                    return comp(CompOp::Create(Box::new(rec)));
                }
                let to = if approval { X::AskForBid } else { X::BidAccepted };
                req(exec_update(&e.id, ExecutionPatch::compute(to)).expecting(&[X::New]))
            }
            X::AskForBid => {
                if ep.declines {
                    return Ok(Some(self.declined(plan, job, e)));
                }
                req(exec_update(
                    &e.id,
                    ExecutionPatch::compute(X::AskForBidAccepted).with_compute_message("bid accepted by node"),
                )
                .expecting(&[X::AskForBid, X::New]))
            }
            X::AskForBidAccepted if d == D::Pending => {
                if ep.requester_rejects {
                    let msg = "execution is rejected in favor of another execution";
                    let mut patch = ExecutionPatch::desired(D::Stopped);
                    patch.desired_message = Some(msg.into());
                    return req(exec_update(&e.id, patch).expecting_revision(e.revision).with_comment(msg));
                }
                let mut ops = vec![ReqOp::UpdateExec(
                    exec_update(&e.id, ExecutionPatch::desired(D::Running)).expecting_revision(e.revision),
                )];
                if job.state.state_type == J::Pending {
                    ops.push(ReqOp::UpdateJob(
                        UpdateJobStateRequest::new(&job.id, J::Running).expecting_revision(job.revision),
                    ));
                }
                Ok(Some(Step::Req(ops)))
            }
            X::AskForBidAccepted => {
                if l == Some(L::Created) {
                    return comp(CompOp::Update(local_update(&e.id, L::BidAccepted).expecting(&[L::Created])));
                }
                req(exec_update(&e.id, ExecutionPatch::compute(X::BidAccepted)).expecting(&[X::AskForBidAccepted]))
            }
            X::BidAccepted => match l {
                Some(L::BidAccepted) => {
                    comp(CompOp::Update(local_update(&e.id, L::Running).expecting(&[L::BidAccepted, L::Running])))
                }
                Some(L::Running) => {
                    if ep.fails {
                        comp(CompOp::Update(local_update(&e.id, L::Failed).with_comment(FAILURE_TEXT)))
                    } else if plan.job_type.is_long_running() {
                        Ok(None)
                    } else if ep.publishes {
                        comp(CompOp::Update(local_update(&e.id, L::Publishing).expecting(&[L::Running])))
                    } else {
                        comp(CompOp::Update(local_update(&e.id, L::Completed).expecting(&[L::Running])))
                    }
                }
                Some(L::Publishing) => {
                    comp(CompOp::Update(local_update(&e.id, L::Completed).expecting(&[L::Publishing])))
                }
                Some(L::Completed) => Ok(Some(self.completed(plan, job, e, &ep))),
                Some(L::Failed) => Ok(Some(self.failed(plan, job, e))),
                Some(L::Cancelled) => Ok(Some(self.cancelled(plan, job, e))),
                other => bail!(
                    "execution {} of job {} is BidAccepted on the requester but its record on node {} is {}",
                    e.id,
                    job.id,
                    self.node_ids[n],
                    other.map_or("missing", |s| s.name())
                ),
            },
            _ => Ok(None),
        }
    }

    fn declined(&self, plan: &JobPlan, job: &Job, e: &Execution) -> Step {
        let patch = ExecutionPatch::compute(X::AskForBidRejected)
            .with_compute_message("node declined the bid: not enough resources")
            .and_desired(D::Stopped, "bid rejected");
        let req = exec_update(&e.id, patch).expecting(&[X::AskForBid, X::New]);
        self.end(plan, job, e, req, "exec-update")
    }

    fn commit_requester(&self, ops: Vec<ReqOp>) -> Result<()> {
        self.jobs
            .transaction(|tx| -> Result<(), OpErr> {
                for op in ops {
                    match op {
                        ReqOp::CreateJob(j) => tx.create_job(*j).map(drop),
                        ReqOp::CreateEval(ev) => tx.create_evaluation(ev).map(drop),
                        ReqOp::UpdateJob(r) => tx.update_job_state(r).map(drop),
                        ReqOp::CreateExec(e) => tx.create_execution(*e).map(drop),
                        ReqOp::UpdateExec(r) => tx.update_execution(r).map(drop),
                        ReqOp::UpdateEval(r) => tx.update_evaluation(r).map(drop),
                    }?;
                }
                Ok(())
            })
            .map_err(|e| anyhow!("requester job store: {}", e.0))
    }

    fn commit_compute(&self, n: usize, ops: Vec<CompOp>) -> Result<()> {
        self.comps[n]
            .transaction(|tx| -> Result<(), OpErr> {
                for op in ops {
                    match op {
                        CompOp::Create(r) => tx.create_execution(*r).map(drop),
                        CompOp::Update(r) => tx.update_execution_state(r).map(drop),
                    }?;
                }
                Ok(())
            })
            .map_err(|e| anyhow!("compute store of node {}: {}", self.node_ids[n], e.0))
    }
}

/// What this run did.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct RunReport {
    seed: u64,
    jobs: u64,
    nodes: usize,
    failure_rate: f64,
    max_retries: u32,
    jobs_created: u64,
    jobs_resumed: u64,
    jobs_already_settled: u64,
    operations: u64,
    transactions: u64,
    events_written: u64,
    seconds: f64,
    operations_per_second: f64,
    persisted: bool,
}

fn drive<JB: Backend, CB: Backend>(
    node: &Node,
    a: &SimulateArgs,
    jobs: JobStore<JB>,
    comps: Vec<ExecutionStore<CB>>,
) -> Result<ExitCode> {
    let k = comps.len();
    let p = Params { seed: a.seed, nodes: k, failure_rate: a.failure_rate, max_retries: a.max_retries };
    let sim = Sim {
        p,
        node_ids: (0..k).map(|i| node.compute_node_id(i)).collect(),
        requester_id: node.id().to_string(),
        jobs: &jobs,
        comps: &comps,
    };
    let events_before = jobs.stats()?.last_event_seq
        + comps.iter().map(|c| c.stats().map(|s| s.last_event_seq)).sum::<Result<u64, _>>()?;

    let bar = if a.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::with_draw_target(Some(a.jobs), ProgressDrawTarget::stderr())
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} jobs settled ({per_sec}, eta {eta}) {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let start = Instant::now();
    let (mut ops_count, mut txns) = (0u64, 0u64);
    let (mut created, mut resumed, mut already) = (0u64, 0u64, 0u64);
    let mut next = 0u64;
    let mut active: Vec<(JobPlan, bool)> = Vec::new();
    let width = a.concurrency as usize;
    loop {
        while active.len() < width && next < a.jobs {
            active.push((sim.p.job(next), true));
            next += 1;
        }
        if active.is_empty() {
            break;
        }
        let mut req_ops = Vec::new();
        let mut comp_ops: Vec<Vec<CompOp>> = (0..k).map(|_| Vec::new()).collect();
        let mut keep = Vec::with_capacity(active.len());
        for (plan, first) in active.drain(..) {
            let view = sim.observe(&plan)?;
            let step = sim.decide(&plan, &view).map_err(|e| anyhow!("job {} ({}): {e:#}", plan.id, plan.job.name))?;
            if first {
                match (&view.job, &step) {
                    (None, _) => created += 1,
                    (Some(_), Step::Settled) => already += 1,
                    (Some(_), _) => resumed += 1,
                }
            }
            match step {
                Step::Settled => bar.inc(1),
                Step::Req(ops) => {
                    req_ops.extend(ops);
                    keep.push((plan, false));
                }
                Step::Comp(n, op) => {
                    comp_ops[n].push(op);
                    keep.push((plan, false));
                }
            }
        }
        active = keep;
        // Compute nodes act first; the requester's reports of what they did come a round later.
        for (n, ops) in comp_ops.into_iter().enumerate() {
            if !ops.is_empty() {
                ops_count += ops.len() as u64;
                txns += 1;
                sim.commit_compute(n, ops)?;
            }
        }
        if !req_ops.is_empty() {
            ops_count += req_ops.len() as u64;
            txns += 1;
            sim.commit_requester(req_ops)?;
        }
    }
    bar.finish_and_clear();
    let secs = start.elapsed().as_secs_f64();

    let mut reports: Vec<StoreReport> = Vec::new();
    let persisted =
        node.cfg.requester.store_type == StoreType::Durable && node.cfg.compute.store_type == StoreType::Durable;
    let req_path = (node.cfg.requester.store_type == StoreType::Durable).then(|| node.cfg.requester.path.clone());
    reports.push(requester_report(&jobs, node.id(), node.cfg.requester.store_type, req_path)?);
    for (i, c) in comps.iter().enumerate() {
        let path: Option<PathBuf> = (node.cfg.compute.store_type == StoreType::Durable).then(|| node.compute_path(i));
        reports.push(compute_report(c, i, &sim.node_ids[i], node.cfg.compute.store_type, path)?);
    }
    // Sizes as the files are left: closing may shrink them.
    jobs.close()?;
    for c in &comps {
        c.close()?;
    }
    for r in &mut reports {
        r.file_size = r.path.as_ref().and_then(|p| std::fs::metadata(p).ok()).map(|m| m.len());
    }
    let events_after: u64 = reports.iter().map(|r| r.last_event_seq).sum();
    let run = RunReport {
        seed: a.seed,
        jobs: a.jobs,
        nodes: k,
        failure_rate: a.failure_rate,
        max_retries: a.max_retries,
        jobs_created: created,
        jobs_resumed: resumed,
        jobs_already_settled: already,
        operations: ops_count,
        transactions: txns,
        events_written: events_after.saturating_sub(events_before),
        seconds: secs,
        operations_per_second: if secs > 0.0 { ops_count as f64 / secs } else { 0.0 },
        persisted,
    };
    let foreign = reports[0].total.saturating_sub(a.jobs);
    match crate::output::format() {
        OutputFormat::Json => {
            let v = serde_json::json!({ "run": run, "stores": reports });
            out!("{}", serde_json::to_string_pretty(&v)?);
        }
        OutputFormat::Table => {
            out!(
                "simulate: seed {}, {} jobs ({} created, {} resumed, {} already settled), {} compute nodes, failure rate {}, max retries {}",
                run.seed, run.jobs, run.jobs_created, run.jobs_resumed, run.jobs_already_settled, run.nodes, run.failure_rate, run.max_retries
            );
            out!(
                "this run: {} operations in {} transactions, {} events written, {:.2} s, {:.0} operations/s",
                run.operations,
                run.transactions,
                run.events_written,
                run.seconds,
                run.operations_per_second
            );
            if foreign > 0 {
                out!("note: the requester store holds {foreign} more jobs than this run's --jobs (earlier runs with other arguments)");
            }
            out!("");
            print_reports(&reports);
            if !persisted {
                out!("");
                out!("note: inmemory stores: nothing of this run was persisted");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
