//! `cargo zccache warm`: after `cargo zccache build` and `cargo clean`, warm
//! restores the unit files of the git dependencies so that plain `cargo
//! build` finds them `Fresh` and compiles only the workspace, with a
//! byte-identical binary; a new Cargo.lock restores nothing stale; a group
//! with a file already present is left alone; an empty cache and
//! `--dry-run` write nothing; while cargo holds the build lock, warm fails
//! with one line and writes nothing. Real cargo, rustc and git; the git
//! dependencies come from a local repository (`file://`) with a private
//! `CARGO_HOME`, so nothing touches the network.

use crate::harness::*;
use std::path::Path;
use std::process::{Command, Output};

/// The git repository: `git-dep` (lib named `gdep`, with a build script
/// writing into `OUT_DIR`) and `git-pm` (a proc-macro).
fn git_files(version: &str) -> Vec<(String, String)> {
    vec![
        (
            "dep/Cargo.toml".into(),
            "[package]\nname = \"git-dep\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\
             [lib]\nname = \"gdep\"\n"
                .into(),
        ),
        (
            "dep/build.rs".into(),
            "fn main() {\n    let out = std::env::var(\"OUT_DIR\").unwrap();\n    \
             std::fs::write(format!(\"{out}/gen.txt\"), \"generated\").unwrap();\n    \
             println!(\"cargo:rerun-if-changed=build.rs\");\n}\n"
                .into(),
        ),
        (
            "dep/src/lib.rs".into(),
            format!(
                "pub fn value() -> String {{ format!(\"{version} {{}}\", \
                 include_str!(concat!(env!(\"OUT_DIR\"), \"/gen.txt\"))) }}\n"
            ),
        ),
        (
            "pm/Cargo.toml".into(),
            "[package]\nname = \"git-pm\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\
             [lib]\nproc-macro = true\n"
                .into(),
        ),
        (
            "pm/src/lib.rs".into(),
            "use proc_macro::TokenStream;\n#[proc_macro]\n\
             pub fn seven(_i: TokenStream) -> TokenStream { \"7u8\".parse().unwrap() }\n"
                .into(),
        ),
    ]
}

