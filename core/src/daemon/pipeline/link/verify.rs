//! Sampled hit verification for links and archives (see
//! [`crate::daemon::pipeline::verify`]): the named output (the linked
//! program or library, the archive), stdout and stderr are compared with a
//! rerun of the same call whose output is redirected into a private temp
//! dir. An archive update starts from the archive as it was before the hit
//! restored it (copied aside when the hit is sampled). Calls with outputs
//! named by options (`-Wl,-Map=…`) are not sampled: a rerun would write
//! them in place.

use super::super::runner::run_compiler;
use super::super::verify::{self, hash, Check, Observed};
use super::run::{JobKind, LinkJob};
use crate::daemon::state::DaemonState;
use crate::ipc::CompileRequest;
use crate::storage::{Content, Entry, OutputRole};
use std::path::{Path, PathBuf};

/// A sampled link or archive hit, captured before its outputs are restored.
pub(crate) struct Sample {
    check: Check,
}

/// Capture a sampled hit of `job` (call before restoring `entry`): `None`
/// when the rate does not pick it or it cannot be verified safely.
pub(crate) fn sample(
    d: &DaemonState,
    req: &CompileRequest,
    job: &LinkJob,
    entry: &Entry,
) -> Option<Sample> {
    if !job.extra_args.is_empty() || !verify::sampled(req) {
        return None;
    }
    let served = served(entry)?;
    let before = match job.kind {
        JobKind::Archive => Some(Snapshot::take(d, &job.output)?),
        JobKind::Link => None,
    };
    let rerun = Rerun {
        req: req.clone(),
        args: job.args.clone(),
        output_arg: job.output_arg.clone(),
        before,
    };
    let check = Check {
        req: req.clone(),
        source: job.output_arg.clone(),
        output: job.output_arg.clone(),
        context: job.keyed.key,
        entry: job.keyed.key,
        served,
        recompile: Box::new(move |d| rerun.run(d)),
    };
    Some(Sample { check })
}

/// Queue a captured sample once its hit was served.
pub(crate) fn enqueue(d: &DaemonState, sample: Sample) {
    verify::enqueue(d, sample.check);
}

/// The named output's blob hash, stdout and stderr of `entry`.
fn served(entry: &Entry) -> Option<Observed> {
    let Content::Blob(id) = &entry.output(OutputRole::LinkOutput)?.content else {
        return None;
    };
    let h = blake3::Hash::from_hex(&id.0).ok()?;
    Some(vec![
        ("output".into(), *h.as_bytes()),
        ("stdout".into(), hash(&entry.stdout)),
        ("stderr".into(), hash(&entry.stderr)),
    ])
}

/// The archive as it was before the hit (absent or a private copy).
struct Snapshot(Option<PathBuf>);

impl Snapshot {
    fn take(d: &DaemonState, archive: &Path) -> Option<Snapshot> {
        if !archive.exists() {
            return Some(Snapshot(None));
        }
        let id = format!("{}-{}", std::process::id(), d.lifecycle().next_temp_id());
        let copy = d.tmp_dir().join(format!("verify-pre-{id}.a"));
        std::fs::copy(archive, &copy).ok()?;
        Some(Snapshot(Some(copy)))
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        if let Some(p) = &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// How to rerun one sampled call.
struct Rerun {
    req: CompileRequest,
    args: Vec<String>,
    output_arg: String,
    before: Option<Snapshot>,
}

impl Rerun {
    /// Rerun with the output in a private temp dir (removed afterwards).
    fn run(&self, d: &DaemonState) -> Option<Observed> {
        let dir = tempfile::Builder::new()
            .prefix("verify-link-")
            .tempdir_in(d.tmp_dir())
            .ok()?;
        let name = Path::new(&self.output_arg).file_name()?;
        let target = dir.path().join(name);
        if let Some(Snapshot(Some(copy))) = &self.before {
            std::fs::copy(copy, &target).ok()?;
        }
        let target_arg = target.to_string_lossy().into_owned();
        let argv = redirect(&self.args, &self.output_arg, &target_arg)?;
        let out = run_compiler(&self.req, &argv).ok()?;
        if !out.status.success() {
            return None;
        }
        Some(vec![
            ("output".into(), hash(&std::fs::read(&target).ok()?)),
            ("stdout".into(), hash(&out.stdout)),
            ("stderr".into(), hash(&out.stderr)),
        ])
    }
}

/// `args` with the output `from` (as `-o X`, `-oX`, `--output=X`,
/// `--output X`, or a bare argument, the archive of `ar`/`ranlib`)
/// replaced by `to`; `None` when it occurs nowhere.
fn redirect(args: &[String], from: &str, to: &str) -> Option<Vec<String>> {
    let mut out = Vec::with_capacity(args.len());
    let mut found = false;
    for a in args {
        let replaced = if a == from {
            Some(to.to_string())
        } else if a.strip_prefix("-o") == Some(from) {
            Some(format!("-o{to}"))
        } else if a.strip_prefix("--output=") == Some(from) {
            Some(format!("--output={to}"))
        } else {
            None
        };
        found |= replaced.is_some();
        out.push(replaced.unwrap_or_else(|| a.clone()));
    }
    found.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_output_is_redirected_in_every_spelling() {
        let to = "/t/app";
        assert_eq!(
            redirect(&v(&["a.o", "-o", "app"]), "app", to),
            Some(v(&["a.o", "-o", "/t/app"]))
        );
        assert_eq!(
            redirect(&v(&["-oapp", "a.o"]), "app", to),
            Some(v(&["-o/t/app", "a.o"]))
        );
        assert_eq!(
            redirect(&v(&["--output=app"]), "app", to),
            Some(v(&["--output=/t/app"]))
        );
        assert_eq!(
            redirect(&v(&["qc", "lib.a", "a.o"]), "lib.a", "/t/lib.a"),
            Some(v(&["qc", "/t/lib.a", "a.o"]))
        );
        assert_eq!(redirect(&v(&["a.o"]), "app", to), None);
    }
}
