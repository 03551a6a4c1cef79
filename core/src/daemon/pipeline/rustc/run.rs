//! Serving a rustc miss: run rustc in place with dep-info forced on (into a
//! private temp file when cargo did not ask for it, so no stray `.d` is
//! left), then store the result under the input set the dep-info names.
//!
//! Successful compiles store every output; failing ones (exit code 1, a
//! normal compile error) store only the diagnostics and exit code, so a
//! repeated failing `cargo check` replays them. Nothing is stored when a
//! source changed during the compile (racy) or could not be read.
//!
//! A portable request ([`super::portable`]) records its safe dep-info
//! paths anchored, stores its dep-info file inline with root markers, and
//! stores its stdout and stderr the same way ([`super::portable_text`]);
//! if any output, or any stored text after that, still names a root's
//! path (say a crate embeds `env!("CARGO_MANIFEST_DIR")`), the result is
//! stored as rustc wrote it, with the variables that locate the roots
//! pinned in its input set ([`Anchors::pins`]), so only a build with the
//! same roots is served it; with base dirs among the roots, which no
//! variable pins, it is not stored.

use super::super::runner::without_jobserver;
use super::super::stage::PendingWork;
use super::context::RustcPlan;
use super::portable::Anchors;
use super::portable_text::{names_a_root, to_markers};
use super::stream::run_streaming;
use crate::compiler::rustc::RustcInvocation;
use crate::compiler::rustc_depinfo::parse_depinfo;
use crate::daemon::reason::MissReason;
use crate::daemon::state::DaemonState;
use crate::daemon::stats::Outcome;
use crate::hash::coarse_now_ns;
use crate::ipc::{CompileRequest, Response};
use crate::key::{resolve, rustc_entry_key};
use crate::storage::{
    Content, Entry, EntryKind, InputSet, Output, OutputRole, RecordedFile, RunRecord,
};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A rustc request that missed.
#[derive(Debug)]
pub(crate) struct RustcMiss {
    /// Its plan.
    pub plan: RustcPlan,
    /// Miss reason label.
    pub reason: MissReason,
    /// When the request arrived.
    pub started: std::time::Instant,
}

