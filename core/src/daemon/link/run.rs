//! Serving a link or archive miss on the blocking pool: run the real tool
//! exactly as asked (same args, cwd, environment and umask), then store
//! the named output, the outputs named by options and the sibling files
//! the call created or changed, unless an input changed while it ran.

use super::super::miss::run_compiler;
use super::super::route::PendingWork;
use super::super::state::{DaemonState, Finished};
use super::super::stats::Outcome;
use super::key::Keyed;
use super::outputs::{changed_siblings, snapshot, store_outputs, LinkEntry, OutputError};
use crate::ipc::{CompileRequest, Response};
use crate::store::RecordKind;
use std::path::PathBuf;
use std::time::Instant;

/// What kind of call a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// A link (driver or linker): sibling outputs are captured.
    Link,
    /// An archive update: the archive is the only output.
    Archive,
}

impl JobKind {
    /// The miss reason when nothing was stored under the key.
    pub fn first_reason(self) -> &'static str {
        match self {
            JobKind::Link => "first_link",
            JobKind::Archive => "first_archive",
        }
    }
}

/// A keyed link or archive call.
#[derive(Debug)]
pub struct LinkJob {
    /// Its key and inputs.
    pub keyed: Keyed,
    /// The named output (absolute).
    pub output: PathBuf,
    /// Outputs named by options (absolute).
    pub extra_outputs: Vec<PathBuf>,
    /// Link or archive.
    pub kind: JobKind,
    /// When the request arrived (journal latency).
    pub started: std::time::Instant,
}

/// A job that missed, with the miss reason.
#[derive(Debug)]
pub struct MissedJob {
    job: LinkJob,
    reason: &'static str,
}

impl LinkJob {
    /// Count this call's outcome (stats, session, journal).
    pub fn record(&self, d: &DaemonState, req: &CompileRequest, outcome: Outcome) {
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
    pub fn missing(self, reason: &'static str) -> MissedJob {
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
    Store(#[from] crate::store::StoreError),
}

impl PendingWork for MissedJob {
    fn run(self: Box<Self>, d: &DaemonState, req: &CompileRequest) -> Response {
        let job = &self.job;
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
            let stored = job.store(d, before.as_ref(), run_ms, &out);
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
        before: Option<&super::outputs::Snapshot>,
        run_ms: u64,
        out: &std::process::Output,
    ) -> Result<(), Skip> {
        self.check_inputs(d)?;
        let mut files: Vec<PathBuf> = self
            .extra_outputs
            .iter()
            .filter(|p| p.is_file())
            .cloned()
            .collect();
        if let Some(before) = before {
            for s in changed_siblings(&self.output, before) {
                if !files.contains(&s) {
                    files.push(s);
                }
            }
        }
        files.retain(|f| *f != self.output);
        files.push(self.output.clone());
        let stored = store_outputs(d, &files)?;
        let blobs: Vec<_> = stored.iter().map(|o| o.blob.clone()).collect();
        let entry = LinkEntry::new(stored, out.stdout.clone(), out.stderr.clone(), run_ms);
        d.store
            .put_record(RecordKind::Entry, &self.keyed.key, &entry.encode(), &blobs)?;
        Ok(())
    }

    /// Every keyed input still hashes the same after the tool ran (the
    /// digest cache re-reads files whose stat changed or is racy).
    fn check_inputs(&self, d: &DaemonState) -> Result<(), Skip> {
        for f in &self.keyed.files {
            let racy = || Skip::Racy(f.path.display().to_string());
            let now = d.meta.digest(&f.path).map_err(|_| racy())?;
            if now.hash != f.hash {
                return Err(racy());
            }
        }
        Ok(())
    }
}
