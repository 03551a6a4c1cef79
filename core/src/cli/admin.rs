//! Admin commands (clap): `start`, `stop`, `status`, `stats`, `clear`,
//! `config`, and the hidden `daemon` that runs the daemon in the foreground.

use super::{daemon_control, integrations};
use crate::config::Config;
use crate::ipc::client::Client;
use crate::ipc::{AdminRequest, Request, Response, StatusReport};
use crate::paths::CacheLayout;
use clap::{Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;

/// zccache: a fast compiler cache with a per-user daemon.
///
/// Use as a launcher: `zccache gcc -c a.c -o a.o`, or through a symlink
/// named like the compiler (masquerade).
#[derive(Debug, Parser)]
#[command(name = "zccache", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Start the daemon if it is not running.
    Start,
    /// Stop the daemon (waits until it has exited).
    Stop,
    /// Daemon status: version, uptime, cache dir, counters, store usage.
    Status {
        /// Machine-readable JSON.
        #[arg(long)]
        json: bool,
    },
    /// Hit/miss statistics with reasons.
    Stats {
        /// Machine-readable JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove every cache entry.
    Clear,
    /// Show the effective configuration and where each value came from.
    Config,
    /// Open a build session; prints its id (or `export ZCCACHE_SESSION_ID=…` with --shell).
    SessionStart(super::services::SessionStartArgs),
    /// Show an open session's stats.
    SessionStats(super::services::SessionIdArgs),
    /// End a session and show its final stats (unknown ids: no-op).
    SessionEnd(super::services::SessionIdArgs),
    /// Roll up a JSONL journal by outcome, miss reason, tool and source.
    Analyze(super::services::AnalyzeArgs),
    /// Explain why the most recent compile of an output missed.
    Explain(super::services::ExplainArgs),
    /// emsdk hook: `eval "$(zccache emsdk activate [--mode outer|inner])"`.
    Emsdk {
        /// activate or deactivate.
        #[command(subcommand)]
        cmd: super::emsdk::EmsdkCmd,
    },
    /// Run any tool through the cache, keyed by declared inputs.
    Exec(super::exec_cmd::ExecArgs),
    /// Tree fingerprints: skip a lint or test step when nothing changed.
    Fp {
        /// The operation.
        #[command(subcommand)]
        op: super::services::FpCmd,
    },
    /// Remote tiers: `zccache remote check` probes each one.
    Remote {
        /// The operation.
        #[command(subcommand)]
        cmd: super::remote::RemoteCmd,
    },
    /// Drop sessions (and handles) under a directory before deleting it.
    ReleaseHandles(super::services::ReleaseArgs),
    /// Print the path of the CMake module (written out on first use), for
    /// `-DCMAKE_PROJECT_TOP_LEVEL_INCLUDES=$(zccache cmake-module)`.
    CmakeModule,
    /// Meson integration.
    Meson {
        /// The Meson operation.
        #[command(subcommand)]
        command: MesonCmd,
    },
    /// Run the daemon in the foreground (started automatically).
    #[command(hide = true)]
    Daemon {
        /// Cache root to serve.
        #[arg(long)]
        cache_dir: Option<PathBuf>,
    },
}

/// Names of every admin subcommand (for launcher-mode dispatch).
#[cfg(test)]
pub(crate) fn subcommand_names() -> Vec<String> {
    use clap::CommandFactory;
    Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect()
}

#[derive(Debug, Subcommand)]
enum MesonCmd {
    /// Print (or install) a native file that puts zccache in front of the
    /// C, C++ (and ObjC) compilers.
    NativeFile {
        /// Install as `$XDG_DATA_HOME/meson/native/zccache`, so that
        /// `meson setup --native-file zccache` finds it.
        #[arg(long)]
        install: bool,
        /// Write to this file instead.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// C compiler (default: `$CC`, else `cc`).
        #[arg(long)]
        cc: Option<String>,
        /// C++ compiler (default: `$CXX`, else `c++`).
        #[arg(long)]
        cxx: Option<String>,
    },
}

/// Parse `args` (with `argv[0]`) and run the admin command; returns the exit
/// code (2 for a usage or configuration error, 0 for `--help`/`--version`).
pub(crate) fn run(args: &[OsString]) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    if let Some(code) = run_without_config(&cli.command) {
        return code;
    }
    let cfg = match Config::load() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("zccache: {e}");
            return 2;
        }
    };
    run_with_config(&cfg, cli.command)
}

