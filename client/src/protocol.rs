//! Request and response messages. The wire format is bincode inside the
//! frames of [`super::framing`]; every frame carries [`PROTOCOL_VERSION`].
//! A [`Request`] names the daemon service it is for (admin, compile, exec,
//! session, fingerprint, cargo warm), each with its own request type; a
//! failure comes back as [`Response::Error`] with an [`ErrorKind`].

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Version of this protocol; bump on any change to the types below.
pub const PROTOCOL_VERSION: u32 = 14;

/// One compile through the cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompileRequest {
    /// The real compiler, as resolved by the launcher (absolute; symlinks
    /// kept, since clang++ and clang differ only by name).
    pub compiler: PathBuf,
    /// Arguments after `argv[0]`, unexpanded (`@rsp` still in place).
    pub args: Vec<String>,
    /// The launcher's working directory.
    pub cwd: PathBuf,
    /// The launcher's whole environment; the compiler runs with exactly it.
    pub env: Vec<(String, String)>,
    /// The launcher's pid.
    pub client_pid: u32,
    /// The launcher's umask; files the compile creates get `0o666 & !umask`.
    pub umask: u32,
    /// The farm prefix command for misses (`ZCCACHE_PREFIX` or TOML
    /// `prefix`, as the launcher's configuration resolved it, e.g.
    /// `distcc`); `None` compiles misses locally. Never part of a key.
    pub prefix: Option<String>,
    /// The share of hits to verify by recompiling in the background
    /// (`ZCCACHE_VERIFY_RATE`, TOML `verify_rate`), in millionths (0 =
    /// none, 1 000 000 = every hit).
    pub verify_per_million: u32,
    /// The base dirs (`ZCCACHE_BASE_DIR`, TOML `base_dir`, as the
    /// launcher's configuration resolved them; ccache manual, "base_dir"):
    /// absolute paths under them are rewritten relative to `cwd`. Empty:
    /// none.
    pub base_dirs: Vec<PathBuf>,
    /// Set by the lean launcher, which reads no configuration: the daemon
    /// resolves `prefix`, `verify_per_million` and `base_dirs` itself from
    /// the `ZCCACHE_*` variables of `env` and the config file they name,
    /// exactly as the full launcher's loader would, and ignores the values
    /// sent. When those settings disable the cache, the reply is
    /// `RunLocally`; when they need the full launcher (another cache dir,
    /// `debug`), it is [`Response::Delegate`].
    pub settings_from_env: bool,
}

impl CompileRequest {
    /// The compile of `compiler` with `args` that this process (a launcher)
    /// asks for: its working directory, whole environment, pid and umask,
    /// with `settings_from_env` set and no settings of its own (a caller
    /// that resolved them fills them in and clears the flag). `None` when an
    /// argument or a variable is not UTF-8, or the working directory is
    /// unknown.
    pub fn of_this_process(
        compiler: &std::path::Path,
        args: &[std::ffi::OsString],
    ) -> Option<CompileRequest> {
        let args: Vec<String> = args
            .iter()
            .map(|a| a.to_str().map(str::to_string))
            .collect::<Option<_>>()?;
        let env: Vec<(String, String)> = std::env::vars_os()
            .map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect::<Option<_>>()?;
        Some(CompileRequest {
            compiler: compiler.to_path_buf(),
            args,
            cwd: std::env::current_dir().ok()?,
            env,
            client_pid: std::process::id(),
            umask: current_umask(),
            prefix: None,
            verify_per_million: 0,
            base_dirs: Vec::new(),
            settings_from_env: true,
        })
    }
}

/// This process's umask (umask(2) read by setting and restoring it).
fn current_umask() -> u32 {
    // SAFETY: umask(2) cannot fail; the value is restored at once.
    unsafe {
        let m = libc::umask(0o022);
        libc::umask(m);
        m as u32
    }
}

