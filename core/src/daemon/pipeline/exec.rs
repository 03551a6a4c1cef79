//! Generic tool caching (`zccache exec`): caches any tool's run by its
//! declared inputs (files, env, extra bytes, include-scanned headers, and
//! the dependencies it lists in a depfile). On a hit the tool is not run:
//! its stdout, stderr, exit code and declared output files are replayed.
//! Identical concurrent execs run the tool once (a per-key lock).

use super::runner::tool_command;
use crate::daemon::reason::{MissReason, Uncacheable};
use crate::daemon::state::{DaemonState, Finished};
use crate::daemon::stats::Outcome;
use crate::depfile;
use crate::hash::coarse_now_ns;
use crate::ipc::{ExecRequest, Response};
use crate::key::lookup::Probe;
use crate::key::{entry_key, find, resolve, KeyBuilder};
use crate::storage::{
    Content, Entry, EntryKind, InputSet, Output, OutputRole, RecordKey, RecordedFile, RunRecord,
};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What the tool produced for each declared output: absolute path and
/// permission bits, or `None` when it did not create the file.
type ProducedOutputs = Vec<Option<(PathBuf, u32)>>;

/// Errors that make the launcher run the tool itself.
#[derive(Debug, thiserror::Error)]
enum ExecError {
    #[error("cannot hash {0}: {1}")]
    Input(String, std::io::Error),
    #[error("invalid --key-args-filter {0:?}: {1}")]
    Filter(String, String),
    #[error("cannot run {0}: {1}")]
    Spawn(String, std::io::Error),
}

/// Serve one exec request (blocking: may run the tool).
pub(crate) fn handle_exec(d: &DaemonState, req: &ExecRequest) -> Response {
    let started = Instant::now();
    match serve(d, req, started) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "exec falls back to a local run");
            Response::RunLocally {
                reason: e.to_string(),
            }
        }
    }
}

fn serve(d: &DaemonState, req: &ExecRequest, started: Instant) -> Result<Response, ExecError> {
    if req.non_deterministic {
        let (run, _) = run_tool(req)?;
        return Ok(reply(
            d,
            req,
            started,
            run,
            Outcome::NonCacheable(Uncacheable::NonDeterministic),
        ));
    }
    let primary = primary_key(d, req)?;
    let lock = d.exec_locks().lock_for(primary);
    let _held = lock.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(run) = lookup(d, req, &primary) {
        let saved_ms = run.run_ms;
        return Ok(reply(d, req, started, run, Outcome::Hit { saved_ms }));
    }
    let start = coarse_now_ns();
    let (run, produced) = run_tool(req)?;
    // An input edited during the run would key this result wrongly.
    let unchanged = primary_key(d, req).ok() == Some(primary);
    let stored = if unchanged {
        store(d, req, &primary, &run, produced, start)
    } else {
        Err(Skip::Racy("a declared input".to_string()))
    };
    if let Err(e) = &stored {
        tracing::info!(reason = %e, "exec result not stored");
    }
    Ok(reply(
        d,
        req,
        started,
        run,
        Outcome::Miss(MissReason::FirstCompile),
    ))
}

fn reply(
    d: &DaemonState,
    req: &ExecRequest,
    started: Instant,
    e: RunRecord,
    outcome: Outcome,
) -> Response {
    d.record(Finished {
        req: &req.as_compile_request(),
        started,
        source: req
            .input_files
            .first()
            .map(|p| p.to_str().unwrap_or_default()),
        output: req.output_files.first().map(|p| p.display().to_string()),
        outcome,
        bytes_read: 0,
        bytes_written: 0,
        link: false,
    });
    Response::Compiled {
        exit_code: e.exit_code,
        stdout: e.stdout,
        stderr: e.stderr,
    }
}

/// The key of everything declared up front.
fn primary_key(d: &DaemonState, req: &ExecRequest) -> Result<RecordKey, ExecError> {
    let mut b = KeyBuilder::new("generic-exec");
    let tool = d
        .meta()
        .digest(&req.tool)
        .map_err(|e| ExecError::Input(req.tool.display().to_string(), e))?;
    b.field("tool", &tool.hash);
    b.field("tool-path", req.tool.as_os_str().as_encoded_bytes());
    b.strings("args", &filtered_args(req)?);
    let mut env = req.env.clone();
    env.sort();
    for (k, v) in &env {
        b.field("env", format!("{k}={v}").as_bytes());
    }
    b.field("extra", req.input_extra.as_bytes());
    if req.cwd_in_key {
        b.field("cwd", req.cwd.as_os_str().as_encoded_bytes());
    }
    let mut inputs: Vec<PathBuf> = req
        .input_files
        .iter()
        .map(|p| resolve(&req.cwd, &p.to_string_lossy()))
        .collect();
    let scan_roots: Vec<PathBuf> = req
        .include_scan
        .iter()
        .map(|p| resolve(&req.cwd, &p.to_string_lossy()))
        .collect();
    let dirs: Vec<PathBuf> = req
        .include_dirs
        .iter()
        .map(|p| resolve(&req.cwd, &p.to_string_lossy()))
        .collect();
    inputs.extend(scan_roots.iter().cloned());
    inputs.extend(crate::include_scan::scan(&scan_roots, &dirs));
    for p in &inputs {
        let dg = d
            .meta()
            .digest(p)
            .map_err(|e| ExecError::Input(p.display().to_string(), e))?;
        b.field("input", p.as_os_str().as_encoded_bytes());
        b.field("input-hash", &dg.hash);
    }
    for o in &req.output_files {
        b.field("output", o.as_os_str().as_encoded_bytes());
    }
    Ok(b.finish())
}

