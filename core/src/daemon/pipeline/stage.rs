//! The two stages every pipeline answers in: a cheap probe run inline on
//! the server's event loop (lookups and hits), and optional slow work
//! (running the tool) that the server moves to the blocking pool.

use crate::daemon::state::DaemonState;
use crate::ipc::{CompileRequest, Response};

/// Slow work left after a probe: run the real tool, store, respond.
pub(crate) trait PendingWork: Send {
    /// Do the work on a blocking thread and produce the response.
    fn run(self: Box<Self>, d: &DaemonState, req: &CompileRequest) -> Response;
}

/// The outcome of a probe.
pub(crate) enum Stage {
    /// The response is ready (all hits, or not cacheable).
    Done(Response),
    /// Slow work remains.
    Work(Box<dyn PendingWork>),
}
