//! REAPI (Bazel Remote Execution API v2) against a real `buildbox-casd` on
//! loopback ([`Buildbox`]): the cluster as a shared cache tier
//! (`ZCCACHE_REAPI=grpc://…`), misses executed on it (`|execute`, run in
//! buildbox-run's bubblewrap sandbox), and the fallbacks: a server killed
//! mid-build, one that accepts and never answers, a compile error executed
//! remotely; and `grpcs://` with an API-key header through nginx
//! ([`GrpcTlsProxy`]). The project is the 15 classic zlib sources from the
//! third-party fixtures, compiled one `zccache gcc -c` at a time. Two
//! "machines" are two sandboxes (two cache dirs, two daemons) building the
//! same checkout path, as CI runners do. Skipped (with a note) without
//! gcc, the fixtures or the buildbox binaries.

use crate::harness::reapi::{Buildbox, GrpcTlsProxy};
use crate::harness::servers::HangingServer;
use crate::harness::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The 15 classic zlib sources.
const SOURCES: [&str; 15] = [
    "adler32", "compress", "crc32", "deflate", "gzclose", "gzlib", "gzread", "gzwrite", "infback",
    "inffast", "inflate", "inftrees", "trees", "uncompr", "zutil",
];
/// Flags that compile all 15 without a diagnostic.
const FLAGS: [&str; 3] = ["-O2", "-DHAVE_UNISTD_H", "-DHAVE_STDARG_H"];
/// Appended to `zutil.h`: changes every object that includes it.
const EDIT: &str = "\n__attribute__((used)) static const char zccache_reapi_edit[] = \"edited\";\n";
/// Longest a machine's background uploads may take.
const UPLOAD_LIMIT: Duration = Duration::from_secs(90);

/// A copy of zlib in `sb` (under `zlib/`), or `None` after a skip note.
fn zlib_in(sb: &Sandbox) -> Option<PathBuf> {
    if missing(&["gcc"]) {
        return None;
    }
    let tree = third_party("zlib")?;
    let dir = sb.root.join("zlib");
    copy_tree(&tree, &dir);
    Some(dir)
}

/// Compile `names` through zccache in `dir` (objects `out/<name>.o`); every
/// compile must succeed.
fn build(sb: &Sandbox, dir: &Path, names: &[&str]) {
    std::fs::create_dir_all(dir.join("out")).unwrap();
    for name in names {
        let src = format!("{name}.c");
        let obj = format!("out/{name}.o");
        let mut args = vec!["gcc"];
        args.extend(FLAGS);
        args.extend(["-c", &src, "-o", &obj]);
        let out = sb.zcc_in(dir, &args);
        assert_ok(&out, &format!("zccache gcc -c {src}"));
        assert!(out.stderr.is_empty(), "{src}: {}", text(&out.stderr));
    }
}

/// Bare gcc's object of each source, compiled in `dir` (into `bare/`).
fn bare_objects(sb: &Sandbox, dir: &Path) -> Vec<Vec<u8>> {
    std::fs::create_dir_all(dir.join("bare")).unwrap();
    SOURCES
        .iter()
        .map(|name| {
            let (src, obj) = (format!("{name}.c"), format!("bare/{name}.o"));
            let mut args: Vec<&str> = FLAGS.to_vec();
            args.extend(["-c", &src, "-o", &obj]);
            assert_ok(&sb.run_in(dir, "gcc", &args), &format!("gcc -c {src}"));
            std::fs::read(dir.join(&obj)).unwrap()
        })
        .collect()
}

/// Every object in `out/` equals bare gcc's.
fn assert_objects_equal(dir: &Path, bare: &[Vec<u8>]) {
    for (name, want) in SOURCES.iter().zip(bare) {
        let got = std::fs::read(dir.join(format!("out/{name}.o"))).unwrap();
        assert_same(&got, want, &format!("{name}.o"));
    }
}

