//! The link and archive pipeline: compiler-driver links (`cc a.o -o app`),
//! direct linker calls (`ld`, `ld.gold`, `ld.lld`), archiver calls
//! (`ar`, `llvm-ar`) and archive indexing (`ranlib`, as CMake runs it after
//! `ar qc`). Like the compile pipeline it answers in two stages:
//! [`probe`] keys the call (see [`key`]) and restores a hit inline; a miss
//! becomes a [`run::LinkJob`] that runs the real tool on the blocking pool
//! and stores what it produced (see [`outputs`]).
//!
//! Compile requests (`-c`, `-E`, `-S`, queries) are not links: [`probe`]
//! returns `None` for them and the compile pipeline takes over.

pub(crate) mod key;
pub(crate) mod outputs;
pub(crate) mod remote_hit;
pub(crate) mod run;
pub(crate) mod verify;

use super::refusal::Refusal;
use super::stage::Stage;
use crate::compiler::{
    expand_response_files, parse_ar_args, parse_driver_link, parse_linker, parse_ranlib_args,
    ArParse, CompilerFamily, LinkParse, LinkRefusal, LinkTool,
};
use crate::daemon::reason::{MissReason, Uncacheable};
use crate::daemon::state::{DaemonState, Finished};
use crate::daemon::stats::Outcome;
use crate::ipc::{CompileRequest, Response};
use crate::key::resolve;
use crate::storage::{EntryKind, StoreError};
use run::{JobKind, LinkJob};
use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

/// Driver options that make a request a compile, checked before expanding
/// response files so compile hits pay nothing for this pipeline.
const COMPILE_ONLY: &[&str] = &["-c", "-E", "-S"];

/// Probe a request: `None` when it is not a link or archive call.
pub(crate) fn probe(
    d: &DaemonState,
    req: &CompileRequest,
    family: CompilerFamily,
) -> Option<Stage> {
    let started = Instant::now();
    let is_tool = matches!(
        family,
        CompilerFamily::Ld | CompilerFamily::Ar | CompilerFamily::Ranlib
    );
    // emcc/em++ links (`-o app.js`/`.html`, with `.wasm` siblings) are
    // driver links too; their identity is emscripten's (see key.rs).
    if !is_tool && !family.is_c_family() && family != CompilerFamily::Emcc {
        return None;
    }
    if !is_tool && req.args.iter().any(|a| COMPILE_ONLY.contains(&a.as_str())) {
        return None;
    }
    let args = match expand_response_files(&req.args, &req.cwd) {
        Ok(a) => a,
        Err(_) if !is_tool => return None,
        Err(e) => {
            return Some(done(
                d,
                req,
                started,
                Refusal::NonCacheable(Uncacheable::ResponseFile, e.to_string()),
            ))
        }
    };
    let job = match family {
        CompilerFamily::Ar => plan_archive(d, req, &args, parse_ar_args(&args)),
        CompilerFamily::Ranlib => plan_archive(d, req, &args, parse_ranlib_args(&args)),
        CompilerFamily::Ld => plan_link(d, req, &args, parse_linker(&args), LinkTool::Linker),
        _ => match parse_driver_link(&args, &req.cwd) {
            LinkParse::NotALink => return None,
            parsed => plan_link(d, req, &args, parsed, LinkTool::Driver),
        },
    };
    Some(match job {
        Ok(job) => serve(d, req, job),
        Err(refusal) => done(d, req, started, refusal),
    })
}

fn plan_link(
    d: &DaemonState,
    req: &CompileRequest,
    args: &[String],
    parsed: LinkParse,
    tool: LinkTool,
) -> Result<LinkJob, Refusal> {
    let inv = match parsed {
        LinkParse::Link(inv) => inv,
        LinkParse::NotALink => {
            return Err(Refusal::NonCacheable(
                Uncacheable::Link(LinkRefusal::LinkArgs),
                "no inputs".into(),
            ))
        }
        LinkParse::NonCacheable(why, detail) => {
            return Err(Refusal::NonCacheable(Uncacheable::Link(why), detail))
        }
    };
    let keyed = key::link_key(d, req, args, &inv, tool)?;
    Ok(LinkJob {
        keyed,
        output: resolve(&req.cwd, &inv.output),
        extra_args: inv.extra_outputs.clone(),
        args: args.to_vec(),
        output_arg: inv.output.clone(),
        kind: JobKind::Link,
        started: Instant::now(),
    })
}

