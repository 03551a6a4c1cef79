//! Admin commands: start, stop, status, stats, clear, config.

use crate::harness::*;
use std::time::Duration;

const INT_KEYS: [&str; 12] = [
    "protocol_version",
    "pid",
    "uptime_ms",
    "cache_hits",
    "cache_misses",
    "non_cacheable",
    "errors",
    "compile_failed",
    "time_saved_ms",
    "entries",
    "bytes",
    "max_size",
];

/// The report's JSON shape: every key present with its type.
fn check_json_keys(v: &serde_json::Value, what: &str) {
    for k in INT_KEYS {
        assert!(
            v.get(k).and_then(|x| x.as_u64()).is_some(),
            "{what}: integer key {k:?} in {v}"
        );
    }
    for k in ["version", "cache_dir", "socket"] {
        assert!(
            v.get(k).and_then(|x| x.as_str()).is_some(),
            "{what}: string key {k:?} in {v}"
        );
    }
    for k in ["misses_by_reason", "non_cacheable_by_reason"] {
        let m = v.get(k).and_then(|x| x.as_object());
        let m = m.unwrap_or_else(|| panic!("{what}: object key {k:?} in {v}"));
        assert!(
            m.values().all(|x| x.is_u64()),
            "{what}: {k} values are integers: {v}"
        );
    }
}

/// The report's values for this sandbox's fresh daemon.
fn check_report(sb: &Sandbox, st: &Stats, what: &str) {
    let cache = sb.cache.to_string_lossy();
    assert_eq!(st.cache_dir, cache, "{what}: cache_dir");
    let sock = sb.cache.join("daemon.sock");
    assert_eq!(st.socket, sock.to_string_lossy(), "{what}: socket");
    assert_eq!(
        Some(st.pid),
        sb.daemon_pid_file().map(u64::from),
        "{what}: pid vs daemon.pid"
    );
    assert_eq!(st.max_size, 10 << 30, "{what}: default max_size is 10 GiB");
}

#[test]
fn start_status_stop() {
    let sb = Sandbox::new();
    // Nothing running yet: status and stats exit 1 with a one-line message.
    for cmd in [
        &["status"][..],
        &["stats"],
        &["status", "--json"],
        &["stats", "--json"],
    ] {
        let out = sb.zcc(cmd);
        assert_eq!(
            out.status.code(),
            Some(1),
            "`zccache {cmd:?}` with no daemon"
        );
        let msg = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert_eq!(
            msg.trim().lines().count(),
            1,
            "`zccache {cmd:?}` message: {msg:?}"
        );
    }
    // stop with nothing running is fine.
    assert_ok(&sb.zcc(&["stop"]), "stop with no daemon");

    sb.start();
    let pid = sb.daemon_pid_file().expect("daemon.pid after start");
    assert!(pid_alive(pid), "daemon {pid} not running after start");
    assert_ok(&sb.zcc(&["start"]), "second start");
    assert_eq!(
        sb.daemons(),
        vec![pid],
        "second start must not spawn another daemon"
    );

    let out = sb.zcc_ok(&["status", "--json"]);
    check_json_keys(&parse_json(&out.stdout, "status --json"), "status --json");
    let v = Stats::parse(&out.stdout);
    check_report(&sb, &v, "status --json");
    assert_eq!(v.pid, pid as u64);
    check_json_keys(&sb.stats_json(), "stats --json");
    let v = sb.stats();
    check_report(&sb, &v, "stats --json");
    assert_eq!(v.counters(), Counters::default(), "fresh daemon counters");
    // Human forms work too.
    assert!(
        !sb.zcc_ok(&["status"]).stdout.is_empty(),
        "status prints something"
    );
    assert!(
        !sb.zcc_ok(&["stats"]).stdout.is_empty(),
        "stats prints something"
    );

    assert_ok(&sb.zcc(&["stop"]), "stop");
    assert!(
        !pid_alive(pid),
        "daemon {pid} still alive after `zccache stop` returned"
    );
    assert!(sb.daemons().is_empty());
    assert_eq!(
        sb.zcc(&["status"]).status.code(),
        Some(1),
        "status after stop"
    );
    assert_ok(&sb.zcc(&["stop"]), "second stop");
}

