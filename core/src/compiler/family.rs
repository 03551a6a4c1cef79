//! Compiler family detection from a driver's file name alone (no exec).
//! Cross and versioned driver names such as `x86_64-linux-gnu-gcc-12` or
//! `clang++-14` are recognised; anything unrecognised is `Unknown`, which
//! the caller treats as non-cacheable.

use std::path::Path;

/// The kind of compiler driver, which decides how its argv is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub(crate) enum CompilerFamily {
    /// GNU gcc / g++ (and `cc` / `c++`, which are gcc on most Linux systems).
    Gcc,
    /// LLVM clang / clang++.
    Clang,
    /// Emscripten's emcc / em++ driver.
    Emcc,
    /// The Rust compiler.
    Rustc,
    /// A standalone linker: GNU `ld` (`ld.bfd`), `ld.gold`/`gold`,
    /// `ld.lld`/`lld`, `ld.mold`/`mold`, optionally with a target prefix.
    Ld,
    /// An archiver: GNU `ar`, `gcc-ar`, `llvm-ar`, optionally with a target
    /// prefix and/or version suffix.
    Ar,
    /// An archive indexer: `ranlib`, `gcc-ranlib`, `llvm-ranlib`, decorated
    /// like the archivers.
    Ranlib,
    /// Anything else.
    Unknown,
}

/// Driver base names whose family is gcc, with a flag saying whether a
/// version may follow without a dash (`gcc12`, as FreeBSD installs it).
const GCC_BASES: &[(&str, bool)] = &[("gcc", true), ("g++", true), ("cc", false), ("c++", false)];
/// Driver base names whose family is clang (see [`GCC_BASES`]).
const CLANG_BASES: &[(&str, bool)] = &[("clang", true), ("clang++", true)];

impl CompilerFamily {
    /// The family of the driver at `path`, judged from its file name only
    /// (a trailing `.exe` is ignored):
    /// - `gcc`, `g++`, `cc`, `c++`, optionally with a target prefix
    ///   (`x86_64-linux-gnu-gcc`) and/or a version suffix (`gcc-12`,
    ///   `g++-12.2`, `gcc12`) => `Gcc`;
    /// - `clang`, `clang++` with the same decorations => `Clang`
    ///   (`clang-cl` and `clang-cpp` are not gcc-style drivers => `Unknown`);
    /// - `emcc`, `em++`, `emcc.py`, `em++.py` => `Emcc`;
    /// - `rustc` => `Rustc`;
    /// - `ld`, `ld.bfd`, `ld.gold`, `gold`, `ld.lld`, `lld`, `ld.mold`,
    ///   `mold` (with a target prefix) => `Ld`;
    /// - `ar`, `gcc-ar`, `llvm-ar` (with a target prefix and/or a dash
    ///   version) => `Ar`; `ranlib`, `gcc-ranlib`, `llvm-ranlib` likewise
    ///   => `Ranlib`;
    /// - anything else (including `c++filt`, `cc1`) => `Unknown`.
    pub(crate) fn from_path(path: &Path) -> CompilerFamily {
        match path.file_name().and_then(|n| n.to_str()) {
            Some(name) => from_file_name(name),
            None => CompilerFamily::Unknown,
        }
    }

    /// True for the families [`super::gcc::parse_gcc_args`] handles:
    /// `Gcc` and `Clang`.
    pub(crate) fn is_c_family(self) -> bool {
        matches!(self, CompilerFamily::Gcc | CompilerFamily::Clang)
    }
}

/// True when `path` names one of emscripten's Python drivers (`emcc`,
/// `em++`, `emar`, `emranlib`, with or without `.py`): their identity is
/// emscripten's (version, driver sources, config, LLVM tools), not the
/// driver file's alone.
pub(crate) fn is_emscripten_tool(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let name = name.strip_suffix(".py").unwrap_or(name);
    matches!(name, "emcc" | "em++" | "emar" | "emranlib")
}

fn from_file_name(name: &str) -> CompilerFamily {
    let name = name.strip_suffix(".exe").unwrap_or(name);
    match name {
        "emcc" | "em++" | "emcc.py" | "em++.py" => return CompilerFamily::Emcc,
        // emscripten's archiver and indexer: llvm-ar/llvm-ranlib behind a
        // Python driver (their identity is emscripten's, see
        // `is_emscripten_tool`).
        "emar" | "emar.py" => return CompilerFamily::Ar,
        "emranlib" | "emranlib.py" => return CompilerFamily::Ranlib,
        "rustc" => return CompilerFamily::Rustc,
        _ => {}
    }
    if let Some(tool) = tool_family(name) {
        return tool;
    }
    if CLANG_BASES
        .iter()
        .any(|&(b, bare)| is_driver(name, b, bare))
    {
        CompilerFamily::Clang
    } else if GCC_BASES.iter().any(|&(b, bare)| is_driver(name, b, bare)) {
        CompilerFamily::Gcc
    } else {
        CompilerFamily::Unknown
    }
}

