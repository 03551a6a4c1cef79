//! The compile request the lean launcher sends, and where it sends it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use zccache_client::locate;
use zccache_client::protocol::{CompileRequest, Request};

/// The daemon's socket: in `ZCCACHE_CACHE_DIR` (made absolute), else in the
/// default cache dir. `None` when there is no cache dir or its socket does
/// not live in it (a long path): the full program knows those cases.
pub(crate) fn socket() -> Option<PathBuf> {
    let root = match std::env::var_os("ZCCACHE_CACHE_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => locate::absolute(Path::new(&dir)),
        None => locate::default_cache_dir()?,
    };
    locate::direct_socket(&root)
}

/// One compile of `compiler` with `args`, from this process's working
/// directory and environment. The daemon resolves the launcher settings
/// (prefix, verify rate, base dirs) from that environment and the config
/// file it names. `None` when an argument or a variable is not UTF-8 (the
/// full program decides what to do with those).
pub(crate) fn compile_request(compiler: &Path, args: &[OsString]) -> Option<Request> {
    let args: Vec<String> = args
        .iter()
        .map(|a| a.to_str().map(str::to_string))
        .collect::<Option<_>>()?;
    let env: Vec<(String, String)> = std::env::vars_os()
        .map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect::<Option<_>>()?;
    Some(Request::Compile(CompileRequest {
        compiler: compiler.to_path_buf(),
        args,
        cwd: std::env::current_dir().ok()?,
        env,
        client_pid: std::process::id(),
        umask: current_umask(),
        prefix: None,
        verify_per_million: 0,
        base_dirs: Vec::new(),
        settings_from_env: true,
    }))
}

fn current_umask() -> u32 {
    // SAFETY: umask(2) cannot fail; the value is restored at once.
    unsafe {
        let m = libc::umask(0o022);
        libc::umask(m);
        m as u32
    }
}
