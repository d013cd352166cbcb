//! `migrate`: convert the Bacalhau v1.2 bbolt stores at the configured paths into this
//! implementation's stores, without loss and without ever modifying the bbolt files (they are
//! kept as `<name>.bbolt-backup`). The work is `bacalhau_state::migrate::run`: write beside,
//! verify record by record, then swap; a rerun after a crash finishes the job.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{anyhow, Result};
use bacalhau_state::config::{StoreRole, StoreType};
use bacalhau_state::migrate::{self, MigrateOptions, Outcome};
use clap::Args;

use crate::ctx::{self, Node};
use crate::GlobalArgs;

#[derive(Args, Debug)]
pub struct MigrateArgs {
    /// Read and convert, report what would be migrated, write nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// The one `<ID>` for which the repo holds `<ID>-compute/executions.db` or
/// `<ID>-requester/jobs.db`: a v1.2 node's directories are named after its libp2p peer ID.
fn legacy_node_id(repo: &Path) -> Option<String> {
    let mut ids: Vec<String> = std::fs::read_dir(repo)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            for role in StoreRole::ALL {
                if let Some(id) = name.strip_suffix(role.dir_suffix()) {
                    if e.path().join(role.file_name()).is_file() {
                        return Some(id.to_string());
                    }
                }
            }
            None
        })
        .collect();
    ids.sort();
    ids.dedup();
    (ids.len() == 1).then(|| ids.remove(0))
}

pub fn run(g: &GlobalArgs, a: &MigrateArgs) -> Result<ExitCode> {
    let mut node: Node = ctx::resolve(g, false)?;
    if !node.node_id_known {
        if let Some(id) = legacy_node_id(&node.cfg.repo) {
            out!("no node ID given: using {id}, found in {}", node.cfg.repo.display());
            node = ctx::resolve(&GlobalArgs { node_id: Some(id), ..g.clone() }, false)?;
        }
    }
    let mut migrated = 0;
    for role in StoreRole::ALL {
        let store = node.cfg.store(role);
        if store.store_type == StoreType::InMemory {
            out!("{role}: configured as inmemory, nothing to migrate");
            continue;
        }
        if !node.node_id_known && store.path_source == bacalhau_state::config::Source::Default {
            out!(
                "{role}: skipped: the node ID is unknown, so its default path is too (pass --node-id or {})",
                role.path_flag()
            );
            continue;
        }
        let report = migrate::run(&MigrateOptions::for_store(store).dry_run(a.dry_run)).map_err(|e| {
            let hint = if e.code() == "InUse" { " (stop the node that has it open, then rerun)" } else { "" };
            anyhow!("{role} at {}: {e}{hint}", store.path.display())
        })?;
        if report.outcome == Outcome::Migrated {
            migrated += 1;
        }
        out!("{role}: {report}");
    }
    if migrated > 0 && g.node_id.as_deref().is_none_or(|s| s.trim().is_empty()) {
        out!("run the node with --node-id {} (or BACALHAU_NODE_ID) so that it finds the migrated stores", node.id());
    }
    Ok(ExitCode::SUCCESS)
}
