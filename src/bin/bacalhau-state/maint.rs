//! `stats`, `export`, `import`, `check` and `compact`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, Result};
use bacalhau_state::config::{Source, StoreRole, StoreType};
use bacalhau_state::kv::redb::{OpenError, RedbBackend};
use bacalhau_state::kv::{Backend, StoreKind};
use bacalhau_state::{CheckReport, ExecutionStore, JobStore, StoreBuilder};
use clap::Args;
use serde::Serialize;

use crate::ctx::{self, human_size, Node};
use crate::output::{self, print_json};
use crate::{GlobalArgs, StoreArg};

/// What `stats` and `simulate` report about one store.
#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StoreReport {
    /// `requester` or `compute`.
    pub store: String,
    /// Compute node index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<usize>,
    /// Node ID.
    pub node_id: String,
    /// `boltdb` or `inmemory`.
    pub store_type: String,
    /// File (durable stores).
    pub path: Option<PathBuf>,
    /// File size in bytes.
    pub file_size: Option<u64>,
    /// Jobs (requester) or executions (compute) per state.
    pub states: BTreeMap<String, u64>,
    /// Jobs (requester) or executions (compute).
    pub total: u64,
    /// Requester executions per compute state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_states: Option<BTreeMap<String, u64>>,
    /// Requester executions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_total: Option<u64>,
    /// Last event sequence number (= events written, unless trimmed).
    pub last_event_seq: u64,
}

fn size(path: &Option<PathBuf>) -> Option<u64> {
    path.as_ref().and_then(|p| std::fs::metadata(p).ok()).map(|m| m.len())
}

/// The report of a job store.
pub fn requester_report<B: Backend>(
    s: &JobStore<B>,
    node_id: &str,
    t: StoreType,
    path: Option<PathBuf>,
) -> Result<StoreReport> {
    let st = s.stats()?;
    Ok(StoreReport {
        store: "requester".into(),
        node: None,
        node_id: node_id.into(),
        store_type: t.as_str().into(),
        file_size: size(&path),
        path,
        states: st.jobs,
        total: st.job_total,
        execution_states: Some(st.executions),
        execution_total: Some(st.execution_total),
        last_event_seq: st.last_event_seq,
    })
}

/// The report of a compute store.
pub fn compute_report<B: Backend>(
    s: &ExecutionStore<B>,
    i: usize,
    node_id: &str,
    t: StoreType,
    path: Option<PathBuf>,
) -> Result<StoreReport> {
    let st = s.stats()?;
    Ok(StoreReport {
        store: "compute".into(),
        node: Some(i),
        node_id: node_id.into(),
        store_type: t.as_str().into(),
        file_size: size(&path),
        path,
        states: st.counts,
        total: st.total,
        execution_states: None,
        execution_total: None,
        last_event_seq: st.last_event_seq,
    })
}

fn where_(r: &StoreReport) -> String {
    match (&r.path, r.file_size) {
        (Some(p), Some(n)) => format!("{}  {}  ({})", r.store_type, p.display(), human_size(n)),
        (Some(p), None) => format!("{}  {}", r.store_type, p.display()),
        (None, _) => format!("{} (not persisted)", r.store_type),
    }
}

/// Prints store reports as tables.
pub fn print_reports(reports: &[StoreReport]) {
    for r in reports {
        match r.node {
            None => {
                out!("requester job store of {}: {}", r.node_id, where_(r));
                out!("  jobs        {:>7}  {}", r.total, output::kv(&r.states));
                if let (Some(t), Some(s)) = (r.execution_total, &r.execution_states) {
                    out!("  executions  {t:>7}  {}", output::kv(s));
                }
            }
            Some(i) => {
                out!("compute node {i} ({}): {}", r.node_id, where_(r));
                out!("  executions  {:>7}  {}", r.total, output::kv(&r.states));
            }
        }
        out!("  last event  {:>7}", r.last_event_seq);
    }
}

/// The reports of every store the configuration names (read-only).
pub fn collect_reports(node: &Node) -> Result<Vec<StoreReport>> {
    let mut out = Vec::new();
    let rs = node.inspectable(StoreRole::Requester)?;
    let jobs = ctx::open_jobs_ro(&rs.path, rs.path_source)?;
    out.push(requester_report(&jobs, node.id(), rs.store_type, Some(rs.path.clone()))?);
    drop(jobs);
    let cs = node.inspectable(StoreRole::Compute)?;
    let nodes = ctx::existing_compute_nodes(node);
    if nodes.is_empty() {
        // Let the open report the missing store.
        ctx::open_compute_ro(&cs.path, cs.path_source)?;
    }
    for i in nodes {
        let path = node.compute_path(i);
        let s = ctx::open_compute_ro(&path, cs.path_source)?;
        out.push(compute_report(&s, i, &node.compute_node_id(i), cs.store_type, Some(path))?);
    }
    Ok(out)
}

