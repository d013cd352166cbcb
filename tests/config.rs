//! Store configuration: every row of the flag/env/default table, their precedence, and every bad
//! value. The environment is always a fake map, so the real HOME and process environment are never
//! read or changed.
#![cfg(feature = "std")]

/// Everything that resolves the default (durable) store type needs a build that has it.
#[cfg(all(feature = "redb", not(target_arch = "wasm32")))]
mod with_the_durable_store {

    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    use bacalhau_state::config::{
        ensure_supported, prepare_store_dir, resolve, resolve_repo, resolve_store, validate_node_id,
        validate_store_path, ConfigError, ConfigInputs, Env, Source, StoreConfig, StoreRole, StoreType,
    };
    use tempfile::TempDir;

    const NODE: &str = "QmUBgU7xHKK44RuTHgrvnJfoSdZJS4fddT197iyTF5qjEV";

    /// A fake home directory and an environment whose HOME points at it.
    struct Fixture {
        home: TempDir,
        env: BTreeMap<String, String>,
    }

    impl Fixture {
        fn new() -> Self {
            let home = tempfile::tempdir().unwrap();
            let mut env = BTreeMap::new();
            env.insert("HOME".to_string(), home.path().display().to_string());
            Fixture { home, env }
        }

        fn with(mut self, name: &str, value: &str) -> Self {
            self.env.insert(name.to_string(), value.to_string());
            self
        }

        fn home(&self) -> &Path {
            self.home.path()
        }

        fn default_repo(&self) -> PathBuf {
            self.home().join(".bacalhau")
        }

        fn resolve(&self, inputs: &ConfigInputs) -> Result<bacalhau_state::config::NodeStoreConfig, ConfigError> {
            resolve(inputs, &self.env, NODE)
        }

        fn store(&self, inputs: &ConfigInputs, role: StoreRole) -> StoreConfig {
            self.resolve(inputs).unwrap().store(role).clone()
        }
    }

    fn default_path(repo: &Path, role: StoreRole) -> PathBuf {
        match role {
            StoreRole::Compute => repo.join(format!("{NODE}-compute")).join("executions.db"),
            StoreRole::Requester => repo.join(format!("{NODE}-requester")).join("jobs.db"),
        }
    }

    fn with_type_flag(role: StoreRole, value: &str) -> ConfigInputs {
        let mut inputs = ConfigInputs::default();
        match role {
            StoreRole::Compute => inputs.compute_store_type = Some(value.to_string()),
            StoreRole::Requester => inputs.job_store_type = Some(value.to_string()),
        }
        inputs
    }

    fn with_path_flag(role: StoreRole, value: &str) -> ConfigInputs {
        let mut inputs = ConfigInputs::default();
        match role {
            StoreRole::Compute => inputs.compute_store_path = Some(value.to_string()),
            StoreRole::Requester => inputs.job_store_path = Some(value.to_string()),
        }
        inputs
    }

    // ---- the table, row by row -------------------------------------------------------------------

    #[test]
    fn store_types_default_to_the_durable_store_for_both_roles() {
        let fx = Fixture::new();
        for role in StoreRole::ALL {
            let store = fx.store(&ConfigInputs::default(), role);
            assert_eq!(store.store_type, StoreType::Durable, "{role}");
            assert_eq!(store.type_source, Source::Default);
            assert_eq!(store.role, role);
        }
    }

    #[test]
    fn store_type_is_read_from_each_roles_flag() {
        let fx = Fixture::new();
        for role in StoreRole::ALL {
            let store = fx.store(&with_type_flag(role, "inmemory"), role);
            assert_eq!(store.store_type, StoreType::InMemory, "{role}");
            assert_eq!(store.type_source, Source::Flag(role.type_flag()));
            let other = fx.store(&with_type_flag(role, "inmemory"), other_role(role));
            assert_eq!(other.store_type, StoreType::Durable, "flags must not leak across roles");
        }
    }

    #[test]
    fn store_type_is_read_from_each_roles_environment_variable() {
        for (role, var) in
            [(StoreRole::Compute, "BACALHAU_COMPUTE_STORE_TYPE"), (StoreRole::Requester, "BACALHAU_JOB_STORE_TYPE")]
        {
            let fx = Fixture::new().with(var, "inmemory");
            let store = fx.store(&ConfigInputs::default(), role);
            assert_eq!(store.store_type, StoreType::InMemory, "{role}");
            assert_eq!(store.type_source, Source::Env(var));
            let other = fx.store(&ConfigInputs::default(), other_role(role));
            assert_eq!(other.store_type, StoreType::Durable, "variables must not leak across roles");
        }
    }

