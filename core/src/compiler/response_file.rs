//! `@file` response-file expansion as the gcc and clang drivers do it (gcc
//! manual, "@file"; libiberty `expandargv` and `buildargv`). The expanded
//! argv is what the parser sees, so the cache key covers the file's content
//! rather than its name.

use std::io;
use std::path::{Path, PathBuf};

/// How many response files may be nested inside one another before
/// [`expand_response_files`] gives up with [`ResponseFileError::TooDeep`].
pub(crate) const MAX_RESPONSE_FILE_DEPTH: usize = 16;

/// Why a response file could not be expanded. The caller should run the
/// compiler uncached (it may well report the same problem itself).
#[derive(Debug, thiserror::Error)]
pub(crate) enum ResponseFileError {
    /// The file exists but reading it failed (permission denied, a
    /// directory, an I/O error).
    #[error("cannot read response file {}: {source}", path.display())]
    Unreadable {
        /// The resolved path of the response file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
    },
    /// The file's content is not valid UTF-8.
    #[error("response file {} is not valid UTF-8", path.display())]
    NotUtf8 {
        /// The resolved path of the response file.
        path: PathBuf,
    },
    /// Response files are nested more than [`MAX_RESPONSE_FILE_DEPTH`]
    /// levels deep (usually a file that includes itself).
    #[error("response files nested more than {MAX_RESPONSE_FILE_DEPTH} deep at {}", path.display())]
    TooDeep {
        /// The response file that would exceed the limit.
        path: PathBuf,
    },
}

/// Expands every `@file` argument into the arguments stored in `file`
/// (gcc manual, "@file"). The content is split like libiberty's
/// `buildargv`: whitespace separates arguments, single and double quotes
/// group, and a backslash escapes the next character (also inside quotes).
/// Arguments produced by a file are expanded again, up to
/// [`MAX_RESPONSE_FILE_DEPTH`] files deep.
///
/// Relative file names resolve against `cwd`, also for nested files (the
/// driver opens them relative to its own working directory). A file that
/// does not exist, and a bare `@`, are kept literally, as gcc does.
///
/// Errors: [`ResponseFileError::Unreadable`] when the file exists but cannot
/// be read (including a directory), [`ResponseFileError::NotUtf8`],
/// [`ResponseFileError::TooDeep`].
pub(crate) fn expand_response_files(
    args: &[String],
    cwd: &Path,
) -> Result<Vec<String>, ResponseFileError> {
    let mut out = Vec::with_capacity(args.len());
    for arg in args {
        expand_arg(arg, cwd, 0, &mut out)?;
    }
    Ok(out)
}

fn expand_arg(
    arg: &str,
    cwd: &Path,
    depth: usize,
    out: &mut Vec<String>,
) -> Result<(), ResponseFileError> {
    let name = match arg.strip_prefix('@') {
        Some(name) if !name.is_empty() => name,
        _ => {
            out.push(arg.to_string());
            return Ok(());
        }
    };
    let path = cwd.join(name);
    let Some(text) = read_response_file(&path)? else {
        out.push(arg.to_string());
        return Ok(());
    };
    if depth >= MAX_RESPONSE_FILE_DEPTH {
        return Err(ResponseFileError::TooDeep { path });
    }
    for inner in split_args(&text) {
        expand_arg(&inner, cwd, depth + 1, out)?;
    }
    Ok(())
}

/// The file's text, or `None` when it does not exist.
fn read_response_file(path: &Path) -> Result<Option<String>, ResponseFileError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ResponseFileError::Unreadable {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Some(text)),
        Err(_) => Err(ResponseFileError::NotUtf8 {
            path: path.to_path_buf(),
        }),
    }
}

/// libiberty `ISSPACE`: space, tab, newline, vertical tab, form feed, CR.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// Splits response-file text into arguments like libiberty `buildargv`.
/// Whitespace-only text yields no arguments; `''` yields one empty one.
fn split_args(text: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|&c| is_space(c)).is_some() {}
        if chars.peek().is_none() {
            return args;
        }
        args.push(take_arg(&mut chars));
    }
}

