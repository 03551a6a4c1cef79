//! Unit tests of the parent module.
use super::*;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn sizes_parse_with_suffixes() {
    assert_eq!(parse_size("123").unwrap(), 123);
    assert_eq!(parse_size("2K").unwrap(), 2048);
    assert_eq!(parse_size("500M").unwrap(), 500 << 20);
    assert_eq!(parse_size("10GiB").unwrap(), 10 << 30);
    assert_eq!(parse_size("1.5K").unwrap(), 1536);
}

#[test]
fn bad_sizes_say_why() {
    let not_a_size = |t: &str| SizeError::NotASize {
        text: t.to_string(),
    };
    let out_of_range = |t: &str| SizeError::OutOfRange {
        text: t.to_string(),
    };
    assert_eq!(parse_size("ten"), Err(not_a_size("ten")));
    assert_eq!(parse_size(""), Err(not_a_size("")));
    assert_eq!(parse_size("12 parsecs"), Err(not_a_size("12 parsecs")));
    assert_eq!(parse_size("-1"), Err(out_of_range("-1")));
    assert_eq!(parse_size("infG"), Err(out_of_range("infG")));
    assert_eq!(
        not_a_size("ten").to_string(),
        "expected a size like 500M or 10G, got \"ten\""
    );
    assert_eq!(
        out_of_range("-1").to_string(),
        "expected a non-negative size, got \"-1\""
    );
}

#[test]
fn env_wins_over_file_and_names_its_source() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("zccache.toml"),
        "max_size = \"1G\"\nidle_timeout_secs = 5\n",
    )
    .unwrap();
    let d = dir.path().to_str().unwrap();
    let cfg = Config::from_env_map(&env(&[
        ("ZCCACHE_CACHE_DIR", d),
        ("ZCCACHE_MAX_SIZE", "123M"),
    ]))
    .unwrap();
    assert_eq!(cfg.max_size.value, 123 << 20);
    assert_eq!(cfg.max_size.source, Source::Env("ZCCACHE_MAX_SIZE"));
    assert_eq!(cfg.idle_timeout_secs.value, 5);
    assert!(matches!(cfg.idle_timeout_secs.source, Source::File(_)));
}

#[test]
fn bad_values_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("zccache.toml"), "max_size = \"lots\"\n").unwrap();
    let d = dir.path().to_str().unwrap();
    let err = Config::from_env_map(&env(&[("ZCCACHE_CACHE_DIR", d)])).unwrap_err();
    assert!(err.to_string().contains("max_size"), "{err}");
    assert!(
        err.to_string()
            .ends_with(": expected a size like 500M or 10G, got \"lots\""),
        "{err}"
    );
    std::fs::write(
        dir.path().join("zccache.toml"),
        "idle_timeout_secs = \"soon\"\n",
    )
    .unwrap();
    let err = Config::from_env_map(&env(&[("ZCCACHE_CACHE_DIR", d)])).unwrap_err();
    assert!(err.to_string().contains("idle_timeout_secs"), "{err}");
    std::fs::write(dir.path().join("zccache.toml"), "nonsense = 1\n").unwrap();
    let err = Config::from_env_map(&env(&[("ZCCACHE_CACHE_DIR", d)])).unwrap_err();
    assert!(err.to_string().contains("nonsense"), "{err}");
    let err = Config::from_env_map(&env(&[
        ("ZCCACHE_CACHE_DIR", "/nonexistent-zc"),
        ("ZCCACHE_IDLE_TIMEOUT", "x"),
    ]))
    .unwrap_err();
    assert!(err.to_string().contains("ZCCACHE_IDLE_TIMEOUT"), "{err}");
}

#[test]
fn syntax_errors_name_key_and_line_on_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let load = |text: &str| {
        std::fs::write(dir.path().join("zccache.toml"), text).unwrap();
        Config::from_env_map(&env(&[("ZCCACHE_CACHE_DIR", d)]))
            .unwrap_err()
            .to_string()
    };
    let err = load("debug = true\nmax_size = 10G\n");
    assert!(
        err.starts_with("invalid value for max_size (file "),
        "{err}"
    );
    assert!(err.contains(", line 2)"), "{err}");
    assert!(err.contains("max_size = \"10G\""), "{err}");
    assert!(!err.contains('\n'), "{err}");
    let err = load("= 5\n");
    assert!(err.contains("line 1: invalid key"), "{err}");
}