#[test]
fn stats_count_outcomes_and_reasons() {
    if missing(&["gcc"]) {
        return;
    }
    let sb = Sandbox::new();
    sb.write("h.h", "#define H 1\n");
    sb.write("a.c", "#include \"h.h\"\nint a(void) { return H; }\n");
    sb.write("main.c", "int main(void) { return 0; }\n");
    sb.start();
    sb.zcc_ok(&["gcc", "-c", "a.c", "-o", "a.o"]);
    sb.zcc_ok(&["gcc", "-c", "a.c", "-o", "a.o"]);
    // Same source, changed header: the manifest is found, no include set matches.
    sb.write("h.h", "#define H 2\n");
    sb.zcc_ok(&["gcc", "-c", "a.c", "-o", "a.o"]);
    sb.zcc_ok(&["gcc", "main.c", "-o", "app"]);
    sb.zcc_ok(&["gcc", "-E", "a.c"]);
    let v = sb.stats();
    let c = v.counters();
    assert_eq!(
        (c.hits, c.misses, c.non_cacheable),
        (1, 2, 2),
        "counters: {v}"
    );
    assert_eq!(v.miss_reason("first_compile"), 1, "{v}");
    assert_eq!(v.miss_reason("inputs_changed"), 1, "{v}");
    assert_eq!(v.nc_reason("compile_and_link"), 1, "{v}");
    assert_eq!(v.nc_reason("preprocess_only"), 1, "{v}");
    assert!(v.entries >= 2, "entries: {v}");
    assert!(v.bytes > 0, "bytes: {v}");
}

#[test]
fn clear_drops_every_entry() {
    if missing(&["gcc"]) {
        return;
    }
    let sb = Sandbox::new();
    sb.write("a.c", "int a(void) { return 1; }\n");
    sb.write("b.c", "int b(void) { return 2; }\n");
    sb.start();
    let bare = sb.bare_obj("gcc", &["-c", "a.c", "-o", "a.o"], "a.o");
    sb.compile_expect(&["gcc", "-c", "a.c", "-o", "a.o"], Outcome::Miss);
    sb.compile_expect(&["gcc", "-c", "b.c", "-o", "b.o"], Outcome::Miss);
    let v = sb.stats();
    assert!(v.entries >= 2, "entries before clear: {v}");
    let out = sb.zcc_ok(&["clear"]);
    assert!(!out.stdout.is_empty(), "clear should print what was freed");
    let v = sb.stats();
    assert_eq!(v.entries, 0, "entries after clear: {v}");
    assert_eq!(v.bytes, 0, "bytes after clear: {v}");
    sb.remove("a.o");
    sb.compile_expect(&["gcc", "-c", "a.c", "-o", "a.o"], Outcome::Miss);
    assert_same(&sb.read("a.o"), &bare, "object after clear");
    sb.remove("a.o");
    sb.compile_expect(&["gcc", "-c", "a.c", "-o", "a.o"], Outcome::Hit);
    assert_same(&sb.read("a.o"), &bare, "object after clear (hit)");
}

/// The `config` line for `key`, which must exist.
fn config_line(out: &std::process::Output, key: &str) -> String {
    let s = text(&out.stdout);
    s.lines()
        .find(|l| l.contains(key))
        .unwrap_or_else(|| panic!("`zccache config` has no line for {key}:\n{s}"))
        .to_string()
}

#[test]
fn config_reports_values_and_sources() {
    let mut sb = Sandbox::new();
    let out = sb.zcc_ok(&["config"]);
    let line = config_line(&out, "max_size");
    assert!(
        line.contains("default"),
        "default max_size source: {line:?}"
    );
    let line = config_line(&out, "cache_dir");
    assert!(
        line.contains(sb.cache.to_str().unwrap()),
        "cache_dir value: {line:?}"
    );
    assert!(line.contains("env"), "cache_dir comes from env: {line:?}");

    std::fs::create_dir_all(&sb.cache).unwrap();
    let toml = sb.cache.join("zccache.toml");
    std::fs::write(&toml, "max_size = \"2G\"\nidle_timeout_secs = 77\n").unwrap();
    let out = sb.zcc_ok(&["config"]);
    let line = config_line(&out, "max_size");
    assert!(line.contains("file"), "max_size from file: {line:?}");
    assert!(
        line.contains("2G") || line.contains("2147483648"),
        "max_size value: {line:?}"
    );
    let line = config_line(&out, "idle_timeout");
    assert!(
        line.contains("77") && line.contains("file"),
        "idle timeout from file: {line:?}"
    );

    // Env wins over the file.
    sb.set_env("ZCCACHE_MAX_SIZE", "123M");
    let out = sb.zcc_ok(&["config"]);
    let line = config_line(&out, "max_size");
    assert!(line.contains("env"), "max_size from env: {line:?}");
    assert!(
        line.contains("123M") || line.contains("128974848"),
        "max_size value: {line:?}"
    );

    // And the daemon uses it.
    sb.start();
    assert_eq!(sb.stats().max_size, 123 << 20, "daemon max_size");
}