    #[test]
    fn store_paths_default_to_node_id_directories_in_the_default_repo() {
        let fx = Fixture::new();
        let cfg = fx.resolve(&ConfigInputs::default()).unwrap();
        assert_eq!(cfg.repo, fx.default_repo());
        assert_eq!(cfg.repo_source, Source::Default);
        assert_eq!(cfg.node_id, NODE);
        assert_eq!(cfg.compute.path, fx.home().join(".bacalhau").join(format!("{NODE}-compute/executions.db")));
        assert_eq!(cfg.requester.path, fx.home().join(".bacalhau").join(format!("{NODE}-requester/jobs.db")));
        assert_eq!(cfg.compute.path_source, Source::Default);
        assert_eq!(cfg.requester.path_source, Source::Default);
    }

    #[test]
    fn store_path_is_read_from_each_roles_flag() {
        let fx = Fixture::new();
        for role in StoreRole::ALL {
            let wanted = fx.home().join("custom").join("store.db");
            let store = fx.store(&with_path_flag(role, wanted.to_str().unwrap()), role);
            assert_eq!(store.path, wanted, "{role}");
            assert_eq!(store.path_source, Source::Flag(role.path_flag()));
        }
    }

    #[test]
    fn store_path_is_read_from_each_roles_environment_variable() {
        for (role, var) in
            [(StoreRole::Compute, "BACALHAU_COMPUTE_STORE_PATH"), (StoreRole::Requester, "BACALHAU_JOB_STORE_PATH")]
        {
            let fx = Fixture::new();
            let wanted = fx.home().join("from-env.db");
            let fx = fx.with(var, wanted.to_str().unwrap());
            let store = fx.store(&ConfigInputs::default(), role);
            assert_eq!(store.path, wanted, "{role}");
            assert_eq!(store.path_source, Source::Env(var));
            let other = fx.store(&ConfigInputs::default(), other_role(role));
            assert_eq!(other.path, default_path(&fx.default_repo(), other_role(role)));
        }
    }

    fn other_role(role: StoreRole) -> StoreRole {
        match role {
            StoreRole::Compute => StoreRole::Requester,
            StoreRole::Requester => StoreRole::Compute,
        }
    }

    // ---- precedence --------------------------------------------------------------------------------

    #[test]
    fn a_type_flag_beats_the_environment_variable_which_beats_the_default() {
        for role in StoreRole::ALL {
            let fx = Fixture::new().with(role.type_env(), "inmemory");
            let flagged = fx.store(&with_type_flag(role, "boltdb"), role);
            assert_eq!(flagged.store_type, StoreType::Durable);
            assert_eq!(flagged.type_source, Source::Flag(role.type_flag()));

            let from_env = fx.store(&ConfigInputs::default(), role);
            assert_eq!(from_env.store_type, StoreType::InMemory);
            assert_eq!(from_env.type_source, Source::Env(role.type_env()));
        }
    }

    #[test]
    fn a_path_flag_beats_the_environment_variable_which_beats_the_default() {
        for role in StoreRole::ALL {
            let fx = Fixture::new();
            let env_path = fx.home().join("env.db");
            let flag_path = fx.home().join("flag.db");
            let fx = fx.with(role.path_env(), env_path.to_str().unwrap());

            let flagged = fx.store(&with_path_flag(role, flag_path.to_str().unwrap()), role);
            assert_eq!(flagged.path, flag_path);
            assert_eq!(flagged.path_source, Source::Flag(role.path_flag()));

            let from_env = fx.store(&ConfigInputs::default(), role);
            assert_eq!(from_env.path, env_path);
            assert_eq!(from_env.path_source, Source::Env(role.path_env()));
        }
    }

