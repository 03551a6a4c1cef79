//! Define siblings: a direct-mode miss served from the entry of a compile
//! that differed from it only in `-D`/`-U` options, once the preprocessor
//! has shown that those defines change nothing.
//!
//! CMake compiles every source of a library built both static and shared
//! twice; the shared objects get an extra `-D<target>_EXPORTS` that most
//! sources never test. ccache shares those objects because its
//! preprocessor mode keys on the preprocessed output instead of the `-D`
//! flags (ccache manual, "The preprocessor mode"). Direct mode keys on the
//! flags, so both variants would compile. Running the preprocessor on every
//! miss, as ccache does, would slow every cold build; here it runs only
//! when a *define sibling* exists: a stored compile of the same *group*
//! (same compiler path and binary, same arguments apart from defines and
//! depfile targets, same language, cwd, source path and content, same
//! keyed environment) with other defines. Then, on the blocking pool:
//!
//! 1. *Pin* the sibling: its manifest must still lead to its entry (a
//!    direct-mode hit), and the source and every file of that include set
//!    must hash as recorded and must not have been written in the current
//!    clock tick. Their stat fingerprints are kept. The entry must have
//!    empty stdout and stderr (diagnostics may name where a macro came
//!    from, which the preprocessed text does not show).
//! 2. Run `-E` for this compile (with its depfile options, into a private
//!    temp depfile) and for the sibling's arguments. Both must succeed,
//!    with byte-identical stdout and stderr.
//! 3. The files this compile's `-E` read (its depfile) must be exactly the
//!    sibling's include set, in order (after them, the set may hold files
//!    its include probes found, see `probes`); when the user asked for a depfile,
//!    the sibling's re-targeted depfile must equal the fresh one.
//! 4. Pin the sibling again: the same entry and the same fingerprint for
//!    every file. No input changed from before the first `-E` until after
//!    the second, so both `-E` outputs and the sibling's stored object come
//!    from the same file contents.
//! 5. Restore the sibling's entry for this compile (depfile re-targeted)
//!    and add the include set to this compile's manifest, so the next
//!    build is a plain direct hit.
//!
//! When the group's other variant is still compiling, this one may wait for
//! it (see [`crate::daemon::state::sibling_flights`]): only when a first pair of `-E` runs
//! already shows the same output, and for at most [`MAX_WAIT`].
//!
//! Any failure compiles normally. Options that put defines into the object
//! without showing them in the `-E` output, or that change what `-E`
//! prints, block sharing ([`crate::compiler::sharing_blocker`]); so do PCH
//! producers and consumers and emcc.

use super::super::runner::{compiler_command, process_alive};
use super::dep_targets;
use super::error::CompileError;
use super::hit::restore_entry;
use super::miss::{compile_source, include_list, MissContext};
use super::not_shared::NotShared;
use super::plan::{key_source_fields, Plan};
use super::result::SourceResult;
use crate::compiler::{sharing_blocker, split_defines, CompilerFamily};
use crate::daemon::state::define_groups::{Sibling, MAX_WAIT};
use crate::daemon::state::sibling_flights::Joined;
use crate::daemon::state::DaemonState;
use crate::daemon::stats::Outcome;
use crate::hash::{coarse_now_ns, Digest, StatFingerprint};
use crate::ipc::CompileRequest;
use crate::key::lookup::Probe;
use crate::key::{find, resolve, KeyBuilder};
use crate::storage::{Content, Entry, EntryKind, InputSet, OutputRole, RecordKey};
use std::path::PathBuf;
use std::time::Instant;

/// Record a stored compile of source `i` (context key `context`, source
/// content `source_hash`) as its group's sibling. Compiles that may not
/// share (see the module docs) are not recorded.
pub(crate) fn register(
    d: &DaemonState,
    req: &CompileRequest,
    plan: &Plan,
    i: usize,
    context: &RecordKey,
    source_hash: &Digest,
) {
    match group_key(req, plan, i, source_hash) {
        Ok(group) => d.siblings().insert(
            group,
            Sibling {
                context: *context,
                args: plan.inv.common_args.clone(),
            },
        ),
        Err(why) => tracing::trace!(%why, "no define sibling sharing"),
    }
}

/// Compile `m` for real; a stored compile that printed nothing becomes its
/// group's sibling (see [`register`]).
///
/// Errors: those of [`compile_source`].
fn compile_and_register(
    m: &MissContext,
    source_hash: &Digest,
) -> Result<SourceResult, CompileError> {
    let r = compile_source(m, None)?;
    if let (true, Some((context, _))) = (r.stored, &m.context) {
        if r.stdout.is_empty() && r.stderr.is_empty() {
            register(m.d, m.req, m.plan, m.index, context, source_hash);
        }
    }
    Ok(r)
}