#[test]
fn config_file_via_zccache_config_env() {
    let mut sb = Sandbox::new();
    let toml = sb.root.join("elsewhere.toml");
    std::fs::write(&toml, "max_size = \"5M\"\n").unwrap();
    sb.set_env("ZCCACHE_CONFIG", &toml);
    let out = sb.zcc_ok(&["config"]);
    let line = config_line(&out, "max_size");
    assert!(
        line.contains(toml.to_str().unwrap()),
        "source names the file: {line:?}"
    );
}

#[test]
fn bad_config_values_give_one_line_errors() {
    // (where, content, key named, a part of the message said exactly once)
    let cases = [
        (
            "file",
            "max_size = \"banana\"\n",
            "max_size",
            "got \"banana\"",
        ),
        ("file", "max_size = \"lots\"\n", "max_size", "got \"lots\""),
        (
            "file",
            "idle_timeout_secs = \"soon\"\n",
            "idle_timeout_secs",
            "\"soon\"",
        ),
        // Unquoted, as a new user writes it: key, line and a quoting hint.
        (
            "file",
            "debug = false\nmax_size = 10G\n",
            "max_size",
            "line 2): ",
        ),
        ("file", "max_size = 10G\n", "max_size", "max_size = \"10G\""),
        (
            "env",
            "ZCCACHE_MAX_SIZE=12 parsecs",
            "ZCCACHE_MAX_SIZE",
            "\"12 parsecs\"",
        ),
        (
            "env",
            "ZCCACHE_IDLE_TIMEOUT=-5",
            "ZCCACHE_IDLE_TIMEOUT",
            "\"-5\"",
        ),
    ];
    for (kind, content, key, once) in cases {
        let mut sb = Sandbox::new();
        if kind == "file" {
            std::fs::create_dir_all(&sb.cache).unwrap();
            std::fs::write(sb.cache.join("zccache.toml"), content).unwrap();
        } else {
            let (k, v) = content.split_once('=').unwrap();
            sb.set_env(k, v);
        }
        let out = sb.zcc(&["config"]);
        assert!(
            !out.status.success(),
            "bad {kind} value {content:?} accepted"
        );
        let err = text(&out.stderr);
        assert_eq!(
            err.trim().lines().count(),
            1,
            "one-line error for {content:?}: {err:?}"
        );
        assert!(
            err.contains(key),
            "error for {content:?} names {key}: {err:?}"
        );
        assert_eq!(err.matches("zccache:").count(), 1, "{err:?}");
        assert_eq!(err.matches(once).count(), 1, "{once:?} once: {err:?}");
    }
    // A config file that cannot be read (here: a directory) says why once.
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.cache.join("zccache.toml")).unwrap();
    let err = text(&sb.zcc(&["config"]).stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err:?}");
    assert_eq!(err.matches("Is a directory").count(), 1, "{err:?}");
}

#[test]
fn unknown_subcommand_like_flag_is_an_error() {
    let sb = Sandbox::new();
    let out = sb.zcc(&["--no-such-flag"]);
    assert!(!out.status.success(), "unknown flag accepted");
    assert!(!out.stderr.is_empty(), "unknown flag: no message");
    let out = sb.zcc(&["stats", "--bogus"]);
    assert!(!out.status.success(), "unknown stats flag accepted");
}

#[test]
fn entries_persist_across_daemon_restart() {
    if missing(&["gcc"]) {
        return;
    }
    let sb = Sandbox::new();
    sb.write("a.c", "int a(void) { return 1; }\n");
    sb.zcc_ok(&["gcc", "-c", "a.c", "-o", "a.o"]);
    let pid = sb.daemon_pid_file().expect("daemon.pid");
    assert_ok(&sb.zcc(&["stop"]), "stop");
    assert!(!pid_alive(pid), "daemon still alive after stop returned");
    // The next compile brings a fresh daemon with fresh counters.
    sb.remove("a.o");
    sb.zcc_ok(&["gcc", "-c", "a.c", "-o", "a.o"]);
    assert!(wait_until(Duration::from_secs(5), || !sb
        .daemons()
        .is_empty()));
    let c = sb.counters();
    assert_eq!(
        c.hits,
        1,
        "entries persist across daemon restarts: {}",
        sb.stats()
    );
}
