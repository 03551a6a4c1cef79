//! The tool pipelines, one module per tool: [`cc`] (gcc/clang/emcc
//! compiles), [`link`] (links and archives), [`rustc`] (cargo's
//! `RUSTC_WRAPPER`) and [`exec`] (`zccache exec`), over shared pieces:
//! the two [`stage`]s of an answer, the one tool-[`runner`], the compile
//! [`farm`] prefix, typed
//! [`refusal`] reasons, [`libsearch`] (where `-l` libraries are found) and
//! emscripten's identity ([`emcc`]).
//!
//! [`probe`] routes a compile request to the pipeline that claims it: the
//! tool family is worked out once here and handed to the pipeline.

pub(crate) mod cc;
pub(crate) mod emcc;
pub(crate) mod exec;
pub(crate) mod farm;
pub(crate) mod libsearch;
pub(crate) mod link;
pub(crate) mod refusal;
pub(crate) mod remote_lookup;
pub(crate) mod runner;
pub(crate) mod rustc;
pub(crate) mod stage;
pub(crate) mod verify;

use crate::compiler::CompilerFamily;
use crate::daemon::state::DaemonState;
use crate::ipc::CompileRequest;
pub(crate) use stage::Stage;

/// Probe a request with the pipeline of its tool: rustc, else a link or
/// archive call, else a compile.
pub(crate) fn probe(d: &DaemonState, req: &CompileRequest) -> Stage {
    let family = CompilerFamily::from_path(&req.compiler);
    if family == CompilerFamily::Rustc {
        return rustc::probe(d, req);
    }
    if let Some(stage) = link::probe(d, req, family) {
        return stage;
    }
    cc::probe(d, req, family)
}