/// The steps before the configuration is loaded: `daemon --cache-dir`
/// sets the cache dir the configuration will see, and the integration
/// commands that need no configuration run here (`Some(exit code)`).
fn run_without_config(cmd: &Cmd) -> Option<i32> {
    match cmd {
        Cmd::Daemon {
            cache_dir: Some(dir),
        } => {
            std::env::set_var("ZCCACHE_CACHE_DIR", dir);
            None
        }
        Cmd::CmakeModule => Some(integrations::cmake_module()),
        Cmd::Meson { command } => Some(meson_command(command)),
        _ => None,
    }
}

/// Run a command that needs the configuration; returns the exit code.
fn run_with_config(cfg: &Config, cmd: Cmd) -> i32 {
    match cmd {
        Cmd::Start => start(cfg),
        Cmd::Stop => stop(cfg),
        Cmd::Status { json } => with_status(cfg, |r| print_status(r, json)),
        Cmd::Stats { json } => with_status(cfg, |r| print_stats(r, json)),
        Cmd::Clear => clear(cfg),
        Cmd::Config => {
            print_config(cfg);
            0
        }
        Cmd::SessionStart(a) => super::services::session_start(cfg, &a),
        Cmd::SessionStats(a) => super::services::session_report(cfg, &a, false),
        Cmd::SessionEnd(a) => super::services::session_report(cfg, &a, true),
        Cmd::Analyze(a) => super::services::analyze(&a),
        Cmd::Explain(a) => super::services::explain(cfg, &a),
        Cmd::ReleaseHandles(a) => super::services::release_handles(cfg, &a),
        Cmd::Fp { op } => super::services::fp(cfg, &op),
        Cmd::Exec(a) => super::exec_cmd::run(cfg, &a),
        Cmd::Emsdk { cmd } => super::emsdk::run(cfg, &cmd),
        Cmd::Remote { cmd } => super::remote::run(cfg, &cmd),
        Cmd::CmakeModule | Cmd::Meson { .. } => 0,
        Cmd::Daemon { .. } => match crate::daemon::run(cfg) {
            Ok(_) => 0,
            Err(e) => {
                eprintln!("zccache daemon: {e}");
                1
            }
        },
    }
}

/// `zccache stop`; always exit code 0.
fn stop(cfg: &Config) -> i32 {
    if daemon_control::stop(cfg) {
        println!("zccache daemon stopped");
    } else {
        println!("zccache daemon was not running");
    }
    0
}

fn meson_command(cmd: &MesonCmd) -> i32 {
    let MesonCmd::NativeFile {
        install,
        output,
        cc,
        cxx,
    } = cmd;
    let compilers = super::meson::Compilers {
        cc: cc.clone(),
        cxx: cxx.clone(),
    };
    integrations::meson_native_file(&compilers, *install, output.as_deref())
}

/// Start the daemon if needed and ping it; a daemon that speaks another
/// protocol version (an older zccache) is replaced.
fn start(cfg: &Config) -> i32 {
    match daemon_control::call(cfg, &Request::Admin(AdminRequest::Ping)) {
        Ok(Response::Pong { pid }) => {
            println!("zccache daemon running (pid {pid})");
            0
        }
        Ok(other) => {
            eprintln!("zccache: daemon did not answer a ping: {other:?}");
            1
        }
        Err(e) => {
            eprintln!("zccache: cannot start the daemon: {e}");
            1
        }
    }
}

fn with_status(cfg: &Config, print: impl Fn(&StatusReport)) -> i32 {
    let socket = CacheLayout::new(&cfg.cache_dir.value).socket();
    let reply = Client::connect(&socket)
        .map_err(|e| e.to_string())
        .and_then(|mut c| {
            c.call(&Request::Admin(AdminRequest::Status))
                .map_err(|e| e.to_string())
        });
    match reply {
        Ok(Response::Status(r)) => {
            print(&r);
            0
        }
        Ok(other) => {
            eprintln!("zccache: unexpected reply {other:?}");
            1
        }
        Err(_) => {
            eprintln!(
                "zccache: daemon is not running (cache dir {})",
                cfg.cache_dir.value.display()
            );
            1
        }
    }
}