/// A generic tool run (`zccache exec`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecRequest {
    /// The tool (absolute, resolved on PATH by the CLI).
    pub tool: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Working directory.
    pub cwd: PathBuf,
    /// The declared environment: the tool gets exactly this plus PATH.
    pub env: Vec<(String, String)>,
    /// The caller's PATH (not part of the key).
    pub path_env: Option<String>,
    /// Input files whose content is keyed.
    pub input_files: Vec<PathBuf>,
    /// Opaque extra key material.
    pub input_extra: String,
    /// Files the tool writes, captured and restored.
    pub output_files: Vec<PathBuf>,
    /// A make-style depfile the tool writes, listing further inputs.
    pub depfile: Option<PathBuf>,
    /// Files to scan for `#include`s (their headers are keyed).
    pub include_scan: Vec<PathBuf>,
    /// Search dirs of the include scan.
    pub include_dirs: Vec<PathBuf>,
    /// Regexes of arguments left out of the key.
    pub key_args_filter: Vec<String>,
    /// Whether the cwd is part of the key.
    pub cwd_in_key: bool,
    /// Never cache (the tool's output is not reproducible).
    pub non_deterministic: bool,
    /// Session to count the run in.
    pub session: Option<String>,
    /// The caller's pid.
    pub client_pid: u32,
}

impl ExecRequest {
    /// The request as a compile request, for stats, sessions and journal.
    pub fn as_compile_request(&self) -> CompileRequest {
        let mut env = self.env.clone();
        if let Some(s) = &self.session {
            env.push(("ZCCACHE_SESSION_ID".to_string(), s.clone()));
        }
        CompileRequest {
            compiler: self.tool.clone(),
            args: self.args.clone(),
            cwd: self.cwd.clone(),
            env,
            client_pid: self.client_pid,
            umask: 0o022,
            prefix: None,
            verify_per_million: 0,
            base_dirs: Vec::new(),
            settings_from_env: false,
        }
    }
}

/// A request from a client: one variant per daemon service, each carrying
/// the request type its handler takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Daemon administration and diagnostics (ping, status, clear, …).
    Admin(AdminRequest),
    /// Compile through the cache. Replies: `Working` heartbeats, then
    /// [`Response::Compiled`], [`Response::RunLocally`] or [`Response::Busy`].
    Compile(CompileRequest),
    /// Run a tool through the cache (`zccache exec`). Reply:
    /// [`Response::Compiled`] or [`Response::RunLocally`].
    Exec(Box<ExecRequest>),
    /// Build sessions and the release of what they hold.
    Session(SessionRequest),
    /// A fingerprint operation on one cache file (`zccache fp`). Reply:
    /// [`Response::FpChecked`] or [`Response::FpDone`].
    Fingerprint(FingerprintRequest),
    /// Cargo warm snapshots (`cargo zccache warm`, and the save after a
    /// successful `cargo zccache` build). Replies carry `Working`
    /// heartbeats while the daemon hashes or copies files.
    RustWarm(RustWarmRequest),
}

/// Daemon administration and diagnostics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdminRequest {
    /// Health check. Reply: [`Response::Pong`].
    Ping,
    /// Stop the daemon after replying. Reply: [`Response::ShuttingDown`].
    Shutdown,
    /// Counters and store usage. Reply: [`Response::Status`].
    Status,
    /// Drop every entry and cached metadata. Reply: [`Response::Cleared`].
    Clear,
    /// Why did the last compile of an output (or the last miss) miss?
    /// Reply: [`Response::Explanation`].
    Explain {
        /// Absolute output path; `None` for the most recent miss.
        output: Option<PathBuf>,
    },
}

/// Build sessions: per-build statistics and journals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionRequest {
    /// Open a build session. Reply: [`Response::SessionStarted`].
    Start {
        /// The process whose exit ends the session (dead-man switch);
        /// `None`: no process is watched, and the session lasts until
        /// [`SessionRequest::End`], a release of its working dir, an idle
        /// hour or the daemon's exit.
        owner_pid: Option<u32>,
        /// The build's working directory.
        working_dir: PathBuf,
        /// Optional log file for the session's diagnostics.
        log_file: Option<PathBuf>,
        /// Optional JSONL journal: one line per request of the session.
        journal: Option<PathBuf>,
    },
    /// Stats of an open session. Reply: [`Response::Session`]; an id that
    /// is not of the `s-<32 hex>` form is an [`ErrorKind::BadRequest`].
    Stats {
        /// Session id.
        id: String,
    },
    /// End a session (unknown ids are a no-op). Reply: [`Response::Session`]
    /// with its final stats; malformed ids as for [`SessionRequest::Stats`].
    End {
        /// Session id.
        id: String,
    },
    /// Drop sessions and handles under a directory about to be deleted.
    /// Reply: [`Response::Released`]; the cache dir and its ancestors are
    /// refused ([`ErrorKind::BadRequest`]).
    ReleaseHandles {
        /// Absolute directory.
        dir: PathBuf,
    },
}

