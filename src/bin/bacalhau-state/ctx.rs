//! Resolving the node's configuration (repo, node ID, store types and paths) and opening stores.

use std::fmt;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, Result};
use bacalhau_state::config::{
    self, ConfigInputs, NodeStoreConfig, ProcessEnv, Source, StoreConfig, StoreRole, StoreType,
};
use bacalhau_state::kv::redb::{OpenError, RedbBackend, RedbOptions};
use bacalhau_state::kv::StoreKind;
use bacalhau_state::{ExecutionStore, JobStore, StoreBuilder};

use crate::GlobalArgs;

/// A usage or configuration error: exit code 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Fails with exit code 2.
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(msg.into()))
}

/// How long an inspection command waits for a store another process holds.
pub const INSPECT_LOCK_TIMEOUT: Duration = Duration::from_millis(300);

/// The name of the file in the repo that keeps a generated node ID.
pub const NODE_ID_FILE: &str = "node-id";

/// The resolved configuration of a command.
pub struct Node {
    /// Both stores' settings.
    pub cfg: NodeStoreConfig,
    /// Whether the node ID was known (flag, env or the repo's node-id file); when not, default
    /// store paths are meaningless.
    pub node_id_known: bool,
}

fn inputs(g: &GlobalArgs) -> ConfigInputs {
    ConfigInputs {
        repo: g.repo.clone(),
        compute_store_type: g.compute_execution_store_type.clone(),
        compute_store_path: g.compute_execution_store_path.clone(),
        job_store_type: g.requester_job_store_type.clone(),
        job_store_path: g.requester_job_store_path.clone(),
    }
}

fn config_error(e: config::ConfigError) -> anyhow::Error {
    match e.code() {
        "Io" => anyhow!("{e}"),
        _ => usage(e.to_string()),
    }
}

/// Resolves the configuration. A writer (`create_node_id`) generates and persists a node ID when
/// none is known; a reader does not write anything.
pub fn resolve(g: &GlobalArgs, create_node_id: bool) -> Result<Node> {
    let env = ProcessEnv;
    let inputs = inputs(g);
    let repo = config::resolve_repo(&inputs, &env).map_err(config_error)?;
    let explicit = g.node_id.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let file = repo.join(NODE_ID_FILE);
    let (node_id, known) = match explicit {
        Some(id) => (id, true),
        None => match std::fs::read_to_string(&file) {
            Ok(s) if !s.trim().is_empty() => (s.trim().to_string(), true),
            Ok(_) => return Err(anyhow!("node ID file {} is empty: delete it or pass --node-id", file.display())),
            Err(e) if e.kind() == ErrorKind::NotFound || e.kind() == ErrorKind::NotADirectory => {
                if create_node_id {
                    (new_node_id(), true)
                } else {
                    // Only used to resolve explicit paths; default paths are refused below.
                    ("unknown-node".to_string(), false)
                }
            }
            Err(e) => return Err(anyhow!("cannot read node ID file {}: {e}", file.display())),
        },
    };
    config::validate_node_id(&node_id).map_err(config_error)?;
    let cfg = config::resolve(&inputs, &env, &node_id).map_err(config_error)?;
    // A generated ID is kept only once the configuration is known to be usable.
    if known && explicit_or_file_missing(g, &file) {
        persist_node_id(&repo, &file, &node_id)?;
    }
    Ok(Node { cfg, node_id_known: known })
}

fn explicit_or_file_missing(g: &GlobalArgs, file: &Path) -> bool {
    g.node_id.as_deref().is_none_or(|s| s.trim().is_empty()) && !file.exists()
}

fn new_node_id() -> String {
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let h = crate::plan::mix(&[seed as u64, (seed >> 64) as u64, u64::from(std::process::id())]);
    format!("n-{}", crate::plan::uuid(h, crate::plan::mix(&[h, 1])))
}

fn persist_node_id(repo: &Path, file: &Path, id: &str) -> Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(repo).map_err(|e| anyhow!("cannot create repo directory {}: {e}", repo.display()))?;
    std::fs::write(file, format!("{id}\n"))
        .map_err(|e| anyhow!("cannot write node ID file {}: {e}", file.display()))?;
    Ok(())
}

impl Node {
    /// The node ID.
    pub fn id(&self) -> &str {
        &self.cfg.node_id
    }

    /// Compute node `i`'s ID.
    pub fn compute_node_id(&self, i: usize) -> String {
        if i == 0 {
            self.cfg.node_id.clone()
        } else {
            format!("{}-{i}", self.cfg.node_id)
        }
    }

    /// Compute node `i`'s store file.
    pub fn compute_path(&self, i: usize) -> PathBuf {
        node_store_path(&self.cfg.compute.path, i)
    }

