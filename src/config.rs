//! Where a node keeps its stores: store types, paths and the repo directory.
//!
//! Every setting comes from an explicit flag, else an environment variable, else a default.
//! An empty or whitespace-only value counts as unset at every level, so `BACALHAU_JOB_STORE_PATH=`
//! behaves like an unset variable rather than naming the current directory.
//!
//! | Env var | Flag | Values | Default |
//! |---|---|---|---|
//! | `BACALHAU_COMPUTE_STORE_TYPE` | `--compute-execution-store-type` | `boltdb` (alias `redb`) or `inmemory` | `boltdb` |
//! | `BACALHAU_COMPUTE_STORE_PATH` | `--compute-execution-store-path` | path of the database file | `<repo>/<NODE-ID>-compute/executions.db` |
//! | `BACALHAU_JOB_STORE_TYPE` | `--requester-job-store-type` | `boltdb` (alias `redb`) or `inmemory` | `boltdb` |
//! | `BACALHAU_JOB_STORE_PATH` | `--requester-job-store-path` | path of the database file | `<repo>/<NODE-ID>-requester/jobs.db` |
//!
//! `<repo>` is `--repo`, else `BACALHAU_DIR`, else `~/.bacalhau`. A leading `~` or `~/` in the repo
//! or a store path is expanded with `HOME`; relative paths stay relative to the process's working
//! directory, as the Go node does.
//!
//! The type names, [`validate_node_id`] and [`ensure_supported`] need only `alloc`, so that a
//! `no_std` or WebAssembly embedder can share the vocabulary and the error messages; resolution
//! from the environment and the file-system checks need `std`.
//!
//! There is no clap here: a CLI collects its flag values into `ConfigInputs` and lets
//! `resolve` read the environment, so that every error can name where its value came from.
//! A CLI must therefore not let its argument parser read these environment variables itself.

use alloc::string::{String, ToString};
use core::fmt;

use crate::kv::StoreKind;

#[cfg(feature = "std")]
use std::{
    collections::{BTreeMap, HashMap},
    io,
    path::{Path, PathBuf},
};

/// How a store keeps its data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreType {
    /// The durable file store: a redb file, configured under the Go node's name `boltdb`.
    #[default]
    Durable,
    /// A store that lives in memory and is lost when the node stops.
    InMemory,
}

impl StoreType {
    /// Every spelling [`StoreType::parse`] accepts, for a CLI's list of possible values.
    pub const ACCEPTED: [&'static str; 3] = ["boltdb", "redb", "inmemory"];

    /// The valid values as a phrase, shared by error messages and `--help` so they cannot drift.
    pub const VALID_TYPES: &'static str = "\"boltdb\" (alias \"redb\") and \"inmemory\"";

    /// Parses a store type, ignoring surrounding whitespace and case, as the Go node's
    /// `ParseStorageType` does; `redb` is accepted because that is what the durable store is here.
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        if value.eq_ignore_ascii_case("boltdb") || value.eq_ignore_ascii_case("redb") {
            Some(Self::Durable)
        } else if value.eq_ignore_ascii_case("inmemory") {
            Some(Self::InMemory)
        } else {
            None
        }
    }

    /// The canonical name, which is what the Go node and its config files call the type.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Durable => "boltdb",
            Self::InMemory => "inmemory",
        }
    }
}

impl fmt::Display for StoreType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::str::FromStr for StoreType {
    type Err = ConfigError;

    /// Parses like [`StoreType::parse`]; the error cannot name a flag or variable, so prefer
    /// `resolve` for user input.
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::parse(value)
            .ok_or_else(|| ConfigError::InvalidStoreType { value: value.to_string(), origin: Source::Default })
    }
}

/// Which of the node's two stores a setting belongs to: the store kind itself, whose settings
/// (variables, flags, default paths) are defined here.
pub use crate::kv::StoreKind as StoreRole;

impl StoreKind {
    /// Both roles, in the order a node opens them.
    pub const ALL: [StoreKind; 2] = [StoreKind::Compute, StoreKind::Requester];