fn print_status(r: &StatusReport, json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(r).unwrap_or_default());
        return;
    }
    println!("zccache {} (protocol {})", r.version, r.protocol_version);
    println!("daemon pid       {}", r.pid);
    println!("uptime           {:.1} s", r.uptime_ms as f64 / 1000.0);
    println!("cache dir        {}", r.cache_dir);
    println!("socket           {}", r.socket);
    println!("entries          {}", r.entries);
    println!(
        "size             {} / {}",
        human_bytes(r.bytes),
        human_bytes(r.max_size)
    );
    println!("hits             {}", r.cache_hits);
    println!("misses           {}", r.cache_misses);
    println!("non-cacheable    {}", r.non_cacheable);
    println!("errors           {}", r.errors);
    for (label, n) in &r.warnings_by_reason {
        println!("warning          {label} ({n})");
    }
    println!("time saved       {:.1} s", r.time_saved_ms as f64 / 1000.0);
    println!(
        "links            {} hits, {} misses",
        r.link_hits, r.link_misses
    );
    println!("active sessions  {}", r.active_sessions);
    println!(
        "max jobs         {} (busy replies: {})",
        r.max_jobs, r.backpressure_replies
    );
    println!(
        "dep graph        {} contexts, {} files",
        r.dep_graph_contexts, r.metadata_entries
    );
}

fn print_stats(r: &StatusReport, json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(r).unwrap_or_default());
        return;
    }
    let total = r.cache_hits + r.cache_misses;
    let rate = if total > 0 {
        100.0 * r.cache_hits as f64 / total as f64
    } else {
        0.0
    };
    if r.verify_mismatches > 0 {
        println!(
            "VERIFY MISMATCHES {} (stale hits found by recompiling; entries dropped, see zccache explain)",
            r.verify_mismatches
        );
    }
    println!("hits             {} ({rate:.1}%)", r.cache_hits);
    if r.preprocessor_hits > 0 {
        println!("  {:<22} {}", "via preprocessor", r.preprocessor_hits);
    }
    println!("misses           {}", r.cache_misses);
    for (reason, n) in &r.misses_by_reason {
        println!("  {reason:<22} {n}");
    }
    println!("  (compile failed: {})", r.compile_failed);
    println!("non-cacheable    {}", r.non_cacheable);
    for (reason, n) in &r.non_cacheable_by_reason {
        println!("  {reason:<22} {n}");
    }
    println!("errors           {}", r.errors);
    for (label, n) in &r.warnings_by_reason {
        println!("warning          {label} ({n})");
    }
    println!("time saved       {:.1} s", r.time_saved_ms as f64 / 1000.0);
    print_farm(r);
    print_verify(r);
    print_remote(r);
    println!("entries          {}", r.entries);
    println!(
        "size             {} / {}",
        human_bytes(r.bytes),
        human_bytes(r.max_size)
    );
}

/// The verification lines of `zccache stats`, when any hit was verified.
fn print_verify(r: &StatusReport) {
    let total = r.verified_hits + r.verify_mismatches + r.verify_nondeterministic;
    if total == 0 {
        return;
    }
    println!(
        "verified hits    {} ({} mismatches, {} non-deterministic)",
        r.verified_hits, r.verify_mismatches, r.verify_nondeterministic
    );
}

/// The remote section of `zccache stats`: one block per tier.
fn print_remote(r: &StatusReport) {
    for t in &r.remote {
        println!("remote           {} (breaker {})", t.url, t.breaker);
        println!(
            "  {:<22} {} hits, {} misses, {} backfills",
            "lookups", t.hits, t.misses, t.backfills
        );
        println!(
            "  {:<22} {} errors, {} timeouts, {} corrupt",
            "problems", t.errors, t.timeouts, t.corrupt
        );
        println!(
            "  {:<22} {} writes, {} read, {} written",
            "traffic",
            t.writes,
            human_bytes(t.bytes_read),
            human_bytes(t.bytes_written)
        );
        println!("  {:<22} {} ms", "time", t.time_ms);
    }
    if let Some(x) = &r.remote_exec {
        println!("remote exec      {} (breaker {})", x.url, x.breaker);
        println!(
            "  {:<22} {} executed ({} from the cluster's action cache)",
            "misses", x.executed, x.cached
        );
        println!(
            "  {:<22} {} after a cluster failure, {} again for exact diagnostics",
            "compiled locally", x.fallbacks, x.local_reruns
        );
        println!(
            "  {:<22} {} errors, {} timeouts",
            "problems", x.errors, x.timeouts
        );
        println!(
            "  {:<22} {} up, {} down, {} ms",
            "traffic",
            human_bytes(x.bytes_up),
            human_bytes(x.bytes_down),
            x.time_ms
        );
    }
}