    #[test]
    fn the_repo_comes_from_the_repo_flag_then_bacalhau_dir_then_home() {
        let fx = Fixture::new();
        let flag_repo = fx.home().join("flag-repo");
        let env_repo = fx.home().join("env-repo");
        let fx = fx.with("BACALHAU_DIR", env_repo.to_str().unwrap());
        let flagged = ConfigInputs { repo: Some(flag_repo.display().to_string()), ..Default::default() };

        assert_eq!(resolve_repo(&flagged, &fx.env).unwrap(), flag_repo);
        let cfg = fx.resolve(&flagged).unwrap();
        assert_eq!(cfg.repo_source, Source::Flag("--repo"));
        assert_eq!(cfg.compute.path, default_path(&flag_repo, StoreRole::Compute));
        assert_eq!(cfg.requester.path, default_path(&flag_repo, StoreRole::Requester));

        assert_eq!(resolve_repo(&ConfigInputs::default(), &fx.env).unwrap(), env_repo);
        let cfg = fx.resolve(&ConfigInputs::default()).unwrap();
        assert_eq!(cfg.repo_source, Source::Env("BACALHAU_DIR"));
        assert_eq!(cfg.compute.path, default_path(&env_repo, StoreRole::Compute));

        let fx = Fixture::new();
        assert_eq!(resolve_repo(&ConfigInputs::default(), &fx.env).unwrap(), fx.default_repo());
    }

    #[test]
    fn an_explicit_store_path_ignores_the_repo() {
        let fx = Fixture::new();
        let path = fx.home().join("elsewhere/executions.db");
        let inputs = ConfigInputs {
            repo: Some(fx.home().join("repo").display().to_string()),
            compute_store_path: Some(path.display().to_string()),
            ..Default::default()
        };
        assert_eq!(fx.store(&inputs, StoreRole::Compute).path, path);
    }

    // ---- empty values --------------------------------------------------------------------------

    #[test]
    fn an_empty_or_blank_flag_counts_as_unset_and_falls_through_to_the_environment() {
        for blank in ["", "   ", "\t\n"] {
            for role in StoreRole::ALL {
                let fx = Fixture::new();
                let env_path = fx.home().join("env.db");
                let fx = fx.with(role.type_env(), "inmemory").with(role.path_env(), env_path.to_str().unwrap());
                let mut inputs = with_type_flag(role, blank);
                let path_flag = with_path_flag(role, blank);
                inputs.compute_store_path = inputs.compute_store_path.or(path_flag.compute_store_path);
                inputs.job_store_path = inputs.job_store_path.or(path_flag.job_store_path);

                let store = fx.store(&inputs, role);
                assert_eq!(store.store_type, StoreType::InMemory, "{blank:?}");
                assert_eq!(store.type_source, Source::Env(role.type_env()));
                assert_eq!(store.path, env_path);
                assert_eq!(store.path_source, Source::Env(role.path_env()));
            }
        }
    }

    #[test]
    fn an_empty_or_blank_environment_variable_counts_as_unset_and_falls_through_to_the_default() {
        for blank in ["", "  "] {
            let fx = Fixture::new()
                .with("BACALHAU_COMPUTE_STORE_TYPE", blank)
                .with("BACALHAU_COMPUTE_STORE_PATH", blank)
                .with("BACALHAU_JOB_STORE_TYPE", blank)
                .with("BACALHAU_JOB_STORE_PATH", blank)
                .with("BACALHAU_DIR", blank);
            let cfg = fx.resolve(&ConfigInputs::default()).unwrap();
            assert_eq!(cfg.repo, fx.default_repo());
            assert_eq!(cfg.repo_source, Source::Default);
            for role in StoreRole::ALL {
                let store = cfg.store(role);
                assert_eq!(store.store_type, StoreType::Durable);
                assert_eq!(store.type_source, Source::Default);
                assert_eq!(store.path, default_path(&fx.default_repo(), role));
                assert_eq!(store.path_source, Source::Default);
            }
        }
    }

    #[test]
    fn an_empty_repo_flag_falls_through_to_bacalhau_dir() {
        let fx = Fixture::new();
        let env_repo = fx.home().join("env-repo");
        let fx = fx.with("BACALHAU_DIR", env_repo.to_str().unwrap());
        let inputs = ConfigInputs { repo: Some(String::new()), ..Default::default() };
        assert_eq!(resolve_repo(&inputs, &fx.env).unwrap(), env_repo);
    }

    #[test]
    fn an_empty_home_counts_as_no_home() {
        let fx = Fixture::new().with("HOME", "");
        let err = fx.resolve(&ConfigInputs::default()).unwrap_err();
        assert_eq!(err.code(), "NoHomeDirectory");
    }

    // ---- ~ expansion ---------------------------------------------------------------------------

