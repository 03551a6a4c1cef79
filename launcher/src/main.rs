//! `zccache`, the lean launcher: the executable every integration calls
//! (masquerade links, `CMAKE_<LANG>_COMPILER_LAUNCHER`, Meson's native file,
//! the emsdk hook, `RUSTC_WRAPPER`). On the common path it resolves the
//! compiler, sends one compile request to a running daemon, and replays the
//! reply (exit code, stdout, stderr) exactly. Anything else goes to the
//! full program `zccache-daemon` next to it, with the same argv: admin
//! commands, starting the daemon, a busy or other-version daemon, and
//! settings only the full configuration loader reads (`ZCCACHE_DISABLE`,
//! `ZCCACHE_DEBUG`, `ZCCACHE_CONFIG`). It has no async runtime, no CLI
//! parser and no C dependency, so a hit pays for little more than a process
//! start (upstream zccache splits `zccache` and `zccache-daemon` the same
//! way).
//!
//! `no_main`: the C runtime calls [`main`] directly, skipping Rust's
//! start-up (stack-guard probing, signal handlers), which a launcher that
//! lives for a millisecond does not need. SIGPIPE keeps its default, as for
//! the compilers it stands in for.
#![no_main]

mod hand_over;
mod request;

use std::ffi::{c_char, c_int, CStr, OsString};
use std::io::Write;
use std::os::unix::ffi::OsStringExt;
use zccache_client::connection::Client;
use zccache_client::dispatch::{mode, Mode};
use zccache_client::framing::FrameError;
use zccache_client::locate;
use zccache_client::protocol::Response;

/// Entry point, called by the C runtime with the process's argv.
#[no_mangle]
pub extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    let args = collect_args(argc, argv);
    run(&args)
}

/// The argv as owned strings (bytes kept as they are).
fn collect_args(argc: c_int, argv: *const *const c_char) -> Vec<OsString> {
    (0..argc.max(0) as usize)
        .map(|i| {
            // SAFETY: the C runtime passes `argc` valid NUL-terminated
            // strings in `argv`.
            let arg = unsafe { CStr::from_ptr(*argv.add(i)) };
            OsString::from_vec(arg.to_bytes().to_vec())
        })
        .collect()
}

/// Serve `args`; returns the exit code (or does not return: `exec`).
fn run(args: &[OsString]) -> i32 {
    let Mode::Compile {
        compiler,
        args: compiler_args,
    } = mode(args)
    else {
        return hand_over::to_full_program(args);
    };
    if hand_over::wanted_by_environment() {
        return hand_over::to_full_program(args);
    }
    let Some(socket) = request::socket() else {
        return hand_over::to_full_program(args);
    };
    let Some(compiler_path) = locate::resolve_compiler(&compiler) else {
        eprintln!("zccache: cannot find compiler {compiler:?} on PATH");
        return 127;
    };
    let Some(req) = request::compile_request(&compiler_path, &compiler_args) else {
        return hand_over::to_full_program(args);
    };
    let Ok(mut client) = Client::connect(&socket) else {
        return hand_over::to_full_program(args);
    };
    match client.call(&req) {
        Ok(Response::Compiled {
            exit_code,
            stdout,
            stderr,
        }) => replay(exit_code, &stdout, &stderr),
        Ok(Response::RunLocally { .. }) => hand_over::to_compiler(&compiler_path, &compiler_args),
        // A busy daemon, one that asks for the full launcher (its settings
        // differ from the environment's), another protocol version, or a
        // silent one: the full program waits, restarts or replaces it.
        Ok(Response::Busy { .. } | Response::Delegate) => hand_over::to_full_program(args),
        Err(FrameError::VersionMismatch { .. }) => hand_over::to_full_program(args),
        Err(FrameError::Io(e)) if is_timeout(&e) => hand_over::to_full_program(args),
        // The daemon failed or died mid-request: compile directly, never
        // in the way of the build.
        Ok(_) | Err(_) => hand_over::to_compiler(&compiler_path, &compiler_args),
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// Write the compiler's captured output and return its exit code.
fn replay(exit_code: i32, stdout: &[u8], stderr: &[u8]) -> i32 {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(stdout);
    let _ = out.flush();
    let _ = std::io::stderr().lock().write_all(stderr);
    exit_code
}
