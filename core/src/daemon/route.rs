//! Routes a compile request to the pipeline of its tool family. Each
//! pipeline answers in two stages: a cheap probe run inline on the event
//! loop (lookups and hits), and optional slow work (running the tool) that
//! the server moves to the blocking pool.

use super::state::DaemonState;
use super::{compile, link};
use crate::compiler::CompilerFamily;
use crate::ipc::{CompileRequest, Response};

/// Slow work left after a probe: run the real tool, store, respond.
pub trait PendingWork: Send {
    /// Do the work on a blocking thread and produce the response.
    fn run(self: Box<Self>, d: &DaemonState, req: &CompileRequest) -> Response;
}

/// The outcome of a probe.
pub enum Stage {
    /// The response is ready (all hits, or not cacheable).
    Done(Response),
    /// Slow work remains.
    Work(Box<dyn PendingWork>),
}

/// Probe a request with the pipeline of its tool.
pub fn probe(d: &DaemonState, req: &CompileRequest) -> Stage {
    if CompilerFamily::from_path(&req.compiler) == CompilerFamily::Rustc {
        return super::rustc::probe(d, req);
    }
    if let Some(stage) = link::probe(d, req) {
        return stage;
    }
    compile::probe(d, req)
}
