//! Read-only inspection: jobs, requester executions, evaluations, a compute node's executions,
//! event logs. Every store is opened read-only, so these work beside a running `simulate` (which
//! shares its stores with readers) and fail at once with `InUse` beside an exclusive writer.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, Result};
use bacalhau_state::config::StoreRole;
use bacalhau_state::event::{Event, EventObject};
use bacalhau_state::jobstore::{GetExecutionsOptions, JobHistoryQuery, JobQuery, JobSortBy};
use bacalhau_state::model::{Execution, Job, LocalExecutionState};
use bacalhau_state::selector::Selector;
use bacalhau_state::state::JobStateType;
use bacalhau_state::PageRequest;
use clap::{Args, Subcommand, ValueEnum};

use crate::ctx::{self, usage, Node};
use crate::output::{self, print_fields, print_json, print_table, time};
use crate::{GlobalArgs, StoreArg};

#[derive(Subcommand, Debug)]
pub enum JobsCmd {
    /// List jobs, one page at a time
    List(JobsListArgs),
    /// Show a job (full ID or unique prefix)
    Show {
        /// Job ID or unique prefix
        id: String,
    },
    /// A job's history (job and execution level), in write order
    History {
        /// Job ID or unique prefix
        id: String,
        /// Page size (0 = all)
        #[arg(long, default_value_t = 0)]
        limit: u32,
        /// Token printed by the previous page
        #[arg(long)]
        next_token: Option<String>,
    },
    /// The job's executions in the requester store (same as `requester executions --job`)
    Executions {
        /// Job ID or unique prefix
        id: String,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum SortArg {
    /// Creation time
    Created,
    /// Last modification time
    Modified,
    /// ID
    Id,
}

#[derive(Args, Debug)]
pub struct JobsListArgs {
    /// Only this namespace
    #[arg(long)]
    pub namespace: Option<String>,
    /// Only jobs having this label key (repeatable: any of them)
    #[arg(long)]
    pub tag: Vec<String>,
    /// Kubernetes-style label selector, e.g. 'tier=gold,env!=dev'
    #[arg(long)]
    pub selector: Option<String>,
    /// Only jobs in this state (Pending, Running, Completed, Failed, Stopped)
    #[arg(long)]
    pub state: Option<String>,
    /// Page size (0 = all)
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    /// Token printed by the previous page
    #[arg(long)]
    pub next_token: Option<String>,
    /// Sort order
    #[arg(long, value_enum, default_value_t = SortArg::Created)]
    pub sort: SortArg,
    /// Descending order
    #[arg(long)]
    pub reverse: bool,
}

#[derive(Subcommand, Debug)]
pub enum RequesterCmd {
    /// The requester store's executions, filtered (at least one of --job, --node-id or --in-progress)
    Executions(ReqExecArgs),
}

#[derive(Args, Debug)]
pub struct ReqExecArgs {
    /// Executions of this job (ID or unique prefix)
    #[arg(long)]
    pub job: Option<String>,
    /// Executions placed on this compute node ID
    #[arg(long = "on-node")]
    pub on_node: Option<String>,
    /// Only executions neither terminal nor stopping
    #[arg(long)]
    pub in_progress: bool,
}

#[derive(Subcommand, Debug)]
pub enum EvalsCmd {
    /// Show an evaluation (full ID or unique prefix)
    Show {
        /// Evaluation ID or unique prefix
        id: String,
    },
    /// A job's evaluations
    List {
        /// Job ID or unique prefix
        #[arg(long)]
        job: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum ExecutionsCmd {
    /// List a compute node's executions
    List {
        #[command(flatten)]
        node: NodeArg,
        /// Page size (0 = all)
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// Token printed by the previous page
        #[arg(long)]
        next_token: Option<String>,
    },
    /// Show one execution (full ID or unique prefix)
    Show {
        /// Execution ID or unique prefix
        id: String,
        #[command(flatten)]
        node: NodeArg,
    },
    /// An execution's local state history
    History {
        /// Execution ID or unique prefix
        id: String,
        #[command(flatten)]
        node: NodeArg,
    },
}

/// Which compute node's store.
#[derive(Args, Debug, Clone, Copy)]
pub struct NodeArg {
    /// Compute node index: 0 is the configured compute store path, i >= 1 the same path with -<i>
    /// before the extension
    #[arg(long, default_value_t = 0)]
    pub node: usize,
}

#[derive(Args, Debug)]
pub struct EventsArgs {
    /// Which store's event log
    #[arg(long, value_enum, default_value_t = StoreArg::Requester)]
    pub store: StoreArg,
    /// Compute node index (with --store compute)
    #[arg(long, default_value_t = 0)]
    pub node: usize,
    /// Only events after this sequence number
    #[arg(long, default_value_t = 0)]
    pub after: u64,
    /// At most this many events (0 = all)
    #[arg(long, default_value_t = 0)]
    pub limit: u32,
    /// Keep polling for new events (Ctrl-C to stop)
    #[arg(long)]
    pub follow: bool,
    /// Polling interval with --follow, in milliseconds
    #[arg(long, default_value_t = 500)]
    pub interval_ms: u64,
}

fn jobs_store(node: &Node) -> Result<bacalhau_state::JobStore<bacalhau_state::kv::redb::RedbBackend>> {
    let s = node.inspectable(StoreRole::Requester)?;
    ctx::open_jobs_ro(&s.path, s.path_source)
}

fn compute_store(
    node: &Node,
    i: usize,
) -> Result<bacalhau_state::ExecutionStore<bacalhau_state::kv::redb::RedbBackend>> {
    let s = node.inspectable(StoreRole::Compute)?;
    ctx::open_compute_ro(&node.compute_path(i), s.path_source)
}

fn job_row(j: &Job) -> Vec<String> {
    vec![
        j.id.clone(),
        j.name.clone(),
        j.namespace.clone(),
        j.job_type.clone(),
        j.state.state_type.name().to_string(),
        j.revision.to_string(),
        time(j.create_time),
    ]
}

const JOB_HEADER: [&str; 7] = ["ID", "NAME", "NAMESPACE", "TYPE", "STATE", "REV", "CREATED"];

fn print_next(token: &Option<String>) {
    if let Some(t) = token {
        out!("next page: --next-token {t}");
    }
}

/// `jobs ...`.
pub fn jobs(g: &GlobalArgs, c: &JobsCmd) -> Result<ExitCode> {
    let node = ctx::resolve(g, false)?;
    match c {
        JobsCmd::List(a) => jobs_list(&node, a),
        JobsCmd::Show { id } => {
            let j = jobs_store(&node)?.get_job(id)?;
            if output::json() {
                print_json(&j)?;
            } else {
                print_fields(&[
                    ("ID", j.id.clone()),
                    ("Name", j.name.clone()),
                    ("Namespace", j.namespace.clone()),
                    ("Type", j.job_type.clone()),
                    ("Count", j.count.to_string()),
                    ("Priority", j.priority.to_string()),
                    ("State", j.state.state_type.name().to_string()),
                    ("Message", j.state.message.clone()),
                    ("Revision", j.revision.to_string()),
                    ("Labels", output::kv(&j.labels)),
                    ("Created", time(j.create_time)),
                    ("Modified", time(j.modify_time)),
                ]);
            }
            Ok(ExitCode::SUCCESS)
        }
        JobsCmd::History { id, limit, next_token } => {
            let q = JobHistoryQuery { limit: *limit, next_token: next_token.clone(), ..Default::default() };
            let page = jobs_store(&node)?.get_job_history(id, &q)?;
            if output::json() {
                print_json(&page)?;
            } else {
                let rows: Vec<Vec<String>> = page
                    .items
                    .iter()
                    .map(|h| {
                        let change = match (&h.job_state, &h.execution_state) {
                            (Some(s), _) => format!("job {} -> {}", s.previous, s.new),
                            (None, Some(s)) => format!("execution {} -> {}", s.previous, s.new),
                            _ => String::new(),
                        };
                        let desired = h
                            .desired_state
                            .as_ref()
                            .map(|d| format!(" (desired {} -> {})", d.previous, d.new))
                            .unwrap_or_default();
                        vec![
                            h.seq_num.to_string(),
                            h.time.to_string(),
                            h.execution_id.clone(),
                            format!("{change}{desired}"),
                            h.comment.clone(),
                        ]
                    })
                    .collect();
                print_table(&["SEQ", "TIME", "EXECUTION", "CHANGE", "COMMENT"], &rows);
                print_next(&page.next_token);
            }
            Ok(ExitCode::SUCCESS)
        }
        JobsCmd::Executions { id } => {
            let opts = GetExecutionsOptions { job_id: Some(id.clone()), ..Default::default() };
            print_req_execs(&jobs_store(&node)?.get_executions(&opts)?)
        }
    }
}

fn jobs_list(node: &Node, a: &JobsListArgs) -> Result<ExitCode> {
    let selector = match &a.selector {
        Some(s) => Some(Selector::parse(s).map_err(|e| usage(format!("invalid --selector {s:?}: {e}")))?),
        None => None,
    };
    let state = match &a.state {
        Some(s) => Some(JobStateType::from_name(s).filter(|s| *s != JobStateType::Undefined).ok_or_else(|| {
            usage(format!("invalid --state {s:?}: expected Pending, Running, Completed, Failed or Stopped"))
        })?),
        None => None,
    };
    let store = jobs_store(node)?;
    let mut q = JobQuery {
        namespace: a.namespace.clone().unwrap_or_default(),
        include_tags: a.tag.clone(),
        selector,
        sort_by: match a.sort {
            SortArg::Created => JobSortBy::CreatedAt,
            SortArg::Modified => JobSortBy::ModifiedAt,
            SortArg::Id => JobSortBy::Id,
        },
        reverse: a.reverse,
        limit: a.limit,
        next_token: a.next_token.clone(),
        ..Default::default()
    };
    let (items, next) = match state {
        None => {
            let p = store.get_jobs(&q)?;
            (p.items, p.next_token)
        }
        Some(st) => {
            // The query has no state filter: read pages no larger than what is still missing, so
            // every item read can be kept and the last token stays exact.
            let mut items = Vec::new();
            loop {
                let want = if a.limit == 0 { 0 } else { a.limit - items.len() as u32 };
                q.limit = if a.limit == 0 { 256 } else { want };
                let p = store.get_jobs(&q)?;
                items.extend(p.items.into_iter().filter(|j| j.state.state_type == st));
                q.next_token = p.next_token;
                if q.next_token.is_none() || (a.limit != 0 && items.len() as u32 >= a.limit) {
                    break;
                }
            }
            (items, q.next_token)
        }
    };
    if output::json() {
        print_json(&serde_json::json!({ "items": items, "nextToken": next }))?;
    } else {
        print_table(&JOB_HEADER, &items.iter().map(job_row).collect::<Vec<_>>());
        print_next(&next);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_req_execs(execs: &[Execution]) -> Result<ExitCode> {
    if output::json() {
        print_json(execs)?;
    } else {
        let rows: Vec<Vec<String>> = execs
            .iter()
            .map(|e| {
                vec![
                    e.id.clone(),
                    e.job_id.clone(),
                    e.node_id.clone(),
                    e.compute_state.state_type.name().to_string(),
                    e.desired_state.state_type.name().to_string(),
                    e.revision.to_string(),
                    e.compute_state.message.clone(),
                ]
            })
            .collect();
        print_table(&["ID", "JOB", "NODE", "STATE", "DESIRED", "REV", "MESSAGE"], &rows);
    }
    Ok(ExitCode::SUCCESS)
}

/// `requester ...`.
pub fn requester(g: &GlobalArgs, c: &RequesterCmd) -> Result<ExitCode> {
    let node = ctx::resolve(g, false)?;
    match c {
        RequesterCmd::Executions(a) => {
            if a.job.is_none() && a.on_node.is_none() && !a.in_progress {
                return Err(usage("requester executions needs --job, --on-node or --in-progress"));
            }
            let opts = GetExecutionsOptions {
                job_id: a.job.clone(),
                node_id: a.on_node.clone(),
                in_progress_only: a.in_progress,
                include_job: false,
            };
            print_req_execs(&jobs_store(&node)?.get_executions(&opts)?)
        }
    }
}

/// `evals ...`.
pub fn evals(g: &GlobalArgs, c: &EvalsCmd) -> Result<ExitCode> {
    let node = ctx::resolve(g, false)?;
    let store = jobs_store(&node)?;
    let list = match c {
        EvalsCmd::Show { id } => vec![store.get_evaluation(id)?],
        EvalsCmd::List { job } => store.get_evaluations(job)?,
    };
    if output::json() {
        match c {
            EvalsCmd::Show { .. } => print_json(&list[0])?,
            EvalsCmd::List { .. } => print_json(&list)?,
        }
    } else {
        let rows: Vec<Vec<String>> = list
            .iter()
            .map(|e| {
                vec![
                    e.id.clone(),
                    e.job_id.clone(),
                    e.triggered_by.clone(),
                    e.eval_type.clone(),
                    e.status.name().to_string(),
                    time(e.create_time),
                    time(e.modify_time),
                ]
            })
            .collect();
        print_table(&["ID", "JOB", "TRIGGERED BY", "TYPE", "STATUS", "CREATED", "MODIFIED"], &rows);
    }
    Ok(ExitCode::SUCCESS)
}

fn local_row(l: &LocalExecutionState) -> Vec<String> {
    vec![
        l.execution.id.clone(),
        l.execution.job_id.clone(),
        l.state.name().to_string(),
        l.version.to_string(),
        l.update_time.to_string(),
    ]
}

/// `executions ...` (a compute node's store).
pub fn executions(g: &GlobalArgs, c: &ExecutionsCmd) -> Result<ExitCode> {
    let node = ctx::resolve(g, false)?;
    match c {
        ExecutionsCmd::List { node: n, limit, next_token } => {
            let page = compute_store(&node, n.node)?
                .list_executions(&PageRequest { limit: *limit, next_token: next_token.clone() })?;
            if output::json() {
                print_json(&page)?;
            } else {
                print_table(
                    &["ID", "JOB", "STATE", "VERSION", "UPDATED"],
                    &page.items.iter().map(local_row).collect::<Vec<_>>(),
                );
                print_next(&page.next_token);
            }
        }
        ExecutionsCmd::Show { id, node: n } => {
            let l = compute_store(&node, n.node)?.get_execution(id)?;
            if output::json() {
                print_json(&l)?;
            } else {
                print_fields(&[
                    ("ID", l.execution.id.clone()),
                    ("Job", l.execution.job_id.clone()),
                    ("Job name", l.execution.job.as_ref().map(|j| j.name.clone()).unwrap_or_default()),
                    ("Name", l.execution.name.clone()),
                    ("Requester", l.requester_node_id.clone()),
                    ("State", l.state.name().to_string()),
                    ("Version", l.version.to_string()),
                    ("Created", l.create_time.to_string()),
                    ("Updated", l.update_time.to_string()),
                ]);
            }
        }
        ExecutionsCmd::History { id, node: n } => {
            let page = compute_store(&node, n.node)?.get_execution_history(id, &PageRequest::default())?;
            if output::json() {
                print_json(&page.items)?;
            } else {
                let rows: Vec<Vec<String>> = page
                    .items
                    .iter()
                    .map(|h| {
                        vec![
                            h.new_version.to_string(),
                            h.time.to_string(),
                            format!("{} -> {}", h.previous_state, h.new_state),
                            h.comment.clone(),
                        ]
                    })
                    .collect();
                print_table(&["VERSION", "TIME", "CHANGE", "COMMENT"], &rows);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn event_line(e: &Event) -> String {
    let (id, state) = match &e.object {
        EventObject::Job(j) => (j.id.clone(), j.state.state_type.name().to_string()),
        EventObject::Execution(x) => {
            (x.id.clone(), format!("{}/{}", x.compute_state.state_type.name(), x.desired_state.state_type.name()))
        }
        EventObject::Evaluation(v) => (v.id.clone(), v.status.name().to_string()),
        EventObject::LocalExecution(l) => (l.execution.id.clone(), l.state.name().to_string()),
    };
    format!(
        "{:>8}  {}  {:<6}  {:<14}  {id}  {state}",
        e.seq_num,
        time(e.timestamp),
        e.operation.as_str(),
        e.object.type_name()
    )
}

/// `events`.
pub fn events(g: &GlobalArgs, a: &EventsArgs) -> Result<ExitCode> {
    let node = ctx::resolve(g, false)?;
    let read = |after: u64, limit: u32| -> Result<Vec<Event>> {
        // Reopened per poll: a read-only handle sees the writer's latest commit on every new
        // read transaction, but reopening also picks up a store created after we started.
        Ok(match a.store {
            StoreArg::Requester => jobs_store(&node)?.events_after(after, limit)?,
            StoreArg::Compute => compute_store(&node, a.node)?.events_after(after, limit)?,
        })
    };
    let mut after = a.after;
    let mut printed: u64 = 0;
    loop {
        let limit = if a.limit == 0 { 0 } else { a.limit - printed as u32 };
        let batch = read(after, limit)?;
        for e in &batch {
            if output::json() {
                out!("{}", serde_json::to_string(e).map_err(|e| anyhow!("{e}"))?);
            } else {
                out!("{}", event_line(e));
            }
            after = e.seq_num;
            printed += 1;
        }
        if !a.follow || (a.limit != 0 && printed >= u64::from(a.limit)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(a.interval_ms.max(10)));
    }
    Ok(ExitCode::SUCCESS)
}
