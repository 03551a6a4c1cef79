//! CLI of the daemon services: sessions, journal analysis, miss
//! explanations and worktree handle release.

use super::daemon_control;
use crate::config::Config;
use crate::daemon::journal::JournalLine;
use crate::ipc::{AdminRequest, Request, Response, SessionRequest, SessionStats};
use clap::Args;
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::PathBuf;

/// Arguments of `session-start`.
#[derive(Debug, Args)]
pub(crate) struct SessionStartArgs {
    /// Track per-session statistics (always on; accepted for compatibility).
    #[arg(long)]
    pub stats: bool,
    /// Log file for the session.
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// JSONL journal: one line per request of the session.
    #[arg(long)]
    pub journal: Option<PathBuf>,
    /// Print `export ZCCACHE_SESSION_ID=…` for `eval`.
    #[arg(long)]
    pub shell: bool,
    /// End the session when this process exits. Without it no process is
    /// watched: the session lasts until `session-end`, or until an hour
    /// passes without a compile counted in it.
    #[arg(long)]
    pub pid: Option<u32>,
}

/// A session id argument.
#[derive(Debug, Args)]
pub(crate) struct SessionIdArgs {
    /// The session id printed by `session-start`.
    pub id: String,
    /// Machine-readable JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `analyze`.
#[derive(Debug, Args)]
pub(crate) struct AnalyzeArgs {
    /// The JSONL journal to roll up.
    pub file: PathBuf,
    /// Machine-readable JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `explain`.
#[derive(Debug, Args)]
pub(crate) struct ExplainArgs {
    /// The output file (object) whose last miss to explain.
    pub output: Option<PathBuf>,
    /// Explain the most recent miss of any output.
    #[arg(long, conflicts_with = "output")]
    pub last_miss: bool,
}

/// `zccache fp …` operations.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum FpCmd {
    /// Exit 0 and print "run" (and the changed files) when anything under
    /// the tree changed since the last success; exit 1 and print "skip"
    /// otherwise.
    Check {
        /// State file of this step.
        #[arg(long)]
        cache_file: PathBuf,
        /// Tree root.
        #[arg(long)]
        root: PathBuf,
        /// Only files with these extensions (comma-separated).
        #[arg(long, value_delimiter = ',', conflicts_with = "glob")]
        ext: Vec<String>,
        /// Only files matching these globs (relative to the root).
        #[arg(long)]
        glob: Vec<String>,
        /// Skip directories or files with these names anywhere.
        #[arg(long)]
        exclude: Vec<String>,
    },
    /// The checked step succeeded.
    MarkSuccess {
        /// State file of this step.
        #[arg(long)]
        cache_file: PathBuf,
    },
    /// The checked step failed: the next check says run.
    MarkFailure {
        /// State file of this step.
        #[arg(long)]
        cache_file: PathBuf,
    },
    /// Forget the last success.
    Invalidate {
        /// State file of this step.
        #[arg(long)]
        cache_file: PathBuf,
    },
}

/// `zccache fp`; returns the exit code (check: 0 = run, 1 = skip, 2 = error).
pub(crate) fn fp(cfg: &Config, cmd: &FpCmd) -> i32 {
    use crate::fingerprint::Filter;
    use crate::ipc::{FingerprintRequest, FpOp};
    let (file, op) = match cmd {
        FpCmd::Check {
            cache_file,
            root,
            ext,
            glob,
            exclude,
        } => (
            cache_file,
            FpOp::Check {
                root: absolute(root),
                filter: Filter {
                    extensions: ext.clone(),
                    globs: glob.clone(),
                    exclude: exclude.clone(),
                },
            },
        ),
        FpCmd::MarkSuccess { cache_file } => (cache_file, FpOp::MarkSuccess),
        FpCmd::MarkFailure { cache_file } => (cache_file, FpOp::MarkFailure),
        FpCmd::Invalidate { cache_file } => (cache_file, FpOp::Invalidate),
    };
    match ask(
        cfg,
        &Request::Fingerprint(FingerprintRequest {
            cache_file: absolute(file),
            op,
        }),
    ) {
        Ok(Response::FpChecked(r)) if r.run => {
            println!("run ({})", r.reason);
            for f in &r.changed {
                println!("  {f}");
            }
            0
        }
        Ok(Response::FpChecked(r)) => {
            println!("skip ({})", r.reason);
            1
        }
        Ok(Response::FpDone) => 0,
        Ok(other) => unexpected(other),
        Err(_) => 2,
    }
}

/// Arguments of `release-handles`.
#[derive(Debug, Args)]
pub(crate) struct ReleaseArgs {
    /// Directory about to be deleted.
    pub dir: PathBuf,
}

fn ask(cfg: &Config, req: &Request) -> Result<Response, i32> {
    match daemon_control::call(cfg, req) {
        Ok(Response::Error { message, .. }) => {
            eprintln!("zccache: {message}");
            Err(2)
        }
        Ok(r) => Ok(r),
        Err(e) => {
            eprintln!("zccache: cannot reach the daemon: {e}");
            Err(1)
        }
    }
}

fn absolute(p: &std::path::Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// `zccache session-start`; returns the exit code.
pub(crate) fn session_start(cfg: &Config, a: &SessionStartArgs) -> i32 {
    if let Some(pid) = a.pid.filter(|&p| !crate::daemon::session::pid_alive(p)) {
        eprintln!("zccache: --pid {pid}: no such process (the session would end at once)");
        return 2;
    }
    // No default owner: the parent of `session-start` is often a subshell
    // of `$(...)` or a Make recipe's shell, gone before the first compile.
    let req = Request::Session(SessionRequest::Start {
        owner_pid: a.pid,
        working_dir: std::env::current_dir().unwrap_or_default(),
        log_file: a.log.as_deref().map(absolute),
        journal: a.journal.as_deref().map(absolute),
    });
    match ask(cfg, &req) {
        Ok(Response::SessionStarted { id }) if a.shell => {
            println!("export ZCCACHE_SESSION_ID={id}");
            0
        }
        Ok(Response::SessionStarted { id }) => {
            println!("{id}");
            0
        }
        Ok(other) => unexpected(other),
        Err(code) => code,
    }
}

/// `zccache session-stats` / `session-end`; returns the exit code.
pub(crate) fn session_report(cfg: &Config, a: &SessionIdArgs, end: bool) -> i32 {
    if let Err(e) = crate::daemon::session::validate_id(&a.id) {
        eprintln!("zccache: {e}");
        return 2;
    }
    let req = if end {
        Request::Session(SessionRequest::End { id: a.id.clone() })
    } else {
        Request::Session(SessionRequest::Stats { id: a.id.clone() })
    };
    match ask(cfg, &req) {
        Ok(Response::Session(Some(st))) => {
            print_session(&st, a.json);
            0
        }
        Ok(Response::Session(None)) if end => {
            if a.json {
                println!("null");
            } else {
                println!("session {} was not open (nothing to do)", a.id);
            }
            0
        }
        Ok(Response::Session(None)) => {
            eprintln!("zccache: no open session {}", a.id);
            1
        }
        Ok(other) => unexpected(other),
        Err(code) => code,
    }
}

fn print_session(st: &SessionStats, json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(st).unwrap_or_default());
        return;
    }
    println!("compilations     {}", st.compilations);
    println!("hits             {}", st.hits);
    println!("misses           {}", st.misses);
    println!("non-cacheable    {}", st.non_cacheable);
    println!("errors           {}", st.errors);
    println!("cached errors    {}", st.cached_errors);
    println!("time saved       {} ms", st.time_saved_ms);
    println!("unique sources   {}", st.unique_sources);
    println!("bytes read       {}", st.bytes_read);
    println!("bytes written    {}", st.bytes_written);
}

