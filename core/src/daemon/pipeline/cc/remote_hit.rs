//! A local miss served from a remote tier (see [`crate::storage::remote`]):
//! the context's manifest is fetched and merged into the local one, its
//! input sets are checked against this machine's files exactly as a local
//! lookup would, and the entry (local, or fetched and verified) is
//! restored. Runs on the blocking pool, never on the event loop.

use super::super::remote_lookup;
use super::hit::restore_entry;
use super::miss::MissContext;
use super::result::SourceResult;
use crate::daemon::stats::Outcome;
use crate::key::lookup::Probe;
use crate::storage::EntryKind;

/// Serve miss `m` from a remote tier, if one has a matching entry.
pub(crate) fn try_serve(m: &MissContext) -> Option<SourceResult> {
    let d = m.d;
    let (context, _) = m.context.as_ref()?;
    let probe = Probe {
        cwd: &m.req.cwd,
        env: &[],
        meta: d.meta(),
        noun: "header",
        listings: Some(d.listings()),
    };
    let (entry, tier) = remote_lookup::entry_for(d, context, &probe, EntryKind::Compile)?;
    let bytes = restore_entry(d, m.req, m.plan, m.index, &entry).ok()?;
    Some(SourceResult {
        exit_code: 0,
        stdout: entry.stdout,
        stderr: entry.stderr,
        outcome: Outcome::RemoteHit {
            saved_ms: entry.run_ms,
            tier,
        },
        bytes_read: bytes,
        bytes_written: 0,
        stored: false,
    })
}
