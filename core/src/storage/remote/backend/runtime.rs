//! The private tokio runtime of the remote backends: created once, on first
//! use, with two worker threads (they also drive the background tasks of
//! the clients, e.g. a redis connection's reader), and entered with
//! `block_on` from the daemon's blocking threads.
//!
//! Callers must not be tokio worker threads (`block_on` would panic there:
//! "Cannot start a runtime from within a runtime"): the daemon calls the
//! backends from plain `std` threads or from tokio's `spawn_blocking` pool,
//! where `block_on` is allowed.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use tokio::runtime::Runtime;

use super::RemoteError;

/// The runtime, or why it could not be created.
static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

/// The shared runtime, created on first use.
///
/// Errors: [`RemoteError::Other`] when the runtime cannot be built (no
/// threads left).
fn runtime() -> Result<&'static Runtime, RemoteError> {
    let built = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("zccache-remote")
            .enable_all()
            .build()
            .map_err(|e| format!("remote runtime: {e}"))
    });
    built.as_ref().map_err(|e| RemoteError::Other(e.clone()))
}

/// Run `operation` on the shared runtime, blocking the calling thread, and
/// give up with [`RemoteError::Timeout`] after `timeout`.
///
/// Must not be called from a tokio worker thread (see the module doc).
pub(super) fn run<T, F>(timeout: Duration, operation: F) -> Result<T, RemoteError>
where
    F: Future<Output = Result<T, RemoteError>>,
{
    runtime()?.block_on(async move {
        match tokio::time::timeout(timeout, operation).await {
            Ok(result) => result,
            Err(_) => Err(RemoteError::Timeout),
        }
    })
}