/// The farm lines of `zccache stats`, when a prefix compiled anything.
fn print_farm(r: &StatusReport) {
    if r.farm_compiles + r.farm_errors == 0 {
        return;
    }
    println!(
        "farm             {} misses compiled on the farm",
        r.farm_compiles
    );
    println!(
        "  {:<22} {} (compiled locally again: {})",
        "farm errors", r.farm_errors, r.farm_fallbacks
    );
}

fn clear(cfg: &Config) -> i32 {
    match daemon_control::call(cfg, &Request::Admin(AdminRequest::Clear)) {
        Ok(Response::Cleared { entries, bytes }) => {
            println!("cleared {entries} records, {} freed", human_bytes(bytes));
            0
        }
        Ok(Response::Error { message, .. }) => {
            eprintln!("zccache: {message}");
            1
        }
        Ok(other) => {
            eprintln!("zccache: unexpected reply {other:?}");
            1
        }
        Err(e) => {
            eprintln!("zccache: cannot reach the daemon: {e}");
            1
        }
    }
}

fn print_config(cfg: &Config) {
    println!("config file        {}", cfg.config_file.display());
    let prefix = cfg.prefix.value.clone().unwrap_or_default();
    let base_dir = std::env::join_paths(&cfg.base_dir.value)
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let rows: [(&str, String, &crate::config::Source); 10] = [
        (
            "cache_dir",
            cfg.cache_dir.value.display().to_string(),
            &cfg.cache_dir.source,
        ),
        (
            "max_size",
            cfg.max_size.value.to_string(),
            &cfg.max_size.source,
        ),
        (
            "idle_timeout_secs",
            cfg.idle_timeout_secs.value.to_string(),
            &cfg.idle_timeout_secs.source,
        ),
        ("debug", cfg.debug.value.to_string(), &cfg.debug.source),
        (
            "disable",
            cfg.disable.value.to_string(),
            &cfg.disable.source,
        ),
        (
            "max_jobs",
            cfg.max_jobs.value.to_string(),
            &cfg.max_jobs.source,
        ),
        ("prefix", prefix, &cfg.prefix.source),
        (
            "verify_rate",
            cfg.verify_rate.value.to_string(),
            &cfg.verify_rate.source,
        ),
        ("base_dir", base_dir, &cfg.base_dir.source),
        (
            "portable",
            cfg.portable.value.to_string(),
            &cfg.portable.source,
        ),
    ];
    for (key, value, source) in rows {
        println!("{key:<18} {value:<40} ({source})");
    }
    print_remote_config(cfg);
}

/// The `remote` rows of `zccache config`: one tier per line, in order, with
/// credentials redacted (`***`); the source goes on the first line.
fn print_remote_config(cfg: &Config) {
    let tiers: Vec<String> = cfg
        .remote
        .value
        .iter()
        .map(|t| crate::storage::remote::spec::redact_tier(t))
        .collect();
    let source = &cfg.remote.source;
    match tiers.split_first() {
        None => println!("{:<18} {:<40} ({source})", "remote", ""),
        Some((first, rest)) => {
            println!("{:<18} {first:<40} ({source})", "remote");
            for tier in rest {
                println!("{:<18} {tier}", "");
            }
        }
    }
    let reapi = cfg
        .reapi
        .value
        .as_deref()
        .map(crate::storage::remote::spec::redact_tier);
    println!(
        "{:<18} {:<40} ({})",
        "reapi",
        reapi.unwrap_or_default(),
        cfg.reapi.source
    );
}

/// Bytes as a human string with binary units (e.g. `1.5 GiB`).
pub(crate) fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