    /// The environment variable holding the store type.
    pub fn type_env(self) -> &'static str {
        match self {
            Self::Compute => "BACALHAU_COMPUTE_STORE_TYPE",
            Self::Requester => "BACALHAU_JOB_STORE_TYPE",
        }
    }

    /// The environment variable holding the store path.
    pub fn path_env(self) -> &'static str {
        match self {
            Self::Compute => "BACALHAU_COMPUTE_STORE_PATH",
            Self::Requester => "BACALHAU_JOB_STORE_PATH",
        }
    }

    /// The flag holding the store type, with its leading `--` because that is how messages show it.
    pub fn type_flag(self) -> &'static str {
        match self {
            Self::Compute => "--compute-execution-store-type",
            Self::Requester => "--requester-job-store-type",
        }
    }

    /// The flag holding the store path, with its leading `--`.
    pub fn path_flag(self) -> &'static str {
        match self {
            Self::Compute => "--compute-execution-store-path",
            Self::Requester => "--requester-job-store-path",
        }
    }

    /// Appended to the node ID to name the store's default directory inside the repo.
    pub fn dir_suffix(self) -> &'static str {
        match self {
            Self::Compute => "-compute",
            Self::Requester => "-requester",
        }
    }

    /// The default database file name inside that directory.
    pub fn file_name(self) -> &'static str {
        match self {
            Self::Compute => "executions.db",
            Self::Requester => "jobs.db",
        }
    }

    /// `--help` text for the type flag; it names the environment variable because the CLI reads it
    /// through this module rather than through its argument parser.
    pub fn type_help(self) -> &'static str {
        match self {
            Self::Compute => {
                "Compute execution store type: boltdb (the durable file store; alias redb) or \
                 inmemory [env: BACALHAU_COMPUTE_STORE_TYPE] [default: boltdb]"
            }
            Self::Requester => {
                "Requester job store type: boltdb (the durable file store; alias redb) or \
                 inmemory [env: BACALHAU_JOB_STORE_TYPE] [default: boltdb]"
            }
        }
    }

    /// `--help` text for the path flag.
    pub fn path_help(self) -> &'static str {
        match self {
            Self::Compute => {
                "Compute execution store file, including the file name \
                 [env: BACALHAU_COMPUTE_STORE_PATH] [default: <repo>/<NODE-ID>-compute/executions.db]"
            }
            Self::Requester => {
                "Requester job store file, including the file name \
                 [env: BACALHAU_JOB_STORE_PATH] [default: <repo>/<NODE-ID>-requester/jobs.db]"
            }
        }
    }
}

impl fmt::Display for StoreKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Compute => "compute execution store",
            Self::Requester => "requester job store",
        })
    }
}

/// The flag that sets the repo directory.
pub const REPO_FLAG: &str = "--repo";
/// The environment variable that sets the repo directory.
pub const REPO_ENV: &str = "BACALHAU_DIR";
/// The repo's directory name inside the home directory when neither flag nor variable is set.
pub const DEFAULT_REPO_DIR_NAME: &str = ".bacalhau";

/// Where a resolved value came from, kept so that errors and a CLI's output can point at it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// An explicitly given flag, named with its leading `--`.
    Flag(&'static str),
    /// An environment variable.
    Env(&'static str),
    /// Nothing was set, so the built-in default applies.
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Flag(name) | Self::Env(name) => f.write_str(name),
            Self::Default => f.write_str("the default"),
        }
    }
}