/// Write the git repository (committing `version`) and a workspace (`app`
/// and the path crate `util`) depending on it; set a private
/// `CARGO_HOME` and target dir.
fn fixture() -> Sandbox {
    let mut sb = Sandbox::new();
    let url = format!("file://{}", sb.root.join("gitrepo").display());
    commit_git(&sb, "dep-v1");
    sb.write(
        "Cargo.toml",
        "[workspace]\nmembers = [\"app\", \"util\"]\nresolver = \"2\"\n",
    );
    sb.write(
        "util/Cargo.toml",
        "[package]\nname = \"util\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    sb.write("util/src/lib.rs", "pub fn twice(x: u8) -> u8 { 2 * x }\n");
    sb.write(
        "app/Cargo.toml",
        format!(
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\
             [dependencies]\nutil = {{ path = \"../util\" }}\n\
             git-dep = {{ git = \"{url}\" }}\ngit-pm = {{ git = \"{url}\" }}\n"
        ),
    );
    sb.write(
        "app/src/main.rs",
        "fn main() { println!(\"{} {}\", gdep::value(), util::twice(git_pm::seven!())); }\n",
    );
    sb.set_env("CARGO_HOME", sb.root.join("cargo-home"));
    sb.set_env("CARGO_TARGET_DIR", sb.root.join("target"));
    sb.set_env("CARGO_INCREMENTAL", "0");
    sb.set_env("CARGO_TERM_COLOR", "never");
    sb
}

/// Write the repository's files for `version` and commit them.
fn commit_git(sb: &Sandbox, version: &str) {
    let repo = sb.root.join("gitrepo");
    for (rel, text) in git_files(version) {
        let p = repo.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let git = |args: &[&str]| {
        let mut c = Command::new("git");
        c.args(["-c", "user.name=zc", "-c", "user.email=zc@example.com"])
            .args([
                "-c",
                "commit.gpgsign=false",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .current_dir(&repo);
        assert_ok(&run_cmd(&mut c, None), &format!("git {args:?}"));
    };
    if !repo.join(".git").exists() {
        git(&["init", "-q"]);
    }
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", version]);
}

/// `cargo zccache <args>` as cargo runs it.
fn cargo_zccache(sb: &Sandbox, args: &[&str]) -> Output {
    let mut c: Command = sb.command(cargo_zccache_bin());
    c.arg("zccache").args(args);
    run_cmd(&mut c, None)
}

fn cargo_zccache_ok(sb: &Sandbox, args: &[&str]) -> Output {
    let out = cargo_zccache(sb, args);
    assert_ok(&out, &format!("cargo zccache {args:?}"));
    out
}

/// Plain `cargo <args>` (no wrapper, not offline: the first fetch of the
/// local git repository needs it).
fn plain_cargo(sb: &Sandbox, args: &[&str]) -> Output {
    let mut c = sb.command("cargo");
    c.args(args).env_remove("RUSTC_WRAPPER");
    let out = run_cmd(&mut c, None);
    assert_ok(&out, &format!("cargo {args:?}"));
    out
}

fn app_output(sb: &Sandbox) -> String {
    let out = run_cmd(&mut Command::new(sb.target("debug/app")), None);
    assert_ok(&out, "app");
    text(&out.stdout)
}

/// Names of the files in `dir` (empty when it does not exist).
fn names_in(dir: &Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// The number from "restored N unit groups" / "skipped N already present".
fn count_after(err: &str, before: &str) -> u64 {
    let at = err
        .find(before)
        .unwrap_or_else(|| panic!("{before:?} not in: {err}"));
    err[at + before.len()..]
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count after {before:?} in: {err}"))
}

fn skip() -> bool {
    missing(&["cargo", "rustc", "cc", "git"])
}

#[test]
fn warm_makes_git_crates_fresh_after_cargo_clean() {
    if skip() {
        return;
    }
    let sb = fixture();
    let first = cargo_zccache_ok(&sb, &["build"]);
    assert!(
        text(&first.stderr).contains("zccache: warm snapshot saved: "),
        "{}",
        text(&first.stderr)
    );
    let binary = std::fs::read(sb.target("debug/app")).unwrap();
    assert_eq!(app_output(&sb), "dep-v1 generated 14\n");
    plain_cargo(&sb, &["clean"]);

    let dry = cargo_zccache_ok(&sb, &["warm", "--dry-run"]);
    let listing = text(&dry.stdout);
    for unit in ["debug/git-dep-", "debug/git-pm-"] {
        assert!(listing.contains(&format!("restore {unit}")), "{listing}");
    }
    assert!(
        !listing.contains("/app-") && !listing.contains("/util-"),
        "{listing}"
    );
    assert!(
        !sb.root.join("target").exists(),
        "--dry-run wrote into target/"
    );

    let warm = cargo_zccache_ok(&sb, &["warm"]);
    let err = text(&warm.stderr);
    // git-dep: build-script compile, build-script run, lib; git-pm: lib.
    assert_eq!(count_after(&err, "restored "), 4, "{err}");
    assert_eq!(count_after(&err, "skipped "), 0, "{err}");

    let build = plain_cargo(&sb, &["build", "-v", "--offline"]);
    let log = text(&build.stderr);
    assert!(log.contains("Fresh git-dep v0.1.0"), "{log}");
    assert!(log.contains("Fresh git-pm v0.1.0"), "{log}");
    assert!(log.contains("Compiling util v0.1.0"), "{log}");
    assert!(log.contains("Compiling app v0.1.0"), "{log}");
    assert!(!log.contains("Compiling git-"), "{log}");
    let rustc_runs = log.lines().filter(|l| l.contains("Running `")).count();
    assert_eq!(rustc_runs, 2, "only util and app compile: {log}");
    assert_same(
        &std::fs::read(sb.target("debug/app")).unwrap(),
        &binary,
        "app after warm",
    );
    assert_eq!(app_output(&sb), "dep-v1 generated 14\n");

    let again = plain_cargo(&sb, &["build", "-v", "--offline"]);
    let log = text(&again.stderr);
    assert!(!log.contains("Compiling"), "{log}");
    assert!(log.contains("Fresh app v0.1.0"), "{log}");

    // An all-hit build with the same units keeps the snapshot without
    // rereading the build dir, and the kept snapshot still restores. (The
    // first rebuild may still compile a workspace crate whose sources were
    // written in the same clock tick as its first compile, which the cache
    // does not store; the second is all hits.)
    plain_cargo(&sb, &["clean"]);
    cargo_zccache_ok(&sb, &["build"]);
    plain_cargo(&sb, &["clean"]);
    let hits = cargo_zccache_ok(&sb, &["build"]);
    let err = text(&hits.stderr);
    assert!(err.contains("0 misses"), "{err}");
    assert!(
        err.contains("zccache: warm snapshot kept: 4 unit groups, no rustc ran"),
        "{err}"
    );
    plain_cargo(&sb, &["clean"]);
    let warm = cargo_zccache_ok(&sb, &["warm"]);
    assert_eq!(count_after(&text(&warm.stderr), "restored "), 4);
    let build = plain_cargo(&sb, &["build", "-v", "--offline"]);
    assert!(text(&build.stderr).contains("Fresh git-dep v0.1.0"));
    assert_eq!(app_output(&sb), "dep-v1 generated 14\n");
}

#[test]
fn a_new_cargo_lock_restores_nothing_stale() {
    if skip() {
        return;
    }
    let sb = fixture();
    cargo_zccache_ok(&sb, &["build"]);
    assert_eq!(app_output(&sb), "dep-v1 generated 14\n");
    plain_cargo(&sb, &["clean"]);
    commit_git(&sb, "dep-v2");
    plain_cargo(&sb, &["update"]);

    let warm = cargo_zccache_ok(&sb, &["warm"]);
    let err = text(&warm.stderr);
    assert!(err.contains("nothing to restore"), "{err}");
    assert!(
        names_in(&sb.target("debug/.fingerprint")).is_empty(),
        "warm wrote units for another Cargo.lock"
    );
    let build = plain_cargo(&sb, &["build", "-v", "--offline"]);
    assert!(
        text(&build.stderr).contains("Compiling git-dep v0.1.0"),
        "{}",
        text(&build.stderr)
    );
    assert_eq!(app_output(&sb), "dep-v2 generated 14\n");

    // The new Cargo.lock gets its own snapshot, restored after the next clean.
    cargo_zccache_ok(&sb, &["build"]);
    plain_cargo(&sb, &["clean"]);
    let warm = cargo_zccache_ok(&sb, &["warm"]);
    assert_eq!(count_after(&text(&warm.stderr), "restored "), 4);
    let build = plain_cargo(&sb, &["build", "-v", "--offline"]);
    assert!(!text(&build.stderr).contains("Compiling git-"));
    assert_eq!(app_output(&sb), "dep-v2 generated 14\n");
}

#[test]
fn a_group_with_a_file_present_is_skipped_not_overwritten() {
    if skip() {
        return;
    }
    let sb = fixture();
    cargo_zccache_ok(&sb, &["build"]);
    let rlib = names_in(&sb.target("debug/deps"))
        .into_iter()
        .find(|n| n.starts_with("libgdep-") && n.ends_with(".rlib"))
        .expect("libgdep rlib");
    plain_cargo(&sb, &["clean"]);
    let planted = sb.target(&format!("debug/deps/{rlib}"));
    std::fs::create_dir_all(planted.parent().unwrap()).unwrap();
    std::fs::write(&planted, b"not an rlib").unwrap();

    let dry = cargo_zccache_ok(&sb, &["warm", "--dry-run"]);
    assert!(
        text(&dry.stdout).contains("skip (present) debug/git-dep-"),
        "{}",
        text(&dry.stdout)
    );
    let warm = cargo_zccache_ok(&sb, &["warm"]);
    let err = text(&warm.stderr);
    assert_eq!(count_after(&err, "restored "), 3, "{err}");
    assert_eq!(count_after(&err, "skipped "), 1, "{err}");
    assert_eq!(std::fs::read(&planted).unwrap(), b"not an rlib");
    let unit = rlib
        .trim_start_matches("libgdep-")
        .trim_end_matches(".rlib");
    assert!(
        !sb.target(&format!("debug/.fingerprint/git-dep-{unit}"))
            .exists(),
        "the skipped group's fingerprint was restored"
    );

    // cargo sees no fingerprint for that unit and rebuilds it over the junk.
    let build = plain_cargo(&sb, &["build", "-v", "--offline"]);
    let log = text(&build.stderr);
    assert!(log.contains("Compiling git-dep v0.1.0"), "{log}");
    assert!(log.contains("Fresh git-pm v0.1.0"), "{log}");
    assert_eq!(app_output(&sb), "dep-v1 generated 14\n");
}

#[test]
fn warm_with_an_empty_cache_has_nothing_to_restore() {
    if skip() {
        return;
    }
    let sb = fixture();
    let none = cargo_zccache_ok(&sb, &["warm"]);
    assert!(
        text(&none.stderr).contains("no Cargo.lock"),
        "{}",
        text(&none.stderr)
    );
    plain_cargo(&sb, &["generate-lockfile"]);
    for args in [&["warm"][..], &["warm", "--dry-run"]] {
        let out = cargo_zccache_ok(&sb, args);
        let err = text(&out.stderr);
        assert!(err.contains("no snapshot for this Cargo.lock"), "{err}");
        assert!(err.contains("nothing to restore"), "{err}");
        assert!(text(&out.stdout).is_empty());
    }
    assert!(!sb.root.join("target").exists(), "warm wrote into target/");
    let elsewhere = cargo_zccache_ok(
        &sb,
        &[
            "warm",
            "--manifest-path",
            &sb.path("app/Cargo.toml").display().to_string(),
        ],
    );
    assert!(text(&elsewhere.stderr).contains("nothing to restore"));
}

#[test]
fn warm_fails_cleanly_while_cargo_holds_the_build_lock() {
    if skip() {
        return;
    }
    let sb = fixture();
    cargo_zccache_ok(&sb, &["build"]);
    plain_cargo(&sb, &["clean"]);
    let path = sb.target("debug/.cargo-lock");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let lock = std::fs::File::create(&path).unwrap();
    // What cargo does while it builds: an exclusive flock on .cargo-lock.
    use std::os::fd::AsRawFd;
    // SAFETY: flock(2) on a file descriptor we own; no memory effects.
    assert_eq!(unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) }, 0);
    let busy = cargo_zccache(&sb, &["warm"]);
    drop(lock);
    assert_eq!(busy.status.code(), Some(1), "{}", text(&busy.stderr));
    let err = text(&busy.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cargo is using"), "{err}");
    assert!(names_in(&sb.target("debug/.fingerprint")).is_empty());

    let warm = cargo_zccache_ok(&sb, &["warm"]);
    assert_eq!(count_after(&text(&warm.stderr), "restored "), 4);
}
