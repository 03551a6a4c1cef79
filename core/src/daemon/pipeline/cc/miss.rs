//! Serving a miss: run the real compiler into private temp outputs (with a
//! depfile so the include set is known), store the result, then rename the
//! outputs into place. A crash never leaves a half-written output or entry.

use super::super::runner::process_alive;
use super::error::CompileError;
use super::plan::Plan;
use super::probes::{probe_inputs, ProbingFile};
use super::result::SourceResult;
use crate::daemon::reason::MissReason;
use crate::daemon::reason::Uncacheable;
use crate::daemon::state::DaemonState;
use crate::daemon::stats::Outcome;
use crate::depfile::{self, DepfileError};
use crate::hash::{coarse_now_ns, Digest, FileDigest};
use crate::ipc::CompileRequest;
use crate::key::{entry_key, merge_dir_checks, normalize, resolve, shadow_checks};
use crate::storage::{
    file_name_of, Content, DirCheck, Entry, EntryKind, InputSet, Output, OutputRole, RecordKey,
    RecordedFile, RunRecord,
};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Everything a miss needs to know.
pub(crate) struct MissContext<'a> {
    /// Daemon state.
    pub d: &'a DaemonState,
    /// The request.
    pub req: &'a CompileRequest,
    /// Its plan.
    pub plan: &'a Plan,
    /// Which source.
    pub index: usize,
    /// Context key and source hash it was computed from; `None` when the
    /// result must not be stored.
    pub context: Option<(RecordKey, Digest)>,
    /// Why it missed.
    pub reason: MissReason,
}