/// Linkers and archivers, with an optional `<target>-` prefix (and for the
/// archivers a `-<version>` suffix).
fn tool_family(name: &str) -> Option<CompilerFamily> {
    const LINKERS: &[&str] = &[
        "ld", "ld.bfd", "ld.gold", "gold", "ld.lld", "lld", "ld.mold", "mold",
    ];
    const ARCHIVERS: &[&str] = &["ar", "gcc-ar", "llvm-ar"];
    const INDEXERS: &[&str] = &["ranlib", "gcc-ranlib", "llvm-ranlib"];
    if LINKERS.iter().any(|b| is_prefixed_base(name, b)) {
        return Some(CompilerFamily::Ld);
    }
    let stem = strip_dash_version(name);
    if ARCHIVERS.iter().any(|b| is_prefixed_base(stem, b)) {
        return Some(CompilerFamily::Ar);
    }
    if INDEXERS.iter().any(|b| is_prefixed_base(stem, b)) {
        return Some(CompilerFamily::Ranlib);
    }
    None
}

/// True when `name` is `base`, optionally preceded by `<target>-` and
/// followed by `-<version>` (or a bare `<version>` when `bare_version`).
fn is_driver(name: &str, base: &str, bare_version: bool) -> bool {
    let dashed = strip_dash_version(name);
    if is_prefixed_base(dashed, base) {
        return true;
    }
    bare_version && dashed == name && is_prefixed_base(strip_bare_version(name), base)
}

fn is_prefixed_base(stem: &str, base: &str) -> bool {
    match stem.strip_suffix(base) {
        Some(prefix) => prefix.is_empty() || prefix.ends_with('-'),
        None => false,
    }
}

fn is_version(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_digit()) && s.chars().all(|c| c.is_ascii_digit() || c == '.')
}

/// `gcc-12.2` => `gcc`; names without a numeric `-` suffix are unchanged.
fn strip_dash_version(name: &str) -> &str {
    match name.rsplit_once('-') {
        Some((stem, version)) if is_version(version) => stem,
        _ => name,
    }
}

/// `gcc12` => `gcc`; names without a numeric suffix are unchanged.
fn strip_bare_version(name: &str) -> &str {
    let stem = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    if stem.ends_with('-') {
        name
    } else {
        stem
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fam(p: &str) -> CompilerFamily {
        CompilerFamily::from_path(Path::new(p))
    }

    #[test]
    fn gcc_names() {
        for n in [
            "gcc",
            "g++",
            "cc",
            "c++",
            "gcc-12",
            "g++-12",
            "gcc-12.2.0",
            "x86_64-linux-gnu-gcc-12",
            "aarch64-linux-gnu-g++",
            "arm-none-eabi-gcc",
            "i686-w64-mingw32-c++",
            "/usr/bin/gcc",
            "gcc12",
            "gcc.exe",
        ] {
            assert_eq!(fam(n), CompilerFamily::Gcc, "{n}");
        }
    }

    #[test]
    fn clang_names() {
        for n in [
            "clang",
            "clang++",
            "clang-14",
            "clang++-14",
            "x86_64-pc-linux-gnu-clang",
            "/opt/llvm/bin/clang++",
            "clang14",
        ] {
            assert_eq!(fam(n), CompilerFamily::Clang, "{n}");
        }
    }

    #[test]
    fn other_names() {
        assert_eq!(fam("emcc"), CompilerFamily::Emcc);
        assert_eq!(fam("em++"), CompilerFamily::Emcc);
        assert_eq!(
            fam("/emsdk/upstream/emscripten/emcc.py"),
            CompilerFamily::Emcc
        );
        assert_eq!(fam("rustc"), CompilerFamily::Rustc);
        for n in [
            "ld",
            "ld.gold",
            "ld.lld",
            "x86_64-linux-gnu-ld",
            "/usr/bin/ld.bfd",
        ] {
            assert_eq!(fam(n), CompilerFamily::Ld, "{n}");
        }
        for n in [
            "ar",
            "gcc-ar",
            "gcc-ar-12",
            "llvm-ar",
            "llvm-ar-15",
            "x86_64-linux-gnu-ar",
            "emar",
            "/emsdk/upstream/emscripten/emar.py",
        ] {
            assert_eq!(fam(n), CompilerFamily::Ar, "{n}");
        }
        assert_eq!(fam("emranlib"), CompilerFamily::Ranlib);
        assert!(is_emscripten_tool(Path::new("/usr/bin/emar")));
        assert!(is_emscripten_tool(Path::new("em++.py")));
        assert!(!is_emscripten_tool(Path::new("/usr/bin/ar")));
        for n in [
            "ranlib",
            "gcc-ranlib-12",
            "llvm-ranlib",
            "x86_64-linux-gnu-ranlib",
        ] {
            assert_eq!(fam(n), CompilerFamily::Ranlib, "{n}");
        }
        for n in [
            "c++filt",
            "cc1",
            "cc1plus",
            "tcc",
            "mpicc",
            "clang-cl",
            "clang-cpp",
            "ccache",
            "zccache",
            "ldd",
            "lar",
            "",
            "/",
        ] {
            assert_eq!(fam(n), CompilerFamily::Unknown, "{n}");
        }
    }

    #[test]
    fn c_family_and_masquerade() {
        assert!(CompilerFamily::Gcc.is_c_family());
        assert!(CompilerFamily::Clang.is_c_family());
        assert!(!CompilerFamily::Emcc.is_c_family());
        assert!(!CompilerFamily::Rustc.is_c_family());
        assert!(!CompilerFamily::Unknown.is_c_family());
        // Every masquerade name is a compiler this cache knows.
        for n in [
            "gcc", "g++", "cc", "c++", "clang", "clang++", "emcc", "em++",
        ] {
            assert!(zccache_client::dispatch::is_masquerade_name(n), "{n}");
            assert_ne!(from_file_name(n), CompilerFamily::Unknown, "{n}");
        }
    }
}
