//! Sampled hit verification for C/C++ compiles (see
//! [`crate::daemon::pipeline::verify`]): what a hit served is the object
//! (its blob id is its blake3), the depfile as restored (retargeted to
//! this build), stdout and stderr; the recompile runs the same argv with
//! the object and depfile redirected into private temp files.

use super::super::runner::run_compiler;
use super::super::verify::{self, hash, Check, Observed};
use super::dep_targets;
use super::plan::Plan;
use crate::compiler::gcc::{CompileInvocation, DepfileRequest};
use crate::daemon::state::DaemonState;
use crate::ipc::CompileRequest;
use crate::storage::{Content, Entry, OutputRole, RecordKey};
use std::path::PathBuf;

/// Queue the verification of a hit of source `i` of `req` when the
/// request's rate samples it; `keys` are the context and entry keys.
pub(crate) fn maybe_sample(
    d: &DaemonState,
    req: &CompileRequest,
    plan: &Plan,
    i: usize,
    keys: (RecordKey, RecordKey),
    entry: &Entry,
) {
    if !verify::sampled(req) {
        return;
    }
    let Some(served) = served(plan, i, entry) else {
        return;
    };
    let recompile = Recompile {
        req: req.clone(),
        inv: plan.inv.clone(),
        index: i,
        object: plan.inv.object_path(i),
        depfile: plan.inv.depfile.clone(),
    };
    verify::enqueue(
        d,
        Check {
            req: req.clone(),
            source: plan.inv.sources[i].path.clone(),
            output: plan.inv.object_path(i),
            context: keys.0,
            entry: keys.1,
            served,
            recompile: Box::new(move |d| recompile.run(d)),
        },
    );
}

/// What a hit of `entry` served for source `i`.
fn served(plan: &Plan, i: usize, entry: &Entry) -> Option<Observed> {
    let Some(Content::Blob(object)) = entry.output(OutputRole::Object).map(|o| &o.content) else {
        return None;
    };
    let mut seen = vec![("object".to_string(), blob_hash(&object.0)?)];
    if let Some(dep) = &plan.inv.depfile {
        let Some(Content::Inline(text)) = entry.output(OutputRole::Depfile).map(|o| &o.content)
        else {
            return None;
        };
        let args = dep.to_args("", &plan.inv.object_path(i));
        let served = dep_targets::retarget(text, &dep_targets::targets(&args));
        seen.push(("depfile".into(), hash(served.as_deref().unwrap_or(text))));
    }
    seen.push(("stdout".into(), hash(&entry.stdout)));
    seen.push(("stderr".into(), hash(&entry.stderr)));
    Some(seen)
}

/// A blob id (64 hex chars, the blake3 of the content) as a hash.
fn blob_hash(hex: &str) -> Option<[u8; 32]> {
    blake3::Hash::from_hex(hex).ok().map(|h| *h.as_bytes())
}

/// How to recompile one sampled source.
struct Recompile {
    req: CompileRequest,
    inv: CompileInvocation,
    index: usize,
    object: String,
    depfile: Option<DepfileRequest>,
}

impl Recompile {
    /// Recompile into private temp files (removed afterwards).
    fn run(&self, d: &DaemonState) -> Option<Observed> {
        let id = format!("{}-{}", std::process::id(), d.lifecycle().next_temp_id());
        let object = Temp(d.tmp_dir().join(format!("verify-{id}.o")));
        let dep = Temp(d.tmp_dir().join(format!("verify-{id}.d")));
        let dep_arg = dep.0.to_string_lossy().into_owned();
        let dep_args = match &self.depfile {
            Some(req) => req.to_args(&dep_arg, &self.object),
            None => vec!["-MD".to_string(), "-MF".to_string(), dep_arg],
        };
        let obj_arg = object.0.to_string_lossy().into_owned();
        let argv = self.inv.compile_argv(self.index, &obj_arg, &dep_args);
        let out = run_compiler(&self.req, &argv).ok()?;
        if !out.status.success() {
            return None;
        }
        let mut seen = vec![("object".to_string(), hash(&std::fs::read(&object.0).ok()?))];
        if self.depfile.is_some() {
            seen.push(("depfile".into(), hash(&std::fs::read(&dep.0).ok()?)));
        }
        seen.push(("stdout".into(), hash(&out.stdout)));
        seen.push(("stderr".into(), hash(&out.stderr)));
        Some(seen)
    }
}

/// A temp file removed on drop.
struct Temp(PathBuf);

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