/// Why a successful compile was not stored.
#[derive(Debug, thiserror::Error)]
enum Skip {
    #[error("an input uses __DATE__/__TIME__/__TIMESTAMP__")]
    TimeMacro,
    #[error("input {0} changed during the compile")]
    Racy(String),
    #[error("input {0}: {1}")]
    Unreadable(String, std::io::Error),
    #[error("depfile: {0}")]
    DepfileRead(std::io::Error),
    #[error("depfile: {0}")]
    DepfileSyntax(#[from] DepfileError),
    #[error("store: {0}")]
    Store(#[from] crate::storage::StoreError),
    #[error("include probes: {0}")]
    Probe(#[from] super::probes::ProbeError),
    #[error("{0} would tie the entry to this checkout (base dir)")]
    NotPortable(String),
}

/// Private output paths of one compile, removed on drop unless moved.
struct TempOutputs {
    object: PathBuf,
    depfile: PathBuf,
}

impl Drop for TempOutputs {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.object);
        let _ = std::fs::remove_file(&self.depfile);
    }
}

/// Compile source `m.index` for real. With `uncacheable` set the result is
/// never stored and the outcome is non-cacheable with that label.
///
/// Errors: a message when the compiler cannot even be started; the
/// launcher then compiles by itself.
pub(crate) fn compile_source(
    m: &MissContext,
    uncacheable: Option<Uncacheable>,
) -> Result<SourceResult, CompileError> {
    let inv = &m.plan.inv;
    let object = inv.object_path(m.index);
    let object_final = resolve(&m.req.cwd, &object);
    let user_dep_final = inv
        .depfile
        .as_ref()
        .map(|dep| resolve(&m.req.cwd, &dep.path_for(&object)));
    let temps = temp_outputs(m.d, &object_final, user_dep_final.as_deref());
    let start = coarse_now_ns();
    let t0 = Instant::now();
    let out = match remote_compile(m, &temps) {
        Some(out) => out,
        None => super::farm_compile::compile(m.d, m.req, &compile_argv(m, &temps)).map_err(
            |source| CompileError::Spawn {
                compiler: m.req.compiler.display().to_string(),
                source,
            },
        )?,
    };
    let compile_ms = t0.elapsed().as_millis() as u64;
    let exit_code = out.status.code().unwrap_or(1);
    let mut result = SourceResult {
        exit_code,
        stdout: out.stdout,
        stderr: out.stderr,
        outcome: Outcome::Error,
        bytes_read: 0,
        bytes_written: 0,
        stored: false,
    };
    if exit_code != 0 {
        remove_stale_outputs(&object_final, user_dep_final.as_deref());
        result.outcome = match uncacheable {
            Some(label) => Outcome::NonCacheable(label),
            None => Outcome::CompileFailed(m.reason),
        };
        return Ok(result);
    }
    let timing = (start, compile_ms);
    store_result(m, uncacheable, &temps, timing, &mut result);
    if !process_alive(m.req.client_pid) {
        // The launcher was interrupted (make deletes the target then): do not
        // create an output behind the build's back.
        return Err(CompileError::LauncherGone);
    }
    publish(&temps, &object_final, user_dep_final.as_deref()).map_err(CompileError::Publish)?;
    Ok(result)
}

/// Compile on the REAPI cluster when one runs misses (see
/// [`super::remote_compile`]).
fn remote_compile(m: &MissContext, temps: &TempOutputs) -> Option<std::process::Output> {
    let source = super::remote_compile::RemoteSource {
        d: m.d,
        req: m.req,
        plan: m.plan,
        index: m.index,
    };
    let paths = super::remote_compile::TempPaths {
        object: &temps.object,
        depfile: &temps.depfile,
    };
    super::remote_compile::compile(&source, &paths)
}

/// The compiler's argv for source `m.index`: outputs into the temp paths,
/// with the user's depfile options or our own `-MD -MF <temp>`.
fn compile_argv(m: &MissContext, temps: &TempOutputs) -> Vec<String> {
    let inv = &m.plan.inv;
    let object = inv.object_path(m.index);
    let dep_arg = temps.depfile.to_string_lossy().into_owned();
    let dep_args = match &inv.depfile {
        Some(dep) => dep.to_args(&dep_arg, &object),
        None => vec!["-MD".to_string(), "-MF".to_string(), dep_arg],
    };
    inv.compile_argv(m.index, &temps.object.to_string_lossy(), &dep_args)
}

/// Store a successful compile when it may be stored, and set the outcome
/// (`timing`: the coarse start in ns and the compile's duration in ms).
fn store_result(
    m: &MissContext,
    uncacheable: Option<Uncacheable>,
    temps: &TempOutputs,
    (start, compile_ms): (i64, u64),
    result: &mut SourceResult,
) {
    let (ctx, src_hash) = match (uncacheable, &m.context) {
        (Some(label), _) => return result.outcome = Outcome::NonCacheable(label),
        (None, None) => return result.outcome = Outcome::NonCacheable(Uncacheable::NotKeyed),
        (None, Some((ctx, _))) if m.d.verifier().is_nondeterministic(ctx) => {
            return result.outcome = Outcome::NonCacheable(Uncacheable::Nondeterministic)
        }
        (None, Some((ctx, src_hash))) => (ctx, src_hash),
    };
    let job = StoreJob {
        m,
        context: ctx,
        source_hash: src_hash,
        temps,
        start,
        compile_ms,
    };
    let t_store = Instant::now();
    let stored = job.run(&result.stdout, &result.stderr);
    let store_us = t_store.elapsed().as_micros() as u64;
    tracing::debug!(compile_ms, store_us, "miss stored");
    result.outcome = match stored {
        Ok(bytes) => {
            result.bytes_written = bytes;
            result.stored = true;
            Outcome::Miss(m.reason)
        }
        Err(Skip::TimeMacro) => Outcome::NonCacheable(Uncacheable::TimeMacro),
        Err(e) => {
            tracing::info!(reason = %e, "compiled but not stored");
            Outcome::Miss(m.reason)
        }
    };
}

fn temp_outputs(d: &DaemonState, object: &Path, user_dep: Option<&Path>) -> TempOutputs {
    let id = format!("{}-{}", std::process::id(), d.lifecycle().next_temp_id());
    let sibling = |p: &Path, ext: &str| {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        p.with_file_name(format!(".{name}.zccache-{id}.{ext}"))
    };
    TempOutputs {
        object: sibling(object, "o"),
        depfile: match user_dep {
            Some(dep) => sibling(dep, "d"),
            None => d.tmp_dir().join(format!("dep-{id}.d")),
        },
    }
}

/// gcc deletes its outputs when a compile fails; so do we.
fn remove_stale_outputs(object: &Path, dep: Option<&Path>) {
    let _ = std::fs::remove_file(object);
    if let Some(dep) = dep {
        let _ = std::fs::remove_file(dep);
    }
}

fn publish(temps: &TempOutputs, object: &Path, user_dep: Option<&Path>) -> std::io::Result<()> {
    std::fs::rename(&temps.object, object)?;
    if let Some(dep) = user_dep {
        std::fs::rename(&temps.depfile, dep)?;
    }
    Ok(())
}

/// The files the compile of source `index` read besides the source, as
/// the compiler named them in its depfile `dep_text` (in depfile order),
/// plus the PCH files of its forced includes: the file list of an include
/// set.
///
/// Errors: [`DepfileError`] when the depfile does not parse.
pub(crate) fn include_list(
    cwd: &Path,
    plan: &Plan,
    index: usize,
    dep_text: &[u8],
) -> Result<Vec<String>, DepfileError> {
    let rules = depfile::parse(dep_text)?;
    let source = resolve(cwd, &plan.inv.sources[index].path);
    let mut headers: Vec<String> = depfile::prerequisites(&rules)
        .into_iter()
        .filter(|p| resolve(cwd, p) != source)
        .collect();
    headers.extend(super::pch::pch_inputs(
        cwd,
        &plan.inv.common_args,
        &plan.search_dirs,
    ));
    Ok(headers)
}

/// Recorded headers and the probing files among them.
type RecordedHeaders = (Vec<RecordedFile>, Vec<ProbingFile>);

/// Storing one successful compile.
struct StoreJob<'a> {
    m: &'a MissContext<'a>,
    context: &'a RecordKey,
    source_hash: &'a Digest,
    temps: &'a TempOutputs,
    start: i64,
    compile_ms: u64,
}