#[test]
fn an_unreadable_file_says_why_once_in_an_error_chain() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("zccache.toml")).unwrap();
    let d = dir.path().to_str().unwrap();
    let err = Config::from_env_map(&env(&[("ZCCACHE_CACHE_DIR", d)])).unwrap_err();
    assert!(err.to_string().contains("cannot read config file"), "{err}");
    assert!(std::error::Error::source(&err).is_none(), "{err:?}");
}

#[test]
fn remote_tiers_come_from_env_or_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let cfg = Config::from_env_map(&env(&[("ZCCACHE_CACHE_DIR", d)])).unwrap();
    assert!(cfg.remote.value.is_empty());
    assert_eq!(cfg.remote.source, Source::Default);
    assert!(cfg.remote_tiers().is_empty());
    std::fs::write(
        dir.path().join("zccache.toml"),
        "remote = [\"redis://a:6379|read-only\", \"http://b/c http://d/e\"]\n",
    )
    .unwrap();
    let cfg = Config::from_env_map(&env(&[("ZCCACHE_CACHE_DIR", d)])).unwrap();
    assert_eq!(
        cfg.remote.value,
        ["redis://a:6379|read-only", "http://b/c", "http://d/e"]
    );
    assert!(matches!(cfg.remote.source, Source::File(_)));
    let tiers = cfg.remote_tiers();
    assert_eq!(tiers.len(), 3);
    assert!(tiers[0].read_only);
    std::fs::write(dir.path().join("zccache.toml"), "remote = \"s3://b\"\n").unwrap();
    let cfg = Config::from_env_map(&env(&[("ZCCACHE_CACHE_DIR", d)])).unwrap();
    assert_eq!(cfg.remote.value, ["s3://b"]);
    let cfg = Config::from_env_map(&env(&[
        ("ZCCACHE_CACHE_DIR", d),
        ("ZCCACHE_REMOTE", " redis://x  memcached://y:11211\n"),
    ]))
    .unwrap();
    assert_eq!(cfg.remote.value, ["redis://x", "memcached://y:11211"]);
    assert_eq!(cfg.remote.source, Source::Env("ZCCACHE_REMOTE"));
    // An empty variable turns the file's tiers off.
    let cfg =
        Config::from_env_map(&env(&[("ZCCACHE_CACHE_DIR", d), ("ZCCACHE_REMOTE", "")])).unwrap();
    assert!(cfg.remote.value.is_empty());
    assert_eq!(cfg.remote.source, Source::Env("ZCCACHE_REMOTE"));
}

#[test]
fn bad_remote_tiers_name_the_key_and_hide_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let err = Config::from_env_map(&env(&[
        ("ZCCACHE_CACHE_DIR", d),
        ("ZCCACHE_REMOTE", "redis://ok redis://u:hunter2@h:99999"),
    ]))
    .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(&err, ConfigError::InvalidValue { key, .. } if key == "ZCCACHE_REMOTE"));
    assert!(msg.contains("invalid port number"), "{msg}");
    assert!(!msg.contains("hunter2") && !msg.contains('\n'), "{msg}");
    for (toml, needle) in [
        ("remote = [\"ftp://x\"]", "unsupported scheme"),
        ("remote = [\"http://x|layout=tree\"]", "layout=tree"),
        ("remote = 3", "expected an array of strings"),
        ("remote = [1]", "expected an array of strings"),
    ] {
        std::fs::write(dir.path().join("zccache.toml"), toml).unwrap();
        let err = Config::from_env_map(&env(&[("ZCCACHE_CACHE_DIR", d)])).unwrap_err();
        assert!(
            matches!(&err, ConfigError::InvalidValue { key, .. } if key == "remote"),
            "{err}"
        );
        assert!(err.to_string().contains(needle), "{err}");
    }
}

