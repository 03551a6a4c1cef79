//! The build-system admin commands' output: `zccache cmake-module` and
//! `zccache meson native-file` (see [`super::cmake`] and [`super::meson`]).

use super::meson::{self, Compilers};
use std::io::Write;
use std::path::Path;

/// `zccache cmake-module`: print the module path; returns the exit code.
pub(super) fn cmake_module() -> i32 {
    match super::cmake::ensure_module() {
        Ok(path) => print_line(&path.display().to_string()),
        Err(e) => {
            eprintln!("zccache: {e}");
            1
        }
    }
}

/// `zccache meson native-file`: print the file, or write it (`--install`
/// or `--output`) and print where; returns the exit code.
pub(super) fn meson_native_file(
    compilers: &Compilers,
    install: bool,
    output: Option<&Path>,
) -> i32 {
    let result = if install || output.is_some() {
        meson::install(compilers, output).map(|p| p.display().to_string())
    } else {
        meson::self_path().and_then(|z| meson::native_file(&z, compilers))
    };
    match result {
        Ok(text) => print_line(text.trim_end()),
        Err(e) => {
            eprintln!("zccache: {e}");
            1
        }
    }
}

/// Print without panicking on a closed pipe.
fn print_line(s: &str) -> i32 {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{s}") {
        Ok(()) => 0,
        Err(_) => 1,
    }
}
