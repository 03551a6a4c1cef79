//! The daemon's non-compile services: sessions, miss explanations and
//! worktree handle release. Each is a quick, in-memory operation.

use super::session::validate_id;
use super::state::DaemonState;
use crate::fingerprint::FpState;
use crate::ipc::{FpOp, Request, Response};
use std::path::Path;

/// Serve a service request; `None` when `request` is not one of them.
pub fn handle(st: &DaemonState, request: &Request) -> Option<Response> {
    Some(match request {
        Request::SessionStart {
            client_pid,
            working_dir,
            log_file,
            journal,
        } => Response::SessionStarted {
            id: st.sessions.start(
                *client_pid,
                working_dir.clone(),
                journal.clone(),
                log_file.clone(),
            ),
        },
        Request::SessionStats { id } => with_id(id, |id| Response::Session(st.sessions.stats(id))),
        Request::SessionEnd { id } => with_id(id, |id| Response::Session(st.sessions.end(id))),
        Request::Explain { output } => {
            let key = output.as_ref().map(|p| p.to_string_lossy().into_owned());
            Response::Explanation(st.explanations.explain(key.as_deref()))
        }
        Request::ReleaseHandles { dir } => release(st, dir),
        Request::Fingerprint { cache_file, op } => fingerprint(st, cache_file, op),
        _ => return None,
    })
}

fn with_id(id: &str, f: impl FnOnce(&str) -> Response) -> Response {
    match validate_id(id) {
        Ok(()) => f(id),
        Err(e) => Response::Error {
            message: e.to_string(),
        },
    }
}

/// Drop every session whose working dir is under `dir`. The daemon keeps
/// no file open between requests, so no file handle needs closing. Refuses
/// the cache dir itself and its ancestors.
fn release(st: &DaemonState, dir: &Path) -> Response {
    if st.layout.root.starts_with(dir) {
        return Response::Error {
            message: format!(
                "refusing to release {}: it is the cache dir {} or one of its ancestors",
                dir.display(),
                st.layout.root.display()
            ),
        };
    }
    Response::Released {
        sessions: st.sessions.release_under(dir),
        files: 0,
    }
}

/// Apply a fingerprint operation: state from memory (warm) or the cache
/// file, written back to the cache file after every change so it survives a
/// daemon restart.
fn fingerprint(st: &DaemonState, cache_file: &Path, op: &FpOp) -> Response {
    let Ok(mut states) = st.fp_states.lock() else {
        return Response::Error {
            message: "fingerprint state poisoned".to_string(),
        };
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
        FpOp::Check { root, filter } => match state.check(root, filter, &st.meta) {
            Ok(r) => Response::FpChecked(r),
            Err(e) => {
                return Response::Error {
                    message: e.to_string(),
                }
            }
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
        Err(e) => Response::Error {
            message: e.to_string(),
        },
    }
}
