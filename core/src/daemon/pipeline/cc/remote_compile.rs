//! A miss of the C pipeline compiled on a REAPI cluster (Bazel Remote
//! Execution API v2), the way recc does it: the compiler's own dependency
//! output (`-M`, run locally) names every file the compile reads, and
//! those files become the input root; the outputs are the object and a
//! depfile next to it. The worker must provide the compiler at the same
//! path (a REAPI worker image, or buildbox-run's `--ro-bind-mount`); the
//! compiler identity is the action's salt, so a result of another
//! compiler is never shared, and the configured platform properties
//! select the workers.
//!
//! Where the input root sits ([`InputLayout`]): when the cwd lies under a
//! base dir (whose paths the plan already made relative, as recc's
//! `RECC_PROJECT_ROOT` does) and the object embeds no working directory
//! (no debug info), the root is that base dir: the files under it at
//! their relative paths, the working directory the cwd relative to it,
//! and everything outside (system headers) left to the worker, so any
//! REAPI worker can run it. Otherwise the root is `/` and every file sits
//! at its absolute path, which needs a worker that runs the action in a
//! chroot of its input root (buildbox-run, buildbox-worker).
//!
//! Only a clean success is used as it is: a remote compile that failed or
//! printed anything is compiled again locally, so the build sees exactly
//! the local compiler's diagnostics and exit code (as the farm path does).
//! emcc, a source or object outside the cwd tree, or any remote failure
//! compile locally.

use super::plan::Plan;
use crate::compiler::family::CompilerFamily;
use crate::daemon::pipeline::runner::{run_compiler, without_jobserver};
use crate::daemon::state::DaemonState;
use crate::depfile;
use crate::ipc::CompileRequest;
use crate::paths::{normalize, resolve};
use crate::reapi::execute::{ActionSpec, Executed};
use crate::reapi::input_root::InputRootBuilder;
use std::os::unix::process::ExitStatusExt;
use std::path::{Component, Path, PathBuf};
use std::process::{ExitStatus, Output};

/// The `PATH` of remote compiles (the driver finds `as` on it).
const REMOTE_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// One source of a request to compile remotely.
pub(crate) struct RemoteSource<'a> {
    /// Daemon state.
    pub d: &'a DaemonState,
    /// The request.
    pub req: &'a CompileRequest,
    /// Its plan.
    pub plan: &'a Plan,
    /// Which source.
    pub index: usize,
}

/// Where the outputs of a remote compile go: the private temp paths of
/// the object and the depfile.
pub(crate) struct TempPaths<'a> {
    /// The object's temp path.
    pub object: &'a Path,
    /// The depfile's temp path.
    pub depfile: &'a Path,
}

/// Compile `m`'s source on the cluster into `temps`; `None` when there is
/// no executor, the compile does not suit remote execution, the cluster
/// failed, or the remote result must be redone locally (see the module
/// docs). The caller then compiles locally.
pub(crate) fn compile(m: &RemoteSource, temps: &TempPaths) -> Option<Output> {
    let executor = m.d.executor()?;
    if CompilerFamily::from_path(&m.req.compiler) == CompilerFamily::Emcc {
        return None;
    }
    let paths = OutputPaths::of(m)?;
    let executed = executor.run(|| action(m, &paths, executor.properties()))?;
    if executed.exit_code != 0 || !executed.stderr.is_empty() {
        executor.rerun_locally();
        let stderr = String::from_utf8_lossy(&executed.stderr);
        tracing::debug!(exit_code = executed.exit_code, %stderr, "remote compile not clean; compiling locally");
        return None;
    }
    if write_outputs(&executed, &paths, temps).is_none() {
        executor.unusable_result();
        return None;
    }
    Some(Output {
        status: ExitStatus::from_raw(0),
        stdout: executed.stdout,
        stderr: executed.stderr,
    })
}

/// The remote outputs, relative to the working directory.
struct OutputPaths {
    /// The object as the build names it.
    object_arg: String,
    /// The object, relative to the cwd.
    object: String,
    /// The depfile written next to it.
    depfile: String,
}

impl OutputPaths {
    /// `None` when the object is not inside the cwd tree (REAPI outputs are
    /// relative to the working directory).
    fn of(m: &RemoteSource) -> Option<OutputPaths> {
        let object_arg = m.plan.inv.object_path(m.index);
        let absolute = normalize(&resolve(&m.req.cwd, &object_arg));
        let object = absolute
            .strip_prefix(normalize(&m.req.cwd))
            .ok()?
            .to_str()?
            .to_string();
        if object.is_empty() {
            return None;
        }
        let depfile = format!("{object}.zccache-remote.d");
        Some(OutputPaths {
            object_arg,
            object,
            depfile,
        })
    }
}

