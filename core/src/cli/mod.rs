//! The command line: launcher and masquerade modes for compiles, clap-parsed
//! admin commands for everything else.

pub mod admin;
pub mod cmake;
pub mod daemon_control;
mod integrations;
pub mod launcher;
pub mod meson;

use std::ffi::OsString;

/// Words that select an admin command instead of a compiler.
const ADMIN_WORDS: &[&str] = &[
    "start",
    "stop",
    "status",
    "stats",
    "clear",
    "config",
    "daemon",
    "cmake-module",
    "meson",
    "help",
    "--help",
    "-h",
    "--version",
    "-V",
];

/// Entry point of the `zccache` binary; returns the process exit code.
pub fn main_entry() -> i32 {
    let args: Vec<OsString> = std::env::args_os().collect();
    let argv0 = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if crate::compiler::family::is_masquerade_name(&argv0) {
        return launcher::run(OsString::from(&argv0).as_os_str(), &args[1..]);
    }
    match args.get(1).and_then(|a| a.to_str()) {
        Some(word) if ADMIN_WORDS.contains(&word) => admin::run(&args),
        Some(_) => launcher::run(&args[1], &args[2..]),
        None => admin::run(&args),
    }
}