/// Append [`EDIT`] to `zutil.h`.
fn edit_zutil(dir: &Path) {
    let zutil = dir.join("zutil.h");
    let mut text = std::fs::read_to_string(&zutil).unwrap();
    text.push_str(EDIT);
    std::fs::write(&zutil, text).unwrap();
}

/// After [`edit_zutil`]: `out/adler32.o` equals what bare gcc compiles
/// now, which differs from `bare` (before the edit).
fn assert_adler32_equals_bare_after_the_edit(sb: &Sandbox, dir: &Path, bare: &[Vec<u8>]) {
    let edited = bare_objects(sb, dir);
    assert_ne!(edited[0], bare[0], "the edit must change adler32.o");
    assert_same(
        &std::fs::read(dir.join("out/adler32.o")).unwrap(),
        &edited[0],
        "adler32.o after the header edit",
    );
}

/// The daemon's `remote_exec` report.
fn remote_exec(sb: &Sandbox) -> Value {
    let v = sb.stats_json();
    v.get("remote_exec")
        .cloned()
        .filter(|x| !x.is_null())
        .unwrap_or_else(|| panic!("no remote_exec in stats: {v}"))
}

fn count(v: &Value, field: &str) -> u64 {
    v.get(field)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("no {field} in {v}"))
}

/// The last tier's report (the REAPI server comes last).
fn reapi_tier(sb: &Sandbox) -> Value {
    let v = sb.stats_json();
    v.get("remote")
        .and_then(Value::as_array)
        .and_then(|t| t.last())
        .cloned()
        .unwrap_or_else(|| panic!("no remote tier in stats: {v}"))
}

