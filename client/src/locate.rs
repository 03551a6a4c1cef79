//! Where things are, as the launcher sees them: the cache dir, the daemon's
//! socket in it, the real compiler on `PATH`, and the two executables (the
//! lean launcher `zccache` and the full program `zccache-daemon`, installed
//! side by side).

use std::ffi::OsStr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// File name of the lean launcher, the program integrations call.
pub const LAUNCHER_PROGRAM: &str = "zccache";
/// File name of the full program: the daemon, the admin commands, and the
/// complete launcher the lean one hands over to.
pub const FULL_PROGRAM: &str = "zccache-daemon";

/// Longest socket path bound directly; `sockaddr_un.sun_path` holds 108
/// bytes including the NUL (unix(7)).
pub const MAX_SOCKET_PATH: usize = 100;

/// The default cache dir: `$XDG_CACHE_HOME/zccache`, else
/// `~/.cache/zccache` (XDG Base Directory spec). `None` without a home.
pub fn default_cache_dir() -> Option<PathBuf> {
    dirs::cache_dir().map(|d| d.join("zccache"))
}

/// `p` made absolute against the working directory (kept as is when that
/// is unknown). No symlink is resolved.
pub fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}

/// `<root>/daemon.sock` when that path fits in `sun_path`
/// ([`MAX_SOCKET_PATH`]); `None` for longer roots, whose socket lives
/// elsewhere (the full program's cache layout knows where).
pub fn direct_socket(root: &Path) -> Option<PathBuf> {
    let direct = root.join("daemon.sock");
    (direct.as_os_str().len() <= MAX_SOCKET_PATH).then_some(direct)
}

/// The executable `name` in the directory of the running one, if it
/// exists there.
pub fn sibling_program(name: &str) -> Option<PathBuf> {
    let dir = std::env::current_exe().ok()?.parent()?.to_path_buf();
    let path = dir.join(name);
    path.is_file().then_some(path)
}

/// Find the real compiler: a path as given, else the first match on `PATH`
/// that is not a zccache executable (so masquerade symlinks never recurse).
/// A path naming one of our own masquerade links (as `emcmake` records it,
/// with zccache also set as the launcher) means "the real tool of that
/// name" and is looked up on `PATH` the same way. `None` when not found.
pub fn resolve_compiler(name: &OsStr) -> Option<PathBuf> {
    let ours = our_programs();
    let is_ours = |p: &Path| {
        std::fs::metadata(p)
            .ok()
            .is_some_and(|m| ours.contains(&(m.dev(), m.ino())))
    };
    let given = Path::new(name);
    if given.components().count() > 1 {
        if !is_ours(given) {
            return std::path::absolute(given).ok();
        }
        return resolve_compiler(given.file_name()?);
    }
    which::which_all(name)
        .ok()?
        .find(|cand| std::fs::metadata(cand).is_ok() && !is_ours(cand))
}

/// `(device, inode)` of the running executable and of the other zccache
/// executable next to it: a masquerade link to either is never the real
/// compiler (compared by identity: one stat each, no realpath walk).
fn our_programs() -> Vec<(u64, u64)> {
    let id = |p: &Path| std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()));
    let mut ours: Vec<(u64, u64)> = id(Path::new("/proc/self/exe")).into_iter().collect();
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        for name in [LAUNCHER_PROGRAM, FULL_PROGRAM] {
            ours.extend(id(&dir.join(name)));
        }
    }
    ours
}

/// The executable integrations should call: the lean launcher next to the
/// running program, else the running program itself (a full program
/// installed alone still serves every call, just slower).
///
/// Errors: the I/O error of `current_exe` (no `/proc`).
pub fn launcher_program() -> std::io::Result<PathBuf> {
    match sibling_program(LAUNCHER_PROGRAM) {
        Some(p) => Ok(p),
        None => std::env::current_exe(),
    }
}