impl StoreJob<'_> {
    /// Store the result; returns the bytes written into the cache.
    fn run(&self, stdout: &[u8], stderr: &[u8]) -> Result<u64, Skip> {
        let d = self.m.d;
        let dep_text = std::fs::read(&self.temps.depfile).map_err(Skip::DepfileRead)?;
        let headers = self.headers(&dep_text)?;
        let source_digest = self.check_source()?;
        let (mut files, mut probing) = self.record_files(&headers)?;
        let source = &self.m.plan.inv.sources[self.m.index].path;
        if source_digest.probes_includes {
            probing.push(ProbingFile {
                path: source.clone(),
                hash: source_digest.hash,
            });
        }
        let mut dir_checks = shadow_checks(
            &self.m.req.cwd,
            source,
            &headers,
            &self.m.plan.search_dirs,
            d.listings(),
        );
        self.add_probes(&probing, &mut files, &mut dir_checks)?;
        self.make_portable(&headers, &mut files, &mut dir_checks)?;
        let (blob, size) = d.storage().put_blob_file(&self.temps.object)?;
        let entry = Entry::new(
            EntryKind::Compile,
            self.outputs(blob, dep_text),
            RunRecord {
                stdout: stdout.to_vec(),
                stderr: stderr.to_vec(),
                exit_code: 0,
                run_ms: self.compile_ms,
            },
        );
        let key = entry_key(self.context, &files);
        d.storage().put_entry(&key, &entry)?;
        d.storage().add_input_set(
            self.context,
            InputSet {
                files,
                env: Vec::new(),
                dir_checks,
                entry: key,
            },
        )?;
        Ok(size)
    }

    /// The entry's outputs: the object, and the user's depfile byte for
    /// byte when they asked for one (retargeted on a hit).
    fn outputs(&self, object: crate::storage::BlobId, dep_text: Vec<u8>) -> Vec<Output> {
        let inv = &self.m.plan.inv;
        let object_path = inv.object_path(self.m.index);
        let mode = 0o666 & !self.m.req.umask;
        let mut outputs = vec![Output::blob(
            OutputRole::Object,
            file_name_of(std::path::Path::new(&object_path)),
            object,
            mode,
        )];
        if let Some(dep) = &inv.depfile {
            outputs.push(Output {
                role: OutputRole::Depfile,
                name: file_name_of(std::path::Path::new(&dep.path_for(&object_path))),
                content: Content::Inline(dep_text),
                mode,
            });
        }
        outputs
    }

    fn headers(&self, dep_text: &[u8]) -> Result<Vec<String>, Skip> {
        Ok(include_list(
            &self.m.req.cwd,
            self.m.plan,
            self.m.index,
            dep_text,
        )?)
    }

    /// Record what the compile's probes resolve to (see `probes`): absent
    /// candidates join `dir_checks`, present ones not read already `files`.
    fn add_probes(
        &self,
        probing: &[ProbingFile],
        files: &mut Vec<RecordedFile>,
        dir_checks: &mut Vec<DirCheck>,
    ) -> Result<(), Skip> {
        let m = self.m;
        let checks = probe_inputs(m.d, m.req, m.plan, m.index, probing)?;
        merge_dir_checks(dir_checks, checks.dir_checks);
        let known: std::collections::HashSet<PathBuf> = files
            .iter()
            .map(|f| normalize(&resolve(&m.req.cwd, &f.path)))
            .collect();
        for p in checks.present.iter().filter(|p| !known.contains(*p)) {
            let shown = p.to_string_lossy().into_owned();
            let d =
                m.d.meta()
                    .digest(p)
                    .map_err(|e| Skip::Unreadable(shown.clone(), e))?;
            if d.fingerprint.newest_ns() >= self.start {
                return Err(Skip::Racy(shown));
            }
            files.push(RecordedFile {
                path: shown,
                hash: d.hash,
            });
        }
        Ok(())
    }

    /// For a portable compile, the input set's paths under base dirs made
    /// relative to the cwd (see `portable`).
    fn make_portable(
        &self,
        headers: &[String],
        files: &mut [RecordedFile],
        dir_checks: &mut [DirCheck],
    ) -> Result<(), Skip> {
        let m = self.m;
        let Some(view) = m.plan.portable(&m.req.cwd, m.index) else {
            return Ok(());
        };
        if let Some(h) = super::portable::unportable_header(&view, headers) {
            return Err(Skip::NotPortable(h.to_string()));
        }
        super::portable::relativize(&view, files, dir_checks);
        Ok(())
    }

    fn check_source(&self) -> Result<FileDigest, Skip> {
        let path = &self.m.plan.inv.sources[self.m.index].path;
        let d = self
            .m
            .d
            .meta()
            .digest(&resolve(&self.m.req.cwd, path))
            .map_err(|e| Skip::Unreadable(path.clone(), e))?;
        if d.hash != *self.source_hash || d.fingerprint.newest_ns() >= self.start {
            return Err(Skip::Racy(path.clone()));
        }
        Ok(d)
    }

    /// The recorded headers, and those among them whose content probes
    /// names.
    fn record_files(&self, headers: &[String]) -> Result<RecordedHeaders, Skip> {
        let mut files = Vec::with_capacity(headers.len());
        let mut probing = Vec::new();
        for h in headers {
            let d = self
                .m
                .d
                .meta()
                .digest(&resolve(&self.m.req.cwd, h))
                .map_err(|e| Skip::Unreadable(h.clone(), e))?;
            let pch = super::pch::is_pch_path(h);
            if d.has_time_macros && !pch {
                return Err(Skip::TimeMacro);
            }
            // A PCH is the output of the build step ordered just before its
            // consumers, so its timestamps (fine-grained on kernels with
            // multigrain timestamps) may be later than our coarse start
            // although it was complete: it is not checked for racy changes.
            if !pch && d.fingerprint.newest_ns() >= self.start {
                return Err(Skip::Racy(h.clone()));
            }
            if d.probes_includes && !pch {
                probing.push(ProbingFile {
                    path: h.clone(),
                    hash: d.hash,
                });
            }
            files.push(RecordedFile {
                path: h.clone(),
                hash: d.hash,
            });
        }
        Ok((files, probing))
    }
}
