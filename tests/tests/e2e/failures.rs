//! Never break a build: a killed daemon, an unusable cache dir and corrupt
//! store files still give correct builds, exit codes and stderr.

use crate::harness::*;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        let ft = e.file_type().unwrap();
        if ft.is_dir() {
            out.extend(files_under(&p));
        } else if ft.is_file() {
            out.push(p);
        }
    }
    out
}

fn count_objects(dir: &Path, n: usize) -> usize {
    (0..n)
        .filter(|i| dir.join(format!("s{i}.o")).exists())
        .count()
}

fn spawn_make(sb: &Sandbox, dir: &Path, log: &str, extra: &[&str]) -> std::process::Child {
    let logf = File::create(sb.root.join(log)).unwrap();
    let mut cmd = sb.command("make");
    cmd.current_dir(dir)
        .arg("-j2")
        .arg(format!("CC={} gcc", zccache_bin().display()))
        .args(extra)
        .stdin(Stdio::null())
        .stdout(logf.try_clone().unwrap())
        .stderr(logf);
    cmd.spawn().expect("spawn make")
}

fn finish_make(sb: &Sandbox, mut child: std::process::Child, log: &str) {
    let st = wait_limited(&mut child, "make", Duration::from_secs(600));
    let log = std::fs::read_to_string(sb.root.join(log)).unwrap_or_default();
    assert!(st.success(), "make failed ({st}):\n{log}");
}

#[test]
fn daemon_sigkill_during_make_build() {
    if missing(&["gcc", "make"]) {
        return;
    }
    const N: usize = 50;
    let sb = Sandbox::new();
    let proj = sb.path("proj");
    write_make_project(&proj, N);
    let bare = bare_make_objects(&proj, N);

    let mut make = spawn_make(&sb, &proj, "make1.log", &[]);
    let mut killed = None;
    let found = wait_until(Duration::from_secs(300), || {
        if matches!(make.try_wait(), Ok(Some(_))) {
            return true;
        }
        if count_objects(&proj, N) >= 3 {
            if let Some(pid) = sb.daemon_pid_file().filter(|p| pid_alive(*p)) {
                kill9(pid);
                killed = Some(pid);
                return true;
            }
        }
        false
    });
    assert!(
        found,
        "no daemon.pid with a live daemon appeared during the build"
    );
    let pid = killed.unwrap_or_else(|| panic!("make finished before the daemon could be killed"));
    let done = count_objects(&proj, N);
    assert!(
        done < N,
        "fixture: build already complete when the daemon was killed"
    );
    finish_make(&sb, make, "make1.log");
    assert!(!pid_alive(pid), "killed daemon {pid} still alive");
    check_make_objects(&proj, &bare);

    // The cache is still sound for a full rebuild afterwards.
    assert_ok(&sb.run_in(&proj, "make", &["clean"]), "make clean");
    let make = spawn_make(&sb, &proj, "make2.log", &[]);
    finish_make(&sb, make, "make2.log");
    check_make_objects(&proj, &bare);
}

const GOOD: &str =
    "#include <stdio.h>\nint f(int x) { int unused; printf(\"%d\\n\", x); return x; }\n";
const BAD: &str = "int g(void) { return nope; }\n";

/// Compiles a warning source, an error source and a multi-file pair through
/// zccache with the sandbox's (unusable) cache dir, twice, comparing
/// everything with the bare compiler.
fn builds_like_bare(sb: &Sandbox) {
    sb.write("good.c", GOOD);
    sb.write("bad.c", BAD);
    sb.write("two.c", "int two(void) { return 2; }\n");
    let ok_args = ["-Wall", "-O2", "-c", "good.c", "-o", "good.o"];
    let (bare_ok, obj) = sb.bare("gcc", &ok_args, &["good.o"]);
    let bad_args = ["-c", "bad.c", "-o", "bad.o"];
    let bare_bad = sb.run("gcc", &bad_args);
    assert!(!bare_bad.status.success());
    let multi = ["-c", "good.c", "two.c"];
    let (_, mobj) = sb.bare("gcc", &multi, &["good.o", "two.o"]);
    for round in 1..=2 {
        let mut z = vec!["gcc"];
        z.extend_from_slice(&ok_args);
        let out = sb.zcc(&z);
        assert_eq!(
            out.status.code(),
            Some(0),
            "round {round}: good compile: {}",
            text(&out.stderr)
        );
        assert_same(
            &out.stderr,
            &bare_ok.stderr,
            &format!("round {round}: warning stderr"),
        );
        assert_same(
            &sb.read("good.o"),
            &obj[0],
            &format!("round {round}: good.o"),
        );
        sb.remove("good.o");

        let mut z = vec!["gcc"];
        z.extend_from_slice(&bad_args);
        let out = sb.zcc(&z);
        assert_eq!(
            out.status.code(),
            bare_bad.status.code(),
            "round {round}: error exit code"
        );
        assert_same(
            &out.stderr,
            &bare_bad.stderr,
            &format!("round {round}: error stderr"),
        );
        assert_same(&out.stdout, b"", &format!("round {round}: error stdout"));

        let mut z = vec!["gcc"];
        z.extend_from_slice(&multi);
        let out = sb.zcc(&z);
        assert_ok(&out, "multi-file compile");
        assert_same(&sb.read("good.o"), &mobj[0], "multi good.o");
        assert_same(&sb.read("two.o"), &mobj[1], "multi two.o");
        sb.remove("good.o");
        sb.remove("two.o");
    }
}

#[test]
fn cache_dir_under_a_regular_file_still_builds() {
    if missing(&["gcc"]) {
        return;
    }
    let mut sb = Sandbox::new();
    std::fs::write(sb.root.join("plainfile"), "not a dir").unwrap();
    sb.cache = sb.root.join("plainfile").join("cache");
    builds_like_bare(&sb);
}

