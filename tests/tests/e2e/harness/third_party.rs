//! Real third-party source trees for whole-project tests (zlib-ng with its
//! upstream CMakeLists.txt), prepared by `bench/fixtures.sh` from the
//! crates.io crates that bundle them. `ZCCACHE_FIXTURES` names the
//! prepared dir (CI sets it after running the script, and a test then
//! fails rather than skips when a tree is missing); without it the
//! default `/tmp/zcbench/fixtures` is used, prepared on first use, and a
//! test skips with a note when that cannot be done (no network).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The prepared tree `name` (`zlib-ng`, `zlib`, `zstd`), or `None` after
/// a skip note.
pub fn third_party(name: &str) -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("ZCCACHE_FIXTURES") {
        let tree = Path::new(&dir).join(name);
        assert!(
            tree.is_dir(),
            "ZCCACHE_FIXTURES is set but has no {name}: {}",
            tree.display()
        );
        return Some(tree);
    }
    static PREPARED: OnceLock<Option<PathBuf>> = OnceLock::new();
    let root = PREPARED.get_or_init(prepare).as_ref()?;
    let tree = root.join(name);
    if !tree.is_dir() {
        eprintln!("skipping: third-party tree {name} not prepared");
        return None;
    }
    Some(tree)
}

fn prepare() -> Option<PathBuf> {
    let root = PathBuf::from("/tmp/zcbench");
    let fixtures = root.join("fixtures");
    if fixtures.join("zlib-ng/CMakeLists.txt").is_file() {
        return Some(fixtures);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/fixtures.sh");
    let status = std::process::Command::new("bash")
        .arg(&script)
        .env("ZCBENCH_ROOT", &root)
        .status();
    match status {
        Ok(s) if s.success() => Some(fixtures),
        other => {
            eprintln!("skipping: bench/fixtures.sh failed ({other:?})");
            None
        }
    }
}