/// Why a finished compile was not stored.
#[derive(Debug, thiserror::Error)]
enum Skip {
    #[error("dep-info {0}: {1}")]
    DepInfo(String, String),
    #[error("input {0} is unreadable")]
    Unreadable(String),
    #[error("input {0} changed during the compile")]
    Racy(String),
    #[error("output {0}: {1}")]
    Output(String, std::io::Error),
    #[error("exit code {0} is not a plain compile error")]
    ExitCode(i32),
    #[error("the error names a missing input, which dep-info does not list")]
    MissingInput,
    #[error("store: {0}")]
    Store(#[from] crate::storage::StoreError),
    #[error("hit verification found this compile not deterministic")]
    Nondeterministic,
    #[error("{0} names a path of this checkout (portable entries never do)")]
    NamesRoot(String),
}

/// Removes the injected dep-info file on drop.
struct TempDepInfo(Option<PathBuf>);

impl Drop for TempDepInfo {
    fn drop(&mut self) {
        if let Some(p) = &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

impl PendingWork for RustcMiss {
    fn run(self: Box<Self>, d: &DaemonState, req: &CompileRequest) -> Response {
        if let Some(served) = super::remote_hit::try_serve(d, req, &self.plan, self.started) {
            return served;
        }
        let inv = &self.plan.inv;
        let temp = temp_depinfo(d, inv);
        let argv = exec_args(inv, temp.0.as_deref());
        let depinfo = temp.0.clone().unwrap_or_else(|| {
            resolve(&req.cwd, &inv.out_dir)
                .join(format!("{}{}.d", inv.crate_name, inv.extra_filename))
        });
        // A dep-info left by an earlier build must never describe this one
        // (rustc writes none when it fails early).
        let _ = std::fs::remove_file(&depinfo);
        let start = next_tick();
        let t0 = Instant::now();
        let run = match run_streaming(&without_jobserver(req), &argv) {
            Ok(o) => o,
            Err(e) => {
                super::record(d, req, self.started, None, Outcome::Error);
                let reason = format!("cannot run {}: {e}", req.compiler.display());
                return Response::RunLocally { reason };
            }
        };
        let out = run.output;
        // Killed by a signal: 128 + signal, like a shell; never stored.
        let exit_code = out.status.code().unwrap_or_else(|| {
            use std::os::unix::process::ExitStatusExt;
            128 + out.status.signal().unwrap_or(0)
        });
        let job = StoreJob {
            d,
            req,
            plan: &self.plan,
            depinfo,
            start,
            compile_ms: t0.elapsed().as_millis() as u64,
        };
        if let Err(e) = job.store(exit_code, &out.stdout, &out.stderr) {
            tracing::info!(crate_name = %inv.crate_name, reason = %e, "rustc result not stored");
        }
        let outcome = if exit_code == 0 {
            Outcome::Miss(self.reason)
        } else {
            Outcome::CompileFailed(self.reason)
        };
        super::record(d, req, self.started, Some(&inv.input), outcome);
        Response::Compiled {
            exit_code,
            stdout: out.stdout,
            // Already delivered while rustc ran (see `stream`).
            stderr: if run.streamed { Vec::new() } else { out.stderr },
        }
    }
}

/// A private dep-info path when the call did not ask for dep-info (the
/// cache needs it to learn the sources), removed on drop; none otherwise.
fn temp_depinfo(d: &DaemonState, inv: &RustcInvocation) -> TempDepInfo {
    let wants_depinfo = inv.emit.iter().any(|e| e == "dep-info");
    TempDepInfo((!wants_depinfo).then(|| {
        d.tmp_dir().join(format!(
            "rustc-{}-{}.d",
            std::process::id(),
            d.lifecycle().next_temp_id()
        ))
    }))
}

/// The coarse clock's value now, returned only once the clock has moved past
/// it (at most a few ms; bounded). Files written before the request have a
/// timestamp at most this value, and any write once rustc runs gets a later
/// one, so "newer than the returned value" means "changed during the
/// compile" without the ambiguity of the current tick (a build script's
/// freshly generated file would otherwise look racy; see [`crate::hash`]).
fn next_tick() -> i64 {
    let start = coarse_now_ns();
    for _ in 0..50 {
        if coarse_now_ns() != start {
            return start;
        }
        std::thread::sleep(std::time::Duration::from_micros(500));
    }
    // A clock that does not move: treat every input as racy.
    i64::MIN
}

/// The argv to run: unchanged when dep-info is requested, else the `--emit`
/// argument replaced by one that adds `dep-info=<temp>` (rustc book,
/// "--emit": each kind may name its own path).
pub(crate) fn exec_args(inv: &RustcInvocation, temp_depinfo: Option<&Path>) -> Vec<String> {
    let Some(temp) = temp_depinfo else {
        return inv.args.clone();
    };
    let mut args = inv.args.clone();
    if let Some(i) = inv.emit_index {
        let n = if args[i] == "--emit" { 2 } else { 1 };
        args.drain(i..i + n);
    }
    let mut kinds = inv.emit.join(",");
    kinds.push_str(&format!(",dep-info={}", temp.display()));
    args.push(format!("--emit={kinds}"));
    args
}

/// Diagnostics about inputs that do not exist (rustc error index: E0583
/// module file not found, E0463 crate not found; `include_str!` and
/// friends report "couldn't read"). The dep-info of such a failure omits the
/// missing path, so creating it would not invalidate a cached error.
const MISSING_INPUT_MARKERS: &[&str] = &[
    "E0583",
    "E0463",
    "file not found for module",
    "couldn't read",
    "can't find crate",
];

fn names_missing_input(stderr: &[u8]) -> bool {
    let text = String::from_utf8_lossy(stderr);
    MISSING_INPUT_MARKERS.iter().any(|m| text.contains(m))
}

/// Storing one finished compile.
struct StoreJob<'a> {
    d: &'a DaemonState,
    req: &'a CompileRequest,
    plan: &'a RustcPlan,
    depinfo: PathBuf,
    start: i64,
    compile_ms: u64,
}

impl StoreJob<'_> {
    fn store(&self, exit_code: i32, stdout: &[u8], stderr: &[u8]) -> Result<(), Skip> {
        if self.d.verifier().is_nondeterministic(&self.plan.context) {
            return Err(Skip::Nondeterministic);
        }
        if exit_code != 0 && exit_code != 1 {
            return Err(Skip::ExitCode(exit_code));
        }
        if exit_code != 0 && names_missing_input(stderr) {
            return Err(Skip::MissingInput);
        }
        let shown = self.depinfo.display().to_string();
        let text = std::fs::read(&self.depinfo)
            .map_err(|e| Skip::DepInfo(shown.clone(), e.to_string()))?;
        let info = parse_depinfo(&text).map_err(|e| Skip::DepInfo(shown, e.to_string()))?;
        let files = self.record_files(&info.sources)?;
        let anchors = self.plan.anchors.as_ref();
        let (outputs, run, pins) = match self.contents(anchors, exit_code, stdout, stderr) {
            Err(Skip::NamesRoot(what)) => {
                let pins = anchors
                    .and_then(|a| a.pins(&self.req.env))
                    .ok_or(Skip::NamesRoot(what))?;
                let (outputs, run) = self.contents(None, exit_code, stdout, stderr)?;
                (outputs, run, pins)
            }
            other => {
                let (outputs, run) = other?;
                (outputs, run, Vec::new())
            }
        };
        let mut info = info;
        info.env.extend(pins);
        info.env.sort();
        info.env.dedup();
        let entry = Entry::new(EntryKind::Rustc, outputs, run);
        let key = rustc_entry_key(&self.plan.context, &files, &info.env);
        let d = self.d;
        d.storage().put_entry(&key, &entry)?;
        let set = InputSet {
            files,
            env: info.env,
            dir_checks: Vec::new(),
            entry: key,
        };
        d.storage().add_input_set(&self.plan.context, set)?;
        Ok(())
    }

