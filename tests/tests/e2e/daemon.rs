//! The daemon's life cycle as seen from outside: on-demand start, detachment,
//! idle timeout, ZCCACHE_DISABLE, and broken daemons or stale files.

use crate::harness::*;
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::time::Duration;

const SRC: &str =
    "#include <stdio.h>\nint f(int x) { int unused; printf(\"%d\\n\", x); return x; }\n";
const ARGS: [&str; 6] = ["-Wall", "-O2", "-c", "a.c", "-o", "a.o"];

/// Runs the warning compile through zccache (with `limit` as hang guard) and
/// compares exit code, stderr and object with the bare compiler.
fn compile_like_bare(sb: &Sandbox, limit: Duration, what: &str) {
    sb.write("a.c", SRC);
    let (bare, obj) = sb.bare("gcc", &ARGS, &["a.o"]);
    let mut z = vec!["gcc"];
    z.extend_from_slice(&ARGS);
    let out = run_cmd_limit(&mut sb.zcc_cmd(&z), None, limit);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{what}: exit code; stderr: {}",
        text(&out.stderr)
    );
    assert_same(&out.stderr, &bare.stderr, &format!("{what}: stderr"));
    assert_same(&out.stdout, &bare.stdout, &format!("{what}: stdout"));
    assert_same(&sb.read("a.o"), &obj[0], &format!("{what}: object"));
    sb.remove("a.o");
}

fn sid_of(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = stat.rsplit_once(')').unwrap().1;
    // fields after comm: state ppid pgrp session ...
    rest.split_whitespace().nth(3).unwrap().parse().unwrap()
}

#[test]
fn first_compile_starts_a_detached_daemon() {
    if missing(&["gcc"]) {
        return;
    }
    let sb = Sandbox::new();
    assert!(sb.daemons().is_empty());
    compile_like_bare(&sb, Duration::from_secs(600), "first compile");
    let daemons = sb.daemons();
    assert_eq!(daemons.len(), 1, "daemons after first compile: {daemons:?}");
    let pid = daemons[0];
    assert_eq!(sb.daemon_pid_file(), Some(pid), "daemon.pid");
    let argv = proc_cmdline(pid).unwrap();
    assert!(
        argv[0].ends_with("zccache-daemon"),
        "daemon argv[0]: {argv:?}"
    );
    let cache = sb.cache.to_string_lossy().into_owned();
    assert_eq!(
        argv[1..],
        ["daemon", "--cache-dir", cache.as_str()],
        "daemon argv"
    );
    assert_ne!(
        sid_of(pid),
        sid_of(std::process::id()),
        "daemon must run in its own session"
    );
    for fd in 0..3 {
        let link = std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).unwrap();
        assert_eq!(link.to_str(), Some("/dev/null"), "daemon fd {fd}");
    }
    // The cache layout of the contract.
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&sb.cache), 0o700, "cache dir mode");
    let sock = sb.cache.join("daemon.sock");
    assert!(
        std::fs::metadata(&sock).unwrap().file_type().is_socket(),
        "daemon.sock is a socket"
    );
    assert_eq!(mode(&sock), 0o600, "daemon.sock mode");
    assert!(sb.cache.join("daemon.lock").is_file(), "daemon.lock");
    assert!(
        sb.cache.join("logs").join("daemon.log").is_file(),
        "logs/daemon.log"
    );
    // A second compile reuses it.
    compile_like_bare(&sb, Duration::from_secs(600), "second compile");
    assert_eq!(
        sb.daemons(),
        vec![pid],
        "second compile must reuse the daemon"
    );
}

#[test]
fn idle_timeout_stops_the_daemon() {
    let mut sb = Sandbox::new();
    sb.set_env("ZCCACHE_IDLE_TIMEOUT", "2");
    sb.start();
    let pid = sb.daemon_pid_file().expect("daemon.pid after start");
    assert!(pid_alive(pid));
    assert!(
        wait_until(Duration::from_secs(120), || !pid_alive(pid)),
        "daemon {pid} still running long after a 2 s idle timeout"
    );
    let out = sb.zcc(&["status"]);
    assert_eq!(out.status.code(), Some(1), "status after idle exit");
}

