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
use zccache_client::dispatch::{mode, Mode};

/// Entry point of the `zccache-daemon` program (and of the launcher calls
/// the lean `zccache` hands over); returns the process exit code.
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
    match mode(&args) {
        Mode::Compile { compiler, args } => launcher::run(&compiler, &args),
        Mode::Admin => admin::run(&args),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_admin_subcommand_is_dispatched_as_admin() {
        for name in super::admin::subcommand_names() {
            assert!(
                zccache_client::dispatch::ADMIN_WORDS.contains(&name.as_str()),
                "{name} missing from ADMIN_WORDS"
            );
        }
    }
}