    /// Refuses a store that cannot be inspected: in memory, or at a default path while the node
    /// ID is unknown.
    pub fn inspectable(&self, role: StoreRole) -> Result<&StoreConfig> {
        let s = self.cfg.store(role);
        if s.store_type == StoreType::InMemory {
            return Err(usage(format!(
                "the {role} is configured as inmemory ({}): an in-memory store keeps nothing after its process exits, so there is nothing to read",
                source_text(s.type_source)
            )));
        }
        if !self.node_id_known && s.path_source == Source::Default {
            return Err(anyhow!(
                "no node ID: {} does not exist, so the default {role} path is unknown; pass --node-id, set BACALHAU_NODE_ID or {}, or run `bacalhau-state simulate` first",
                self.cfg.repo.join(NODE_ID_FILE).display(),
                role.path_flag()
            ));
        }
        Ok(s)
    }
}

/// Where a value came from, for messages.
pub fn source_text(s: Source) -> String {
    match s {
        Source::Default => "the default".into(),
        other => format!("from {other}"),
    }
}

/// Node `i`'s compute store: node 0 uses `base`, node `i` inserts `-<i>` before the extension.
pub fn node_store_path(base: &Path, i: usize) -> PathBuf {
    if i == 0 {
        return base.to_path_buf();
    }
    let stem = base.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let name = match base.extension() {
        Some(ext) => format!("{stem}-{i}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{i}"),
    };
    base.with_file_name(name)
}

fn open_error(e: OpenError, role: &str, src: Source, read_only: bool) -> anyhow::Error {
    match &e {
        OpenError::Io { source, .. } if read_only && source.kind() == ErrorKind::NotFound => anyhow!(
            "no {role} at {} ({}): run `bacalhau-state simulate` first, or point the store path flag at an existing store",
            e.path().display(),
            source_text(src)
        ),
        OpenError::InUse { .. } => anyhow!(
            "{e}; hint: a running `bacalhau-state simulate` shares its stores with readers, any other writer (import, compact, check) holds them exclusively: wait for it to finish"
        ),
        OpenError::Journal { .. } if !read_only => anyhow!("{e}"),
        OpenError::Storage { .. } if read_only => anyhow!(
            "{e}; hint: if the process that wrote it was killed, run `bacalhau-state check` (or simulate) once to repair it"
        ),
        _ => anyhow!("{e}"),
    }
}

/// `--accept-journal-loss`, set once from the command line before any store is opened.
static ACCEPT_JOURNAL_LOSS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Records `--accept-journal-loss` for every writable open of this process.
pub fn accept_journal_loss(accept: bool) {
    ACCEPT_JOURNAL_LOSS.store(accept, std::sync::atomic::Ordering::Relaxed);
}

/// How every command opens a store.
pub fn options(lock_timeout: Duration, shared_readers: bool) -> RedbOptions {
    RedbOptions {
        lock_timeout,
        shared_readers,
        accept_journal_loss: ACCEPT_JOURNAL_LOSS.load(std::sync::atomic::Ordering::Relaxed),
        ..RedbOptions::default()
    }
}

/// Opens a compute store read-only (inspection).
pub fn open_compute_ro(path: &Path, src: Source) -> Result<ExecutionStore<RedbBackend>> {
    let b = RedbBackend::open_read_only(path, StoreKind::Compute, &options(INSPECT_LOCK_TIMEOUT, true))
        .map_err(|e| open_error(e, "compute execution store", src, true))?;
    Ok(StoreBuilder::new().compute(b))
}

/// Opens the job store read-only (inspection).
pub fn open_jobs_ro(path: &Path, src: Source) -> Result<JobStore<RedbBackend>> {
    let b = RedbBackend::open_read_only(path, StoreKind::Requester, &options(INSPECT_LOCK_TIMEOUT, true))
        .map_err(|e| open_error(e, "requester job store", src, true))?;
    Ok(StoreBuilder::new().jobs(b))
}

/// Opens (creating) a store for writing.
pub fn open_rw(path: &Path, kind: StoreKind, src: Source, lock_timeout: Duration, shared: bool) -> Result<RedbBackend> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.exists() {
            config::prepare_store_dir(path).map_err(config_error)?;
        }
    }
    let role = match kind {
        StoreKind::Compute => "compute execution store",
        StoreKind::Requester => "requester job store",
    };
    RedbBackend::open(path, kind, &options(lock_timeout, shared)).map_err(|e| open_error(e, role, src, false))
}

/// The compute store files that exist for node 0, 1, ... (stops at the first missing one after
/// node 0).
pub fn existing_compute_nodes(node: &Node) -> Vec<usize> {
    let mut out = Vec::new();
    for i in 0.. {
        if node.compute_path(i).exists() {
            out.push(i);
        } else if i > 0 {
            break;
        }
    }
    out
}

/// Human-readable byte size.
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