#[test]
fn disable_runs_the_compiler_directly() {
    if missing(&["gcc"]) {
        return;
    }
    let mut sb = Sandbox::new();
    sb.set_env("ZCCACHE_DISABLE", "1");
    compile_like_bare(&sb, Duration::from_secs(600), "ZCCACHE_DISABLE=1");
    // An error compile too.
    sb.write("bad.c", "int g(void) { return nope; }\n");
    let bare = sb.run("gcc", &["-c", "bad.c", "-o", "bad.o"]);
    let out = sb.zcc(&["gcc", "-c", "bad.c", "-o", "bad.o"]);
    assert_eq!(
        out.status.code(),
        bare.status.code(),
        "disabled: error exit code"
    );
    assert_same(&out.stderr, &bare.stderr, "disabled: error stderr");
    assert!(
        sb.daemons().is_empty(),
        "ZCCACHE_DISABLE=1 started a daemon"
    );
    assert!(
        !sb.cache.join("daemon.sock").exists(),
        "ZCCACHE_DISABLE=1 created a socket"
    );
}

#[test]
fn disable_bypasses_a_running_daemon() {
    if missing(&["gcc"]) {
        return;
    }
    let sb = Sandbox::new();
    sb.write("a.c", SRC);
    sb.start();
    let c0 = sb.counters();
    let bare = sb.bare_obj("gcc", &ARGS, "a.o");
    let mut z = vec!["gcc"];
    z.extend_from_slice(&ARGS);
    let out = run_cmd(sb.zcc_cmd(&z).env("ZCCACHE_DISABLE", "1"), None);
    assert_ok(&out, "disabled compile");
    assert_same(&sb.read("a.o"), &bare, "disabled object");
    let c1 = sb.counters();
    assert_eq!(c1, c0, "a ZCCACHE_DISABLE=1 compile reached the daemon");
}

/// A stale pid file naming a live unrelated process, and a regular file where
/// the socket should be: builds work and the unrelated process survives.
#[test]
fn stale_pid_and_socket_files() {
    if missing(&["gcc"]) {
        return;
    }
    let sb = Sandbox::new();
    std::fs::create_dir_all(&sb.cache).unwrap();
    std::fs::set_permissions(&sb.cache, std::fs::Permissions::from_mode(0o700)).unwrap();
    let mut bystander = std::process::Command::new("sleep")
        .arg("600")
        .spawn()
        .unwrap();
    std::fs::write(sb.cache.join("daemon.pid"), format!("{}\n", bystander.id())).unwrap();
    std::fs::write(sb.cache.join("daemon.sock"), "stale").unwrap();
    compile_like_bare(&sb, Duration::from_secs(600), "stale files, run 1");
    compile_like_bare(&sb, Duration::from_secs(600), "stale files, run 2");
    let stop = sb.zcc(&["stop"]);
    let alive = matches!(bystander.try_wait(), Ok(None));
    let _ = bystander.kill();
    let _ = bystander.wait();
    assert_ok(&stop, "zccache stop");
    assert!(
        alive,
        "zccache killed the unrelated process named in a stale daemon.pid"
    );
    assert!(
        sb.daemons().is_empty(),
        "daemon still running after stop: {:?}",
        sb.daemons()
    );
}

#[derive(Clone, Copy)]
enum Fake {
    /// Replies with bytes that are not a valid frame.
    Garbage,
    /// Reads the request, then closes without replying.
    HangUp,
    /// Accepts and never replies.
    Wedged,
}

/// Binds a fake daemon at `<cache>/daemon.sock` (no lock held).
fn fake_daemon(sb: &Sandbox, mode: Fake) {
    std::fs::create_dir_all(&sb.cache).unwrap();
    std::fs::set_permissions(&sb.cache, std::fs::Permissions::from_mode(0o700)).unwrap();
    let listener = UnixListener::bind(sb.cache.join("daemon.sock")).unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming() {
            let Ok(mut s) = conn else { continue };
            match mode {
                Fake::Garbage => {
                    let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
                    let mut buf = [0u8; 4096];
                    let _ = s.read(&mut buf);
                    let junk: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect();
                    let _ = s.write_all(b"\xff\xff\xff\x7fNOT A ZCCACHE FRAME");
                    let _ = s.write_all(&junk);
                }
                Fake::HangUp => {
                    let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
                    let mut buf = [0u8; 4096];
                    let _ = s.read(&mut buf);
                }
                Fake::Wedged => held.push(s),
            }
        }
    });
}