/// `stats`.
pub fn stats(g: &GlobalArgs) -> Result<ExitCode> {
    let node = ctx::resolve(g, false)?;
    let reports = collect_reports(&node)?;
    if output::json() {
        print_json(&serde_json::json!({ "stores": reports }))?;
    } else {
        print_reports(&reports);
    }
    Ok(ExitCode::SUCCESS)
}

/// Options of `export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Snapshot file to write
    pub file: PathBuf,
    /// Which store
    #[arg(long, value_enum)]
    pub store: StoreArg,
    /// Compute node index (with --store compute)
    #[arg(long, default_value_t = 0)]
    pub node: usize,
}

/// Options of `import`.
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Snapshot file to read
    pub file: PathBuf,
    /// Which store (it must be empty or not exist yet)
    #[arg(long, value_enum)]
    pub store: StoreArg,
    /// Compute node index (with --store compute)
    #[arg(long, default_value_t = 0)]
    pub node: usize,
}

/// Options of `check` and `compact`.
#[derive(Args, Debug)]
pub struct MaintArgs {
    /// Only this store (default: the requester store and every compute node's store)
    #[arg(long, value_enum)]
    pub store: Option<StoreArg>,
    /// Compute node index (with --store compute)
    #[arg(long)]
    pub node: Option<usize>,
}

/// The store file of `(store, node)`, its source, and the role.
fn target(node: &Node, store: StoreArg, i: usize) -> Result<(PathBuf, Source, StoreKind)> {
    Ok(match store {
        StoreArg::Requester => {
            let s = node.inspectable(StoreRole::Requester)?;
            (s.path.clone(), s.path_source, StoreKind::Requester)
        }
        StoreArg::Compute => {
            let s = node.inspectable(StoreRole::Compute)?;
            (node.compute_path(i), s.path_source, StoreKind::Compute)
        }
    })
}