/// Wait until the REAPI tier has written something and its `writes`
/// stopped growing for 2 s (bounded); no errors on the way.
fn wait_uploads(sb: &Sandbox) {
    let start = Instant::now();
    let (mut last, mut stable_since) = (u64::MAX, Instant::now());
    loop {
        let t = reapi_tier(sb);
        let writes = count(&t, "writes");
        if writes != last {
            (last, stable_since) = (writes, Instant::now());
        } else if writes > 0 && stable_since.elapsed() > Duration::from_secs(2) {
            for f in ["errors", "timeouts", "corrupt"] {
                assert_eq!(count(&t, f), 0, "uploads: {t}");
            }
            return;
        }
        assert!(start.elapsed() < UPLOAD_LIMIT, "uploads never settled: {t}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// A machine: a sandbox with `ZCCACHE_REAPI` set to `reapi`, daemon up.
fn machine(reapi: &str) -> Sandbox {
    let mut sb = Sandbox::new_outside_tmp();
    sb.set_env("ZCCACHE_REAPI", reapi);
    sb.start();
    sb
}

#[test]
fn a_second_machine_builds_zlib_from_the_reapi_cache_without_compiling() {
    let checkout = Sandbox::new_outside_tmp();
    let Some(dir) = zlib_in(&checkout) else {
        return;
    };
    let Some(server) = Buildbox::cache_only(&checkout.root) else {
        return;
    };
    let a = machine(&server.url());
    let bare = bare_objects(&a, &dir);
    build(&a, &dir, &SOURCES);
    assert_eq!(a.counters().hit_miss_since(Counters::default()), (0, 15));
    wait_uploads(&a);
    assert_objects_equal(&dir, &bare);
    std::fs::remove_dir_all(dir.join("out")).unwrap();

    let b = machine(&server.url());
    build(&b, &dir, &SOURCES);
    assert_eq!(
        b.counters().hit_miss_since(Counters::default()),
        (15, 0),
        "B: {}",
        b.stats()
    );
    assert_objects_equal(&dir, &bare);
    let t = reapi_tier(&b);
    assert!(count(&t, "hits") >= 30, "manifest + entry per source: {t}");
    assert_eq!(server.execute_requests(), 0);

    // An edited header on B misses and compiles what bare gcc compiles.
    edit_zutil(&dir);
    let before = b.counters();
    build(&b, &dir, &["adler32"]);
    assert_eq!(b.counters().hit_miss_since(before), (0, 1));
    assert_adler32_equals_bare_after_the_edit(&b, &dir, &bare);
}

#[test]
fn misses_run_on_the_cluster_and_equal_bare_objects() {
    let checkout = Sandbox::new_outside_tmp();
    let Some(dir) = zlib_in(&checkout) else {
        return;
    };
    let Some(server) = Buildbox::with_execution(&checkout.root) else {
        return;
    };
    let url = format!("{}|execute", server.url());
    let a = machine(&url);
    let bare = bare_objects(&a, &dir);
    build(&a, &dir, &SOURCES);
    let x = remote_exec(&a);
    assert_eq!(count(&x, "executed"), 15, "{x}");
    for field in ["fallbacks", "local_reruns", "errors", "timeouts"] {
        assert_eq!(count(&x, field), 0, "{field}: {x}");
    }
    assert!(
        count(&x, "bytes_up") > 0 && count(&x, "bytes_down") > 0,
        "{x}"
    );
    assert_eq!(server.execute_requests(), 15, "{}", server.proc.log_text());
    assert_objects_equal(&dir, &bare);

    // Warm: local hits, nothing executed.
    std::fs::remove_dir_all(dir.join("out")).unwrap();
    let before = a.counters();
    build(&a, &dir, &SOURCES);
    assert_eq!(a.counters().hit_miss_since(before), (15, 0));
    assert_eq!(server.execute_requests(), 15);
    assert_objects_equal(&dir, &bare);

    // A second machine executing too gets everything from the tier.
    wait_uploads(&a);
    std::fs::remove_dir_all(dir.join("out")).unwrap();
    let b = machine(&url);
    build(&b, &dir, &SOURCES);
    assert_eq!(b.counters().hit_miss_since(Counters::default()), (15, 0));
    assert_eq!(server.execute_requests(), 15);
    assert_objects_equal(&dir, &bare);

    // An edited header is a new action: executed again, equal to bare.
    edit_zutil(&dir);
    build(&b, &dir, &["adler32"]);
    assert_eq!(server.execute_requests(), 16);
    assert_eq!(count(&remote_exec(&b), "executed"), 1);
    assert_adler32_equals_bare_after_the_edit(&b, &dir, &bare);
}

#[test]
fn compile_errors_and_warnings_executed_remotely_report_exactly_as_bare() {
    let checkout = Sandbox::new_outside_tmp();
    if missing(&["gcc"]) {
        return;
    }
    let Some(server) = Buildbox::with_execution(&checkout.root) else {
        return;
    };
    let sb = machine(&format!("{}|execute", server.url()));
    sb.write("bad.c", "int f(void) { return undeclared_name; }\n");
    sb.write("warn.c", "int g(int x) { int unused; return x; }\n");
    for (src, flags) in [("bad.c", "-O2"), ("warn.c", "-Wall")] {
        let obj = src.replace(".c", ".o");
        let bare = sb.run("gcc", &[flags, "-c", src, "-o", "bare.o"]);
        let got = sb.zcc(&["gcc", flags, "-c", src, "-o", &obj]);
        assert_eq!(got.status.code(), bare.status.code(), "{src}");
        assert_same(&got.stderr, &bare.stderr, &format!("{src} stderr"));
        assert_same(&got.stdout, &bare.stdout, &format!("{src} stdout"));
        if bare.status.success() {
            assert_same(&sb.read(&obj), &sb.read("bare.o"), &obj);
        } else {
            assert!(!sb.exists(&obj), "{obj} left behind by a failed compile");
        }
    }
    let x = remote_exec(&sb);
    assert_eq!(count(&x, "executed"), 2, "{x}");
    assert_eq!(count(&x, "local_reruns"), 2, "{x}");
    assert_eq!(server.execute_requests(), 2);
}

#[test]
fn a_cluster_killed_mid_build_leaves_the_build_correct() {
    let checkout = Sandbox::new_outside_tmp();
    let Some(dir) = zlib_in(&checkout) else {
        return;
    };
    let Some(mut server) = Buildbox::with_execution(&checkout.root) else {
        return;
    };
    let a = machine(&format!("{}|execute", server.url()));
    let bare = bare_objects(&a, &dir);
    build(&a, &dir, &SOURCES[..5]);
    assert_eq!(count(&remote_exec(&a), "executed"), 5);
    server.kill();
    build(&a, &dir, &SOURCES[5..]);
    assert_objects_equal(&dir, &bare);
    let x = remote_exec(&a);
    assert_eq!(count(&x, "executed"), 5, "{x}");
    assert_eq!(count(&x, "fallbacks"), 10, "{x}");
    assert!(count(&x, "errors") >= 1, "{x}");
    assert_eq!(a.counters().hit_miss_since(Counters::default()), (0, 15));
}

#[test]
fn a_cluster_that_never_answers_costs_one_timeout_per_back_off() {
    let checkout = Sandbox::new_outside_tmp();
    let Some(dir) = zlib_in(&checkout) else {
        return;
    };
    let hang = HangingServer::start();
    let a = machine(&format!(
        "grpc://127.0.0.1:{}|execute|connect-timeout=300|timeout=300|execute-timeout=600",
        hang.port
    ));
    let bare = bare_objects(&a, &dir);
    build(&a, &dir, &SOURCES);
    assert_objects_equal(&dir, &bare);
    let x = remote_exec(&a);
    assert_eq!(count(&x, "executed"), 0, "{x}");
    assert_eq!(count(&x, "fallbacks"), 15, "{x}");
    // The breaker opens on the first timeout and backs off 1 s, 2 s, 4 s…:
    // a build of a few seconds pays a handful of timeouts, not 15.
    let timeouts = count(&x, "timeouts");
    eprintln!("timeouts against a hanging cluster: {timeouts}");
    assert!((1..=6).contains(&timeouts), "{x}");
    assert_eq!(x["breaker"], "open", "{x}");
}

#[test]
fn grpcs_with_an_api_key_header_shares_and_a_wrong_key_is_refused() {
    let checkout = Sandbox::new_outside_tmp();
    let Some(dir) = zlib_in(&checkout) else {
        return;
    };
    let Some(server) = Buildbox::cache_only(&checkout.root) else {
        return;
    };
    let Some(proxy) = GrpcTlsProxy::start(&checkout.root, server.proc.port, "k3y") else {
        return;
    };
    let with_cert = |url: String| {
        let mut sb = Sandbox::new_outside_tmp();
        sb.set_env("SSL_CERT_FILE", &proxy.cert);
        sb.set_env("ZCCACHE_REAPI", url);
        sb.start();
        sb
    };
    let good = format!("{}|header=x-api-key:k3y", proxy.url());
    let bare = bare_objects(&checkout, &dir);

    // A wrong key: every call refused (denied), the build correct.
    let wrong = with_cert(format!("{}|header=x-api-key:nope", proxy.url()));
    build(&wrong, &dir, &SOURCES[..3]);
    let t = reapi_tier(&wrong);
    assert!(count(&t, "errors") >= 1 && count(&t, "hits") == 0, "{t}");
    drop(wrong);
    std::fs::remove_dir_all(dir.join("out")).unwrap();

    let a = with_cert(good.clone());
    build(&a, &dir, &SOURCES);
    wait_uploads(&a);
    assert_objects_equal(&dir, &bare);
    std::fs::remove_dir_all(dir.join("out")).unwrap();
    let b = with_cert(good);
    build(&b, &dir, &SOURCES);
    assert_eq!(b.counters().hit_miss_since(Counters::default()), (15, 0));
    assert_objects_equal(&dir, &bare);
    let log = std::fs::read_to_string(proxy.proc.dir.join("access.log")).unwrap();
    assert!(log.contains(" 403 ") && log.contains(" 200 "), "{log}");
}

/// True when the CAS of `server` holds a blob with the contents of `file`
/// (buildbox-casd keeps blobs under `cas/objects/<2 hex>/<62 hex>` of
/// their SHA-256).
fn cas_holds(server: &Buildbox, file: &Path) -> bool {
    let out = std::process::Command::new("sha256sum")
        .arg(file)
        .output()
        .expect("run sha256sum");
    let hex = String::from_utf8_lossy(&out.stdout)[..64].to_string();
    let objects = server.proc.dir.join("store/cas/objects");
    objects.join(&hex[..2]).join(&hex[2..]).is_file()
}

#[test]
fn under_a_base_dir_the_input_root_is_the_base_dir_and_system_headers_stay_on_the_worker() {
    let checkout = Sandbox::new_outside_tmp();
    let Some(dir) = zlib_in(&checkout) else {
        return;
    };
    let Some(absolute) = Buildbox::with_execution(&checkout.root) else {
        return;
    };
    let Some(relocated) = Buildbox::with_execution(&checkout.root) else {
        return;
    };
    let bare = bare_objects(&checkout, &dir);
    let three = &SOURCES[..3];

    // Without a base dir: the root is `/`, system headers uploaded.
    let a = machine(&format!("{}|execute", absolute.url()));
    build(&a, &dir, three);
    assert_eq!(count(&remote_exec(&a), "executed"), 3);
    let stdlib = Path::new("/usr/include/stdlib.h");
    assert!(
        cas_holds(&absolute, stdlib),
        "stdlib.h not uploaded with a / root"
    );
    assert!(cas_holds(&absolute, &dir.join("zutil.h")));
    drop(a);
    std::fs::remove_dir_all(dir.join("out")).unwrap();

    // Under a base dir: the project's files only, at relative paths.
    let mut b = Sandbox::new_outside_tmp();
    b.set_env("ZCCACHE_REAPI", format!("{}|execute", relocated.url()));
    b.set_env("ZCCACHE_BASE_DIR", &checkout.root);
    b.start();
    build(&b, &dir, three);
    let x = remote_exec(&b);
    assert_eq!(count(&x, "executed"), 3, "{x}");
    assert_eq!(count(&x, "local_reruns") + count(&x, "fallbacks"), 0, "{x}");
    for (name, want) in SOURCES.iter().zip(&bare).take(3) {
        let got = std::fs::read(dir.join(format!("out/{name}.o"))).unwrap();
        assert_same(&got, want, &format!("{name}.o"));
    }
    assert!(
        !cas_holds(&relocated, stdlib),
        "stdlib.h uploaded under a base dir"
    );
    assert!(cas_holds(&relocated, &dir.join("zutil.h")));

    // With debug info the object embeds the cwd: the root stays `/`, and
    // the object still equals bare gcc's.
    let (src, obj) = ("adler32.c", "out/adler32-g.o");
    let zcc = b.zcc_in(&dir, &["gcc", "-g", "-O2", "-c", src, "-o", obj]);
    assert_ok(&zcc, "zccache gcc -g");
    assert_ok(
        &b.run_in(&dir, "gcc", &["-g", "-O2", "-c", src, "-o", "bare-g.o"]),
        "gcc -g",
    );
    assert_same(
        &std::fs::read(dir.join(obj)).unwrap(),
        &std::fs::read(dir.join("bare-g.o")).unwrap(),
        "adler32.o with -g",
    );
    assert_eq!(count(&remote_exec(&b), "executed"), 4);
    assert!(cas_holds(&relocated, stdlib), "a -g compile uses a / root");
}