    #[test]
    fn a_tilde_in_the_repo_flag_or_bacalhau_dir_expands_to_home() {
        let fx = Fixture::new();
        let inputs = ConfigInputs { repo: Some("~/my-repo".into()), ..Default::default() };
        assert_eq!(resolve_repo(&inputs, &fx.env).unwrap(), fx.home().join("my-repo"));

        let fx = Fixture::new().with("BACALHAU_DIR", "~");
        assert_eq!(resolve_repo(&ConfigInputs::default(), &fx.env).unwrap(), fx.home());
    }

    #[test]
    fn a_tilde_in_a_store_path_expands_to_home() {
        let fx = Fixture::new().with("BACALHAU_JOB_STORE_PATH", "~/state/jobs.db");
        let inputs = with_path_flag(StoreRole::Compute, "~/state/executions.db");
        let cfg = fx.resolve(&inputs).unwrap();
        assert_eq!(cfg.compute.path, fx.home().join("state/executions.db"));
        assert_eq!(cfg.requester.path, fx.home().join("state/jobs.db"));
    }

    #[test]
    fn a_tilde_that_is_not_a_prefix_is_left_alone() {
        let fx = Fixture::new();
        let path = fx.home().join("a~b/executions.db");
        let inputs = with_path_flag(StoreRole::Compute, path.to_str().unwrap());
        assert_eq!(fx.store(&inputs, StoreRole::Compute).path, path);
    }

    #[test]
    fn a_tilde_user_path_is_an_error_naming_its_source() {
        let fx = Fixture::new();
        let inputs = with_path_flag(StoreRole::Requester, "~bob/jobs.db");
        let err = fx.resolve(&inputs).unwrap_err();
        assert_eq!(err.code(), "InvalidPath");
        let msg = err.to_string();
        assert!(msg.contains("~bob/jobs.db"), "{msg}");
        assert!(msg.contains("--requester-job-store-path"), "{msg}");
    }

    #[test]
    fn a_tilde_without_home_is_an_error_naming_the_setting() {
        let env: BTreeMap<String, String> = [("BACALHAU_DIR".to_string(), "~/repo".to_string())].into_iter().collect();
        let err = resolve_repo(&ConfigInputs::default(), &env).unwrap_err();
        assert_eq!(err.code(), "NoHomeDirectory");
        assert_eq!(err.to_string(), "cannot expand \"~\" in BACALHAU_DIR: HOME is not set");
    }

    #[test]
    fn the_default_repo_without_home_is_an_error_suggesting_repo_or_bacalhau_dir() {
        let env = BTreeMap::<String, String>::new();
        let err = resolve(&ConfigInputs::default(), &env, NODE).unwrap_err();
        assert_eq!(err.code(), "NoHomeDirectory");
        assert_eq!(
            err.to_string(),
            "cannot locate the default repo \"~/.bacalhau\": HOME is not set; pass --repo or set \
         BACALHAU_DIR"
        );
    }

    #[test]
    fn an_explicit_repo_needs_no_home() {
        let dir = tempfile::tempdir().unwrap();
        let env = BTreeMap::<String, String>::new();
        let inputs = ConfigInputs { repo: Some(dir.path().display().to_string()), ..Default::default() };
        let cfg = resolve(&inputs, &env, NODE).unwrap();
        assert_eq!(cfg.repo, dir.path());
    }

    #[test]
    fn relative_paths_stay_relative() {
        let fx = Fixture::new();
        let inputs = ConfigInputs {
            repo: Some("relative-repo".into()),
            job_store_path: Some("jobs-here.db".into()),
            ..Default::default()
        };
        let cfg = fx.resolve(&inputs).unwrap();
        assert_eq!(cfg.repo, Path::new("relative-repo"));
        assert_eq!(cfg.compute.path, default_path(Path::new("relative-repo"), StoreRole::Compute));
        assert_eq!(cfg.requester.path, Path::new("jobs-here.db"));
    }

    // ---- type spelling ---------------------------------------------------------------------------

