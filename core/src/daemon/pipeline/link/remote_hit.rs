//! A local link or archive miss served from a remote tier: the entry is
//! fetched by the call's key (verified, stored locally) and its outputs
//! restored like a local hit. Runs on the blocking pool.

use super::outputs;
use super::run::LinkJob;
use crate::daemon::state::DaemonState;
use crate::daemon::stats::Outcome;
use crate::ipc::{CompileRequest, Response};
use crate::storage::EntryKind;

/// Serve `job` from a remote tier, if one has its entry.
pub(crate) fn try_serve(d: &DaemonState, req: &CompileRequest, job: &LinkJob) -> Option<Response> {
    let (entry, tier) = d.storage().remote_entry(&job.keyed.key, EntryKind::Link)?;
    if let Err(e) = outputs::restore(d, &entry, &job.placement(req)) {
        tracing::debug!(error = %e, "remote link entry not restored; running the tool");
        return None;
    }
    let saved_ms = entry.run_ms;
    job.record(d, req, Outcome::RemoteHit { saved_ms, tier });
    Some(Response::Compiled {
        exit_code: 0,
        stdout: entry.stdout,
        stderr: entry.stderr,
    })
}