fn filtered_args(req: &ExecRequest) -> Result<Vec<String>, ExecError> {
    let filters: Vec<regex::Regex> = req
        .key_args_filter
        .iter()
        .map(|f| regex::Regex::new(f).map_err(|e| ExecError::Filter(f.to_string(), e.to_string())))
        .collect::<Result<_, _>>()?;
    Ok(req
        .args
        .iter()
        .filter(|a| !filters.iter().any(|f| f.is_match(a)))
        .cloned()
        .collect())
}

fn lookup(d: &DaemonState, req: &ExecRequest, primary: &RecordKey) -> Option<RunRecord> {
    let manifest = d.storage().manifest(primary)?;
    let probe = Probe {
        cwd: &req.cwd,
        env: &[],
        meta: d.meta(),
        noun: "header",
        listings: None,
    };
    let key = find(&manifest, &probe).ok()?;
    let entry = d.storage().get_entry(&key, EntryKind::Exec).ok()??;
    if entry.outputs.len() != req.output_files.len() || !restore_outputs(d, req, &entry) {
        d.storage().remove_entry(&key);
        return None;
    }
    Some(RunRecord {
        stdout: entry.stdout,
        stderr: entry.stderr,
        exit_code: entry.exit_code,
        run_ms: entry.run_ms,
    })
}

/// Put each declared output in place (or remove it when the tool did not
/// create it); false when any output could not be restored.
fn restore_outputs(d: &DaemonState, req: &ExecRequest, entry: &Entry) -> bool {
    for (declared, o) in req.output_files.iter().zip(&entry.outputs) {
        let dest = resolve(&req.cwd, &declared.to_string_lossy());
        let ok = match &o.content {
            Content::Blob(id) => d
                .storage()
                .materialize_blob(id, &dest, Some(o.mode))
                .is_ok(),
            Content::Absent => std::fs::remove_file(&dest).is_ok() || !dest.exists(),
            Content::Inline(_) => false,
        };
        if !ok {
            return false;
        }
    }
    true
}

/// Run the tool with exactly the declared env plus PATH.
fn run_tool(req: &ExecRequest) -> Result<(RunRecord, ProducedOutputs), ExecError> {
    let t0 = Instant::now();
    let env = req.env.iter().map(|(k, v)| (k, v));
    let mut cmd = tool_command(&req.tool, &req.args, &req.cwd, env, None);
    if let Some(path) = &req.path_env {
        cmd.env("PATH", path);
    }
    let out = cmd
        .output()
        .map_err(|e| ExecError::Spawn(req.tool.display().to_string(), e))?;
    let outputs: ProducedOutputs = req
        .output_files
        .iter()
        .map(|p| {
            let abs = resolve(&req.cwd, &p.to_string_lossy());
            let mode = std::fs::metadata(&abs).ok()?.permissions().mode() & 0o7777;
            Some((abs, mode))
        })
        .collect();
    let run = RunRecord {
        exit_code: out.status.code().unwrap_or(1),
        stdout: out.stdout,
        stderr: out.stderr,
        run_ms: t0.elapsed().as_millis() as u64,
    };
    Ok((run, outputs))
}

/// Why a run was not stored.
#[derive(Debug, thiserror::Error)]
enum Skip {
    #[error("input {0} changed during the run")]
    Racy(String),
    #[error("{0}")]
    Io(String),
    #[error("store: {0}")]
    Store(#[from] crate::storage::StoreError),
}

fn store(
    d: &DaemonState,
    req: &ExecRequest,
    primary: &RecordKey,
    run: &RunRecord,
    produced: ProducedOutputs,
    start: i64,
) -> Result<(), Skip> {
    let deps = match &req.depfile {
        Some(dep) => depfile_inputs(&resolve(&req.cwd, &dep.to_string_lossy()))?,
        None => Vec::new(),
    };
    let mut files = Vec::new();
    for p in &deps {
        let dg = d
            .meta()
            .digest(&resolve(&req.cwd, p))
            .map_err(|e| Skip::Io(format!("{p}: {e}")))?;
        if dg.fingerprint.newest_ns() >= start {
            return Err(Skip::Racy(p.clone()));
        }
        files.push(RecordedFile {
            path: p.clone(),
            hash: dg.hash,
        });
    }
    let mut outputs = Vec::with_capacity(produced.len());
    for (i, out) in produced.into_iter().enumerate() {
        let (content, mode) = match out {
            Some((abs, mode)) => (Content::Blob(d.storage().put_blob_file(&abs)?.0), mode),
            None => (Content::Absent, 0),
        };
        let role = OutputRole::ExecOutput;
        let name = i.to_string();
        outputs.push(Output {
            role,
            name,
            content,
            mode,
        });
    }
    let key = entry_key(primary, &files);
    let entry = Entry::new(EntryKind::Exec, outputs, run.clone());
    d.storage().put_entry(&key, &entry)?;
    let set = InputSet {
        files,
        env: Vec::new(),
        dir_checks: Vec::new(),
        entry: key,
    };
    d.storage().add_input_set(primary, set)?;
    Ok(())
}

fn depfile_inputs(path: &Path) -> Result<Vec<String>, Skip> {
    let text =
        std::fs::read(path).map_err(|e| Skip::Io(format!("depfile {}: {e}", path.display())))?;
    let rules = depfile::parse(&text).map_err(|e| Skip::Io(e.to_string()))?;
    Ok(depfile::prerequisites(&rules))
}
