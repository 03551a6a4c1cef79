//! The command line: launcher and masquerade modes for compiles, clap-parsed
//! admin commands for everything else.

pub(crate) mod admin;
pub(crate) mod cmake;
pub(crate) mod daemon_control;
pub(crate) mod emsdk;
pub(crate) mod exec_cmd;
mod integrations;
pub(crate) mod launcher;
pub(crate) mod meson;
pub(crate) mod remote;
pub(crate) mod services;

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

/// Entry point of the `zccache` binary; returns the process exit code.
pub fn main_entry() -> i32 {
    let args: Vec<OsString> = std::env::args_os().collect();
    if args.get(1).and_then(|a| a.to_str()) != Some("daemon") {
        // Like the compilers and CLI tools we stand in for, die quietly when
        // the reader of our stdout goes away (`zccache stats | head`). The
        // daemon keeps Rust's default (ignored) and sees EPIPE instead.
        // SAFETY: resetting a signal disposition has no preconditions.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
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

#[cfg(test)]
mod tests {
    #[test]
    fn every_admin_subcommand_is_dispatched_as_admin() {
        for name in super::admin::subcommand_names() {
            assert!(
                super::ADMIN_WORDS.contains(&name.as_str()),
                "{name} missing from ADMIN_WORDS"
            );
        }
    }
}