/// Why a configuration could not be resolved or used.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigError {
    /// A store type that is none of [`StoreType::ACCEPTED`].
    InvalidStoreType {
        /// The value as given, before trimming.
        value: String,
        /// Where it was given; [`Source::Default`] when it came through `FromStr`.
        origin: Source,
    },
    /// The node ID cannot be used as part of a directory name.
    InvalidNodeId {
        /// The node ID as given.
        node_id: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The durable store was asked for in a build that does not contain it.
    DurableUnavailable {
        /// Where the request came from, when known.
        origin: Option<Source>,
        /// Why this build lacks it.
        reason: &'static str,
    },
    /// An environment variable is set to something that is not UTF-8; it is refused rather than
    /// ignored so that a store is never silently opened somewhere else.
    NotUnicode {
        /// The variable's name.
        name: String,
    },
    /// A path that cannot be used at all (empty, or a `~user` form that cannot be expanded).
    #[cfg(feature = "std")]
    InvalidPath {
        /// The path as given.
        path: PathBuf,
        /// Where it was given, when known.
        origin: Option<Source>,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A durable store path names an existing directory, not a database file.
    #[cfg(feature = "std")]
    PathIsDirectory {
        /// The store path.
        path: PathBuf,
        /// Where it was given, when known.
        origin: Option<Source>,
    },
    /// A store path derived from the defaults is a symbolic link. Links are followed only for
    /// paths a user gave explicitly (flag or environment variable), so that a link planted in
    /// the repo cannot redirect a node's store elsewhere.
    #[cfg(feature = "std")]
    UnexpectedSymlink {
        /// The store path.
        path: PathBuf,
        /// Where the link points.
        target: PathBuf,
    },
    /// An existing ancestor of a durable store path is not a directory, so the file cannot be created.
    #[cfg(feature = "std")]
    ParentNotDirectory {
        /// The store path.
        path: PathBuf,
        /// The nearest existing ancestor, which is not a directory.
        parent: PathBuf,
        /// Where the store path was given, when known.
        origin: Option<Source>,
    },
    /// A `~` needed expanding, or the default repo needed locating, and `HOME` is not set.
    #[cfg(feature = "std")]
    NoHomeDirectory {
        /// The setting that needed the home directory.
        origin: Source,
    },
    /// A file-system operation failed.
    #[cfg(feature = "std")]
    Io {
        /// The path it was applied to.
        path: PathBuf,
        /// What was being done, e.g. `"create directory"`.
        action: &'static str,
        /// The underlying error.
        error: io::Error,
    },
}

impl ConfigError {
    /// A stable identifier per variant, for programs and tests that must not depend on wording.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidStoreType { .. } => "InvalidStoreType",
            Self::InvalidNodeId { .. } => "InvalidNodeId",
            Self::DurableUnavailable { .. } => "DurableUnavailable",
            Self::NotUnicode { .. } => "NotUnicode",
            #[cfg(feature = "std")]
            Self::InvalidPath { .. } => "InvalidPath",
            #[cfg(feature = "std")]
            Self::PathIsDirectory { .. } => "PathIsDirectory",
            #[cfg(feature = "std")]
            Self::UnexpectedSymlink { .. } => "UnexpectedSymlink",
            #[cfg(feature = "std")]
            Self::ParentNotDirectory { .. } => "ParentNotDirectory",
            #[cfg(feature = "std")]
            Self::NoHomeDirectory { .. } => "NoHomeDirectory",
            #[cfg(feature = "std")]
            Self::Io { .. } => "Io",
        }
    }
}

