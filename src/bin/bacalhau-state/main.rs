//! `bacalhau-state`: run a simulated Bacalhau node on the configured stores, and inspect or
//! maintain what a node left behind.
//!
//! Command tree (every command has `--help`):
//!
//! ```text
//! bacalhau-state [GLOBAL OPTIONS] <COMMAND>
//!   simulate                 requester + K compute nodes, N jobs, resumable
//!   stats                    counts per state, records, last event, file size (every store)
//!   jobs list|show|history   the requester job store
//!   requester executions     executions of the requester store (--job, --node-id, --in-progress)
//!   evals show|list          evaluations (requester store)
//!   executions list|show|history   a compute node's execution store (--node I)
//!   events                   the event log of one store (--store, --after, --follow)
//!   export <FILE> / import <FILE>  portable snapshots (--store compute|requester)
//!   check                    redb integrity + store consistency (every store)
//!   compact                  release free space (every store)
//!   migrate [--dry-run]      convert Bacalhau v1.2 bbolt stores at the configured paths
//! ```
//!
//! Compute nodes: node 0 uses the configured compute store path itself; node `i >= 1` uses the
//! same path with `-<i>` inserted before the extension (`executions-1.db`, ...). Node 0's node ID
//! is the node ID (the hybrid requester + compute node), node `i`'s is `<node-id>-<i>`.
//!
//! Exit codes: 0 success, 1 failure, 2 usage or configuration error. Errors are one line on
//! stderr.

#![allow(missing_docs)] // the binary's docs are its --help text

/// `println!` that ends the process quietly when stdout is closed (`| head`).
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        if writeln!(std::io::stdout(), $($t)*).is_err() {
            std::process::exit(0);
        }
    }};
}

mod ctx;
mod inspect;
mod maint;
mod migrate;
mod output;
mod plan;
mod simulate;

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Bacalhau node state: run a simulated node on the configured stores, inspect and maintain them.
#[derive(Parser, Debug)]
#[command(name = "bacalhau-state", version, propagate_version = true)]
#[command(after_help = "Store settings are resolved as: flag > environment variable > default. \
Compute node i >= 1 (simulate --nodes) uses the compute store path with -<i> before the extension.")]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Args, Debug, Clone, Default)]
pub struct GlobalArgs {
    /// Repo directory holding the node ID and the default store paths [env: BACALHAU_DIR] [default: ~/.bacalhau]
    #[arg(long, global = true, value_name = "DIR")]
    pub repo: Option<String>,
    /// Node ID; when absent, one is generated once and kept in <repo>/node-id
    #[arg(long, global = true, env = "BACALHAU_NODE_ID", value_name = "ID")]
    pub node_id: Option<String>,
    #[arg(long, global = true, value_name = "TYPE", help = bacalhau_state::config::StoreRole::Compute.type_help())]
    pub compute_execution_store_type: Option<String>,
    #[arg(long, global = true, value_name = "FILE", help = bacalhau_state::config::StoreRole::Compute.path_help())]
    pub compute_execution_store_path: Option<String>,
    #[arg(long, global = true, value_name = "TYPE", help = bacalhau_state::config::StoreRole::Requester.type_help())]
    pub requester_job_store_type: Option<String>,
    #[arg(long, global = true, value_name = "FILE", help = bacalhau_state::config::StoreRole::Requester.path_help())]
    pub requester_job_store_path: Option<String>,
    /// Output format
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    /// Open a store for writing even though it was not closed cleanly and its commit journal is
    /// missing or belongs to another store, giving up the commits only that journal held
    #[arg(long, global = true)]
    pub accept_journal_loss: bool,
}

/// How results are printed.
#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OutputFormat {
    /// Aligned columns for people.
    #[default]
    Table,
    /// JSON for programs.
    Json,
}

/// Which of the node's stores a command works on.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreArg {
    /// A compute node's execution store (pick the node with --node).
    Compute,
    /// The requester's job store.
    Requester,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a requester and K compute nodes on the configured stores: submit N jobs and drive them
    /// through bidding, execution, failures, retries and completion (resumable: rerun to finish)
    Simulate(simulate::SimulateArgs),
    /// Counts per state, records, last event sequence number and file size of every store
    Stats,
    /// Jobs in the requester job store
    #[command(subcommand)]
    Jobs(inspect::JobsCmd),
    /// The requester job store's records other than jobs
    #[command(subcommand)]
    Requester(inspect::RequesterCmd),
    /// Evaluations in the requester job store
    #[command(subcommand)]
    Evals(inspect::EvalsCmd),
    /// A compute node's execution store
    #[command(subcommand)]
    Executions(inspect::ExecutionsCmd),
    /// The event log of one store
    Events(inspect::EventsArgs),
    /// Write a store's portable snapshot to FILE
    Export(maint::ExportArgs),
    /// Load a snapshot FILE into an empty store (one transaction: all or nothing)
    Import(maint::ImportArgs),
    /// Verify every store: redb page checksums and the stores' own invariants
    Check(maint::MaintArgs),
    /// Rewrite every store file to release free space
    Compact(maint::MaintArgs),
    /// Convert the Bacalhau v1.2 bbolt stores at the configured paths (kept as .bbolt-backup)
    Migrate(migrate::MigrateArgs),
}

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        let text = info.to_string().replace(['\n', '\r'], " ");
        eprintln!("error: internal error: {text}");
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            // One line, like every other error: clap's first line names the problem.
            let text = e.render().to_string();
            let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("invalid arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("error: {first} (see --help)");
            return ExitCode::from(2);
        }
    };
    output::set_format(cli.global.output);
    ctx::accept_journal_loss(cli.global.accept_journal_loss);
    let result = match &cli.command {
        Command::Simulate(a) => simulate::run(&cli.global, a),
        Command::Stats => maint::stats(&cli.global),
        Command::Jobs(c) => inspect::jobs(&cli.global, c),
        Command::Requester(c) => inspect::requester(&cli.global, c),
        Command::Evals(c) => inspect::evals(&cli.global, c),
        Command::Executions(c) => inspect::executions(&cli.global, c),
        Command::Events(a) => inspect::events(&cli.global, a),
        Command::Export(a) => maint::export(&cli.global, a),
        Command::Import(a) => maint::import(&cli.global, a),
        Command::Check(a) => maint::check(&cli.global, a),
        Command::Compact(a) => maint::compact(&cli.global, a),
        Command::Migrate(a) => migrate::run(&cli.global, a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let code = if e.downcast_ref::<ctx::UsageError>().is_some() { 2 } else { 1 };
            // One line, whatever the source said.
            let text = format!("{e:#}").replace(['\n', '\r'], " ");
            eprintln!("error: {text}");
            ExitCode::from(code)
        }
    }
}