/// Serve the keyed, cacheable miss `m`: from a define sibling's entry when
/// one proves equivalent (module docs), else by compiling it
/// ([`compile_source`]). May run the preprocessor and wait for a sibling in
/// flight, so call it on the blocking pool only.
///
/// Errors: those of [`compile_source`].
pub(crate) fn compile_miss(m: &MissContext) -> Result<SourceResult, CompileError> {
    let Some((context, source_hash)) = m.context.as_ref() else {
        return compile_source(m, None);
    };
    let Ok(group) = group_key(m.req, m.plan, m.index, source_hash) else {
        return compile_source(m, None);
    };
    if let Some(served) = try_serve(m, &group, context, source_hash) {
        return Ok(served);
    }
    let args = &m.plan.inv.common_args;
    match m.d.siblings().flights.join(group, *context, args) {
        Joined::Lead(_lead) => compile_and_register(m, source_hash),
        Joined::Alone => compile_and_register(m, source_hash),
        Joined::Follow(flight) => {
            if alike(m, flight.args()) && flight.wait(MAX_WAIT) {
                if let Some(served) = try_serve(m, &group, context, source_hash) {
                    return Ok(served);
                }
            }
            compile_and_register(m, source_hash)
        }
    }
}

/// The proof against the group's stored sibling, if there is one.
fn try_serve(
    m: &MissContext,
    group: &RecordKey,
    context: &RecordKey,
    source_hash: &Digest,
) -> Option<SourceResult> {
    let sibling = m.d.siblings().get(group)?;
    if sibling.context == *context {
        return None;
    }
    let started = Instant::now();
    match serve(m, context, source_hash, &sibling) {
        Ok(r) => {
            tracing::debug!(
                us = started.elapsed().as_micros() as u64,
                "served from a define sibling"
            );
            Some(r)
        }
        Err(why) => {
            tracing::debug!(%why, "define sibling not used; compiling");
            None
        }
    }
}

/// True when `-E` prints the same for this compile and for `args` (the
/// pre-check before waiting for a sibling in flight).
fn alike(m: &MissContext, args: &[String]) -> bool {
    match (
        preprocess(m, &m.plan.inv.common_args, &[]),
        preprocess(m, args, &[]),
    ) {
        (Ok(a), Ok(b)) => a.stdout == b.stdout && a.stderr == b.stderr,
        _ => false,
    }
}

/// The group key of source `i`, or why it may not share.
fn group_key(
    req: &CompileRequest,
    plan: &Plan,
    i: usize,
    source_hash: &Digest,
) -> Result<RecordKey, NotShared> {
    let family = CompilerFamily::from_path(&req.compiler);
    let inv = &plan.inv;
    let source = &inv.sources[i];
    if family == CompilerFamily::Emcc {
        return Err(NotShared::Emcc);
    }
    if source.is_header() {
        return Err(NotShared::PchProducer);
    }
    if !super::pch::pch_inputs(&req.cwd, &inv.common_args, &plan.search_dirs).is_empty() {
        return Err(NotShared::PchConsumer);
    }
    let rest = split_defines(&inv.common_args, family).rest;
    if let Some(blocker) = sharing_blocker(&rest) {
        return Err(NotShared::Blocker(blocker.to_string()));
    }
    let mut b = KeyBuilder::new("define-group");
    b.field("compiler-path", req.compiler.as_os_str().as_encoded_bytes());
    b.field("compiler", &plan.identity);
    b.strings("args", &rest);
    key_source_fields(&mut b, plan, i, source_hash);
    b.field("cwd", req.cwd.as_os_str().as_encoded_bytes());
    Ok(b.finish())
}

/// The sibling's entry as found, with the stat data of its inputs.
struct Pinned {
    entry: RecordKey,
    set: InputSet,
    fingerprints: Vec<StatFingerprint>,
}