/// Writes ` (from X)` when the origin is known, so that path messages point at the setting.
fn write_origin(f: &mut fmt::Formatter<'_>, origin: &Option<Source>) -> fmt::Result {
    match origin {
        Some(Source::Default) => f.write_str(" (the default)"),
        Some(origin) => write!(f, " (from {origin})"),
        None => Ok(()),
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidStoreType { value, origin } => {
                write!(f, "invalid store type {value:?}")?;
                if *origin != Source::Default {
                    write!(f, " in {origin}")?;
                }
                write!(f, ": valid types are {}", StoreType::VALID_TYPES)
            }
            Self::InvalidNodeId { node_id, reason } => {
                write!(f, "invalid node ID {node_id:?}: {reason}")
            }
            Self::DurableUnavailable { origin, reason } => {
                f.write_str("the durable store type \"boltdb\"")?;
                write_origin(f, origin)?;
                write!(f, " is not available in this build: {reason}; only \"inmemory\" is available")
            }
            Self::NotUnicode { name } => {
                write!(f, "environment variable {name} is not valid UTF-8")
            }
            #[cfg(feature = "std")]
            Self::InvalidPath { path, origin, reason } => {
                write!(f, "invalid path {:?}", path.display().to_string())?;
                write_origin(f, origin)?;
                write!(f, ": {reason}")
            }
            #[cfg(feature = "std")]
            Self::PathIsDirectory { path, origin } => {
                write!(f, "store path {:?}", path.display().to_string())?;
                write_origin(f, origin)?;
                f.write_str(" is a directory; it must name the database file itself")
            }
            #[cfg(feature = "std")]
            Self::UnexpectedSymlink { path, target } => write!(
                f,
                "default store path {:?} is a symbolic link to {:?}; links are followed only for paths given \
                 explicitly: pass it with the store path flag or environment variable to use it",
                path.display().to_string(),
                target.display().to_string()
            ),
            #[cfg(feature = "std")]
            Self::ParentNotDirectory { path, parent, origin } => {
                write!(f, "store path {:?}", path.display().to_string())?;
                write_origin(f, origin)?;
                write!(f, " cannot be created: {:?} exists and is not a directory", parent.display().to_string())
            }
            #[cfg(feature = "std")]
            Self::NoHomeDirectory { origin } => match origin {
                Source::Default => write!(
                    f,
                    "cannot locate the default repo \"~/{DEFAULT_REPO_DIR_NAME}\": HOME is not \
                     set; pass {REPO_FLAG} or set {REPO_ENV}"
                ),
                origin => write!(f, "cannot expand \"~\" in {origin}: HOME is not set"),
            },
            #[cfg(feature = "std")]
            Self::Io { path, action, error } => write!(f, "cannot {action} {:?}: {error}", path.display().to_string()),
        }
    }
}

impl core::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            #[cfg(feature = "std")]
            Self::Io { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// Checks that a node ID can become part of a directory name (`<repo>/<NODE-ID>-compute`).
///
/// Separators would escape the repo or nest directories, NUL cannot appear in a path, and
/// whitespace or control characters almost always mean a copy-paste accident.
pub fn validate_node_id(node_id: &str) -> Result<(), ConfigError> {
    let reason = if node_id.is_empty() {
        Some("it must not be empty")
    } else if node_id.contains('/') || node_id.contains('\\') {
        Some("it must not contain \"/\" or \"\\\" because it becomes a directory name")
    } else if node_id.contains('\0') {
        Some("it must not contain NUL")
    } else if node_id.chars().any(char::is_whitespace) {
        Some("it must not contain whitespace")
    } else if node_id.chars().any(char::is_control) {
        Some("it must not contain control characters")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(ConfigError::InvalidNodeId { node_id: node_id.to_string(), reason }),
        None => Ok(()),
    }
}

/// Why this build has no durable store, or `None` when it has one.
fn durable_unavailable_reason() -> Option<&'static str> {
    if cfg!(target_arch = "wasm32") {
        Some("WebAssembly has no file system for the durable store")
    } else if !cfg!(feature = "redb") {
        Some("bacalhau-state was built without its \"redb\" feature")
    } else {
        None
    }
}

/// Whether this build contains the durable store (native, with the `redb` feature).
pub fn durable_available() -> bool {
    durable_unavailable_reason().is_none()
}

/// Refuses [`StoreType::Durable`] in a build without it, instead of silently falling back to memory
/// and losing the node's state on restart.
pub fn ensure_supported(store_type: StoreType) -> Result<(), ConfigError> {
    check_supported(store_type, None, durable_unavailable_reason())
}

/// [`ensure_supported`] with the build's answer passed in, so that tests on a native build can see
/// the WebAssembly error.
fn check_supported(
    store_type: StoreType,
    origin: Option<Source>,
    unavailable: Option<&'static str>,
) -> Result<(), ConfigError> {
    match (store_type, unavailable) {
        (StoreType::Durable, Some(reason)) => Err(ConfigError::DurableUnavailable { origin, reason }),
        _ => Ok(()),
    }
}

#[cfg(feature = "std")]
pub use self::resolution::*;

#[cfg(feature = "std")]
mod resolution {
    use super::*;