#[test]
fn cache_dir_that_is_a_regular_file_still_builds() {
    if missing(&["gcc"]) {
        return;
    }
    let mut sb = Sandbox::new();
    std::fs::write(sb.root.join("plainfile"), "not a dir").unwrap();
    sb.cache = sb.root.join("plainfile");
    builds_like_bare(&sb);
    assert_eq!(
        std::fs::read(sb.root.join("plainfile")).unwrap(),
        b"not a dir"
    );
}

#[test]
fn read_only_cache_dir_still_builds() {
    if missing(&["gcc"]) {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let mut sb = Sandbox::new();
    let ro = sb.root.join("rocache");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o500)).unwrap();
    sb.cache = ro;
    builds_like_bare(&sb);
}

/// A populated cache whose store becomes read-only (files and dirs 0500/0400):
/// hits or misses, builds stay correct.
#[test]
fn read_only_populated_store_still_builds() {
    if missing(&["gcc"]) {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    sb.write("a.c", "int a(void) { return 11; }\n");
    let z = ["gcc", "-c", "a.c", "-o", "a.o"];
    sb.zcc_ok(&z);
    sb.zcc_ok(&["stop"]);
    let store = sb.cache.join("store");
    for f in files_under(&store) {
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o400)).unwrap();
    }
    std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o500)).unwrap();
    builds_like_bare(&sb);
    std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o700)).unwrap();
}

/// Compiles once (miss), damages every blob with `damage`, and checks the
/// next compile is a correct miss and the one after a correct hit.
fn corrupt_blobs(damage: fn(&Path)) {
    if missing(&["gcc"]) {
        return;
    }
    let sb = Sandbox::new();
    sb.write("inc/h.h", "#define K 77\n");
    sb.write(
        "a.c",
        "#include \"h.h\"\nint a(int x) { return x * K + 1; }\n",
    );
    sb.start();
    let args = ["-O2", "-Iinc", "-c", "a.c", "-o", "a.o", "-MD"];
    let (o, bare) = sb.bare("gcc", &args, &["a.o", "a.d"]);
    assert_ok(&o, "bare");
    let mut z = vec!["gcc"];
    z.extend_from_slice(&args);
    sb.compile_expect(&z, Outcome::Miss);
    let blobs = files_under(&sb.cache.join("store").join("blobs"));
    assert!(
        !blobs.is_empty(),
        "no files under <cache>/store/blobs after a miss"
    );
    for b in &blobs {
        damage(b);
    }
    for (round, outcome) in [(1, Outcome::Miss), (2, Outcome::Hit)] {
        sb.remove("a.o");
        sb.remove("a.d");
        sb.compile_expect(&z, outcome);
        assert_same(
            &sb.read("a.o"),
            &bare[0],
            &format!("object after corruption, round {round}"),
        );
        assert_same(
            &sb.read("a.d"),
            &bare[1],
            &format!("depfile after corruption, round {round}"),
        );
    }
}

fn flip_bytes(p: &Path) {
    let mut b = std::fs::read(p).unwrap();
    for x in b.iter_mut() {
        *x ^= 0x5a;
    }
    std::fs::write(p, b).unwrap();
}

fn flip_one_byte_keep_mtime(p: &Path) {
    let md = std::fs::metadata(p).unwrap();
    let mut b = std::fs::read(p).unwrap();
    if !b.is_empty() {
        let mid = b.len() / 2;
        b[mid] ^= 0x01;
    }
    std::fs::write(p, b).unwrap();
    let f = std::fs::OpenOptions::new().write(true).open(p).unwrap();
    f.set_modified(md.modified().unwrap()).unwrap();
}

fn truncate_half(p: &Path) {
    let f = std::fs::OpenOptions::new().write(true).open(p).unwrap();
    let len = f.metadata().unwrap().len();
    f.set_len(len / 2).unwrap();
}

fn delete(p: &Path) {
    std::fs::remove_file(p).unwrap();
}

#[test]
fn corrupt_blob_flipped_bytes_never_served() {
    corrupt_blobs(flip_bytes);
}

#[test]
fn corrupt_blob_single_bit_same_mtime_never_served() {
    corrupt_blobs(flip_one_byte_keep_mtime);
}

#[test]
fn truncated_blob_never_served() {
    corrupt_blobs(truncate_half);
}

#[test]
fn missing_blob_is_a_miss() {
    corrupt_blobs(delete);
}

/// Damaged entry/manifest records: the build is still correct.
#[test]
fn corrupt_records_still_build_correctly() {
    if missing(&["gcc"]) {
        return;
    }
    for damage in [flip_bytes as fn(&Path), truncate_half] {
        let sb = Sandbox::new();
        sb.write("a.c", "int a(int x) { return x - 5; }\n");
        let args = ["-O1", "-c", "a.c", "-o", "a.o"];
        let bare = sb.bare_obj("gcc", &args, "a.o");
        let z = ["gcc", "-O1", "-c", "a.c", "-o", "a.o"];
        sb.zcc_ok(&z);
        let records = files_under(&sb.cache.join("store").join("records"));
        assert!(
            !records.is_empty(),
            "no files under <cache>/store/records after a miss"
        );
        for r in &records {
            damage(r);
        }
        for round in 1..=2 {
            sb.remove("a.o");
            sb.zcc_ok(&z);
            assert_same(
                &sb.read("a.o"),
                &bare,
                &format!("object with corrupt records, round {round}"),
            );
        }
        // The daemon is still healthy.
        sb.stats();
    }
}