/// Consumes one argument (up to unquoted, unescaped whitespace).
fn take_arg(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> String {
    let mut arg = String::new();
    let (mut squote, mut dquote, mut escaped) = (false, false, false);
    while let Some(c) = chars.next_if(|&c| !is_space(c) || squote || dquote || escaped) {
        if escaped {
            escaped = false;
            arg.push(c);
        } else if c == '\\' {
            escaped = true;
        } else if squote {
            if c == '\'' {
                squote = false;
            } else {
                arg.push(c);
            }
        } else if dquote {
            if c == '"' {
                dquote = false;
            } else {
                arg.push(c);
            }
        } else if c == '\'' {
            squote = true;
        } else if c == '"' {
            dquote = true;
        } else {
            arg.push(c);
        }
    }
    arg
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn split_whitespace_quotes_escapes() {
        assert_eq!(
            split_args("  -c\t-O2\n\r\x0bfoo.c \x0c"),
            s(&["-c", "-O2", "foo.c"])
        );
        assert_eq!(split_args("'a b' \"c d\" e\\ f"), s(&["a b", "c d", "e f"]));
        assert_eq!(
            split_args("-DX='\"q\"' -DY=\"it's\""),
            s(&["-DX=\"q\"", "-DY=it's"])
        );
        assert_eq!(split_args("a'b'\"c\"d"), s(&["abcd"]));
        assert_eq!(split_args("'a\\'b' \"x\\\"y\""), s(&["a'b", "x\"y"]));
        assert_eq!(split_args("\\\\server\\\\x"), s(&["\\server\\x"]));
        assert_eq!(split_args("'' x"), s(&["", "x"]));
        assert_eq!(split_args("trailing\\"), s(&["trailing"]));
        assert_eq!(
            split_args("'unterminated quote"),
            s(&["unterminated quote"])
        );
        assert!(split_args(" \n\t ").is_empty());
        assert!(split_args("").is_empty());
    }

    #[test]
    fn expands_file_in_place() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("args.rsp"), "-I 'inc dir' -DX=1\n").unwrap();
        let out = expand_response_files(&s(&["-c", "@args.rsp", "a.c"]), dir.path()).unwrap();
        assert_eq!(out, s(&["-c", "-I", "inc dir", "-DX=1", "a.c"]));
    }

    #[test]
    fn absolute_path_and_nested_relative_to_cwd() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("sub")).unwrap();
        fs::write(dir.path().join("sub/inner.rsp"), "-O2").unwrap();
        // The nested name resolves against cwd, not against sub/.
        fs::write(dir.path().join("sub/outer.rsp"), "-c @sub/inner.rsp x.c").unwrap();
        let outer = dir.path().join("sub/outer.rsp");
        let arg = format!("@{}", outer.display());
        let out = expand_response_files(&[arg], dir.path()).unwrap();
        assert_eq!(out, s(&["-c", "-O2", "x.c"]));
    }

    #[test]
    fn missing_file_and_bare_at_kept_literally() {
        let dir = tempfile::tempdir().unwrap();
        let args = s(&["@nope.rsp", "@", "-c"]);
        assert_eq!(expand_response_files(&args, dir.path()).unwrap(), args);
    }

    #[test]
    fn empty_file_expands_to_nothing() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("e.rsp"), "  \n").unwrap();
        let out = expand_response_files(&s(&["-c", "@e.rsp"]), dir.path()).unwrap();
        assert_eq!(out, s(&["-c"]));
    }

    #[test]
    fn directory_is_unreadable() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("d")).unwrap();
        let err = expand_response_files(&s(&["@d"]), dir.path()).unwrap_err();
        assert!(
            matches!(err, ResponseFileError::Unreadable { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("cannot read response file"));
    }

    #[cfg(unix)]
    #[test]
    fn permission_denied_is_unreadable() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("secret.rsp");
        fs::write(&p, "-c").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o000)).unwrap();
        if fs::read(&p).is_ok() {
            return; // running as root: permissions are not enforced
        }
        let err = expand_response_files(&s(&["@secret.rsp"]), dir.path()).unwrap_err();
        assert!(
            matches!(err, ResponseFileError::Unreadable { .. }),
            "{err:?}"
        );
    }

    #[test]
    fn non_utf8_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("bad.rsp"), b"-c \xff\xfe").unwrap();
        let err = expand_response_files(&s(&["@bad.rsp"]), dir.path()).unwrap_err();
        assert!(matches!(err, ResponseFileError::NotUtf8 { .. }), "{err:?}");
    }

    #[test]
    fn self_reference_is_too_deep() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("loop.rsp"), "-c @loop.rsp").unwrap();
        let err = expand_response_files(&s(&["@loop.rsp"]), dir.path()).unwrap_err();
        assert!(matches!(err, ResponseFileError::TooDeep { .. }), "{err:?}");
    }

    #[test]
    fn depth_limit_is_exact() {
        let dir = tempfile::tempdir().unwrap();
        // Chain r0 -> r1 -> ... -> r{n-1} -> "-c".
        let chain = |n: usize| {
            for i in 0..n {
                let body = if i + 1 == n {
                    "-c".to_string()
                } else {
                    format!("@r{}", i + 1)
                };
                fs::write(dir.path().join(format!("r{i}")), body).unwrap();
            }
        };
        chain(MAX_RESPONSE_FILE_DEPTH);
        let out = expand_response_files(&s(&["@r0"]), dir.path()).unwrap();
        assert_eq!(out, s(&["-c"]));
        chain(MAX_RESPONSE_FILE_DEPTH + 1);
        let err = expand_response_files(&s(&["@r0"]), dir.path()).unwrap_err();
        assert!(matches!(err, ResponseFileError::TooDeep { .. }), "{err:?}");
    }
}
