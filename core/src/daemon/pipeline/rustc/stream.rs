//! Running rustc on a miss while streaming its stderr to the waiting
//! launcher's stderr as it is produced. Cargo reads rustc's JSON artifact
//! notifications from that stream and starts dependent crates as soon as an
//! `.rmeta` is ready (cargo book, "build.pipelining"); replaying stderr only
//! at the end would serialise the build.
//!
//! The launcher's stderr is reached through `/proc/<pid>/fd/2` (same user),
//! and only when it is a pipe, as cargo gives every rustc: reopening a
//! regular file there would start writing at offset 0. Anything else, or any
//! failure to open it, falls back to replaying stderr with the response.

use super::super::runner::compiler_command;
use crate::ipc::CompileRequest;
use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::FileTypeExt;
use std::process::{Output, Stdio};

/// What a streamed run produced.
pub(crate) struct StreamedRun {
    /// Exit status and the full stdout/stderr (stderr also for storing).
    pub output: Output,
    /// True when every stderr byte already reached the launcher.
    pub streamed: bool,
}

/// The daemon's jobserver, shared by every rustc it runs: as many tokens as
/// CPUs (cargo book, "Jobserver"). Without one, each rustc makes its own
/// with 32 tokens for its codegen threads, and concurrent misses would
/// oversubscribe the machine. `None` when it cannot be created.
fn jobserver() -> Option<&'static jobserver::Client> {
    static CLIENT: std::sync::OnceLock<Option<jobserver::Client>> = std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| {
            let n = std::thread::available_parallelism().map_or(1, |n| n.get());
            jobserver::Client::new(n).ok()
        })
        .as_ref()
}

/// Open the launcher's stderr when it is a pipe.
fn launcher_stderr(pid: u32) -> Option<File> {
    let path = format!("/proc/{pid}/fd/2");
    let meta = std::fs::metadata(&path).ok()?;
    if !meta.file_type().is_fifo() {
        return None;
    }
    std::fs::OpenOptions::new().write(true).open(path).ok()
}

/// Run rustc with `argv`, copying stderr to the launcher as it comes.
///
/// Errors: the I/O error when rustc cannot be started or waited for.
pub(crate) fn run_streaming(req: &CompileRequest, argv: &[String]) -> std::io::Result<StreamedRun> {
    let mut cmd = compiler_command(req, argv);
    if let Some(js) = jobserver() {
        js.configure(&mut cmd);
    }
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let mut stdout_pipe = child.stdout.take();
    let stdout_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(p) = stdout_pipe.as_mut() {
            let _ = p.read_to_end(&mut buf);
        }
        buf
    });
    let mut sink = launcher_stderr(req.client_pid);
    let mut streamed = sink.is_some();
    let mut stderr = Vec::new();
    if let Some(mut pipe) = child.stderr.take() {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            let n = match pipe.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            stderr.extend_from_slice(&chunk[..n]);
            if let Some(s) = sink.as_mut() {
                if s.write_all(&chunk[..n]).is_err() {
                    // Launcher gone: what it missed cannot be replayed.
                    sink = None;
                    streamed = false;
                }
            }
        }
    }
    let status = child.wait()?;
    let stdout = stdout_thread.join().unwrap_or_default();
    Ok(StreamedRun {
        output: Output {
            status,
            stdout,
            stderr,
        },
        streamed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn request(client_pid: u32) -> CompileRequest {
        CompileRequest {
            compiler: "/bin/sh".into(),
            args: vec![],
            cwd: std::env::temp_dir(),
            env: vec![("PATH".into(), "/usr/bin:/bin".into())],
            client_pid,
            umask: 0o022,
            prefix: None,
            verify_per_million: 0,
            base_dirs: Vec::new(),
            settings_from_env: false,
        }
    }

    fn script() -> Vec<String> {
        vec!["-c".into(), "echo out; echo err >&2; exit 3".into()]
    }

    #[test]
    fn stderr_reaches_a_launcher_pipe_while_it_is_captured() {
        let mut client = Command::new("sleep")
            .arg("30")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let run = run_streaming(&request(client.id()), &script()).unwrap();
        let _ = client.kill();
        let _ = client.wait();
        let mut seen = Vec::new();
        client
            .stderr
            .take()
            .unwrap()
            .read_to_end(&mut seen)
            .unwrap();
        assert!(run.streamed);
        assert_eq!(seen, b"err\n");
        assert_eq!(run.output.stderr, b"err\n");
        assert_eq!(run.output.stdout, b"out\n");
        assert_eq!(run.output.status.code(), Some(3));
    }

    #[test]
    fn a_launcher_writing_to_a_file_gets_stderr_with_the_response() {
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut client = Command::new("sleep")
            .arg("30")
            .stderr(log.reopen().unwrap())
            .spawn()
            .unwrap();
        let run = run_streaming(&request(client.id()), &script()).unwrap();
        let _ = client.kill();
        let _ = client.wait();
        assert!(!run.streamed);
        assert_eq!(run.output.stderr, b"err\n");
        assert_eq!(std::fs::read(log.path()).unwrap(), b"");
    }
}
