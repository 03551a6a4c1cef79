//! The progress bar: cargo runs with `--message-format=json-render-diagnostics`
//! (cargo book, "Machine readable output"), so its diagnostics still render
//! as usual while stdout carries JSON messages; each `compiler-artifact`
//! advances the bar. Cargo's stderr and any non-JSON stdout (a `cargo run`
//! program, test output) are printed above the bar unchanged.

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

/// Subcommands that accept `--message-format`.
const JSON_SUBCOMMANDS: &[&str] = &[
    "build", "b", "check", "c", "test", "t", "clippy", "bench", "doc", "d", "run", "r", "rustc",
];

/// True when a bar can be driven for `args` (a subcommand that takes
/// `--message-format`, and the user did not choose one).
pub fn supports(args: &[OsString]) -> bool {
    let sub = args.first().and_then(|a| a.to_str()).unwrap_or("");
    JSON_SUBCOMMANDS.contains(&sub)
        && !args
            .iter()
            .any(|a| a.to_string_lossy().starts_with("--message-format"))
}

/// Run cargo with the bar; returns its exit status (the caller maps it to
/// an exit code).
///
/// Errors: when cargo cannot be started or waited for.
pub fn run(mut cmd: Command, args: &[OsString]) -> Result<ExitStatus> {
    cmd.arg(&args[0])
        .arg("--message-format=json-render-diagnostics")
        .args(&args[1..])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if std::env::var_os("CARGO_TERM_COLOR").is_none() {
        cmd.env("CARGO_TERM_COLOR", "always");
    }
    let mut child = cmd.spawn().context("running cargo")?;
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed}] {pos} units built {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(100));
    let stderr = child.stderr.take().context("cargo stderr")?;
    let err_bar = bar.clone();
    let err_thread = std::thread::spawn(move || {
        for_each_line(stderr, |line| {
            err_bar.suspend(|| {
                let _ = std::io::stderr().write_all(line);
            })
        })
    });
    let stdout = child.stdout.take().context("cargo stdout")?;
    for_each_line(stdout, |line| on_stdout_line(&bar, line));
    let _ = err_thread.join();
    let status = child.wait().context("waiting for cargo")?;
    bar.finish_and_clear();
    Ok(status)
}

fn for_each_line(r: impl std::io::Read, mut f: impl FnMut(&[u8])) {
    let mut r = BufReader::new(r);
    let mut line = Vec::new();
    while matches!(r.read_until(b'\n', &mut line), Ok(n) if n > 0) {
        f(&line);
        line.clear();
    }
}

fn on_stdout_line(bar: &ProgressBar, line: &[u8]) {
    let msg: Option<serde_json::Value> = serde_json::from_slice(line).ok();
    match msg.as_ref().and_then(|m| m.get("reason")?.as_str()) {
        Some("compiler-artifact") => {
            bar.inc(1);
            let name = msg
                .as_ref()
                .and_then(|m| m.pointer("/target/name")?.as_str())
                .unwrap_or("");
            bar.set_message(name.to_string());
        }
        Some(_) => {}
        None => bar.suspend(|| {
            let _ = std::io::stdout().write_all(line);
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_only_for_json_capable_subcommands_without_a_user_format() {
        let args = |s: &str| s.split(' ').map(OsString::from).collect::<Vec<_>>();
        assert!(supports(&args("build --release")));
        assert!(supports(&args("check")));
        assert!(!supports(&args("build --message-format=json")));
        assert!(!supports(&args("install ripgrep")));
        assert!(!supports(&[]));
    }

    #[test]
    fn artifacts_advance_the_bar() {
        let bar = ProgressBar::hidden();
        on_stdout_line(
            &bar,
            br#"{"reason":"compiler-artifact","target":{"name":"util"}}"#,
        );
        on_stdout_line(&bar, br#"{"reason":"build-finished","success":true}"#);
        assert_eq!(bar.position(), 1);
        assert_eq!(bar.message(), "util");
    }
}