    #[test]
    fn store_types_are_trimmed_and_case_insensitive_and_accept_redb() {
        for (value, wanted) in [
            ("boltdb", StoreType::Durable),
            ("BoltDB", StoreType::Durable),
            (" BOLTDB\t", StoreType::Durable),
            ("redb", StoreType::Durable),
            ("ReDb", StoreType::Durable),
            ("inmemory", StoreType::InMemory),
            ("InMemory", StoreType::InMemory),
            (" INMEMORY ", StoreType::InMemory),
        ] {
            assert_eq!(StoreType::parse(value), Some(wanted), "{value:?}");
            assert_eq!(value.parse::<StoreType>().unwrap(), wanted, "{value:?}");
            for role in StoreRole::ALL {
                let fx = Fixture::new().with(role.type_env(), value);
                assert_eq!(fx.store(&ConfigInputs::default(), role).store_type, wanted);
                let fx = Fixture::new();
                assert_eq!(fx.store(&with_type_flag(role, value), role).store_type, wanted);
            }
        }
    }

    #[test]
    fn only_the_three_documented_spellings_are_store_types() {
        for value in ["bolt-db", "bolt", "memory", "in-memory", "sqlite", "unknownstorage", "0", "1"] {
            assert_eq!(StoreType::parse(value), None, "{value:?}");
        }
        assert_eq!(StoreType::ACCEPTED, ["boltdb", "redb", "inmemory"]);
    }

    #[test]
    fn store_types_print_their_canonical_go_names() {
        assert_eq!(StoreType::Durable.as_str(), "boltdb");
        assert_eq!(StoreType::InMemory.as_str(), "inmemory");
        assert_eq!(StoreType::Durable.to_string(), "boltdb");
        assert_eq!(StoreType::InMemory.to_string(), "inmemory");
        assert_eq!(StoreType::default(), StoreType::Durable);
        assert_eq!(StoreType::parse(StoreType::Durable.as_str()), Some(StoreType::Durable));
    }

    #[test]
    fn roles_name_the_documented_variables_flags_and_files() {
        let c = StoreRole::Compute;
        assert_eq!(c.type_env(), "BACALHAU_COMPUTE_STORE_TYPE");
        assert_eq!(c.path_env(), "BACALHAU_COMPUTE_STORE_PATH");
        assert_eq!(c.type_flag(), "--compute-execution-store-type");
        assert_eq!(c.path_flag(), "--compute-execution-store-path");
        assert_eq!((c.dir_suffix(), c.file_name()), ("-compute", "executions.db"));
        let r = StoreRole::Requester;
        assert_eq!(r.type_env(), "BACALHAU_JOB_STORE_TYPE");
        assert_eq!(r.path_env(), "BACALHAU_JOB_STORE_PATH");
        assert_eq!(r.type_flag(), "--requester-job-store-type");
        assert_eq!(r.path_flag(), "--requester-job-store-path");
        assert_eq!((r.dir_suffix(), r.file_name()), ("-requester", "jobs.db"));
    }

    #[test]
    fn help_texts_mention_the_redb_alias_and_the_environment_variable() {
        for role in StoreRole::ALL {
            assert!(role.type_help().contains("alias redb"), "{role}");
            assert!(role.type_help().contains(role.type_env()), "{role}");
            assert!(role.path_help().contains(role.path_env()), "{role}");
        }
    }

    // ---- bad values --------------------------------------------------------------------------------

    #[test]
    fn a_bad_type_flag_is_an_error_naming_the_flag_value_and_valid_types() {
        let fx = Fixture::new();
        let err = fx.resolve(&with_type_flag(StoreRole::Compute, "sqlite")).unwrap_err();
        assert_eq!(err.code(), "InvalidStoreType");
        assert_eq!(
            err.to_string(),
            "invalid store type \"sqlite\" in --compute-execution-store-type: valid types are \
         \"boltdb\" (alias \"redb\") and \"inmemory\""
        );
        let err = fx.resolve(&with_type_flag(StoreRole::Requester, "sqlite")).unwrap_err();
        assert!(err.to_string().contains("in --requester-job-store-type:"), "{err}");
    }

    #[test]
    fn a_bad_type_variable_is_an_error_naming_the_variable_value_and_valid_types() {
        let fx = Fixture::new().with("BACALHAU_JOB_STORE_TYPE", "sqlite");
        let err = fx.resolve(&ConfigInputs::default()).unwrap_err();
        assert_eq!(err.code(), "InvalidStoreType");
        assert_eq!(
            err.to_string(),
            "invalid store type \"sqlite\" in BACALHAU_JOB_STORE_TYPE: valid types are \"boltdb\" \
         (alias \"redb\") and \"inmemory\""
        );
        match err {
            ConfigError::InvalidStoreType { value, origin } => {
                assert_eq!(value, "sqlite");
                assert_eq!(origin, Source::Env("BACALHAU_JOB_STORE_TYPE"));
            }
            other => panic!("unexpected {other:?}"),
        }
        let fx = Fixture::new().with("BACALHAU_COMPUTE_STORE_TYPE", "BoltDBX");
        let err = fx.resolve(&ConfigInputs::default()).unwrap_err();
        assert!(err.to_string().contains("\"BoltDBX\" in BACALHAU_COMPUTE_STORE_TYPE"), "{err}");
    }