fn serve(
    m: &MissContext,
    context: &RecordKey,
    source_hash: &Digest,
    sibling: &Sibling,
) -> Result<SourceResult, NotShared> {
    let started = Instant::now();
    let before = pin(m, source_hash, sibling)?;
    let entry = quiet_entry(m.d, &before.entry)?;
    let (mine, dep_text) = preprocess_mine(m)?;
    let theirs = preprocess(m, &sibling.args, &[])?;
    if mine.stdout != theirs.stdout || mine.stderr != theirs.stderr {
        return Err(NotShared::PreprocessedDiffers);
    }
    same_inputs(m, &before.set, &entry, &dep_text)?;
    let after = pin(m, source_hash, sibling)?;
    if after.entry != before.entry || after.fingerprints != before.fingerprints {
        return Err(NotShared::InputChanged);
    }
    if !process_alive(m.req.client_pid) {
        return Err(NotShared::LauncherGone);
    }
    let bytes = restore_entry(m.d, m.req, m.plan, m.index, &entry)?;
    adopt(m, context, before.set);
    let spent = started.elapsed().as_millis() as u64;
    Ok(SourceResult {
        exit_code: 0,
        stdout: entry.stdout,
        stderr: entry.stderr,
        outcome: Outcome::PreprocessorHit {
            saved_ms: entry.run_ms.saturating_sub(spent),
        },
        bytes_read: bytes,
        bytes_written: 0,
        stored: false,
    })
}

/// Step 1 and 4 of the module docs: the sibling's entry key, its include
/// set, and the fingerprints of the source and every file of the set.
///
/// Errors: the sibling misses, or a file is gone, differs or was written
/// in the current clock tick.
fn pin(m: &MissContext, source_hash: &Digest, sibling: &Sibling) -> Result<Pinned, NotShared> {
    let (d, cwd) = (m.d, &m.req.cwd);
    let now = coarse_now_ns();
    let manifest = d
        .storage()
        .manifest(&sibling.context)
        .ok_or(NotShared::NoManifest)?;
    let probe = Probe {
        cwd,
        env: &[],
        meta: d.meta(),
        noun: "header",
        listings: Some(d.listings()),
    };
    let entry = find(&manifest, &probe).map_err(NotShared::SiblingMisses)?;
    let set = manifest
        .sets
        .iter()
        .find(|s| s.entry == entry)
        .cloned()
        .ok_or(NotShared::SetGone)?;
    let source = &m.plan.inv.sources[m.index].path;
    let files = std::iter::once((source.as_str(), source_hash))
        .chain(set.files.iter().map(|f| (f.path.as_str(), &f.hash)));
    let mut fingerprints = Vec::with_capacity(set.files.len() + 1);
    for (path, hash) in files {
        let digest =
            d.meta()
                .digest(&resolve(cwd, path))
                .map_err(|source| NotShared::Unreadable {
                    path: path.to_string(),
                    source,
                })?;
        if digest.hash != *hash {
            return Err(NotShared::Changed(path.to_string()));
        }
        if digest.fingerprint.newest_ns() >= now {
            return Err(NotShared::Racy(path.to_string()));
        }
        fingerprints.push(digest.fingerprint);
    }
    Ok(Pinned {
        entry,
        set,
        fingerprints,
    })
}

/// The entry `key`, when it replays no output.
fn quiet_entry(d: &DaemonState, key: &RecordKey) -> Result<Entry, NotShared> {
    let entry = d
        .storage()
        .get_entry(key, EntryKind::Compile)?
        .ok_or(NotShared::EntryGone)?;
    if !entry.stdout.is_empty() || !entry.stderr.is_empty() {
        return Err(NotShared::Diagnostics);
    }
    Ok(entry)
}

/// Removes a temp file on drop.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// `-E` for this compile with its depfile options writing to a private
/// temp file; returns the run and the depfile's bytes.
fn preprocess_mine(m: &MissContext) -> Result<(std::process::Output, Vec<u8>), NotShared> {
    let d = m.d;
    let name = format!(
        "pp-{}-{}.d",
        std::process::id(),
        d.lifecycle().next_temp_id()
    );
    let temp = TempFile(d.tmp_dir().join(name));
    let path = temp.0.to_string_lossy().into_owned();
    let inv = &m.plan.inv;
    let dep_args = match &inv.depfile {
        Some(dep) => dep.to_args(&path, &inv.object_path(m.index)),
        None => vec!["-MD".to_string(), "-MF".to_string(), path],
    };
    let out = preprocess(m, &inv.common_args, &dep_args)?;
    let dep_text = std::fs::read(&temp.0).map_err(NotShared::PreprocessorDepfile)?;
    Ok((out, dep_text))
}