/// `export`.
pub fn export(g: &GlobalArgs, a: &ExportArgs) -> Result<ExitCode> {
    let node = ctx::resolve(g, false)?;
    let (path, src, kind) = target(&node, a.store, a.node)?;
    let bytes = match kind {
        StoreKind::Requester => ctx::open_jobs_ro(&path, src)?.export_snapshot()?,
        StoreKind::Compute => ctx::open_compute_ro(&path, src)?.export_snapshot()?,
    };
    std::fs::write(&a.file, &bytes).map_err(|e| anyhow!("cannot write snapshot {}: {e}", a.file.display()))?;
    if !output::json() {
        out!("exported {} ({}) to {}", path.display(), human_size(bytes.len() as u64), a.file.display());
    } else {
        print_json(&serde_json::json!({ "store": path, "file": a.file, "bytes": bytes.len() }))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `import`.
pub fn import(g: &GlobalArgs, a: &ImportArgs) -> Result<ExitCode> {
    let bytes = std::fs::read(&a.file).map_err(|e| anyhow!("cannot read snapshot {}: {e}", a.file.display()))?;
    let node = ctx::resolve(g, true)?;
    let (path, src, kind) = target(&node, a.store, a.node)?;
    let existed = path.exists();
    let backend = ctx::open_rw(&path, kind, src, ctx::INSPECT_LOCK_TIMEOUT, false)?;
    let result: Result<u64> = match kind {
        StoreKind::Requester => {
            let s = StoreBuilder::new().jobs(backend);
            let r = s.import_snapshot(&bytes).map_err(anyhow::Error::from).and_then(|_| Ok(s.stats()?.job_total));
            s.close()?;
            r
        }
        StoreKind::Compute => {
            let s = StoreBuilder::new().compute(backend);
            let r = s.import_snapshot(&bytes).map_err(anyhow::Error::from).and_then(|_| Ok(s.stats()?.total));
            s.close()?;
            r
        }
    };
    match result {
        Ok(n) => {
            if output::json() {
                print_json(&serde_json::json!({ "store": path, "file": a.file, "records": n }))?;
            } else {
                out!(
                    "imported {} into {} ({n} {})",
                    a.file.display(),
                    path.display(),
                    if kind == StoreKind::Requester { "jobs" } else { "executions" }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            if !existed {
                let _ = std::fs::remove_file(&path);
                let _ = std::fs::remove_file(bacalhau_state::kv::redb::journal_path(&path));
            }
            Err(anyhow!("cannot import {} into {}: {e:#}; nothing was imported", a.file.display(), path.display()))
        }
    }
}

/// The stores `check`/`compact` work on.
fn maint_targets(node: &Node, a: &MaintArgs) -> Result<Vec<(PathBuf, Source, StoreKind, String)>> {
    let mut out = Vec::new();
    if a.store != Some(StoreArg::Compute) {
        let (p, s, k) = target(node, StoreArg::Requester, 0)?;
        out.push((p, s, k, "requester job store".to_string()));
    }
    if a.store != Some(StoreArg::Requester) {
        let nodes = match a.node {
            Some(i) => vec![i],
            None => {
                let n = ctx::existing_compute_nodes(node);
                if n.is_empty() {
                    vec![0]
                } else {
                    n
                }
            }
        };
        for i in nodes {
            let (p, s, k) = target(node, StoreArg::Compute, i)?;
            out.push((p, s, k, format!("compute node {i}")));
        }
    }
    for (p, src, _, what) in &out {
        if !p.exists() {
            return Err(anyhow!("no {what} store at {} ({})", p.display(), ctx::source_text(*src)));
        }
    }
    Ok(out)
}

fn open_exclusive(path: &Path, kind: StoreKind) -> std::result::Result<RedbBackend, OpenError> {
    RedbBackend::open(path, kind, &ctx::options(Duration::from_millis(300), false))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CheckOut {
    store: String,
    path: PathBuf,
    /// `ok`, `repaired` or `skipped: ...`.
    integrity: String,
    report: CheckReport,
}

fn run_check(kind: StoreKind, b: RedbBackend, integrity: String) -> Result<(String, CheckReport)> {
    Ok(match kind {
        StoreKind::Requester => {
            let s = StoreBuilder::new().jobs(b);
            let r = s.check()?;
            s.close()?;
            (integrity, r)
        }
        StoreKind::Compute => {
            let s = StoreBuilder::new().compute(b);
            let r = s.check()?;
            s.close()?;
            (integrity, r)
        }
    })
}

/// `check`.
pub fn check(g: &GlobalArgs, a: &MaintArgs) -> Result<ExitCode> {
    let node = ctx::resolve(g, false)?;
    let mut outs = Vec::new();
    for (path, src, kind, what) in maint_targets(&node, a)? {
        let (integrity, report) = match open_exclusive(&path, kind) {
            Ok(b) => {
                let integrity = match b.check_integrity() {
                    Ok(true) => "ok".to_string(),
                    Ok(false) => "repaired".to_string(),
                    Err(e) => return Err(anyhow!("{what} {}: integrity check failed: {e}", path.display())),
                };
                run_check(kind, b, integrity)?
            }
            Err(OpenError::InUse { .. }) => {
                // A running simulate shares its stores with readers: check what it has committed.
                let b = RedbBackend::open_read_only(&path, kind, &ctx::options(ctx::INSPECT_LOCK_TIMEOUT, true))
                    .map_err(|e| {
                        anyhow!("{e}; hint: another process holds the store exclusively: wait for it to finish")
                    })?;
                run_check(kind, b, "skipped: the store is open in another process".to_string())?
            }
            Err(e) => return Err(anyhow!("{what}: {e} ({})", ctx::source_text(src))),
        };
        outs.push(CheckOut { store: what, path, integrity, report });
    }
    let bad = outs.iter().any(|o| !o.report.problems.is_empty() || o.integrity == "repaired");
    if output::json() {
        print_json(&serde_json::json!({ "ok": !bad, "stores": outs }))?;
    } else {
        for o in &outs {
            out!(
                "{}  {}: integrity {}, {} records, {} history entries, {} events, {} problems",
                o.store,
                o.path.display(),
                o.integrity,
                o.report.records,
                o.report.history_entries,
                o.report.events,
                o.report.problems.len()
            );
            for p in &o.report.problems {
                out!("  problem: {p}");
            }
        }
        out!("{}", if bad { "check: problems found" } else { "check: ok" });
    }
    Ok(if bad { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// `compact`.
pub fn compact(g: &GlobalArgs, a: &MaintArgs) -> Result<ExitCode> {
    let node = ctx::resolve(g, false)?;
    let mut rows = Vec::new();
    for (path, src, kind, what) in maint_targets(&node, a)? {
        let b = open_exclusive(&path, kind).map_err(|e| match e {
            OpenError::InUse { .. } => {
                anyhow!("{e}; hint: compaction needs the store to itself: stop the process using it first")
            }
            e => anyhow!("{what}: {e} ({})", ctx::source_text(src)),
        })?;
        let before = b.file_size().unwrap_or(0);
        let reclaimed = b.compact().map_err(|e| anyhow!("{what} {}: compaction failed: {e}", path.display()))?;
        let after = b.file_size().unwrap_or(0);
        b.close()?;
        rows.push(serde_json::json!({ "store": what, "path": path, "before": before, "after": after, "reclaimed": reclaimed }));
        if !output::json() {
            out!("{what}  {}: {} -> {}", path.display(), human_size(before), human_size(after));
        }
    }
    if output::json() {
        print_json(&rows)?;
    }
    Ok(ExitCode::SUCCESS)
}
