//! Remote tiers (`ZCCACHE_REMOTE`) against real servers on loopback: two
//! "machines" (two sandboxes: two cache dirs, two daemons) share one Redis,
//! memcached, nginx WebDAV or moto S3 server; machine A builds the generated
//! 15-source make project cold and uploads in the background, then machine
//! B (empty cache, its own daemon, a fresh checkout at the same absolute
//! path as A's, as CI runners have: the context key of a relative source
//! includes the cwd) builds it from the server alone: every compile a hit
//! and every object byte-identical to bare gcc's. Also: a read-only tier
//! gains nothing, a sharded tier spreads keys over its shards and survives
//! losing one, a server killed mid-build or one that never answers never
//! breaks a build, corrupt, truncated and hostile objects are counted and
//! never served or written outside the build, wrong credentials are errors
//! and not failures, and `zccache remote check` reports each tier.

use crate::harness::distcc::DeadPort;
use crate::harness::servers::*;
use crate::harness::*;
use serde::Deserialize;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// Sources in the generated make project.
const N: u64 = 15;
/// Longest a machine's background uploads may take.
const UPLOAD_LIMIT: Duration = Duration::from_secs(90);

// ------------------------------------------------------------ machines

/// One tier's report in `zccache stats --json` (`remote[i]`).
#[derive(Debug, Clone, Deserialize)]
#[allow(dead_code)]
struct TierStats {
    url: String,
    hits: u64,
    misses: u64,
    errors: u64,
    timeouts: u64,
    corrupt: u64,
    writes: u64,
    bytes_read: u64,
    bytes_written: u64,
    backfills: u64,
    breaker: String,
}

/// A "machine": its own sandbox (cache dir, daemon) with the project in
/// `<work>/proj` and the bare objects to compare with.
struct Machine {
    sb: Sandbox,
    proj: PathBuf,
    bare: Vec<Vec<u8>>,
}

impl Machine {
    /// A machine with the project written; its daemon is not started.
    fn new() -> Machine {
        let sb = Sandbox::new();
        let proj = sb.path("proj");
        write_make_project(&proj, N as usize);
        let bare = bare_make_objects(&proj, N as usize);
        Machine { sb, proj, bare }
    }

    /// A new machine whose daemon starts with `remote` (and `env`).
    fn with(remote: &str, env: &[(&str, &str)]) -> Machine {
        let mut m = Machine::new();
        m.start(remote, env);
        m
    }

    /// Another machine: a new sandbox and daemon, started with `remote`,
    /// whose fresh checkout of the project replaces this machine's at the
    /// same path; this machine's daemon is stopped first.
    fn next(&self, remote: &str, env: &[(&str, &str)]) -> Machine {
        let _ = self.sb.zcc(&["stop"]);
        std::fs::remove_dir_all(&self.proj).unwrap();
        write_make_project(&self.proj, N as usize);
        let sb = Sandbox::new();
        let mut m = Machine {
            sb,
            proj: self.proj.clone(),
            bare: self.bare.clone(),
        };
        m.start(remote, env);
        m
    }

    /// Sets `ZCCACHE_REMOTE` (and `env`) and starts the daemon.
    fn start(&mut self, remote: &str, env: &[(&str, &str)]) {
        self.sb.set_env("ZCCACHE_REMOTE", remote);
        for (k, v) in env {
            self.sb.set_env(k, v);
        }
        self.sb.start();
    }

    /// `make -j2 CC="zccache gcc"` from clean; checks every object against
    /// bare gcc's and returns the (hits, misses) of the build.
    fn build(&self) -> (u64, u64) {
        let before = self.sb.counters();
        assert_ok(
            &self.sb.run_in(&self.proj, "make", &["clean"]),
            "make clean",
        );
        let out = self
            .sb
            .run_in(&self.proj, "make", &["-j2".to_string(), cc_arg()]);
        assert_ok(&out, "make -j2 through zccache");
        check_make_objects(&self.proj, &self.bare);
        self.sb.counters().hit_miss_since(before)
    }

    /// Every tier's report.
    fn tiers(&self) -> Vec<TierStats> {
        let v = self.sb.stats_json();
        let remote = v
            .get("remote")
            .cloned()
            .unwrap_or_else(|| panic!("no `remote` in stats: {v}"));
        serde_json::from_value(remote).unwrap_or_else(|e| panic!("stats `remote`: {e}: {v}"))
    }