/// A fingerprint operation on one state file (`zccache fp`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FingerprintRequest {
    /// The state file (absolute).
    pub cache_file: PathBuf,
    /// What to do.
    pub op: FpOp,
}

/// Cargo warm snapshots, keyed by a scope (`crate::cargo_warm::WarmScope`,
/// 32 bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RustWarmRequest {
    /// Save a snapshot (`cargo zccache <build|…>` after a successful run):
    /// the daemon stores each listed file as a blob and replaces the
    /// snapshot of `scope`. Reply: [`Response::RustWarmSaved`].
    Save {
        /// Key of the snapshot.
        scope: [u8; 32],
        /// Absolute cargo build dir the paths are relative to.
        target_dir: PathBuf,
        /// The unit groups to save.
        groups: Vec<WarmGroup>,
    },
    /// List the snapshot of `scope` (feeds `cargo zccache warm --dry-run`).
    /// Reply: [`Response::RustArtifacts`].
    List {
        /// Key of the snapshot.
        scope: [u8; 32],
    },
    /// Restore the snapshot of `scope` into `target_dir` (`cargo zccache
    /// warm`): each unit group none of whose files exist is written, the
    /// others are left alone. Reply: [`Response::RustWarmRestored`].
    Restore {
        /// Key of the snapshot.
        scope: [u8; 32],
        /// Absolute cargo build dir to restore into (must be the one the
        /// snapshot was saved from).
        target_dir: PathBuf,
    },
}

/// One cargo unit of a build dir (cargo book, "Build cache"): the files
/// cargo writes for the unit `<name>-<hash>` under one profile dir. Paths
/// are relative to the build dir, `/`-separated, without `..`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarmGroup {
    /// The profile dir, e.g. `debug` or `x86_64-unknown-linux-gnu/release`.
    pub profile: String,
    /// The unit, `<package name>-<16 hex hash>`.
    pub unit: String,
    /// Directories of the unit (e.g. `debug/build/<unit>/out`), created on
    /// restore even when empty.
    pub dirs: Vec<String>,
    /// Regular files of the unit.
    pub files: Vec<String>,
}

/// A file of a saved snapshot, as listed by [`RustWarmRequest::List`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarmFile {
    /// Path relative to the build dir.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Permission bits (`st_mode & 0o7777`).
    pub mode: u32,
    /// Modification time, ns since the Unix epoch; restored as is.
    pub mtime_ns: u64,
}

/// A unit group of a saved snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarmGroupListing {
    /// The profile dir.
    pub profile: String,
    /// The unit, `<package name>-<hash>`.
    pub unit: String,
    /// Its directories.
    pub dirs: Vec<String>,
    /// Its files.
    pub files: Vec<WarmFile>,
}

/// A saved snapshot, as listed by [`RustWarmRequest::List`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarmListing {
    /// The absolute build dir it was saved from.
    pub target_dir: PathBuf,
    /// Its unit groups.
    pub groups: Vec<WarmGroupListing>,
}

/// What [`RustWarmRequest::Save`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarmSaveReport {
    /// Unit groups in the saved snapshot.
    pub groups: u64,
    /// Files in the saved snapshot.
    pub files: u64,
    /// Their total size, bytes.
    pub bytes: u64,
    /// Files read and hashed (the others were unchanged since the previous
    /// snapshot: same size and mtime).
    pub hashed_files: u64,
    /// Bytes of new blobs written into the store.
    pub stored_bytes: u64,
    /// Groups left out: a file vanished, changed while it was read, or is
    /// not a regular file.
    pub skipped_groups: u64,
    /// False when the snapshot equalled the previous one (nothing written).
    pub changed: bool,
}

/// What [`RustWarmRequest::Restore`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarmRestoreReport {
    /// False when no snapshot exists for the scope (nothing to do).
    pub found: bool,
    /// Groups written.
    pub restored_groups: u64,
    /// Groups left alone because a file or directory of theirs existed.
    pub skipped_groups: u64,
    /// Files written.
    pub files: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// A fingerprint operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FpOp {
    /// Compare the tree with the last success.
    Check {
        /// Tree root (absolute).
        root: PathBuf,
        /// Which files count.
        filter: Filter,
    },
    /// The checked step succeeded.
    MarkSuccess,
    /// The checked step failed.
    MarkFailure,
    /// Forget the baseline.
    Invalidate,
}