    /// A source of environment variables; tests pass a map or closure so that they never read or
    /// change the real process environment.
    pub trait Env {
        /// The variable's value, or `None` when it is not set.
        fn var(&self, name: &str) -> Option<String>;

        /// Like [`Env::var`], but able to refuse a value; [`ProcessEnv`] uses it to reject
        /// non-UTF-8 values, which `var` can only drop.
        fn try_var(&self, name: &str) -> Result<Option<String>, ConfigError> {
            Ok(self.var(name))
        }

        /// The home directory used to expand `~` and to place the default repo: `HOME`, read
        /// through this same source so that tests can fake it (on Windows, `USERPROFILE` when
        /// `HOME` is unset). An empty value counts as unset.
        fn home(&self) -> Result<Option<PathBuf>, ConfigError> {
            let names: &[&str] = if cfg!(windows) { &["HOME", "USERPROFILE"] } else { &["HOME"] };
            for name in names {
                if let Some(home) = non_blank(self.try_var(name)?) {
                    return Ok(Some(PathBuf::from(home)));
                }
            }
            Ok(None)
        }
    }

    /// The real process environment.
    #[derive(Clone, Copy, Debug, Default)]
    pub struct ProcessEnv;

    impl Env for ProcessEnv {
        /// Drops non-UTF-8 values; resolution goes through [`Env::try_var`], which refuses them.
        fn var(&self, name: &str) -> Option<String> {
            std::env::var(name).ok()
        }

        fn try_var(&self, name: &str) -> Result<Option<String>, ConfigError> {
            match std::env::var(name) {
                Ok(value) => Ok(Some(value)),
                Err(std::env::VarError::NotPresent) => Ok(None),
                Err(std::env::VarError::NotUnicode(_)) => Err(ConfigError::NotUnicode { name: name.to_string() }),
            }
        }
    }

    impl Env for BTreeMap<String, String> {
        fn var(&self, name: &str) -> Option<String> {
            self.get(name).cloned()
        }
    }

    impl<S: std::hash::BuildHasher> Env for HashMap<String, String, S> {
        fn var(&self, name: &str) -> Option<String> {
            self.get(name).cloned()
        }
    }

    impl<F: Fn(&str) -> Option<String>> Env for F {
        fn var(&self, name: &str) -> Option<String> {
            self(name)
        }
    }

    /// The flag values a caller was explicitly given; `None` (or a blank string) means the flag
    /// was not given, so the environment variable and then the default apply.
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    pub struct ConfigInputs {
        /// `--repo`.
        pub repo: Option<String>,
        /// `--compute-execution-store-type`.
        pub compute_store_type: Option<String>,
        /// `--compute-execution-store-path`.
        pub compute_store_path: Option<String>,
        /// `--requester-job-store-type`.
        pub job_store_type: Option<String>,
        /// `--requester-job-store-path`.
        pub job_store_path: Option<String>,
    }

    impl ConfigInputs {
        /// The explicit type flag value for a role.
        pub fn store_type(&self, role: StoreRole) -> Option<&str> {
            match role {
                StoreRole::Compute => self.compute_store_type.as_deref(),
                StoreRole::Requester => self.job_store_type.as_deref(),
            }
        }

        /// The explicit path flag value for a role.
        pub fn store_path(&self, role: StoreRole) -> Option<&str> {
            match role {
                StoreRole::Compute => self.compute_store_path.as_deref(),
                StoreRole::Requester => self.job_store_path.as_deref(),
            }
        }
    }