    /// Tier `i`'s report.
    fn tier(&self, i: usize) -> TierStats {
        let t = self.tiers();
        t.get(i)
            .cloned()
            .unwrap_or_else(|| panic!("no tier {i} in {t:?}"))
    }

    /// Waits until tier `i` has written something and its `writes` stopped
    /// growing for 2 s (bounded); its report then.
    fn wait_uploads(&self, i: usize) -> TierStats {
        let start = Instant::now();
        let (mut last, mut stable_since) = (u64::MAX, Instant::now());
        loop {
            let t = self.tier(i);
            if t.writes != last {
                (last, stable_since) = (t.writes, Instant::now());
            } else if t.writes > 0 && stable_since.elapsed() > Duration::from_secs(2) {
                eprintln!("uploads done after {:?}: {t:?}", start.elapsed());
                return t;
            }
            assert!(
                start.elapsed() < UPLOAD_LIMIT,
                "uploads never settled: {t:?}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Journal lines of hits served by a remote tier.
    fn journal_remote_hits(&self) -> usize {
        let j =
            std::fs::read_to_string(self.sb.cache.join("logs/journal.jsonl")).unwrap_or_default();
        j.lines()
            .filter(|l| l.contains("\"outcome\":\"hit\"") && l.contains("\"reason\":\"remote "))
            .count()
    }
}

fn cc_arg() -> String {
    format!("CC={} gcc", zccache_bin().display())
}

/// Machine A (already made, daemon not started) builds cold with `remote`
/// and uploads; a new machine B builds from the server alone. Returns B.
fn share(a: &mut Machine, remote: &str, env: &[(&str, &str)]) -> Machine {
    a.start(remote, env);
    assert_eq!(a.build(), (0, N), "A cold: {}", a.sb.stats());
    let up = a.wait_uploads(0);
    assert!(up.writes >= N, "A uploaded too little: {up:?}");
    assert_eq!((up.errors, up.timeouts, up.corrupt), (0, 0, 0), "A: {up:?}");
    let b = a.next(remote, env);
    assert_ne!(a.sb.cache, b.sb.cache, "the machines share no cache dir");
    let (hits, misses) = b.build();
    assert_eq!(
        (hits, misses),
        (N, 0),
        "B never ran the compiler: {}",
        b.sb.stats()
    );
    let t = b.tier(0);
    assert!(t.hits >= N, "B's hits came from the tier: {t:?}");
    assert!(t.bytes_read > 0 && t.corrupt == 0, "{t:?}");
    let journal = wait_until(Duration::from_secs(10), || {
        b.journal_remote_hits() >= N as usize
    });
    assert!(
        journal,
        "journal: {} remote hits of {N}",
        b.journal_remote_hits()
    );
    b
}

/// How many of `keys` are `<ns>/<64 hex>`.
fn count_ns(keys: &[String], ns: &str) -> usize {
    keys.iter()
        .filter_map(|k| k.strip_prefix(ns)?.strip_prefix('/'))
        .filter(|h| h.len() == 64 && h.bytes().all(|c| c.is_ascii_hexdigit()))
        .count()
}

/// Asserts the server holds N entries, N blobs and some manifests.
fn assert_layout(keys: &[String], what: &str) {
    assert_eq!(count_ns(keys, "e"), N as usize, "{what} entries: {keys:?}");
    assert_eq!(count_ns(keys, "b"), N as usize, "{what} blobs: {keys:?}");
    assert!(count_ns(keys, "m") >= 1, "{what} manifests: {keys:?}");
}

// ------------------------------------------------------------ sharing

#[test]
fn redis_second_machine_builds_from_the_server() {
    if missing(&["gcc", "make"]) {
        return;
    }
    let mut a = Machine::new();
    let Some(redis) = RedisServer::start(&a.sb.root, None) else {
        return;
    };
    share(&mut a, &redis.url(), &[]);
    assert_layout(&redis.keys(), "redis");
}

#[test]
fn memcached_second_machine_builds_from_the_server() {
    if missing(&["gcc", "make"]) {
        return;
    }
    let mut a = Machine::new();
    let Some(mc) = Memcached::start(&a.sb.root) else {
        return;
    };
    share(&mut a, &mc.url(), &[]);
    assert!(mc.items() > 2 * N, "memcached items: {}", mc.items());
}

#[test]
fn nginx_webdav_second_machine_builds_from_the_server() {
    if missing(&["gcc", "make"]) {
        return;
    }
    let mut a = Machine::new();
    let Some(dav) = NginxDav::start(&a.sb.root, DavAuth::Open) else {
        return;
    };
    share(&mut a, &dav.url(), &[]);
    let keys = [dav.keys("e"), dav.keys("b"), dav.keys("m")].concat();
    assert_layout(&keys, "nginx flat layout");
}

#[test]
fn moto_s3_second_machine_builds_from_the_server() {
    if missing(&["gcc", "make"]) {
        return;
    }
    let mut a = Machine::new();
    let Some(s3) = MotoS3::start(&a.sb.root) else {
        return;
    };
    let env = [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ];
    share(&mut a, &s3.url("ci"), &env);
    let keys: Vec<String> = s3
        .keys()
        .iter()
        .filter_map(|k| k.strip_prefix("ci/"))
        .map(String::from)
        .collect();
    assert_layout(&keys, "s3 prefix ci/");
}

// ------------------------------------------------------------ read-only, shards

#[test]
fn read_only_tier_gains_nothing_but_serves() {
    if missing(&["gcc", "make"]) {
        return;
    }
    let mut a = Machine::new();
    let Some(redis) = RedisServer::start(&a.sb.root, None) else {
        return;
    };
    let ro = format!("{}|read-only", redis.url());
    a.start(&ro, &[]);
    assert_eq!(a.build(), (0, N), "{}", a.sb.stats());
    // Give a (wrong) background upload every chance to happen.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(a.tier(0).writes, 0, "{:?}", a.tier(0));
    assert_eq!(redis.dbsize(), 0, "read-only A wrote: {:?}", redis.keys());

    let mut w = Machine::new();
    let b = share(&mut w, &redis.url(), &[]);
    let before = redis.keys();
    let c = b.next(&ro, &[]);
    assert_eq!(c.build(), (N, 0), "read-only C: {}", c.sb.stats());
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(c.tier(0).writes, 0, "{:?}", c.tier(0));
    assert_eq!(redis.keys(), before, "read-only C changed the server");
}

#[test]
fn sharded_redis_spreads_keys_and_survives_a_dead_shard() {
    if missing(&["gcc", "make"]) {
        return;
    }
    let mut a = Machine::new();
    let Some(r1) = RedisServer::start(&a.sb.root, None) else {
        return;
    };
    let Some(mut r2) = RedisServer::start(&a.sb.root, None) else {
        return;
    };
    let url = format!(
        "redis://127.0.0.1:*|shards={},{}",
        r1.proc.port, r2.proc.port
    );
    let b = share(&mut a, &url, &[]);
    let (k1, k2) = (r1.keys(), r2.keys());
    eprintln!(
        "shard keys: {} on {}, {} on {}",
        k1.len(),
        r1.proc.port,
        k2.len(),
        r2.proc.port
    );
    assert!(!k1.is_empty() && !k2.is_empty(), "both shards get keys");
    assert!(
        k1.iter().all(|k| !k2.contains(k)),
        "a key lives on one shard"
    );
    assert_layout(&[k1.clone(), k2].concat(), "shards together");

    r2.kill();
    let c = b.next(&url, &[]);
    let (hits, misses) = c.build();
    let t = c.tier(0);
    eprintln!("one shard dead: {hits} hits, {misses} misses, {t:?}");
    assert_eq!(hits + misses, N, "{}", c.sb.stats());
    assert!(
        hits <= count_ns(&k1, "e") as u64,
        "hits only from the live shard: {t:?}"
    );
    assert!(
        t.errors + t.timeouts > 0,
        "the dead shard was noticed: {t:?}"
    );
}

// ------------------------------------------------------------ failures

/// `make -j2` through zccache in the background, output to `<root>/log`.
fn spawn_make(m: &Machine, log: &str) -> Child {
    let logf = File::create(m.sb.root.join(log)).unwrap();
    let mut cmd = m.sb.command("make");
    cmd.current_dir(&m.proj)
        .args(["-j2".to_string(), cc_arg()])
        .stdin(Stdio::null())
        .stdout(logf.try_clone().unwrap())
        .stderr(logf);
    cmd.spawn().expect("spawn make")
}

fn objects_present(m: &Machine) -> usize {
    (0..N)
        .filter(|i| m.proj.join(format!("s{i}.o")).exists())
        .count()
}

#[test]
fn server_killed_mid_build_never_breaks_a_build() {
    if missing(&["gcc", "make"]) {
        return;
    }
    let mut a = Machine::new();
    let Some(mut redis) = RedisServer::start(&a.sb.root, None) else {
        return;
    };
    a.start(&redis.url(), &[]);
    let mut child = spawn_make(&a, "make.log");
    let appeared = wait_until(Duration::from_secs(300), || objects_present(&a) > 0);
    redis.kill();
    let at_kill = objects_present(&a);
    let st = wait_limited(&mut child, "make", Duration::from_secs(600));
    let log = std::fs::read_to_string(a.sb.root.join("make.log")).unwrap_or_default();
    assert!(st.success() && appeared, "make: {st}\n{log}");
    check_make_objects(&a.proj, &a.bare);
    assert_eq!(a.sb.counters().misses, N, "{}", a.sb.stats());
    eprintln!(
        "killed with {at_kill} of {N} objects present: {:?}",
        a.tier(0)
    );

    let b = a.next(&redis.url(), &[]);
    assert_eq!(b.build(), (0, N), "dead server: {}", b.sb.stats());
    let t = b.tier(0);
    assert!(t.errors > 0, "the dead server was counted: {t:?}");
}

#[test]
fn hanging_servers_only_slow_lookups_down() {
    if missing(&["gcc", "make"]) {
        return;
    }
    let (h1, h2) = (HangingServer::start(), HangingServer::start());
    let remote = format!(
        "redis://127.0.0.1:{} http://127.0.0.1:{}/cache",
        h1.port, h2.port
    );
    let a = Machine::with(&remote, &[]);
    let t0 = Instant::now();
    let got = a.build();
    let took = t0.elapsed();
    eprintln!(
        "15-file build with two hanging tiers took {took:?}: {:?}",
        a.tiers()
    );
    assert_eq!(got, (0, N), "{}", a.sb.stats());
    assert!(took < Duration::from_secs(120), "hang guard: {took:?}");
    for (i, t) in a.tiers().iter().enumerate() {
        assert!(t.timeouts + t.errors > 0, "tier {i} never timed out: {t:?}");
        assert_eq!(t.hits, 0, "{t:?}");
    }
}

// ------------------------------------------------------------ hostile objects

/// Bytes before a wire object's zstd payload: magic, version, kind, blake3.
const HEADER: usize = 4 + 1 + 1 + 32;

/// Frames `payload` as a wire object of `kind` (1 entry, 2 manifest, 3 blob).
fn frame(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = b"ZCCR".to_vec();
    out.extend_from_slice(&[1, kind]);
    out.extend_from_slice(blake3::hash(payload).as_bytes());
    out.extend_from_slice(&zstd::encode_all(payload, 3).unwrap());
    out
}

/// The payload of a wire object.
fn unframe(bytes: &[u8]) -> Vec<u8> {
    assert_eq!(&bytes[..4], b"ZCCR", "not a wire object");
    zstd::decode_all(&bytes[HEADER..]).expect("zstd payload")
}

/// An entry payload (bincode: format u32, kind u32, outputs u64, then the
/// first output's role u32 and name as u64 length + bytes) with its first
/// output (the object) renamed to `name`.
fn rename_first_output(payload: &[u8], name: &str) -> Vec<u8> {
    let le = |r: std::ops::Range<usize>| u64::from_le_bytes(payload[r].try_into().unwrap());
    assert_eq!(
        &payload[16..20],
        &[0, 0, 0, 0],
        "first output is the object"
    );
    let len = le(20..28) as usize;
    let old = String::from_utf8_lossy(&payload[28..28 + len]);
    assert!(old.ends_with(".o"), "unexpected entry layout: name {old:?}");
    let mut out = payload[..20].to_vec();
    out.extend_from_slice(&(name.len() as u64).to_le_bytes());
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(&payload[28 + len..]);
    out
}

/// Replaces entry `key` on `dav` by variant `i % 5`: garbage, a truncated
/// copy, a renamed object (`../NAME`, `/tmp/NAME`), or (entry intact) its
/// blob swapped for a well-formed object of other bytes.
fn spoil(dav: &NginxDav, key: &str, i: usize, name: &str) {
    let path = dav.object(key);
    let good = std::fs::read(&path).unwrap();
    let payload = unframe(&good);
    let bad = match i % 5 {
        0 => b"garbage, not a zccache object at all".to_vec(),
        1 => good[..good.len() / 2].to_vec(),
        2 => frame(1, &rename_first_output(&payload, &format!("../{name}"))),
        3 => frame(1, &rename_first_output(&payload, &format!("/tmp/{name}"))),
        _ => return swap_blob(dav, &payload),
    };
    std::fs::write(&path, bad).unwrap();
}

/// Overwrites the blob an entry payload references with a valid frame of
/// other content.
fn swap_blob(dav: &NginxDav, entry_payload: &[u8]) {
    let blob = dav
        .keys("b")
        .into_iter()
        .find(|k| {
            let hex = k.trim_start_matches("b/").as_bytes();
            entry_payload.windows(hex.len()).any(|w| w == hex)
        })
        .expect("the entry names one of the server's blobs");
    std::fs::write(dav.object(&blob), frame(3, b"not the object you want")).unwrap();
}

#[test]
fn corrupt_truncated_and_hostile_objects_are_misses() {
    if missing(&["gcc", "make"]) {
        return;
    }
    let mut a = Machine::new();
    let Some(dav) = NginxDav::start(&a.sb.root, DavAuth::Open) else {
        return;
    };
    a.start(&dav.url(), &[]);
    assert_eq!(a.build(), (0, N), "{}", a.sb.stats());
    a.wait_uploads(0);
    let name = format!("zccache-e2e-hostile-{}", std::process::id());
    let entries = dav.keys("e");
    assert_eq!(entries.len(), N as usize, "{entries:?}");
    for (i, key) in entries.iter().enumerate() {
        spoil(&dav, key, i, &name);
    }

    let b = a.next(&dav.url(), &[]);
    assert_eq!(
        b.build(),
        (0, N),
        "nothing spoiled was served: {}",
        b.sb.stats()
    );
    let t = b.tier(0);
    assert!(t.corrupt >= N, "every spoiled object counted: {t:?}");
    for dir in [
        b.proj.parent().unwrap(),
        b.sb.root.as_path(),
        Path::new("/tmp"),
    ] {
        assert!(
            !dir.join(&name).exists(),
            "hostile entry wrote {}",
            dir.join(&name).display()
        );
    }
    b.wait_uploads(0);
    let c = b.next(&dav.url(), &[]);
    assert_eq!(
        c.build(),
        (N, 0),
        "B's uploads healed the server: {}",
        c.sb.stats()
    );
}

// ------------------------------------------------------------ credentials

/// A machine using `remote` whose credentials the server refuses: a
/// correct cold build, errors counted, nothing stored.
fn refused(remote: &str) -> Machine {
    let m = Machine::with(remote, &[]);
    assert_eq!(m.build(), (0, N), "{}", m.sb.stats());
    std::thread::sleep(Duration::from_secs(2));
    let t = m.tier(0);
    assert!(t.errors > 0, "refused credentials are errors: {t:?}");
    assert_eq!((t.hits, t.writes), (0, 0), "{t:?}");
    m
}

#[test]
fn redis_password_right_and_wrong() {
    if missing(&["gcc", "make"]) {
        return;
    }
    let mut a = Machine::new();
    let Some(redis) = RedisServer::start(&a.sb.root, Some("s3cret-pw")) else {
        return;
    };
    let wrong = redis.url().replace("s3cret-pw", "wrong-pw");
    let w = refused(&wrong);
    assert!(
        !w.tier(0).url.contains("wrong-pw"),
        "redacted: {:?}",
        w.tier(0)
    );
    assert_eq!(redis.dbsize(), 0);
    let b = share(&mut a, &redis.url(), &[]);
    assert!(
        !b.tier(0).url.contains("s3cret-pw"),
        "redacted: {:?}",
        b.tier(0)
    );
    assert_layout(&redis.keys(), "redis with a password");
}

#[test]
fn nginx_basic_auth_right_and_wrong() {
    if missing(&["gcc", "make"]) {
        return;
    }
    let mut a = Machine::new();
    let Some(dav) = NginxDav::start(&a.sb.root, DavAuth::Basic("ci", "dav-pw")) else {
        return;
    };
    refused(&dav.url().replace("dav-pw", "nope"));
    refused(&dav.url().replace("ci:dav-pw@", ""));
    assert_eq!(dav.file_count(), 0, "refused uploads stored nothing");
    share(&mut a, &dav.url(), &[]);
    assert_eq!(dav.keys("e").len(), N as usize);
}

#[test]
fn nginx_bearer_token_right_and_wrong() {
    if missing(&["gcc", "make"]) {
        return;
    }
    let mut a = Machine::new();
    let Some(dav) = NginxDav::start(&a.sb.root, DavAuth::Bearer("tok-123")) else {
        return;
    };
    refused(&format!("{}|bearer-token=tok-999", dav.url()));
    refused(&dav.url());
    assert_eq!(dav.file_count(), 0, "refused uploads stored nothing");
    let b = share(&mut a, &format!("{}|bearer-token=tok-123", dav.url()), &[]);
    assert!(
        !b.tier(0).url.contains("tok-123"),
        "redacted: {:?}",
        b.tier(0)
    );
    assert_eq!(dav.keys("e").len(), N as usize);
}

// ------------------------------------------------------------ remote check

#[test]
fn remote_check_reports_each_tier() {
    let mut sb = Sandbox::new();
    let Some(redis) = RedisServer::start(&sb.root, None) else {
        return;
    };
    let dead = DeadPort::new();
    let closed = format!("redis://127.0.0.1:{}", dead.port);
    sb.set_env("ZCCACHE_REMOTE", redis.url());
    let out = sb.zcc(&["remote", "check"]);
    let live_line = format!("{}: ok (write ", redis.url());
    assert!(
        text(&out.stdout).contains(&live_line),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );

    sb.set_env("ZCCACHE_REMOTE", format!("{} {closed}", redis.url()));
    let out = sb.zcc(&["remote", "check"]);
    let stdout = text(&out.stdout);
    eprintln!("remote check:\n{stdout}{}", text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "a failing tier: {stdout}");
    assert!(stdout.contains(&live_line), "{stdout}");
    let bad = stdout
        .lines()
        .find(|l| l.starts_with(&format!("{closed}: ")))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(!bad.contains(": ok"), "closed port reported ok: {bad}");
    assert!(bad.len() > closed.len() + 5, "a reason is given: {bad}");
}

// ------------------------------------------------------------ the guards

/// The server guards themselves (no zccache involved): each serves, and
/// is gone once its guard drops.
#[test]
fn server_guards_serve_and_die_with_their_guard() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    if let Some(r) = RedisServer::start(dir, Some("pw")) {
        assert_eq!(r.cli(&["SET", "k", "v"]), "OK");
        assert_eq!((r.dbsize(), r.keys()), (1, vec!["k".to_string()]));
        gone_after_drop(r.proc.port, r);
    }
    if let Some(m) = Memcached::start(dir) {
        assert_eq!(m.items(), 0);
        gone_after_drop(m.proc.port, m);
    }
    for auth in [
        DavAuth::Open,
        DavAuth::Basic("u", "p"),
        DavAuth::Bearer("t"),
    ] {
        if let Some(d) = NginxDav::start(dir, auth) {
            dav_round_trip(&d, auth);
            gone_after_drop(d.proc.port, d);
        }
    }
    if let Some(s3) = MotoS3::start(dir) {
        assert_eq!(s3.keys(), Vec::<String>::new());
        gone_after_drop(s3.proc.port, s3);
    }
    let h = HangingServer::start();
    assert!(
        http(h.port, "GET", "/", &[], b"").is_none(),
        "it never answers"
    );
}

/// A PUT then GET of `/cache/e/x` with `auth`'s header; refused without it.
fn dav_round_trip(d: &NginxDav, auth: DavAuth) {
    let header = match auth {
        DavAuth::Open => String::new(),
        DavAuth::Basic(..) => "Authorization: Basic dTpw".to_string(),
        DavAuth::Bearer(t) => format!("Authorization: Bearer {t}"),
    };
    let hs: Vec<&str> = [header.as_str()]
        .into_iter()
        .filter(|h| !h.is_empty())
        .collect();
    let put = http(d.proc.port, "PUT", "/cache/e/x", &hs, b"body");
    assert!(
        matches!(put, Some((201 | 204, _))),
        "{auth:?} PUT: {put:?}\n{}",
        d.proc.log_text()
    );
    let get = http(d.proc.port, "GET", "/cache/e/x", &hs, b"");
    assert_eq!(get, Some((200, b"body".to_vec())), "{auth:?}");
    assert_eq!(std::fs::read(d.object("e/x")).unwrap(), b"body");
    if auth != DavAuth::Open {
        let anon = http(d.proc.port, "GET", "/cache/e/x", &[], b"");
        assert!(matches!(anon, Some((401, _))), "{auth:?}: {anon:?}");
    }
    std::fs::remove_file(d.object("e/x")).unwrap();
}

/// Drops `guard` and asserts nothing listens on `port` any more.
fn gone_after_drop<T>(port: u16, guard: T) {
    assert!(port_open(port), "serving on {port}");
    drop(guard);
    assert!(!port_open(port), "still listening on {port} after drop");
}
