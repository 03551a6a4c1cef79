//! The layout of a cache directory: where the socket, the daemon's lock and
//! pid files, the logs and the store live (see `docs/CONTRACT.md`).

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Paths inside one cache root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheLayout {
    /// The cache root (absolute).
    pub root: PathBuf,
}

impl CacheLayout {
    /// Layout for the cache root `root` (expected absolute).
    pub fn new(root: &Path) -> CacheLayout {
        CacheLayout {
            root: root.to_path_buf(),
        }
    }

    /// The daemon's Unix socket: `<root>/daemon.sock`, or, when that path is
    /// too long for `sun_path`, `$XDG_RUNTIME_DIR` (else `/tmp`)
    /// `/zccache-<uid>-<hash of root>.sock`.
    pub fn socket(&self) -> PathBuf {
        if let Some(direct) = zccache_client::locate::direct_socket(&self.root) {
            return direct;
        }
        let base = std::env::var_os("XDG_RUNTIME_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/tmp"));
        let hash = blake3::hash(self.root.as_os_str().as_encoded_bytes());
        // SAFETY: getuid has no preconditions and cannot fail.
        let uid = unsafe { libc::getuid() };
        base.join(format!("zccache-{uid}-{}.sock", &hash.to_hex()[..16]))
    }

    /// Held with an exclusive `flock` by the running daemon.
    pub fn daemon_lock(&self) -> PathBuf {
        self.root.join("daemon.lock")
    }

    /// Serialises daemon start-ups among racing launchers.
    pub fn start_lock(&self) -> PathBuf {
        self.root.join("start.lock")
    }

    /// The running daemon's pid, as decimal text.
    pub fn pid_file(&self) -> PathBuf {
        self.root.join("daemon.pid")
    }

    /// Directory of the log files.
    pub fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// The daemon's log file.
    pub fn daemon_log(&self) -> PathBuf {
        self.logs().join("daemon.log")
    }

    /// The launchers' log file (fallback reasons).
    pub fn client_log(&self) -> PathBuf {
        self.logs().join("client.log")
    }

    /// Root of the content-addressed store.
    pub fn store(&self) -> PathBuf {
        self.root.join("store")
    }

    /// Create the root (0700) and the logs dir.
    ///
    /// Errors: the I/O error of the failing `mkdir`/`chmod`.
    pub fn ensure(&self) -> std::io::Result<()> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.root)?;
        let meta = std::fs::metadata(&self.root)?;
        if meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(&self.root, std::fs::Permissions::from_mode(0o700))?;
        }
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(self.logs())
    }
}

/// `p` made absolute against `cwd`.
pub fn resolve(cwd: &Path, p: &str) -> PathBuf {
    let path = Path::new(p);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    }
}

/// Lexical normalisation: drop `.` components and fold `x/..`.
///
/// This follows what the compiler does when it joins include names to
/// search dirs, which is textual.
pub fn normalize(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Write `data` to `dest` through a temp file in the same directory and a
/// rename, with permission bits `mode`.
///
/// Errors: the I/O error of any step.
pub fn write_atomically(dest: &Path, data: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    use std::io::Write;
    let mut tmp = tempfile::Builder::new()
        .prefix(".zccache-")
        .tempfile_in(dir)?;
    tmp.write_all(data)?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))?;
    tmp.persist(dest).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_roots_get_a_short_socket_path() {
        let long = PathBuf::from(format!("/tmp/{}", "x".repeat(200)));
        let sock = CacheLayout::new(&long).socket();
        assert!(sock.as_os_str().len() <= zccache_client::locate::MAX_SOCKET_PATH + 40);
        assert!(!sock.starts_with(&long));
        let short = CacheLayout::new(Path::new("/tmp/c"));
        assert_eq!(short.socket(), PathBuf::from("/tmp/c/daemon.sock"));
    }

    #[test]
    fn ensure_makes_a_private_root() {
        let d = tempfile::tempdir().unwrap();
        let l = CacheLayout::new(&d.path().join("cache"));
        l.ensure().unwrap();
        let mode = std::fs::metadata(&l.root).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}

#[cfg(test)]
mod lexical_tests {
    use super::*;

    #[test]
    fn normalize_is_lexical() {
        assert_eq!(normalize(Path::new("/a/./b/../c")), PathBuf::from("/a/c"));
    }
}