/// Per-session statistics (`zccache session-stats`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionStats {
    /// Requests seen (per source).
    pub compilations: u64,
    /// Served from the cache.
    pub hits: u64,
    /// Compiled.
    pub misses: u64,
    /// Passed through unchanged.
    pub non_cacheable: u64,
    /// Internal failures (fell back to a local compile).
    pub errors: u64,
    /// Failed compiles replayed from the cache.
    pub cached_errors: u64,
    /// Original compile time of everything served from the cache, ms.
    pub time_saved_ms: u64,
    /// Distinct source paths.
    pub unique_sources: u64,
    /// Bytes restored from the cache.
    pub bytes_read: u64,
    /// Bytes stored into the cache.
    pub bytes_written: u64,
    /// Miss count per reason label.
    pub misses_by_reason: BTreeMap<String, u64>,
    /// Non-cacheable count per reason label.
    pub non_cacheable_by_reason: BTreeMap<String, u64>,
}

/// Counters and facts about a running daemon (`zccache status`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    /// zccache version.
    pub version: String,
    /// [`PROTOCOL_VERSION`] of the daemon.
    pub protocol_version: u32,
    /// Daemon pid.
    pub pid: u32,
    /// Time since start, ms.
    pub uptime_ms: u64,
    /// Cache root.
    pub cache_dir: String,
    /// Socket path.
    pub socket: String,
    /// Compiles served from the cache (per source).
    pub cache_hits: u64,
    /// Of `cache_hits`: direct-mode misses served from the entry of a
    /// compile that differed only in `-D`/`-U`, proven alike by the
    /// preprocessor (journal outcome `hit`, reason `preprocessor`).
    pub preprocessor_hits: u64,
    /// Compiles that ran the compiler and were stored (or tried to be).
    pub cache_misses: u64,
    /// Requests passed through unchanged.
    pub non_cacheable: u64,
    /// Internal failures that fell back to a plain compile.
    pub errors: u64,
    /// Misses whose compile failed (not stored).
    pub compile_failed: u64,
    /// Sum of the original compile times of all hits, ms.
    pub time_saved_ms: u64,
    /// Records in the store.
    pub entries: u64,
    /// Bytes in the store.
    pub bytes: u64,
    /// Size cap, bytes.
    pub max_size: u64,
    /// Files with a cached digest in memory.
    pub metadata_entries: u64,
    /// Miss count per reason label.
    pub misses_by_reason: BTreeMap<String, u64>,
    /// Non-cacheable count per reason label.
    pub non_cacheable_by_reason: BTreeMap<String, u64>,
    /// Open sessions.
    pub active_sessions: u64,
    /// "Busy, retry" replies sent (backpressure).
    pub backpressure_replies: u64,
    /// Bound on concurrently running compiles before backpressure.
    pub max_jobs: u64,
    /// Dep-graph contexts (manifests) held in memory.
    pub dep_graph_contexts: u64,
    /// Warnings per label (e.g. `ar_nondeterministic`), also in the
    /// daemon log; never printed on the tool's stderr.
    pub warnings_by_reason: BTreeMap<String, u64>,
    /// Link and archive calls served from the cache (also in `cache_hits`).
    pub link_hits: u64,
    /// Link and archive calls run and stored (also in `cache_misses`).
    pub link_misses: u64,
    /// Misses compiled through the farm prefix without a farm failure.
    pub farm_compiles: u64,
    /// Farm failures seen (the prefix failed for its own reasons).
    pub farm_errors: u64,
    /// Misses compiled locally again after a farm failure.
    pub farm_fallbacks: u64,
    /// Sampled hits whose background recompile matched what was served.
    pub verified_hits: u64,
    /// Sampled hits whose recompile (twice, agreeing) differed from what
    /// was served: stale entries, dropped.
    pub verify_mismatches: u64,
    /// Sampled hits whose two recompiles disagreed with each other: the
    /// compile is not deterministic and its context is no longer cached.
    pub verify_nondeterministic: u64,
    /// One report per remote tier, in lookup order (empty without tiers).
    pub remote: Vec<TierReport>,
    /// The REAPI executor's counters (`None` without `execute`).
    pub remote_exec: Option<ExecReport>,
}

