//! `zccache meson native-file`: a Meson native file whose `[binaries]`
//! put zccache in front of the compilers Meson would pick (`CC`/`CXX`
//! from the environment, else `cc`/`c++`; `objc`/`objcpp` from
//! `OBJC`/`OBJCXX`, else clang when found), and `ar` (`AR`, else `ar`) so
//! static libraries are cached too. With `--install` it goes to
//! `$XDG_DATA_HOME/meson/native/zccache`, where `meson setup --native-file
//! zccache` finds it (Meson manual, "Native environments").

use super::cmake::xdg_data_home;
use std::path::{Path, PathBuf};

/// The template (`meson/native-file.ini.in`).
const TEMPLATE: &str = include_str!("../../../meson/native-file.ini.in");

/// Errors while generating the native file.
#[derive(Debug, thiserror::Error)]
pub(crate) enum NativeFileError {
    /// A compiler was not found on PATH.
    #[error("compiler {0:?} not found on PATH")]
    CompilerNotFound(String),
    /// The zccache binary's own path is unknown.
    #[error("cannot locate the zccache binary: {0}")]
    SelfPath(std::io::Error),
    /// The file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The destination.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Compilers requested on the command line (`None`: Meson's choice).
#[derive(Debug, Default, Clone)]
pub(crate) struct Compilers {
    /// `--cc`.
    pub cc: Option<String>,
    /// `--cxx`.
    pub cxx: Option<String>,
}

/// The native file text for `zccache` at `zccache` and `compilers`.
///
/// Errors: [`NativeFileError::CompilerNotFound`] for a missing C or C++
/// compiler (objc ones are optional).
pub(crate) fn native_file(
    zccache: &Path,
    compilers: &Compilers,
) -> Result<String, NativeFileError> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let cc = compilers
        .cc
        .clone()
        .or_else(|| env("CC"))
        .unwrap_or("cc".into());
    let cxx = compilers
        .cxx
        .clone()
        .or_else(|| env("CXX"))
        .unwrap_or("c++".into());
    let mut lines = vec![
        entry("c", zccache, &command(&cc)?),
        entry("cpp", zccache, &command(&cxx)?),
    ];
    let optional = [
        ("objc", "OBJC", "clang"),
        ("objcpp", "OBJCXX", "clang++"),
        ("ar", "AR", "ar"),
    ];
    for (lang, var, fallback) in optional {
        let wanted = env(var).unwrap_or(fallback.to_string());
        if let Ok(cmd) = command(&wanted) {
            lines.push(entry(lang, zccache, &cmd));
        }
    }
    Ok(TEMPLATE.replace("@BINARIES@", &lines.join("\n")))
}

/// Write the native file for the running binary to `dest`, or to the
/// install location when `dest` is `None`; returns the path written.
///
/// Errors: [`NativeFileError`].
pub(crate) fn install(
    compilers: &Compilers,
    dest: Option<&Path>,
) -> Result<PathBuf, NativeFileError> {
    let text = native_file(&self_path()?, compilers)?;
    let dest = dest.map(Path::to_path_buf).unwrap_or_else(install_path);
    let write_err = |source| NativeFileError::Write {
        path: dest.display().to_string(),
        source,
    };
    if let Some(dir) = dest.parent() {
        std::fs::create_dir_all(dir).map_err(write_err)?;
    }
    crate::paths::write_atomically(&dest, text.as_bytes(), 0o644).map_err(write_err)?;
    Ok(dest)
}

/// The `zccache` launcher the native file names (next to this program),
/// absolute.
///
/// Errors: [`NativeFileError::SelfPath`].
pub(crate) fn self_path() -> Result<PathBuf, NativeFileError> {
    zccache_client::locate::launcher_program().map_err(NativeFileError::SelfPath)
}

/// `$XDG_DATA_HOME/meson/native/zccache`.
pub(crate) fn install_path() -> PathBuf {
    xdg_data_home().join("meson/native/zccache")
}

/// A compiler command (`gcc -m32` allowed, as in `CC`): the first word
/// resolved to an absolute path, the rest kept.
fn command(spec: &str) -> Result<Vec<String>, NativeFileError> {
    let mut words = spec.split_whitespace();
    let first = words.next().unwrap_or_default();
    let path = which::which(first).map_err(|_| NativeFileError::CompilerNotFound(first.into()))?;
    let mut out = vec![path.to_string_lossy().into_owned()];
    out.extend(words.map(str::to_string));
    Ok(out)
}

fn entry(lang: &str, zccache: &Path, cmd: &[String]) -> String {
    let mut items = vec![quote(&zccache.to_string_lossy())];
    items.extend(cmd.iter().map(|c| quote(c)));
    format!("{lang} = [{}]", items.join(", "))
}

/// A Meson string literal (single quotes, `\` and `'` escaped).
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_file_names_absolute_compilers() {
        let c = Compilers {
            cc: Some("sh".into()),
            cxx: Some("sh -x".into()),
        };
        let text = native_file(Path::new("/bin/zccache"), &c).unwrap();
        assert!(text.contains("[binaries]"), "{text}");
        let sh = which::which("sh").unwrap();
        assert!(
            text.contains(&format!("c = ['/bin/zccache', '{}']", sh.display())),
            "{text}"
        );
        assert!(text.contains(&format!("cpp = ['/bin/zccache', '{}', '-x']", sh.display())));
        let missing = Compilers {
            cc: Some("no-such-compiler-zz".into()),
            cxx: None,
        };
        assert!(native_file(Path::new("/z"), &missing).is_err());
        assert_eq!(quote("a'b"), "'a\\'b'");
    }
}
