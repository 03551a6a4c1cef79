//! Which mode an argv selects, for both executables: masquerade (`argv[0]`
//! is a compiler name, e.g. a `gcc` symlink to zccache), launcher
//! (`zccache gcc -c a.c`), or an admin command (`zccache stats`).

use std::ffi::OsString;
use std::path::Path;

/// Words that select an admin command instead of a compiler (ccache and
/// sccache use the same shape: `zccache <word>` or `zccache <compiler> ...`).
pub const ADMIN_WORDS: &[&str] = &[
    "start",
    "stop",
    "status",
    "stats",
    "clear",
    "config",
    "daemon",
    "session-start",
    "session-stats",
    "session-end",
    "analyze",
    "explain",
    "release-handles",
    "fp",
    "exec",
    "emsdk",
    "cmake-module",
    "meson",
    "remote",
    "help",
    "--help",
    "-h",
    "--version",
    "-V",
];

/// Names that masquerade mode accepts as `argv[0]` (exact file names):
/// `gcc`, `g++`, `cc`, `c++`, `clang`, `clang++`, `emcc`, `em++` (see
/// docs/CONTRACT.md).
pub fn is_masquerade_name(name: &str) -> bool {
    matches!(
        name,
        "gcc" | "g++" | "cc" | "c++" | "clang" | "clang++" | "emcc" | "em++"
    )
}

/// What one argv asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Compile through the cache: the compiler as named (a bare name is
    /// looked up on `PATH`) and its arguments.
    Compile {
        /// `argv[0]`'s file name (masquerade) or `argv[1]` (launcher).
        compiler: OsString,
        /// The compiler's arguments.
        args: Vec<OsString>,
    },
    /// An admin command, or no arguments at all (usage).
    Admin,
}

/// Classify `args` (the whole argv, `argv[0]` included).
pub fn mode(args: &[OsString]) -> Mode {
    let argv0 = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if is_masquerade_name(&argv0) {
        return Mode::Compile {
            compiler: OsString::from(argv0),
            args: args.get(1..).unwrap_or_default().to_vec(),
        };
    }
    match args.get(1).map(|a| a.to_str()) {
        None => Mode::Admin,
        Some(Some(word)) if ADMIN_WORDS.contains(&word) => Mode::Admin,
        Some(_) => Mode::Compile {
            compiler: args[1].clone(),
            args: args[2..].to_vec(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn masquerade_launcher_and_admin_are_told_apart() {
        assert_eq!(
            mode(&argv(&["/usr/lib/zccache/g++", "-c", "a.cc"])),
            Mode::Compile {
                compiler: "g++".into(),
                args: argv(&["-c", "a.cc"])
            }
        );
        assert_eq!(
            mode(&argv(&["zccache", "gcc", "-c", "a.c"])),
            Mode::Compile {
                compiler: "gcc".into(),
                args: argv(&["-c", "a.c"])
            }
        );
        assert_eq!(mode(&argv(&["zccache", "stats"])), Mode::Admin);
        assert_eq!(mode(&argv(&["zccache"])), Mode::Admin);
        assert_eq!(mode(&argv(&["zccache", "--version"])), Mode::Admin);
    }

    #[test]
    fn only_exact_compiler_names_masquerade() {
        for n in [
            "gcc", "g++", "cc", "c++", "clang", "clang++", "emcc", "em++",
        ] {
            assert!(is_masquerade_name(n), "{n}");
        }
        for n in ["gcc-12", "zccache", "emcc.py", "/usr/bin/gcc", "rustc"] {
            assert!(!is_masquerade_name(n), "{n}");
        }
    }
}
