//! Concurrent builds into one cache, and the cold-start daemon race.

use crate::harness::*;
use std::fs::File;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Barrier};
use std::time::Duration;

fn spawn_make(sb: &Sandbox, dir: &Path, log: &str) -> std::process::Child {
    let logf = File::create(sb.root.join(log)).unwrap();
    let mut cmd = sb.command("make");
    cmd.current_dir(dir)
        .arg("-j2")
        .arg(format!("CC={} gcc", zccache_bin().display()))
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
fn two_concurrent_make_builds_share_one_cache() {
    if missing(&["gcc", "make"]) {
        return;
    }
    const N: usize = 20;
    let sb = Sandbox::new();
    let p1 = sb.path("proj1");
    let p2 = sb.path("proj2");
    write_make_project(&p1, N);
    write_make_project(&p2, N);
    // proj2 differs in one header so half the keys differ between the copies.
    std::fs::write(p2.join("common.h"), "#define COMMON 9\n").unwrap();
    let bare1 = bare_make_objects(&p1, N);
    let bare2 = bare_make_objects(&p2, N);

    let m1 = spawn_make(&sb, &p1, "m1.log");
    let m2 = spawn_make(&sb, &p2, "m2.log");
    finish_make(&sb, m1, "m1.log");
    finish_make(&sb, m2, "m2.log");
    check_make_objects(&p1, &bare1);
    check_make_objects(&p2, &bare2);

    // Clean rebuilds, again concurrently: every compile is now a hit.
    let c0 = sb.counters();
    assert_ok(&sb.run_in(&p1, "make", &["clean"]), "make clean");
    assert_ok(&sb.run_in(&p2, "make", &["clean"]), "make clean");
    let m1 = spawn_make(&sb, &p1, "m3.log");
    let m2 = spawn_make(&sb, &p2, "m4.log");
    finish_make(&sb, m1, "m3.log");
    finish_make(&sb, m2, "m4.log");
    check_make_objects(&p1, &bare1);
    check_make_objects(&p2, &bare2);
    let c1 = sb.counters();
    assert_eq!(
        c1.hits - c0.hits,
        2 * N as u64,
        "warm concurrent rebuild hits: {}",
        sb.stats()
    );
    assert_eq!(
        c1.misses,
        c0.misses,
        "warm concurrent rebuild misses: {}",
        sb.stats()
    );
}

/// Same sources in two dirs built at once: identical keys racing to publish.
#[test]
fn identical_projects_race_to_store_same_entries() {
    if missing(&["gcc", "make"]) {
        return;
    }
    const N: usize = 16;
    let sb = Sandbox::new();
    let dirs: Vec<_> = (0..3).map(|i| sb.path(&format!("copy{i}"))).collect();
    for d in &dirs {
        write_make_project(d, N);
    }
    let bare = bare_make_objects(&dirs[0], N);
    sb.start();
    let kids: Vec<_> = dirs
        .iter()
        .enumerate()
        .map(|(i, d)| spawn_make(&sb, d, &format!("c{i}.log")))
        .collect();
    for (i, k) in kids.into_iter().enumerate() {
        finish_make(&sb, k, &format!("c{i}.log"));
    }
    for d in &dirs {
        check_make_objects(d, &bare);
    }
    let st = sb.counters();
    assert_eq!(
        st.hits + st.misses,
        3 * N as u64,
        "every compile is a hit or a miss: {}",
        sb.stats()
    );
    assert!(
        st.misses >= N as u64,
        "each key must miss at least once: {}",
        sb.stats()
    );
}

fn launcher_race_round() {
    const L: usize = 16;
    let sb = Sandbox::new();
    let mut bare = Vec::new();
    for i in 0..L {
        // A few launchers share a source, the rest compile their own.
        let src = format!("r{i}.c");
        sb.write(
            &src,
            format!("int r{i}(int x) {{ return x * {} + {i}; }}\n", i % 4),
        );
        let obj = format!("r{i}.o");
        bare.push(sb.bare_obj("gcc", &["-O2", "-c", &src, "-o", &obj], &obj));
    }
    assert!(!sb.cache.exists(), "fixture: cache dir must be cold");
    let gate = Arc::new(Barrier::new(L));
    let handles: Vec<_> = (0..L)
        .map(|i| {
            let gate = gate.clone();
            let mut cmd = sb.zcc_cmd(&[
                "gcc".to_string(),
                "-O2".into(),
                "-c".into(),
                format!("r{i}.c"),
                "-o".into(),
                format!("r{i}.o"),
            ]);
            std::thread::spawn(move || {
                gate.wait();
                run_cmd(&mut cmd, None)
            })
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        let out = h.join().expect("launcher thread");
        assert_ok(&out, &format!("launcher {i}"));
        assert!(
            out.stderr.is_empty(),
            "launcher {i} wrote to stderr: {}",
            text(&out.stderr)
        );
        assert_same(&sb.read(&format!("r{i}.o")), &bare[i], &format!("r{i}.o"));
    }
    // Losing daemons may take a moment to exit; then exactly one remains.
    wait_until(Duration::from_secs(10), || sb.daemons().len() == 1);
    std::thread::sleep(Duration::from_millis(500));
    let daemons = sb.daemons();
    assert_eq!(
        daemons.len(),
        1,
        "daemons for {}: {daemons:?}",
        sb.cache.display()
    );
    assert_eq!(
        sb.daemon_pid_file(),
        Some(daemons[0]),
        "daemon.pid names the survivor"
    );
}

#[test]
fn sixteen_cold_launchers_start_exactly_one_daemon() {
    if missing(&["gcc"]) {
        return;
    }
    for _ in 0..3 {
        launcher_race_round();
    }
}

/// `zccache start` racing itself: one daemon, every start exits 0.
#[test]
fn concurrent_start_commands_start_one_daemon() {
    let sb = Sandbox::new();
    let gate = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let gate = gate.clone();
            let mut cmd = sb.zcc_cmd(&["start"]);
            std::thread::spawn(move || {
                gate.wait();
                run_cmd(&mut cmd, None)
            })
        })
        .collect();
    for h in handles {
        assert_ok(&h.join().unwrap(), "zccache start");
    }
    wait_until(Duration::from_secs(10), || sb.daemons().len() == 1);
    assert_eq!(sb.daemons().len(), 1, "daemons: {:?}", sb.daemons());
}