#[test]
fn base_dirs_and_portable_come_from_file_or_env() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let file = dir.path().join("zccache.toml");
    std::fs::write(
        &file,
        "base_dir = [\"/ci/a\", \"/ci/b:/ci/c\"]\nportable = true\n",
    )
    .unwrap();
    let cfg = Config::from_env_map(&env(&[("ZCCACHE_CACHE_DIR", d)])).unwrap();
    let dirs: Vec<PathBuf> = ["/ci/a", "/ci/b", "/ci/c"]
        .iter()
        .map(PathBuf::from)
        .collect();
    assert_eq!(cfg.base_dir.value, dirs);
    assert!(cfg.portable.value);
    let cfg = Config::from_env_map(&env(&[
        ("ZCCACHE_CACHE_DIR", d),
        ("ZCCACHE_BASE_DIR", "/w"),
        ("ZCCACHE_PORTABLE", "0"),
    ]))
    .unwrap();
    assert_eq!(cfg.base_dir.value, vec![PathBuf::from("/w")]);
    assert_eq!(cfg.base_dir.source, Source::Env("ZCCACHE_BASE_DIR"));
    assert!(!cfg.portable.value);
    std::fs::write(&file, "base_dir = \"rel\"\n").unwrap();
    let err = Config::from_env_map(&env(&[("ZCCACHE_CACHE_DIR", d)])).unwrap_err();
    assert!(
        err.to_string().contains("base_dir") && err.to_string().contains("rel"),
        "{err}"
    );
    std::fs::write(&file, "base_dir = 3\n").unwrap();
    let err = Config::from_env_map(&env(&[("ZCCACHE_CACHE_DIR", d)])).unwrap_err();
    assert!(err.to_string().contains("base_dir"), "{err}");
}

#[test]
fn reapi_comes_from_env_or_a_toml_table_and_goes_last() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let cfg = Config::from_env_map(&env(&[("ZCCACHE_CACHE_DIR", d)])).unwrap();
    assert_eq!(cfg.reapi.value, None);
    std::fs::write(
        dir.path().join("zccache.toml"),
        "remote = \"redis://r:6379\"\n\
         [reapi]\n\
         url = \"grpcs://cluster:443\"\n\
         instance = \"main\"\n\
         execute = true\n\
         jobs = 64\n\
         timeout_ms = 5000\n\
         headers = { x-api-key = \"SE|CRET\" }\n\
         platform = { OSFamily = \"linux\" }\n",
    )
    .unwrap();
    let cfg = Config::from_env_map(&env(&[("ZCCACHE_CACHE_DIR", d)])).unwrap();
    assert!(matches!(cfg.reapi.source, Source::File(_)));
    let tiers = cfg.remote_tiers();
    assert_eq!(tiers.len(), 2);
    assert!(tiers[0].url.starts_with("redis://"));
    let reapi = &tiers[1];
    assert_eq!(reapi.url, "grpcs://cluster:443");
    assert_eq!(reapi.reapi.instance, "main");
    assert!(reapi.reapi.execute);
    assert_eq!(reapi.reapi.jobs, 64);
    assert_eq!(reapi.timeout, std::time::Duration::from_secs(5));
    assert_eq!(
        reapi.reapi.headers,
        [("x-api-key".to_string(), "SE|CRET".to_string())]
    );
    assert_eq!(
        reapi.reapi.properties,
        [("OSFamily".to_string(), "linux".to_string())]
    );
    // The environment wins; an empty variable turns it off.
    let cfg = Config::from_env_map(&env(&[
        ("ZCCACHE_CACHE_DIR", d),
        ("ZCCACHE_REAPI", "grpc://other:1"),
    ]))
    .unwrap();
    assert_eq!(cfg.reapi.value.as_deref(), Some("grpc://other:1"));
    let cfg =
        Config::from_env_map(&env(&[("ZCCACHE_CACHE_DIR", d), ("ZCCACHE_REAPI", "")])).unwrap();
    assert_eq!(cfg.reapi.value, None);
    assert_eq!(cfg.remote_tiers().len(), 1);
}

#[test]
fn bad_reapi_settings_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let e = Config::from_env_map(&env(&[
        ("ZCCACHE_CACHE_DIR", d),
        ("ZCCACHE_REAPI", "redis://x:1"),
    ]))
    .unwrap_err()
    .to_string();
    assert!(e.contains("ZCCACHE_REAPI") && e.contains("grpc://"), "{e}");
    for (toml, needle) in [
        ("reapi = 3\n", "a string or a table"),
        ("[reapi]\ninstance = \"x\"\n", "needs url"),
        ("[reapi]\nurl = \"grpc://h:1\"\nbogus = 1\n", "bogus"),
        (
            "[reapi]\nurl = \"grpc://h:1\"\nheaders = { a = 1 }\n",
            "headers.a",
        ),
    ] {
        std::fs::write(dir.path().join("zccache.toml"), toml).unwrap();
        let e = Config::from_env_map(&env(&[("ZCCACHE_CACHE_DIR", d)]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("reapi") && e.contains(needle), "{toml}: {e}");
    }
}