/// The action of `m`'s compile.
///
/// Errors: why it cannot run remotely (a failed dependency run, an
/// unreadable input, a path the input root cannot hold).
fn action(
    m: &RemoteSource,
    paths: &OutputPaths,
    properties: &[(String, String)],
) -> Result<ActionSpec, String> {
    let layout = InputLayout::of(m);
    let cwd = layout
        .relative(&m.req.cwd)
        .ok_or("cwd outside the input root")?;
    let mut root = InputRootBuilder::default();
    root.add_dir(&cwd).map_err(|e| e.to_string())?;
    let inputs = dependencies(m)?;
    tracing::trace!(count = inputs.len(), root = %layout.root.display(), "remote compile inputs");
    for input in inputs {
        layout.add_input(&mut root, &m.req.cwd, &input)?;
    }
    let inv = &m.plan.inv;
    let dep_args = match &inv.depfile {
        Some(dep) => dep.to_args(&paths.depfile, &paths.object_arg),
        None => vec!["-MD".into(), "-MF".into(), paths.depfile.clone()],
    };
    let mut arguments = vec![m
        .req
        .compiler
        .to_str()
        .ok_or("compiler path not UTF-8")?
        .to_string()];
    arguments.push("-pipe".into());
    arguments.extend(inv.compile_argv(m.index, &paths.object_arg, &dep_args));
    let mut environment = m.plan.key_env.clone();
    environment.push(("PATH".into(), REMOTE_PATH.into()));
    Ok(ActionSpec {
        arguments,
        environment,
        outputs: vec![paths.object.clone(), paths.depfile.clone()],
        working_directory: cwd,
        input_root: root.finish().map_err(|e| e.to_string())?,
        salt: m.plan.identity.to_vec(),
        properties: properties.to_vec(),
    })
}

/// Every file the compile reads, as the compiler names them (the source
/// among them), from a local `-M` run.
///
/// Errors: the dependency run failed or its output does not parse.
fn dependencies(m: &RemoteSource) -> Result<Vec<String>, String> {
    let dep = m.d.tmp_dir().join(format!(
        "remote-deps-{}-{}.d",
        std::process::id(),
        m.d.lifecycle().next_temp_id()
    ));
    let dep_arg = dep.to_str().ok_or("temp path not UTF-8")?.to_string();
    let argv = m
        .plan
        .inv
        .compile_argv(m.index, "/dev/null", &["-M".into(), "-MF".into(), dep_arg]);
    let run = run_compiler(&without_jobserver(m.req), &argv);
    let text = std::fs::read(&dep);
    let _ = std::fs::remove_file(&dep);
    match run {
        Ok(out) if out.status.success() => {}
        Ok(out) => return Err(format!("dependency run failed: {}", out.status)),
        Err(e) => return Err(format!("dependency run: {e}")),
    }
    let text = text.map_err(|e| format!("dependency output: {e}"))?;
    let rules = depfile::parse(&text).map_err(|e| format!("dependency output: {e}"))?;
    Ok(depfile::prerequisites(&rules))
}

/// Where the input root sits in the local file system (see the module
/// docs).
struct InputLayout {
    /// The local directory that is the root of the input root.
    root: PathBuf,
}

impl InputLayout {
    /// The base dir holding the cwd when the compile is relocatable, else
    /// `/`.
    fn of(m: &RemoteSource) -> InputLayout {
        let cwd = normalize(&m.req.cwd);
        let base = match m.plan.inv.debug_info {
            true => None,
            false => m.plan.base_dirs.containing(&cwd),
        };
        InputLayout {
            root: base.map_or_else(|| PathBuf::from("/"), Path::to_path_buf),
        }
    }

    /// `path` (absolute, normalised) relative to the root, `/`-separated;
    /// `None` when it lies outside or is not UTF-8 (the root itself is the
    /// empty path).
    fn relative(&self, path: &Path) -> Option<String> {
        let rel = normalize(path)
            .strip_prefix(&self.root)
            .ok()?
            .to_str()?
            .to_string();
        Some(rel)
    }

    /// Add the file `name` (as the compiler named it, from `cwd`) to the
    /// input root, with the directories a `..` in it walks through; a file
    /// outside a base-dir root is left to the worker.
    ///
    /// Errors: the file cannot be read, or lies outside a `/` root.
    fn add_input(&self, root: &mut InputRootBuilder, cwd: &Path, name: &str) -> Result<(), String> {
        let raw = resolve(cwd, name);
        let path = normalize(&raw);
        let Some(rel) = self.relative(&path) else {
            return match self.root == Path::new("/") {
                true => Err(format!("input path {} not UTF-8", path.display())),
                false => Ok(()),
            };
        };
        let mut walked = PathBuf::new();
        for component in raw.components() {
            if component == Component::ParentDir {
                if let Some(dir) = self.relative(&walked) {
                    root.add_dir(&dir).map_err(|e| e.to_string())?;
                }
            }
            walked.push(component.as_os_str());
        }
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        root.add_file(&rel, bytes, false).map_err(|e| e.to_string())
    }
}

/// Write the remote object and depfile into the temp outputs; `None` when
/// one is missing or cannot be written.
fn write_outputs(executed: &Executed, paths: &OutputPaths, temps: &TempPaths) -> Option<()> {
    let find = |want: &str| {
        executed
            .outputs
            .iter()
            .find(|(p, _)| p == want)
            .map(|(_, b)| b)
    };
    let object = find(&paths.object)?;
    let depfile = find(&paths.depfile)?;
    let written =
        std::fs::write(temps.object, object).and_then(|()| std::fs::write(temps.depfile, depfile));
    match written {
        Ok(()) => Some(()),
        Err(e) => {
            tracing::warn!(error = %e, "writing the remote outputs; compiling locally");
            None
        }
    }
}
