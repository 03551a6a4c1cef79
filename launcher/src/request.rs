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
    CompileRequest::of_this_process(compiler, args).map(Request::Compile)
}