    /// One store's resolved settings.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct StoreConfig {
        /// Which store this is.
        pub role: StoreRole,
        /// How the store keeps its data.
        pub store_type: StoreType,
        /// The database file. It is resolved even for [`StoreType::InMemory`] so that a CLI can show
        /// where a durable store would go, but an in-memory store never touches it.
        pub path: PathBuf,
        /// Where `store_type` came from.
        pub type_source: Source,
        /// Where `path` came from; [`Source::Default`] means it was derived from the repo and node ID.
        pub path_source: Source,
    }

    impl StoreConfig {
        /// Creates the durable store's missing parent directories (see [`prepare_store_dir`]);
        /// an in-memory store needs nothing.
        pub fn prepare(&self) -> Result<(), ConfigError> {
            match self.store_type {
                StoreType::InMemory => Ok(()),
                StoreType::Durable => prepare(&self.path, Some(self.path_source)),
            }
        }
    }

    /// Both stores' settings for one node.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct NodeStoreConfig {
        /// The repo directory that default store paths live in.
        pub repo: PathBuf,
        /// Where `repo` came from.
        pub repo_source: Source,
        /// The node ID the default store directories are named after.
        pub node_id: String,
        /// The compute execution store.
        pub compute: StoreConfig,
        /// The requester job store.
        pub requester: StoreConfig,
    }

    impl NodeStoreConfig {
        /// The settings for one role.
        pub fn store(&self, role: StoreRole) -> &StoreConfig {
            match role {
                StoreRole::Compute => &self.compute,
                StoreRole::Requester => &self.requester,
            }
        }
    }

    /// A value counts only when it has non-whitespace content, so that `VAR=` means unset.
    fn non_blank(value: Option<String>) -> Option<String> {
        value.filter(|value| !value.trim().is_empty())
    }

    /// The effective raw value: the flag if given, else the environment variable, else nothing.
    fn pick(
        flag_value: Option<&str>,
        flag: &'static str,
        env: &dyn Env,
        var: &'static str,
    ) -> Result<Option<(String, Source)>, ConfigError> {
        if let Some(value) = non_blank(flag_value.map(str::to_string)) {
            return Ok(Some((value, Source::Flag(flag))));
        }
        Ok(non_blank(env.try_var(var)?).map(|value| (value, Source::Env(var))))
    }

    /// Expands a leading `~` the way a shell would for the current user; `~user` is refused
    /// because looking up other users' homes is not portable, and keeping it literal would create
    /// a directory named `~user`.
    fn expand_home(value: &str, origin: Source, env: &dyn Env) -> Result<PathBuf, ConfigError> {
        let Some(rest) = value.strip_prefix('~') else {
            return Ok(PathBuf::from(value));
        };
        let rest = if rest.is_empty() {
            ""
        } else if let Some(rest) = rest.strip_prefix('/').or_else(|| rest.strip_prefix(std::path::MAIN_SEPARATOR)) {
            rest
        } else {
            return Err(ConfigError::InvalidPath {
                path: PathBuf::from(value),
                origin: Some(origin),
                reason: "only \"~\" and \"~/...\" can be expanded, not \"~user\"",
            });
        };
        let home = env.home()?.ok_or(ConfigError::NoHomeDirectory { origin })?;
        Ok(if rest.is_empty() { home } else { home.join(rest) })
    }

    fn repo_with_source(inputs: &ConfigInputs, env: &dyn Env) -> Result<(PathBuf, Source), ConfigError> {
        match pick(inputs.repo.as_deref(), REPO_FLAG, env, REPO_ENV)? {
            Some((value, origin)) => Ok((expand_home(&value, origin, env)?, origin)),
            None => {
                let home = env.home()?.ok_or(ConfigError::NoHomeDirectory { origin: Source::Default })?;
                Ok((home.join(DEFAULT_REPO_DIR_NAME), Source::Default))
            }
        }
    }

    /// The repo directory: `--repo`, else `BACALHAU_DIR`, else `~/.bacalhau`, with `~` expanded.
    ///
    /// A relative repo stays relative to the working directory. Nothing is created or checked on
    /// disk.
    pub fn resolve_repo(inputs: &ConfigInputs, env: &dyn Env) -> Result<PathBuf, ConfigError> {
        repo_with_source(inputs, env).map(|(repo, _)| repo)
    }

    /// Resolves one store's settings against an already resolved repo.
    ///
    /// Useful for a node or tool that has only one role, so that the other store's settings
    /// cannot fail it. The node ID is always validated, even when the path is explicit, so that
    /// a bad ID is caught before it is used elsewhere. A durable path is checked with
    /// [`validate_store_path`]; an in-memory store's path is only resolved.
    pub fn resolve_store(
        inputs: &ConfigInputs,
        env: &dyn Env,
        repo: &Path,
        node_id: &str,
        role: StoreRole,
    ) -> Result<StoreConfig, ConfigError> {
        resolve_store_with(inputs, env, repo, node_id, role, durable_unavailable_reason())
    }

    fn resolve_store_with(
        inputs: &ConfigInputs,
        env: &dyn Env,
        repo: &Path,
        node_id: &str,
        role: StoreRole,
        durable_unavailable: Option<&'static str>,
    ) -> Result<StoreConfig, ConfigError> {
        validate_node_id(node_id)?;

        let (store_type, type_source) = match pick(inputs.store_type(role), role.type_flag(), env, role.type_env())? {
            Some((value, origin)) => match StoreType::parse(&value) {
                Some(store_type) => (store_type, origin),
                None => return Err(ConfigError::InvalidStoreType { value, origin }),
            },
            None => (StoreType::default(), Source::Default),
        };
        check_supported(store_type, Some(type_source), durable_unavailable)?;

        let (path, path_source) = match pick(inputs.store_path(role), role.path_flag(), env, role.path_env())? {
            Some((value, origin)) => (expand_home(&value, origin, env)?, origin),
            None => (repo.join(format!("{node_id}{}", role.dir_suffix())).join(role.file_name()), Source::Default),
        };
        if store_type == StoreType::Durable {
            validate(&path, Some(path_source))?;
        }

        Ok(StoreConfig { role, store_type, path, type_source, path_source })
    }

    /// Resolves both stores for a node: flag > environment variable > default for every setting.
    ///
    /// Fails on a bad node ID, a bad type, a durable store in a build without one, or a durable
    /// path that is a directory or sits below a file. Nothing is created; call
    /// [`StoreConfig::prepare`] before opening a durable store.
    pub fn resolve(inputs: &ConfigInputs, env: &dyn Env, node_id: &str) -> Result<NodeStoreConfig, ConfigError> {
        resolve_with(inputs, env, node_id, durable_unavailable_reason())
    }

    fn resolve_with(
        inputs: &ConfigInputs,
        env: &dyn Env,
        node_id: &str,
        durable_unavailable: Option<&'static str>,
    ) -> Result<NodeStoreConfig, ConfigError> {
        validate_node_id(node_id)?;
        let (repo, repo_source) = repo_with_source(inputs, env)?;
        let store = |role| resolve_store_with(inputs, env, &repo, node_id, role, durable_unavailable);
        let compute = store(StoreRole::Compute)?;
        let requester = store(StoreRole::Requester)?;
        Ok(NodeStoreConfig { repo, repo_source, node_id: node_id.to_string(), compute, requester })
    }

    /// Checks that a durable store file could be created or opened at `path`: the path must not be
    /// empty or an existing directory, and its nearest existing ancestor must be a directory.
    ///
    /// This is an early, friendlier version of the error opening would give; the file system can
    /// still change before the store is opened.
    pub fn validate_store_path(path: &Path) -> Result<(), ConfigError> {
        validate(path, None)
    }

    fn validate(path: &Path, origin: Option<Source>) -> Result<(), ConfigError> {
        if path.as_os_str().is_empty() {
            return Err(ConfigError::InvalidPath {
                path: path.to_path_buf(),
                origin,
                reason: "the store path is empty",
            });
        }
        if origin == Some(Source::Default) {
            if let Ok(link) = std::fs::symlink_metadata(path) {
                if link.file_type().is_symlink() {
                    let target = std::fs::read_link(path).unwrap_or_default();
                    return Err(ConfigError::UnexpectedSymlink { path: path.to_path_buf(), target });
                }
            }
        }
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => return Err(ConfigError::PathIsDirectory { path: path.to_path_buf(), origin }),
            // An existing file's parent is necessarily a directory.
            Ok(_) => return Ok(()),
            Err(error) if is_missing(&error) => {}
            Err(error) => return Err(ConfigError::Io { path: path.to_path_buf(), action: "inspect", error }),
        }
        // Walk up to the nearest existing ancestor: a file anywhere above would make the
        // directories impossible to create, not just a file as the immediate parent.
        for ancestor in path.ancestors().skip(1) {
            if ancestor.as_os_str().is_empty() {
                // A bare relative file name lives in the working directory.
                break;
            }
            match std::fs::metadata(ancestor) {
                Ok(meta) if meta.is_dir() => return Ok(()),
                Ok(_) => {
                    return Err(ConfigError::ParentNotDirectory {
                        path: path.to_path_buf(),
                        parent: ancestor.to_path_buf(),
                        origin,
                    })
                }
                Err(error) if is_missing(&error) => continue,
                Err(error) => return Err(ConfigError::Io { path: ancestor.to_path_buf(), action: "inspect", error }),
            }
        }
        Ok(())
    }

    /// "Does not exist yet" in either spelling: a file further up makes the OS say "not a
    /// directory" instead of "not found", and the ancestor walk reports that file precisely.
    fn is_missing(error: &io::Error) -> bool {
        matches!(error.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory)
    }

    /// Validates a durable store path (see [`validate_store_path`]) and creates its missing parent
    /// directories with mode 0700 on Unix, because the stores hold job specs and results that
    /// other local users should not read. Existing directories, including the repo, are left as
    /// they are.
    pub fn prepare_store_dir(path: &Path) -> Result<(), ConfigError> {
        prepare(path, None)
    }

    fn prepare(path: &Path, origin: Option<Source>) -> Result<(), ConfigError> {
        validate(path, origin)?;
        let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) else {
            return Ok(());
        };
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(parent).map_err(|error| ConfigError::Io {
            path: parent.to_path_buf(),
            action: "create directory",
            error,
        })
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        }

        const WASM: Option<&str> = Some("WebAssembly has no file system for the durable store");

        #[test]
        fn durable_default_is_refused_where_unavailable_and_names_the_default() {
            let err = resolve_with(&ConfigInputs::default(), &env(&[("HOME", "/home/u")]), "node", WASM).unwrap_err();
            assert_eq!(err.code(), "DurableUnavailable");
            assert_eq!(
                err.to_string(),
                "the durable store type \"boltdb\" (the default) is not available in this build: \
                 WebAssembly has no file system for the durable store; only \"inmemory\" is available"
            );
        }

        #[test]
        fn durable_from_env_is_refused_where_unavailable_and_names_the_variable() {
            let e = env(&[
                ("HOME", "/home/u"),
                ("BACALHAU_COMPUTE_STORE_TYPE", "inmemory"),
                ("BACALHAU_JOB_STORE_TYPE", "redb"),
            ]);
            let err = resolve_with(&ConfigInputs::default(), &e, "node", WASM).unwrap_err();
            assert!(err.to_string().contains("(from BACALHAU_JOB_STORE_TYPE)"), "{err}");
        }

        #[test]
        fn in_memory_everywhere_resolves_where_durable_is_unavailable() {
            let inputs = ConfigInputs {
                compute_store_type: Some("inmemory".into()),
                job_store_type: Some("InMemory".into()),
                ..Default::default()
            };
            let cfg = resolve_with(&inputs, &env(&[("HOME", "/h")]), "n", WASM).unwrap();
            assert_eq!(cfg.compute.store_type, StoreType::InMemory);
            assert_eq!(cfg.requester.store_type, StoreType::InMemory);
        }

        #[test]
        fn ensure_supported_without_origin_omits_it_from_the_message() {
            let err = check_supported(StoreType::Durable, None, WASM).unwrap_err();
            assert!(err.to_string().starts_with("the durable store type \"boltdb\" is not available"));
            assert!(check_supported(StoreType::InMemory, None, WASM).is_ok());
        }

        #[test]
        fn tilde_user_is_refused_rather_than_kept_literally() {
            let err = expand_home("~bob/x", Source::Env("BACALHAU_DIR"), &env(&[("HOME", "/h")])).unwrap_err();
            assert_eq!(err.code(), "InvalidPath");
            assert!(err.to_string().contains("BACALHAU_DIR"), "{err}");
        }
    }
}