    /// The outputs and run record to store: with root markers when `a` is
    /// given, else as rustc wrote them.
    ///
    /// Errors: [`Skip::NamesRoot`] when, with `a`, something still names a
    /// root; any [`Skip`] of reading the outputs.
    fn contents(
        &self,
        a: Option<&Anchors>,
        exit_code: i32,
        stdout: &[u8],
        stderr: &[u8],
    ) -> Result<(Vec<Output>, RunRecord), Skip> {
        let outputs = if exit_code == 0 {
            self.outputs(a)?
        } else {
            Vec::new()
        };
        let run = RunRecord {
            stdout: stored_text(a, "stdout", stdout)?,
            stderr: stored_text(a, "stderr", stderr)?,
            exit_code,
            run_ms: self.compile_ms,
        };
        Ok((outputs, run))
    }

    fn record_files(&self, sources: &[String]) -> Result<Vec<RecordedFile>, Skip> {
        let mut files = Vec::with_capacity(sources.len());
        for s in sources {
            let digest = self
                .d
                .meta()
                .digest(&resolve(&self.req.cwd, s))
                .map_err(|_| Skip::Unreadable(s.clone()))?;
            let (hash, newest) = (digest.hash, digest.fingerprint.newest_ns());
            if newest > self.start {
                return Err(Skip::Racy(s.clone()));
            }
            let path = match &self.plan.anchors {
                Some(a) => a.record_path(s),
                None => s.clone(),
            };
            files.push(RecordedFile { path, hash });
        }
        Ok(files)
    }

    fn outputs(&self, a: Option<&Anchors>) -> Result<Vec<Output>, Skip> {
        let inv = &self.plan.inv;
        let dir = resolve(&self.req.cwd, &inv.out_dir);
        let mut outputs = Vec::new();
        for name in inv.output_names() {
            let path = dir.join(&name);
            let meta = std::fs::metadata(&path).map_err(|e| Skip::Output(name.clone(), e))?;
            let mode = meta.permissions().mode() & 0o7777;
            if let Some(a) = a {
                if let Some(o) = self.portable_output(a, &name, &path, mode)? {
                    outputs.push(o);
                    continue;
                }
            }
            let (blob, _) = self.d.storage().put_blob_file(&path)?;
            outputs.push(Output::blob(OutputRole::RustcOutput, name, blob, mode));
        }
        Ok(outputs)
    }

    /// For a portable request: the dep-info file as an inline output with
    /// root markers (`Some`); `None` for any other output once it is shown
    /// not to name a root (it is then stored as a blob).
    ///
    /// Errors: [`Skip::NamesRoot`] when the output (after markers) still
    /// names a root's path, [`Skip::Output`] when it cannot be read.
    fn portable_output(
        &self,
        a: &Anchors,
        name: &str,
        path: &Path,
        mode: u32,
    ) -> Result<Option<Output>, Skip> {
        let bytes = std::fs::read(path).map_err(|e| Skip::Output(name.to_string(), e))?;
        let depinfo = name.ends_with(".d") && self.plan.inv.emit.iter().any(|e| e == "dep-info");
        if !depinfo {
            if names_a_root(&bytes, a) {
                return Err(Skip::NamesRoot(name.to_string()));
            }
            return Ok(None);
        }
        let text = stored_text(Some(a), name, &bytes)?;
        Ok(Some(Output {
            role: OutputRole::RustcOutput,
            name: name.to_string(),
            content: Content::Inline(text),
            mode,
        }))
    }
}

/// Text as stored: unchanged without anchors; with them, root markers in
/// place of the safe remapped prefixes.
///
/// Errors: [`Skip::NamesRoot`] when a root's path remains.
fn stored_text(a: Option<&Anchors>, what: &str, text: &[u8]) -> Result<Vec<u8>, Skip> {
    let Some(a) = a else {
        return Ok(text.to_vec());
    };
    let marked = to_markers(text, a);
    if names_a_root(&marked, a) {
        return Err(Skip::NamesRoot(what.to_string()));
    }
    Ok(marked)
}