/// Run the request's compiler with `args ++ extra ++ -E [-x lang] source`,
/// output captured in memory.
///
/// Errors: it cannot start, or exits non-zero.
fn preprocess(
    m: &MissContext,
    args: &[String],
    extra: &[String],
) -> Result<std::process::Output, NotShared> {
    let source = &m.plan.inv.sources[m.index];
    let mut argv = args.to_vec();
    argv.extend_from_slice(extra);
    argv.push("-E".to_string());
    if let Some(lang) = &source.language {
        argv.push("-x".to_string());
        argv.push(lang.clone());
    }
    argv.push(source.path.clone());
    let out = compiler_command(m.req, &argv)
        .output()
        .map_err(NotShared::PreprocessorSpawn)?;
    if !out.status.success() {
        return Err(NotShared::PreprocessorFailed(out.status));
    }
    Ok(out)
}

/// Step 3 of the module docs.
fn same_inputs(
    m: &MissContext,
    set: &InputSet,
    entry: &Entry,
    dep_text: &[u8],
) -> Result<(), NotShared> {
    let mine = include_list(&m.req.cwd, m.plan, m.index, dep_text)?;
    // The set's files are the depfile's, then the files its include probes
    // found without reading them (`probes`), which are no part of `-E`'s
    // depfile.
    let read = set.files.iter().take(mine.len()).map(|f| &f.path);
    if set.files.len() < mine.len() || !mine.iter().eq(read) {
        return Err(NotShared::OtherFiles);
    }
    let inv = &m.plan.inv;
    let Some(dep) = &inv.depfile else {
        return Ok(());
    };
    let text = match entry.output(OutputRole::Depfile).map(|o| &o.content) {
        Some(Content::Inline(text)) => text.as_slice(),
        _ => return Err(NotShared::NoDepfile),
    };
    let args = dep.to_args("", &inv.object_path(m.index));
    let retargeted = dep_targets::retarget(text, &dep_targets::targets(&args));
    if retargeted.as_deref().unwrap_or(text) != dep_text {
        return Err(NotShared::DepfilesDiffer);
    }
    Ok(())
}

/// Step 5 of the module docs: this compile's manifest gains the sibling's
/// include set, and `explain` learns how the miss was served.
fn adopt(m: &MissContext, context: &RecordKey, set: InputSet) {
    let d = m.d;
    if let Err(e) = d.storage().add_input_set(context, set) {
        tracing::warn!(error = %e, "cannot save the manifest of a define-sibling hit");
    }
    let object = resolve(&m.req.cwd, &m.plan.inv.object_path(m.index));
    d.accounting().explanations().annotate(
        &object.to_string_lossy(),
        "served anyway by the preprocessor fallback: the same preprocessed output as \
         a stored compile that differs only in -D/-U options",
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group_of(args: &[&str]) -> Result<RecordKey, String> {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let inv = match crate::compiler::parse_gcc_args(&args, CompilerFamily::Gcc) {
            crate::compiler::Parsed::Cacheable(inv) => inv,
            other => panic!("{other:?}"),
        };
        let plan = Plan::for_test(inv, [7; 32]);
        let req = CompileRequest {
            compiler: "/usr/bin/gcc".into(),
            args,
            cwd: "/nonexistent/build".into(),
            env: vec![],
            client_pid: 1,
            umask: 0o022,
            prefix: None,
            verify_per_million: 0,
            base_dirs: Vec::new(),
            settings_from_env: false,
        };
        group_key(&req, &plan, 0, &[1; 32]).map_err(|e| e.to_string())
    }

    #[test]
    fn group_ignores_defines_and_output_names_only() {
        let st = group_of(&[
            "-O2", "-DA", "-MD", "-MT", "st/a.o", "-MF", "st/a.o.d", "-o", "st/a.o", "-c", "a.c",
        ]);
        let sh = group_of(&[
            "-O2",
            "-DA",
            "-D",
            "lib_EXPORTS",
            "-Ux",
            "-MD",
            "-MT",
            "sh/a.o",
            "-MF",
            "sh/a.o.d",
            "-o",
            "sh/a.o",
            "-c",
            "a.c",
        ]);
        assert_eq!(st, sh);
        let o3 = group_of(&["-O3", "-DA", "-MD", "-o", "st/a.o", "-c", "a.c"]);
        assert_ne!(st, o3, "other options split groups");
        let no_dep = group_of(&["-O2", "-DA", "-o", "st/a.o", "-c", "a.c"]);
        assert_ne!(st, no_dep, "the depfile request is part of the group");
        let rec = group_of(&["-O2", "-frecord-gcc-switches", "-c", "a.c"]);
        assert_eq!(rec, Err("option -frecord-gcc-switches".to_string()));
        assert!(group_of(&["-O2", "-c", "a.h"]).is_err(), "PCH producers");
    }
}