/// The counters of remote execution on a REAPI cluster (`zccache stats
/// --json`, key `remote_exec`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecReport {
    /// The server's URL, credentials redacted.
    pub url: String,
    /// Misses the cluster ran (or answered from its ActionCache), compile
    /// errors included.
    pub executed: u64,
    /// Of those, answered from the cluster's ActionCache without running.
    pub cached: u64,
    /// Remote results with a compile error or diagnostics, compiled again
    /// locally so the build sees the local compiler's exact output.
    pub local_reruns: u64,
    /// Misses compiled locally instead: the cluster failed (an error, a
    /// timeout) or was skipped (an open breaker), every remote slot was
    /// taken, or the compile's inputs could not be listed (its `-M` run
    /// failed).
    pub fallbacks: u64,
    /// Remote failures other than timeouts.
    pub errors: u64,
    /// Remote executions that timed out.
    pub timeouts: u64,
    /// Bytes uploaded to the CAS (inputs, commands, actions).
    pub bytes_up: u64,
    /// Bytes downloaded (outputs, stdout, stderr).
    pub bytes_down: u64,
    /// Wall time spent in remote executions, in ms (uploads and downloads
    /// included).
    pub time_ms: u64,
    /// Its circuit breaker: `closed` (in use) or `open` (skipped).
    pub breaker: String,
}

/// The counters of one remote tier (`zccache stats --json`, key `remote`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierReport {
    /// The tier's URL, credentials redacted.
    pub url: String,
    /// Records (entries, manifests) served from it.
    pub hits: u64,
    /// Lookups it could not serve.
    pub misses: u64,
    /// Errors other than timeouts (refused, denied, server errors).
    pub errors: u64,
    /// Operations that timed out.
    pub timeouts: u64,
    /// Objects rejected as corrupt, truncated or hostile (`remote_corrupt`).
    pub corrupt: u64,
    /// Objects written to it.
    pub writes: u64,
    /// Bytes read from it, as transferred (compressed).
    pub bytes_read: u64,
    /// Bytes written to it, as transferred (compressed).
    pub bytes_written: u64,
    /// Records written to it because a slower tier served them.
    pub backfills: u64,
    /// Its circuit breaker: `closed` (in use) or `open` (skipped).
    pub breaker: String,
    /// Wall time spent in operations on it, in ms.
    pub time_ms: u64,
}

/// A reply from the daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    /// Reply to [`AdminRequest::Ping`].
    Pong {
        /// Daemon pid.
        pid: u32,
    },
    /// Reply to [`AdminRequest::Shutdown`]: the daemon will stop.
    ShuttingDown,
    /// Reply to [`AdminRequest::Status`].
    Status(Box<StatusReport>),
    /// Reply to [`AdminRequest::Clear`]: records and bytes freed.
    Cleared {
        /// Records removed.
        entries: u64,
        /// Bytes freed.
        bytes: u64,
    },
    /// Still compiling; sent every second so the client can tell a slow
    /// compile from a wedged daemon.
    Working,
    /// The compile finished (from cache or not): replay these exactly.
    Compiled {
        /// The compiler's exit code.
        exit_code: i32,
        /// Its stdout bytes.
        stdout: Vec<u8>,
        /// Its stderr bytes.
        stderr: Vec<u8>,
    },
    /// Not cacheable: the client runs the compiler itself, unchanged.
    RunLocally {
        /// Why, for the client log.
        reason: String,
    },
    /// Reply to [`SessionRequest::Start`].
    SessionStarted {
        /// The new session's id.
        id: String,
    },
    /// Reply to [`SessionRequest::Stats`]/[`SessionRequest::End`]: `None`
    /// for an unknown session.
    Session(Option<SessionStats>),
    /// Reply to [`AdminRequest::Explain`]: `None` when nothing is known.
    Explanation(Option<String>),
    /// Reply to a fingerprint check ([`FpOp::Check`]).
    FpChecked(CheckResult),
    /// A fingerprint mark/invalidate was applied.
    FpDone,
    /// Reply to [`SessionRequest::ReleaseHandles`].
    Released {
        /// Ids of the sessions ended.
        sessions: Vec<String>,
        /// Files the daemon closed.
        files: u64,
    },
    /// Reply to [`RustWarmRequest::Save`].
    RustWarmSaved(WarmSaveReport),
    /// Reply to [`RustWarmRequest::List`]: `None` when no snapshot
    /// exists for the scope.
    RustArtifacts(Option<WarmListing>),
    /// Reply to [`RustWarmRequest::Restore`].
    RustWarmRestored(WarmRestoreReport),
    /// Reply to a lean launcher's compile whose settings the full
    /// launcher must serve (they name another cache dir, or turn on debug
    /// output): run the same command through the full program. Not a
    /// failure; nothing was compiled.
    Delegate,
    /// Too many compiles are running: retry after this many ms. Not a failure.
    Busy {
        /// Suggested wait, ms.
        retry_after_ms: u64,
    },
    /// The request could not be served.
    Error {
        /// What kind of failure, for a client that reacts to it.
        kind: ErrorKind,
        /// One-line description, for people.
        message: String,
    },
}