fn survives_fake(mode: Fake, what: &str) {
    if missing(&["gcc"]) {
        return;
    }
    let sb = Sandbox::new();
    fake_daemon(&sb, mode);
    // The hang guard is generous: this checks that the client gives up at
    // all, not how fast.
    compile_like_bare(&sb, Duration::from_secs(300), what);
    compile_like_bare(&sb, Duration::from_secs(300), &format!("{what}, again"));
}

#[test]
fn garbage_speaking_daemon_does_not_break_builds() {
    survives_fake(Fake::Garbage, "garbage daemon");
}

#[test]
fn daemon_hanging_up_mid_request_does_not_break_builds() {
    survives_fake(Fake::HangUp, "hang-up daemon");
}

#[test]
fn wedged_daemon_does_not_hang_builds() {
    survives_fake(Fake::Wedged, "wedged daemon");
}

/// The daemon is killed between compiles: the next compile still works (and
/// a new daemon serves later ones).
#[test]
fn killed_daemon_is_replaced() {
    if missing(&["gcc"]) {
        return;
    }
    let sb = Sandbox::new();
    sb.start();
    let pid = sb.daemon_pid_file().expect("daemon.pid");
    kill9(pid);
    assert!(wait_until(Duration::from_secs(10), || !pid_alive(pid)));
    compile_like_bare(&sb, Duration::from_secs(600), "after SIGKILL");
    compile_like_bare(&sb, Duration::from_secs(600), "after SIGKILL, again");
    let daemons = sb.daemons();
    assert_eq!(daemons.len(), 1, "a new daemon should serve: {daemons:?}");
    assert!(!daemons.contains(&pid));
    sb.stats();
}

/// A stand-in for a daemon of another release: a process whose argv names
/// this cache dir, with its pid file, and a socket that answers every
/// request with a frame of protocol version 999.
fn fake_old_daemon(sb: &Sandbox) -> std::process::Child {
    std::fs::create_dir_all(&sb.cache).unwrap();
    std::fs::set_permissions(&sb.cache, std::fs::Permissions::from_mode(0o700)).unwrap();
    let old = std::process::Command::new("sh")
        .args(["-c", "sleep 60", "daemon", "--cache-dir"])
        .arg(&sb.cache)
        .spawn()
        .unwrap();
    std::fs::write(sb.cache.join("daemon.pid"), old.id().to_string()).unwrap();
    let listener = UnixListener::bind(sb.cache.join("daemon.sock")).unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut s) = conn else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
            let mut buf = [0u8; 65536];
            let _ = s.read(&mut buf);
            // A well-formed frame of protocol version 999: 4-byte length,
            // 4-byte version, payload.
            let payload = b"old";
            let mut frame = (payload.len() as u32).to_le_bytes().to_vec();
            frame.extend_from_slice(&999u32.to_le_bytes());
            frame.extend_from_slice(payload);
            let _ = s.write_all(&frame);
        }
    });
    old
}

/// `zccache start` (which `cargo zccache` runs first) replaces a daemon of
/// another protocol version too.
#[test]
fn start_replaces_an_old_protocol_daemon() {
    let sb = Sandbox::new();
    let mut old = fake_old_daemon(&sb);
    sb.zcc_ok(&["start"]);
    let status = old.try_wait().unwrap();
    let _ = old.kill();
    let _ = old.wait();
    assert!(status.is_some(), "the old daemon should have been stopped");
    let version = sb.stats().protocol_version;
    assert!(version > 0 && version != 999);
}

/// A daemon from another release answers with another protocol version: the
/// launcher stops it (it is verifiably this cache dir's daemon) and starts
/// its own, and the compile is still correct.
#[test]
fn old_protocol_daemon_is_replaced() {
    if missing(&["gcc"]) {
        return;
    }
    let sb = Sandbox::new();
    let mut old = fake_old_daemon(&sb);
    compile_like_bare(&sb, Duration::from_secs(120), "old-protocol daemon");
    let status = old.try_wait().unwrap();
    let _ = old.kill();
    let _ = old.wait();
    assert!(status.is_some(), "the old daemon should have been stopped");
    let stats = sb.stats();
    let version = stats.protocol_version;
    assert!(
        version > 0 && version != 999,
        "a current daemon should answer: {stats}"
    );
    compile_like_bare(&sb, Duration::from_secs(120), "new daemon");
    assert!(sb.counters().hits >= 1, "{}", sb.stats());
}
