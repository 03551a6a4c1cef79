//! Compiling a miss, on the farm when the request names a prefix command
//! (see [`crate::daemon::pipeline::farm`]): a farm failure is logged with
//! the prefix's own messages, counted (`farm_errors`, `farm_fallbacks`)
//! and the compile runs locally again, so the build only ever sees the
//! compiler's output. Without a prefix the compile runs locally.
//!
//! Diagnostics: a farm compiles preprocessed code, so gcc's warnings from
//! the farm lack the source excerpt lines a local compile prints. A farm
//! compile that succeeded with anything on stderr is therefore compiled
//! again locally, and the local result is served and stored: what the
//! build sees, now and on every later hit, is exactly the local compiler's
//! output. Compiles that print nothing (the common case) run once. A
//! compile error is not retried by us: by default distcc itself reruns a
//! failed remote compile locally, which gives the local compiler's exact
//! diagnostics; with `DISTCC_FALLBACK=0` or `DISTCC_SKIP_LOCAL_RETRY` the
//! farm's error comes back as it is (without source excerpts), and distcc
//! then avoids that host for `DISTCC_BACKOFF_PERIOD` (60 s by default), so
//! the misses of that minute fail with distcc's own exit code and are
//! compiled locally here.

use super::super::farm::Farm;
use super::super::runner::{run_compiler, run_via_farm};
use crate::daemon::state::DaemonState;
use crate::daemon::stats::FarmEvent;
use crate::ipc::CompileRequest;
use std::process::Output;

/// Run the compiler with `argv` for a miss of `req`: through its farm
/// prefix if it names one, else (or after a farm failure) locally.
///
/// Errors: the I/O error when the compiler cannot be started locally.
pub(crate) fn compile(
    d: &DaemonState,
    req: &CompileRequest,
    argv: &[String],
) -> std::io::Result<Output> {
    let farm = match Farm::of_request(req) {
        Ok(None) => return run_compiler(req, argv),
        Ok(Some(farm)) if farm.suits(argv) => farm,
        Ok(Some(_)) => return run_compiler(req, argv),
        Err(e) => {
            tracing::warn!(error = %e, "farm prefix unusable; compiling locally");
            return fall_back(d, req, argv);
        }
    };
    match run_via_farm(req, &farm, argv) {
        Ok(run) if !farm.failed(&run.output.status) => {
            log_messages(&farm, &run.messages, "farm compile");
            d.accounting().stats().record_farm(FarmEvent::Compiled);
            if !run.output.status.success() || run.output.stderr.is_empty() {
                return Ok(run.output);
            }
            tracing::debug!("farm printed warnings; compiling locally for exact ones");
            run_compiler(req, argv)
        }
        Ok(run) => {
            let status = run.output.status;
            log_messages(&farm, &run.messages, "farm failed; compiling locally");
            tracing::warn!(prefix = %farm.program.display(), %status, "farm failure");
            fall_back(d, req, argv)
        }
        Err(e) => {
            tracing::warn!(prefix = %farm.program.display(), error = %e, "farm prefix did not run; compiling locally");
            fall_back(d, req, argv)
        }
    }
}

/// Count a farm failure and compile locally.
fn fall_back(d: &DaemonState, req: &CompileRequest, argv: &[String]) -> std::io::Result<Output> {
    d.accounting().stats().record_farm(FarmEvent::FellBack);
    run_compiler(req, argv)
}

/// The prefix's own messages (`UNCACHED_ERR_FD`) into the daemon log.
fn log_messages(farm: &Farm, messages: &[u8], what: &str) {
    if messages.is_empty() {
        return;
    }
    let text = String::from_utf8_lossy(messages);
    tracing::info!(prefix = %farm.program.display(), messages = %text.trim_end(), "{what}");
}