impl Response {
    /// A [`Response::Error`] of `kind` with `message`.
    pub fn error(kind: ErrorKind, message: impl Into<String>) -> Response {
        Response::Error {
            kind,
            message: message.into(),
        }
    }
}

/// The kind of a [`Response::Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorKind {
    /// The request cannot be served as asked: undecodable, a malformed
    /// session id, an invalid glob, a relative or unsafe path, a directory
    /// the daemon refuses (the cache dir), a snapshot of another build dir.
    BadRequest,
    /// The client speaks another protocol version. Sent in the daemon's own
    /// version, so a client of another release sees a version mismatch in
    /// the frame header before it decodes this.
    ProtocolMismatch,
    /// A file-system operation failed (walking a tree, reading or writing
    /// a file named by the request).
    Io,
    /// The cache store failed: not writable, corrupt, or a blob evicted.
    Store,
    /// Something the request needs is held by another process (cargo holds
    /// a build dir's lock); retrying later may succeed.
    Busy,
    /// A fault inside the daemon: a task panicked, a lock is poisoned, an
    /// encoding failed.
    Internal,
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ErrorKind::BadRequest => "bad request",
            ErrorKind::ProtocolMismatch => "protocol mismatch",
            ErrorKind::Io => "i/o error",
            ErrorKind::Store => "store error",
            ErrorKind::Busy => "busy",
            ErrorKind::Internal => "internal error",
        })
    }
}

// -------------------------------------------------- fingerprint payloads

/// A fingerprint check's filter: which files under its root count.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    /// File extensions without the dot (empty: all).
    pub extensions: Vec<String>,
    /// Globs relative to the root (empty: all).
    pub globs: Vec<String>,
    /// Directory or file names skipped anywhere in the tree.
    pub exclude: Vec<String>,
}

/// The answer of a fingerprint check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// True: run the step. False: skip it.
    pub run: bool,
    /// Why: "no previous success", "last run failed", "scope changed", or
    /// "files changed".
    pub reason: String,
    /// Changed, added or removed files (relative to the root).
    pub changed: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: Serialize + serde::de::DeserializeOwned>(v: &T) -> T {
        bincode::deserialize(&bincode::serialize(v).unwrap()).unwrap()
    }

    #[test]
    fn grouped_requests_round_trip() {
        let requests = [
            Request::Admin(AdminRequest::Explain {
                output: Some(PathBuf::from("/b/a.o")),
            }),
            Request::Session(SessionRequest::End {
                id: "s-0".to_string(),
            }),
            Request::Fingerprint(FingerprintRequest {
                cache_file: PathBuf::from("/b/fp.json"),
                op: FpOp::MarkSuccess,
            }),
            Request::RustWarm(RustWarmRequest::List { scope: [7; 32] }),
        ];
        for r in &requests {
            assert_eq!(&round_trip(r), r);
        }
    }

    #[test]
    fn error_replies_carry_their_kind() {
        let e = Response::error(ErrorKind::Busy, "cargo is using /t/debug");
        assert_eq!(round_trip(&e), e);
        let Response::Error { kind, message } = e else {
            unreachable!()
        };
        assert_eq!(
            (kind, message.as_str()),
            (ErrorKind::Busy, "cargo is using /t/debug")
        );
        assert_eq!(ErrorKind::BadRequest.to_string(), "bad request");
    }
}
