//! Serving a link or archive miss on the blocking pool: run the real tool
//! exactly as asked (same args, cwd, environment and umask), then store
//! the named output, the outputs named by options and the sibling files
//! the call created or changed, unless an input changed while it ran.

use super::super::runner::run_compiler;
use super::super::stage::PendingWork;
use super::key::Keyed;
use super::outputs::{changed_siblings, snapshot, store_outputs, OutputError, Placement, Produced};
use crate::daemon::reason::MissReason;
use crate::daemon::state::{DaemonState, Finished};
use crate::daemon::stats::Outcome;
use crate::ipc::{CompileRequest, Response};
use crate::storage::{file_name_of, Entry, EntryKind, OutputRole, RunRecord};
use std::path::PathBuf;
use std::time::Instant;

/// What kind of call a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JobKind {
    /// A link (driver or linker): sibling outputs are captured.
    Link,
    /// An archive update: the archive is the only output.
    Archive,
}

impl JobKind {
    /// The miss reason when nothing was stored under the key.
    pub(crate) fn first_reason(self) -> MissReason {
        match self {
            JobKind::Link => MissReason::FirstLink,
            JobKind::Archive => MissReason::FirstArchive,
        }
    }
}

/// A keyed link or archive call.
#[derive(Debug)]
pub(crate) struct LinkJob {
    /// Its key and inputs.
    pub keyed: Keyed,
    /// The named output (absolute).
    pub output: PathBuf,
    /// Outputs named by options, as the arguments give them.
    pub extra_args: Vec<String>,
    /// The call's arguments, response files expanded.
    pub args: Vec<String>,
    /// The named output as the arguments give it.
    pub output_arg: String,
    /// Link or archive.
    pub kind: JobKind,
    /// When the request arrived (journal latency).
    pub started: std::time::Instant,
}

/// A job that missed, with the miss reason.
#[derive(Debug)]
pub(crate) struct MissedJob {
    job: LinkJob,
    reason: MissReason,
}

impl LinkJob {
    /// Count this call's outcome (stats, session, journal).
    pub(crate) fn record(&self, d: &DaemonState, req: &CompileRequest, outcome: Outcome) {
        d.record(Finished {
            req,
            started: self.started,
            source: None,
            output: Some(self.output.display().to_string()),
            outcome,
            bytes_read: 0,
            bytes_written: 0,
            link: true,
        });
    }

    /// This job as a miss with `reason`.
    pub(crate) fn missing(self, reason: MissReason) -> MissedJob {
        MissedJob { job: self, reason }
    }
}

/// Why a successful call was not stored.
#[derive(Debug, thiserror::Error)]
enum Skip {
    #[error("input {0} changed while the tool ran")]
    Racy(String),
    #[error("{0}")]
    Output(#[from] OutputError),
    #[error("store: {0}")]
    Store(#[from] crate::storage::StoreError),
    #[error("hit verification found this call not deterministic")]
    Nondeterministic,
}

impl PendingWork for MissedJob {
    fn run(self: Box<Self>, d: &DaemonState, req: &CompileRequest) -> Response {
        let job = &self.job;
        if let Some(served) = job.serve_remote(d, req) {
            return served;
        }
        let before = (job.kind == JobKind::Link).then(|| snapshot(&job.output));
        let t0 = Instant::now();
        let out = match run_compiler(req, &req.args) {
            Ok(o) => o,
            Err(e) => {
                job.record(d, req, Outcome::Error);
                let reason = format!("cannot run {}: {e}", req.compiler.display());
                return Response::RunLocally { reason };
            }
        };
        let run_ms = t0.elapsed().as_millis() as u64;
        let exit_code = out.status.code().unwrap_or(1);
        let outcome = if exit_code != 0 {
            Outcome::CompileFailed(self.reason)
        } else {
            let stored = job.store(d, &req.cwd, before.as_ref(), run_ms, &out);
            if let Err(e) = stored {
                tracing::info!(reason = %e, "ran but not stored");
            }
            Outcome::Miss(self.reason)
        };
        job.record(d, req, outcome);
        Response::Compiled {
            exit_code,
            stdout: out.stdout,
            stderr: out.stderr,
        }
    }
}

impl LinkJob {
    fn store(
        &self,
        d: &DaemonState,
        cwd: &std::path::Path,
        before: Option<&super::outputs::Snapshot>,
        run_ms: u64,
        out: &std::process::Output,
    ) -> Result<(), Skip> {
        if d.verifier().is_nondeterministic(&self.keyed.key) {
            return Err(Skip::Nondeterministic);
        }
        self.check_inputs(d)?;
        let stored = store_outputs(d, &self.produced(cwd, before))?;
        let run = RunRecord {
            stdout: out.stdout.clone(),
            stderr: out.stderr.clone(),
            exit_code: 0,
            run_ms,
        };
        let entry = Entry::new(EntryKind::Link, stored, run);
        d.storage().put_entry(&self.keyed.key, &entry)?;
        Ok(())
    }

    /// The files the call produced: outputs named by options that exist,
    /// siblings created or changed next to the named output, and the named
    /// output last.
    fn produced(
        &self,
        cwd: &std::path::Path,
        before: Option<&super::outputs::Snapshot>,
    ) -> Vec<Produced> {
        let mut files: Vec<Produced> = Vec::new();
        for arg in &self.extra_args {
            let path = crate::key::resolve(cwd, arg);
            if path.is_file() && !files.iter().any(|f| f.path == path) {
                files.push(Produced {
                    path,
                    role: OutputRole::LinkExtra,
                    name: arg.clone(),
                });
            }
        }
        for path in before
            .map(|b| changed_siblings(&self.output, b))
            .unwrap_or_default()
        {
            if !files.iter().any(|f| f.path == path) {
                let name = file_name_of(&path);
                let role = OutputRole::LinkSibling;
                files.push(Produced { path, role, name });
            }
        }
        files.retain(|f| f.path != self.output);
        files.push(Produced {
            path: self.output.clone(),
            role: OutputRole::LinkOutput,
            name: file_name_of(&self.output),
        });
        files
    }

    /// Serve this call from a remote tier, if one has its entry.
    fn serve_remote(&self, d: &DaemonState, req: &CompileRequest) -> Option<Response> {
        let place = self.placement(req);
        let (entry, tier) = super::remote_hit::try_restore(d, &self.keyed.key, &place)?;
        let saved_ms = entry.run_ms;
        self.record(d, req, Outcome::RemoteHit { saved_ms, tier });
        Some(Response::Compiled {
            exit_code: 0,
            stdout: entry.stdout,
            stderr: entry.stderr,
        })
    }

    /// Where this call's outputs go on a hit.
    pub(crate) fn placement<'a>(&'a self, req: &'a CompileRequest) -> Placement<'a> {
        Placement {
            cwd: &req.cwd,
            output: &self.output,
            extra_args: &self.extra_args,
            umask: req.umask,
        }
    }

    /// Every keyed input still hashes the same after the tool ran (the
    /// digest cache re-reads files whose stat changed or is racy).
    fn check_inputs(&self, d: &DaemonState) -> Result<(), Skip> {
        for f in &self.keyed.files {
            let racy = || Skip::Racy(f.path.display().to_string());
            let now = d.meta().digest(&f.path).map_err(|_| racy())?;
            if now.hash != f.hash {
                return Err(racy());
            }
        }
        Ok(())
    }
}