/// `zccache explain`; returns the exit code.
pub(crate) fn explain(cfg: &Config, a: &ExplainArgs) -> i32 {
    let output = if a.last_miss {
        None
    } else {
        a.output.as_deref().map(absolute)
    };
    if output.is_none() && !a.last_miss {
        eprintln!("zccache: explain needs an output file or --last-miss");
        return 2;
    }
    match ask(cfg, &Request::Admin(AdminRequest::Explain { output })) {
        Ok(Response::Explanation(Some(text))) => {
            println!("{text}");
            0
        }
        Ok(Response::Explanation(None)) => {
            eprintln!("zccache: no miss recorded for that output since the daemon started");
            1
        }
        Ok(other) => unexpected(other),
        Err(code) => code,
    }
}

/// `zccache release-handles`; returns the exit code.
pub(crate) fn release_handles(cfg: &Config, a: &ReleaseArgs) -> i32 {
    match ask(
        cfg,
        &Request::Session(SessionRequest::ReleaseHandles {
            dir: absolute(&a.dir),
        }),
    ) {
        Ok(Response::Released { sessions, files }) => {
            println!(
                "released {} session(s) and {files} file handle(s) under {}",
                sessions.len(),
                a.dir.display()
            );
            for s in sessions {
                println!("  {s}");
            }
            0
        }
        Ok(other) => unexpected(other),
        Err(code) => code,
    }
}

