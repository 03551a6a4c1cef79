//! The daemon's non-compile services: sessions, worktree handle release,
//! miss explanations and tree fingerprints. Each handler takes its own
//! request type from [`crate::ipc`] and returns the reply; all but the
//! fingerprint check are quick, in-memory operations.

use super::session::validate_id;
use super::state::DaemonState;
use crate::fingerprint::{FpError, FpState};
use crate::ipc::{ErrorKind, FingerprintRequest, FpOp, Response, SessionRequest};
use std::path::Path;

/// Serve a session request. Malformed session ids and a release of the
/// cache dir (or an ancestor) are [`ErrorKind::BadRequest`] errors.
pub(crate) fn session(st: &DaemonState, request: &SessionRequest) -> Response {
    match request {
        SessionRequest::Start {
            owner_pid,
            working_dir,
            log_file,
            journal,
        } => Response::SessionStarted {
            id: st.accounting().sessions().start(
                *owner_pid,
                working_dir.clone(),
                journal.clone(),
                log_file.clone(),
            ),
        },
        SessionRequest::Stats { id } => with_id(id, |id| {
            Response::Session(st.accounting().sessions().stats(id))
        }),
        SessionRequest::End { id } => with_id(id, |id| {
            Response::Session(st.accounting().sessions().end(id))
        }),
        SessionRequest::ReleaseHandles { dir } => release(st, dir),
    }
}

/// Why the last compile of `output` (absolute; `None`: the most recent
/// miss) missed: [`Response::Explanation`], `None` when nothing is known.
pub(crate) fn explain(st: &DaemonState, output: Option<&Path>) -> Response {
    let key = output.map(|p| p.to_string_lossy().into_owned());
    Response::Explanation(st.accounting().explanations().explain(key.as_deref()))
}

fn with_id(id: &str, f: impl FnOnce(&str) -> Response) -> Response {
    match validate_id(id) {
        Ok(()) => f(id),
        Err(e) => Response::error(ErrorKind::BadRequest, e.to_string()),
    }
}

/// Drop every session whose working dir is under `dir`. The daemon keeps
/// no file open between requests, so no file handle needs closing. Refuses
/// the cache dir itself and its ancestors.
fn release(st: &DaemonState, dir: &Path) -> Response {
    if st.layout().root.starts_with(dir) {
        let message = format!(
            "refusing to release {}: it is the cache dir {} or one of its ancestors",
            dir.display(),
            st.layout().root.display()
        );
        return Response::error(ErrorKind::BadRequest, message);
    }
    Response::Released {
        sessions: st.accounting().sessions().release_under(dir),
        files: 0,
    }
}

/// Apply a fingerprint operation: state from memory (warm) or the cache
/// file, written back to the cache file after every change so it survives a
/// daemon restart. Runs on a blocking thread (a check walks a tree).
/// Errors: [`ErrorKind::BadRequest`] for an invalid glob,
/// [`ErrorKind::Io`] when the tree or the cache file cannot be read or
/// written, [`ErrorKind::Internal`] for a poisoned state lock.
pub(crate) fn fingerprint(st: &DaemonState, request: &FingerprintRequest) -> Response {
    let FingerprintRequest { cache_file, op } = request;
    let cache_file = cache_file.as_path();
    let Ok(mut states) = st.fp_states().lock() else {
        return Response::error(ErrorKind::Internal, "fingerprint state poisoned");
    };
    let state = states
        .entry(cache_file.to_path_buf())
        .or_insert_with(|| FpState::load(cache_file));
    // Another process may have changed the file: trust the disk when it differs.
    let on_disk = FpState::load(cache_file);
    if cache_file.exists() && on_disk != *state {
        *state = on_disk;
    }
    let reply = match op {
        FpOp::Check { root, filter } => match state.check(root, filter, st.meta()) {
            Ok(r) => Response::FpChecked(r),
            Err(e) => return fp_error(&e),
        },
        FpOp::MarkSuccess => {
            state.mark_success();
            Response::FpDone
        }
        FpOp::MarkFailure => {
            state.mark_failure();
            Response::FpDone
        }
        FpOp::Invalidate => {
            state.invalidate();
            Response::FpDone
        }
    };
    match state.save(cache_file) {
        Ok(()) => reply,
        Err(e) => fp_error(&e),
    }
}

/// The error reply of a fingerprint failure.
fn fp_error(e: &FpError) -> Response {
    let kind = match e {
        FpError::Glob(..) => ErrorKind::BadRequest,
        FpError::Walk { .. } | FpError::CacheFile { .. } => ErrorKind::Io,
    };
    Response::error(kind, e.to_string())
}