fn plan_archive(
    d: &DaemonState,
    req: &CompileRequest,
    args: &[String],
    parsed: ArParse,
) -> Result<LinkJob, Refusal> {
    let inv = match parsed {
        ArParse::Archive(inv) => inv,
        ArParse::NonCacheable(why, detail) => {
            return Err(Refusal::NonCacheable(Uncacheable::Link(why), detail))
        }
    };
    if !inv.is_deterministic() {
        warn_nondeterministic_once(d, req, &inv.archive);
    }
    let keyed = key::archive_key(d, req, args, &inv)?;
    Ok(LinkJob {
        keyed,
        output: resolve(&req.cwd, &inv.archive),
        extra_args: Vec::new(),
        args: args.to_vec(),
        output_arg: inv.archive.clone(),
        kind: JobKind::Archive,
        started: Instant::now(),
    })
}

/// Archives without `D` embed timestamps and ids unless the archiver
/// defaults to deterministic mode. Warn once per build dir (the daemon
/// log and `zccache stats`, never the tool's stderr, which is replayed
/// byte for byte).
fn warn_nondeterministic_once(d: &DaemonState, req: &CompileRequest, archive: &str) {
    static WARNED: OnceLock<Mutex<HashSet<std::path::PathBuf>>> = OnceLock::new();
    let warned = WARNED.get_or_init(Default::default);
    let first = warned
        .lock()
        .map(|mut w| w.insert(req.cwd.clone()))
        .unwrap_or(false);
    if first {
        d.accounting().stats().warn("ar_nondeterministic");
        tracing::warn!(
            cwd = %req.cwd.display(),
            archive,
            "archive created without the D modifier may not be deterministic; cached anyway"
        );
    }
}

/// Look the job up; restore a hit, or hand the job to the blocking pool.
fn serve(d: &DaemonState, req: &CompileRequest, job: LinkJob) -> Stage {
    let entry = match d.storage().get_entry(&job.keyed.key, EntryKind::Link) {
        Ok(Some(entry)) => entry,
        Err(StoreError::Corrupt { .. }) => {
            return Stage::Work(Box::new(job.missing(MissReason::CorruptEntry)));
        }
        Ok(None) | Err(_) => {
            let reason = job.kind.first_reason();
            return Stage::Work(Box::new(job.missing(reason)));
        }
    };
    let sample = verify::sample(d, req, &job, &entry);
    match outputs::restore(d, &entry, &job.placement(req)) {
        Ok(()) => {
            if let Some(sample) = sample {
                verify::enqueue(d, sample);
            }
            let saved_ms = entry.run_ms;
            job.record(d, req, Outcome::Hit { saved_ms });
            Stage::Done(Response::Compiled {
                exit_code: 0,
                stdout: entry.stdout,
                stderr: entry.stderr,
            })
        }
        Err(e) => {
            tracing::warn!(error = %e, "cached link unusable; running the tool");
            d.storage().remove_entry(&job.keyed.key);
            Stage::Work(Box::new(job.missing(MissReason::CorruptEntry)))
        }
    }
}

/// Answer a refused request: the launcher runs the tool itself.
fn done(d: &DaemonState, req: &CompileRequest, started: Instant, refusal: Refusal) -> Stage {
    let record = |outcome| d.record(Finished::outcome(req, started, outcome, true));
    let reason = match refusal {
        Refusal::NonCacheable(why, detail) => {
            let label = why.label();
            record(Outcome::NonCacheable(why));
            tracing::debug!(reason = label, %detail, "non-cacheable link");
            format!("{label}: {detail}")
        }
        Refusal::Internal(message) => {
            record(Outcome::Error);
            tracing::warn!(%message, "internal error; launcher runs the tool");
            message
        }
    };
    Stage::Done(Response::RunLocally { reason })
}
