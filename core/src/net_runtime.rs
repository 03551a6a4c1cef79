//! The private tokio runtime of the network clients (the remote tiers'
//! backends and the REAPI client): created once, on first use, with two
//! worker threads (they also drive the clients' background tasks, e.g. a
//! redis connection's reader or a gRPC channel), and entered with
//! `block_on` from the daemon's blocking threads.
//!
//! Callers must not be tokio worker threads (`block_on` would panic there:
//! "Cannot start a runtime from within a runtime"): the daemon calls the
//! clients from plain `std` threads or from tokio's `spawn_blocking` pool,
//! where `block_on` is allowed.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use tokio::runtime::Runtime;

/// The runtime, or why it could not be created.
static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

/// Why [`run`] could not finish an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NetFailure {
    /// The operation did not finish within its timeout.
    TimedOut,
    /// The runtime could not be built (no threads left); the message says
    /// why.
    NoRuntime(String),
}

/// The shared runtime, created on first use.
///
/// Errors: [`NetFailure::NoRuntime`] when the runtime cannot be built.
fn runtime() -> Result<&'static Runtime, NetFailure> {
    let built = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("zccache-net")
            .enable_all()
            .build()
            .map_err(|e| format!("network runtime: {e}"))
    });
    built.as_ref().map_err(|e| NetFailure::NoRuntime(e.clone()))
}

/// Run `operation` on the shared runtime, blocking the calling thread, and
/// give up after `timeout` (the operation's error type says how: `E` is
/// built from a [`NetFailure`]).
///
/// Must not be called from a tokio worker thread (see the module doc).
pub(crate) fn run<T, E, F>(timeout: Duration, operation: F) -> Result<T, E>
where
    F: Future<Output = Result<T, E>>,
    E: From<NetFailure>,
{
    runtime()?.block_on(async move {
        match tokio::time::timeout(timeout, operation).await {
            Ok(result) => result,
            Err(_) => Err(E::from(NetFailure::TimedOut)),
        }
    })
}
