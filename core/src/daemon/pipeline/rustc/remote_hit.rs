//! A local rustc miss served from a remote tier: the context's manifest is
//! fetched and merged into the local one, its input sets (dep-info files
//! and `env-dep` values) are checked against this machine exactly as a
//! local lookup would, and the entry (local, or fetched and verified) is
//! restored into `--out-dir`. A portable request's manifest paths are
//! re-rooted first ([`super::portable_text::localize_manifest`]). Runs on
//! the blocking pool.

use super::super::remote_lookup;
use super::context::RustcPlan;
use super::portable_text::localize_manifest;
use super::restore;
use crate::daemon::state::DaemonState;
use crate::daemon::stats::Outcome;
use crate::ipc::{CompileRequest, Response};
use crate::key::lookup::Probe;
use crate::storage::{EntryKind, Manifest};

/// Serve the rustc call of `plan` from a remote tier, if one matches;
/// `started` is when the request arrived.
pub(crate) fn try_serve(
    d: &DaemonState,
    req: &CompileRequest,
    plan: &RustcPlan,
    started: std::time::Instant,
) -> Option<Response> {
    let probe = Probe {
        cwd: &req.cwd,
        env: &req.env,
        meta: d.meta(),
        noun: "source",
        listings: None,
    };
    let localize = |m: &Manifest| plan.anchors.as_ref().map(|a| localize_manifest(m, a));
    let (mut entry, tier) =
        remote_lookup::entry_for_mapped(d, &plan.context, &probe, EntryKind::Rustc, localize)?;
    restore::restore(d, req, plan, &mut entry).ok()?;
    let saved_ms = entry.run_ms;
    let outcome = if entry.exit_code == 0 {
        Outcome::RemoteHit { saved_ms, tier }
    } else {
        Outcome::CachedError { saved_ms }
    };
    super::record(d, req, started, Some(&plan.inv.input), outcome);
    Some(Response::Compiled {
        exit_code: entry.exit_code,
        stdout: entry.stdout,
        stderr: entry.stderr,
    })
}