    #[test]
    fn a_valid_type_flag_overrides_a_bad_variable() {
        let fx = Fixture::new().with("BACALHAU_COMPUTE_STORE_TYPE", "sqlite");
        let store = fx.store(&with_type_flag(StoreRole::Compute, "inmemory"), StoreRole::Compute);
        assert_eq!(store.store_type, StoreType::InMemory);
    }

    #[test]
    fn a_durable_store_path_that_is_a_directory_is_an_error_naming_the_path() {
        let fx = Fixture::new();
        for role in StoreRole::ALL {
            let dir = fx.home().join("a-directory");
            std::fs::create_dir_all(&dir).unwrap();
            let err = fx.resolve(&with_path_flag(role, dir.to_str().unwrap())).unwrap_err();
            assert_eq!(err.code(), "PathIsDirectory");
            let msg = err.to_string();
            assert!(msg.contains(dir.to_str().unwrap()), "{msg}");
            assert!(msg.contains(role.path_flag()), "{msg}");
            assert!(msg.contains("is a directory"), "{msg}");
        }
        let dir = fx.home().join("a-directory");
        assert_eq!(validate_store_path(&dir).unwrap_err().code(), "PathIsDirectory");
    }

    #[test]
    fn a_durable_store_path_below_a_file_is_an_error_naming_the_path_and_the_file() {
        let fx = Fixture::new();
        let file = fx.home().join("plain-file");
        std::fs::write(&file, b"x").unwrap();
        for path in [file.join("jobs.db"), file.join("deeper/still/jobs.db")] {
            let fx = Fixture::new().with("BACALHAU_JOB_STORE_PATH", path.to_str().unwrap());
            let err = fx.resolve(&ConfigInputs::default()).unwrap_err();
            assert_eq!(err.code(), "ParentNotDirectory");
            let msg = err.to_string();
            assert!(msg.contains(path.to_str().unwrap()), "{msg}");
            assert!(msg.contains(&format!("{:?} exists and is not a directory", file.display().to_string())), "{msg}");
            assert!(msg.contains("BACALHAU_JOB_STORE_PATH"), "{msg}");
            match validate_store_path(&path).unwrap_err() {
                ConfigError::ParentNotDirectory { parent, .. } => assert_eq!(parent, file),
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn a_default_path_below_a_file_repo_is_an_error() {
        let fx = Fixture::new();
        std::fs::write(fx.default_repo(), b"not a dir").unwrap();
        let err = fx.resolve(&ConfigInputs::default()).unwrap_err();
        assert_eq!(err.code(), "ParentNotDirectory");
        assert!(err.to_string().contains("(the default)"), "{err}");
    }

    #[test]
    fn an_in_memory_stores_path_is_resolved_but_not_checked() {
        let fx = Fixture::new();
        let dir = fx.home().join("a-directory");
        std::fs::create_dir(&dir).unwrap();
        let mut inputs = with_path_flag(StoreRole::Compute, dir.to_str().unwrap());
        inputs.compute_store_type = Some("inmemory".into());
        let store = fx.store(&inputs, StoreRole::Compute);
        assert_eq!(store.path, dir);
        store.prepare().unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_default_store_path_that_is_a_symlink_is_refused_but_an_explicit_one_is_followed() {
        let fx = Fixture::new();
        let target = fx.home().join("elsewhere.db");
        std::fs::write(&target, b"").unwrap();
        let link = default_path(&fx.default_repo(), StoreRole::Compute);
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();

        let err = fx.resolve(&ConfigInputs::default()).unwrap_err();
        assert_eq!(err.code(), "UnexpectedSymlink");
        let text = err.to_string();
        assert!(text.contains(&link.display().to_string()) && text.contains("elsewhere.db"), "{text}");

        let explicit = with_path_flag(StoreRole::Compute, link.to_str().unwrap());
        assert_eq!(fx.store(&explicit, StoreRole::Compute).path, link);
        let from_env = fx.with("BACALHAU_COMPUTE_STORE_PATH", link.to_str().unwrap());
        assert_eq!(from_env.store(&ConfigInputs::default(), StoreRole::Compute).path, link);
    }

    #[test]
    fn an_existing_store_file_is_a_valid_store_path() {
        let fx = Fixture::new();
        let file = fx.home().join("jobs.db");
        std::fs::write(&file, b"").unwrap();
        validate_store_path(&file).unwrap();
        validate_store_path(Path::new("bare-relative-file.db")).unwrap();
    }

    #[test]
    fn an_empty_store_path_is_an_error() {
        let err = validate_store_path(Path::new("")).unwrap_err();
        assert_eq!(err.code(), "InvalidPath");
        assert!(err.to_string().contains("empty"), "{err}");
    }

    #[test]
    fn an_empty_node_id_is_an_error() {
        let fx = Fixture::new();
        let err = resolve(&ConfigInputs::default(), &fx.env, "").unwrap_err();
        assert_eq!(err.code(), "InvalidNodeId");
        assert_eq!(err.to_string(), "invalid node ID \"\": it must not be empty");
    }

    #[test]
    fn a_node_id_with_a_separator_whitespace_or_nul_is_an_error_naming_it() {
        let fx = Fixture::new();
        for bad in ["a/b", "../x", "a\\b", "a b", " a", "a\tb", "a\0b", "a\u{7}b"] {
            let err = resolve(&ConfigInputs::default(), &fx.env, bad).unwrap_err();
            assert_eq!(err.code(), "InvalidNodeId", "{bad:?}");
            assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
            assert!(validate_node_id(bad).is_err());
        }
        let err = validate_node_id("a/b").unwrap_err();
        assert!(err.to_string().contains("directory name"), "{err}");
    }

    #[test]
    fn the_node_id_is_checked_even_when_both_paths_are_explicit() {
        let fx = Fixture::new();
        let inputs = ConfigInputs {
            compute_store_path: Some(fx.home().join("c.db").display().to_string()),
            job_store_path: Some(fx.home().join("j.db").display().to_string()),
            ..Default::default()
        };
        assert_eq!(resolve(&inputs, &fx.env, "a/b").unwrap_err().code(), "InvalidNodeId");
    }

    #[test]
    fn ordinary_node_ids_are_valid() {
        for ok in [NODE, "n-1", "node.example_1", "Ünïcode"] {
            validate_node_id(ok).unwrap();
        }
    }

    // ---- one role at a time ------------------------------------------------------------------------

    #[test]
    fn resolving_one_store_ignores_the_other_stores_bad_settings() {
        let fx = Fixture::new().with("BACALHAU_JOB_STORE_TYPE", "sqlite");
        let repo = resolve_repo(&ConfigInputs::default(), &fx.env).unwrap();
        let store = resolve_store(&ConfigInputs::default(), &fx.env, &repo, NODE, StoreRole::Compute).unwrap();
        assert_eq!(store.path, default_path(&fx.default_repo(), StoreRole::Compute));
        assert!(resolve_store(&ConfigInputs::default(), &fx.env, &repo, NODE, StoreRole::Requester).is_err());
    }

    #[test]
    fn a_closure_can_serve_as_the_environment() {
        let home = tempfile::tempdir().unwrap();
        let home_str = home.path().display().to_string();
        let env = move |name: &str| match name {
            "HOME" => Some(home_str.clone()),
            "BACALHAU_COMPUTE_STORE_TYPE" => Some("inmemory".to_string()),
            _ => None,
        };
        let cfg = resolve(&ConfigInputs::default(), &env, NODE).unwrap();
        assert_eq!(cfg.compute.store_type, StoreType::InMemory);
        assert_eq!(cfg.repo, home.path().join(".bacalhau"));
        assert_eq!(env.var("nothing"), None);
    }

    // ---- directories -------------------------------------------------------------------------------

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn prepare_store_dir_creates_missing_parents_private_to_the_owner() {
        let fx = Fixture::new();
        let cfg = fx.resolve(&ConfigInputs::default()).unwrap();
        for role in StoreRole::ALL {
            let store = cfg.store(role);
            store.prepare().unwrap();
            let parent = store.path.parent().unwrap();
            assert!(parent.is_dir());
            assert!(!store.path.exists(), "only directories are created");
            #[cfg(unix)]
            {
                assert_eq!(mode(parent), 0o700, "{}", parent.display());
                assert_eq!(mode(&fx.default_repo()), 0o700);
            }
        }
        // Idempotent.
        prepare_store_dir(&cfg.compute.path).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn prepare_store_dir_leaves_existing_directories_alone() {
        use std::os::unix::fs::PermissionsExt;
        let fx = Fixture::new();
        let existing = fx.home().join("shared");
        std::fs::create_dir(&existing).unwrap();
        std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = existing.join("new").join("jobs.db");
        prepare_store_dir(&path).unwrap();
        assert_eq!(mode(&existing), 0o755);
        assert_eq!(mode(&existing.join("new")), 0o700);
    }

    #[test]
    fn prepare_store_dir_refuses_a_parent_that_is_a_file() {
        let fx = Fixture::new();
        let file = fx.home().join("file");
        std::fs::write(&file, b"").unwrap();
        let err = prepare_store_dir(&file.join("jobs.db")).unwrap_err();
        assert_eq!(err.code(), "ParentNotDirectory");
    }

    // ---- build support -----------------------------------------------------------------------------

    #[test]
    fn the_durable_store_is_supported_in_a_native_build_with_redb() {
        ensure_supported(StoreType::Durable).unwrap();
        assert!(bacalhau_state::config::durable_available());
    }

    #[test]
    fn the_in_memory_store_is_supported_in_every_build() {
        ensure_supported(StoreType::InMemory).unwrap();
    }

    #[test]
    fn errors_are_std_errors_with_stable_codes() {
        let err: Box<dyn std::error::Error> = Box::new(validate_node_id("").unwrap_err());
        assert!(err.source().is_none());
        let fx = Fixture::new();
        let file = fx.home().join("f");
        std::fs::write(&file, b"").unwrap();
        assert_eq!(validate_store_path(&file.join("x.db")).unwrap_err().code(), "ParentNotDirectory");
    }
}

/// In a build without the durable store, only explicit `inmemory` settings resolve.
#[cfg(any(not(feature = "redb"), target_arch = "wasm32"))]
mod without_the_durable_store {
    use std::collections::BTreeMap;

    use bacalhau_state::config::{ensure_supported, resolve, ConfigInputs, Source, StoreType};

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_durable_store_is_refused_rather_than_replaced_by_memory() {
        let err = ensure_supported(StoreType::Durable).unwrap_err();
        assert_eq!(err.code(), "DurableUnavailable");
        assert!(err.to_string().contains("only \"inmemory\" is available"), "{err}");
        ensure_supported(StoreType::InMemory).unwrap();
        assert!(!bacalhau_state::config::durable_available());
    }

    #[test]
    fn resolving_the_default_type_is_refused_naming_the_default() {
        let err = resolve(&ConfigInputs::default(), &env(&[("HOME", "/nonexistent")]), "n").unwrap_err();
        assert_eq!(err.code(), "DurableUnavailable");
        assert!(err.to_string().contains("(the default)"), "{err}");
    }

    #[test]
    fn asking_for_boltdb_by_variable_is_refused_naming_the_variable() {
        let e = env(&[
            ("HOME", "/nonexistent"),
            ("BACALHAU_COMPUTE_STORE_TYPE", "inmemory"),
            ("BACALHAU_JOB_STORE_TYPE", "boltdb"),
        ]);
        let err = resolve(&ConfigInputs::default(), &e, "n").unwrap_err();
        assert!(err.to_string().contains("(from BACALHAU_JOB_STORE_TYPE)"), "{err}");
    }

    #[test]
    fn in_memory_stores_resolve_with_their_sources() {
        let e = env(&[("HOME", "/nonexistent"), ("BACALHAU_JOB_STORE_TYPE", " InMemory ")]);
        let inputs = ConfigInputs { compute_store_type: Some("inmemory".into()), ..Default::default() };
        let cfg = resolve(&inputs, &e, "n").unwrap();
        assert_eq!(cfg.compute.store_type, StoreType::InMemory);
        assert_eq!(cfg.compute.type_source, Source::Flag("--compute-execution-store-type"));
        assert_eq!(cfg.requester.type_source, Source::Env("BACALHAU_JOB_STORE_TYPE"));
    }
}