fn unexpected(r: Response) -> i32 {
    eprintln!("zccache: unexpected reply {r:?}");
    1
}

/// Counts of a journal roll-up.
#[derive(Debug, Default, serde::Serialize)]
pub(crate) struct Rollup {
    /// Lines read.
    pub requests: u64,
    /// Lines that did not parse.
    pub malformed: u64,
    /// By outcome label.
    pub by_outcome: BTreeMap<String, u64>,
    /// By miss / non-cacheable reason.
    pub by_reason: BTreeMap<String, u64>,
    /// By tool (compiler file name).
    pub by_tool: BTreeMap<String, u64>,
    /// Misses by source.
    pub misses_by_source: BTreeMap<String, u64>,
}

/// Roll up journal lines.
pub(crate) fn rollup(lines: impl Iterator<Item = String>) -> Rollup {
    let mut r = Rollup::default();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let Ok(j) = serde_json::from_str::<JournalLine>(&line) else {
            r.malformed += 1;
            continue;
        };
        r.requests += 1;
        *r.by_outcome.entry(j.outcome.clone()).or_default() += 1;
        if let Some(reason) = &j.reason {
            *r.by_reason.entry(reason.clone()).or_default() += 1;
        }
        let tool = std::path::Path::new(&j.compiler)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        *r.by_tool.entry(tool).or_default() += 1;
        if j.outcome.contains("miss") {
            *r.misses_by_source
                .entry(j.source.unwrap_or_else(|| "-".into()))
                .or_default() += 1;
        }
    }
    r
}

/// `zccache analyze`; returns the exit code.
pub(crate) fn analyze(a: &AnalyzeArgs) -> i32 {
    let file = match std::fs::File::open(&a.file) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("zccache: cannot read journal {}: {e}", a.file.display());
            return 2;
        }
    };
    let r = rollup(std::io::BufReader::new(file).lines().map_while(Result::ok));
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
        return 0;
    }
    println!(
        "requests: {} ({} malformed lines skipped)",
        r.requests, r.malformed
    );
    for (title, map) in [
        ("by outcome", &r.by_outcome),
        ("by reason", &r.by_reason),
        ("by tool", &r.by_tool),
        ("misses by source", &r.misses_by_source),
    ] {
        println!("{title}:");
        for (k, v) in map {
            println!("  {k:<40} {v}");
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollup_counts_outcomes_reasons_tools_and_sources() {
        let line = |outcome: &str, reason: Option<&str>, src: &str| {
            serde_json::to_string(&JournalLine {
                time_ms: 1,
                session: None,
                outcome: outcome.into(),
                reason: reason.map(str::to_string),
                latency_ns: 5,
                compiler: "/usr/bin/gcc".into(),
                args: vec![],
                cwd: "/".into(),
                source: Some(src.into()),
                output: None,
            })
            .unwrap()
        };
        let lines = vec![
            line("hit", None, "a.c"),
            line("miss", Some("first_compile"), "b.c"),
            "garbage".to_string(),
        ];
        let r = rollup(lines.into_iter());
        assert_eq!((r.requests, r.malformed), (2, 1));
        assert_eq!(r.by_outcome["hit"], 1);
        assert_eq!(r.by_reason["first_compile"], 1);
        assert_eq!(r.by_tool["gcc"], 2);
        assert_eq!(r.misses_by_source["b.c"], 1);
    }
}
