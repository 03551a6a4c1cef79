//! Portable rustc entries (issue 12, "Rust"): one crate graph (a bin, a
//! path dependency, and a lib and a proc-macro from a git repository, which
//! cargo checks out under `CARGO_HOME` like a registry crate) in two
//! workspaces at different absolute paths with two different
//! `CARGO_HOME`s, one cache. With `cargo zccache --portable` the second
//! workspace runs no rustc for any unit, its binary runs and prints the
//! same, and nothing it holds names the first workspace or CARGO_HOME
//! (its dep-info names its own files, so an edit there still rebuilds and
//! misses). Without `--portable` every unit embeds its checkout's paths, so
//! the second workspace compiles everything and no output names the first
//! checkout. Real cargo, rustc and git; the git repository is local
//! (`file://`), so nothing touches the network.

use crate::harness::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The git repository's crates: `git-dep` (lib `gdep`, reporting where
/// its source is, as panics and debug info would) and `git-pm`.
const GIT_FILES: &[(&str, &str)] = &[
    (
        "dep/Cargo.toml",
        "[package]\nname = \"git-dep\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[lib]\nname = \"gdep\"\n",
    ),
    (
        "dep/src/lib.rs",
        "pub fn value() -> String { format!(\"dep at {}\", file!()) }\n",
    ),
    (
        "pm/Cargo.toml",
        "[package]\nname = \"git-pm\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[lib]\nproc-macro = true\n",
    ),
    (
        "pm/src/lib.rs",
        "use proc_macro::TokenStream;\n#[proc_macro]\n\
         pub fn seven(_i: TokenStream) -> TokenStream { \"7u8\".parse().unwrap() }\n",
    ),
];

/// One checkout: its workspace root and its CARGO_HOME.
struct Checkout {
    ws: PathBuf,
    home: PathBuf,
}

fn write(p: &Path, text: &str) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// The git repository under the sandbox root, committed.
fn git_repo(sb: &Sandbox) -> String {
    let repo = sb.root.join("gitrepo");
    for (rel, text) in GIT_FILES {
        write(&repo.join(rel), text);
    }
    for args in [
        &["init", "-q"][..],
        &["add", "-A"],
        &["commit", "-q", "-m", "v1"],
    ] {
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
    }
    format!("file://{}", repo.display())
}

/// The workspace (`app` and the path crate `util`) at `rel` under the
/// sandbox root, with its own CARGO_HOME at `home`.
fn checkout(sb: &Sandbox, rel: &str, home: &str, url: &str) -> Checkout {
    let ws = sb.root.join(rel);
    let files = [
        (
            "Cargo.toml",
            "[workspace]\nmembers = [\"app\", \"util\"]\nresolver = \"2\"\n".to_string(),
        ),
        (
            "util/Cargo.toml",
            "[package]\nname = \"util\"\nversion = \"0.1.0\"\nedition = \"2021\"\n".into(),
        ),
        (
            "util/src/lib.rs",
            "pub fn twice(x: u8) -> u8 { let unused = 1; 2 * x }\n".into(),
        ),
        (
            "app/Cargo.toml",
            format!(
                "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\
                 [dependencies]\nutil = {{ path = \"../util\" }}\n\
                 git-dep = {{ git = \"{url}\" }}\ngit-pm = {{ git = \"{url}\" }}\n"
            ),
        ),
        (
            "app/src/main.rs",
            "fn main() { println!(\"{} {} {}\", gdep::value(), util::twice(git_pm::seven!()), file!()); }\n"
                .into(),
        ),
    ];
    for (path, text) in files {
        write(&ws.join(path), &text);
    }
    Checkout {
        ws,
        home: sb.root.join(home),
    }
}

/// `cargo zccache <args>` in checkout `c` (its CARGO_HOME, its default
/// `target/`).
fn cargo_zccache(sb: &Sandbox, c: &Checkout, args: &[&str]) -> Output {
    let mut cmd: Command = sb.command(cargo_zccache_bin());
    cmd.arg("zccache")
        .args(args)
        .current_dir(&c.ws)
        .env("CARGO_HOME", &c.home)
        .env("CARGO_INCREMENTAL", "0")
        .env("CARGO_TERM_COLOR", "never")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    let out = run_cmd(&mut cmd, None);
    assert_ok(
        &out,
        &format!("cargo zccache {args:?} in {}", c.ws.display()),
    );
    out
}

fn run_app(c: &Checkout) -> String {
    let out = run_cmd(&mut Command::new(c.ws.join("target/debug/app")), None);
    assert_ok(&out, "app");
    text(&out.stdout)
}

/// The files rustc wrote for the checkout: `target/debug/deps/*` (rlibs,
/// rmeta, the proc-macro, the bin, dep-info).
fn rustc_outputs(c: &Checkout) -> Vec<PathBuf> {
    let dir = c.ws.join("target/debug/deps");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

/// The outputs of `c` whose bytes contain `needle`.
fn naming(c: &Checkout, needle: &Path) -> Vec<PathBuf> {
    let needle = needle.to_str().unwrap().as_bytes();
    rustc_outputs(c)
        .into_iter()
        .filter(|p| {
            let bytes = std::fs::read(p).unwrap();
            bytes.windows(needle.len()).any(|w| w == needle)
        })
        .collect()
}

fn skip() -> bool {
    missing(&["cargo", "rustc", "cc", "git"])
}

/// Two checkouts at different depths, with different CARGO_HOMEs.
fn two_checkouts(sb: &Sandbox) -> (Checkout, Checkout) {
    let url = git_repo(sb);
    let a = checkout(sb, "one/ws", "home-one", &url);
    let b = checkout(sb, "two/deeper/ws", "home-two/cargo", &url);
    (a, b)
}

#[test]
fn portable_builds_share_every_crate_across_checkouts() {
    if skip() {
        return;
    }
    let sb = Sandbox::new();
    let (a, b) = two_checkouts(&sb);
    sb.zcc_ok(&["start"]);
    let before = sb.stats().counters();
    cargo_zccache(&sb, &a, &["build", "--portable"]);
    let (hits, misses) = sb.stats().counters().hit_miss_since(before);
    assert_eq!((hits, misses), (0, 4), "first checkout: {}", sb.stats());
    let expected = "dep at /cargo/git/checkouts/";
    assert!(run_app(&a).starts_with(expected), "{}", run_app(&a));

    let before = sb.stats().counters();
    let out = cargo_zccache(&sb, &b, &["build", "--portable"]);
    let (hits, misses) = sb.stats().counters().hit_miss_since(before);
    assert_eq!(
        (hits, misses),
        (4, 0),
        "second checkout ran rustc: {}\n{}",
        sb.stats(),
        text(&out.stderr)
    );
    // util's warning is replayed, naming no other checkout.
    let err = text(&out.stderr);
    assert!(err.contains("unused variable"), "{err}");
    assert!(err.contains("util/src/lib.rs"), "{err}");
    assert!(!err.contains(a.ws.to_str().unwrap()), "{err}");
    assert_eq!(run_app(&b), run_app(&a));
    assert!(
        run_app(&b).ends_with(" 14 app/src/main.rs\n"),
        "{}",
        run_app(&b)
    );
    for first in [&a.ws, &a.home] {
        let found = naming(&b, first);
        assert!(found.is_empty(), "{} named in {found:?}", first.display());
    }
    // The served dep-info names this checkout's files, so cargo watches
    // them: an edit here rebuilds, and the cache misses for it.
    for (here, crate_d) in [(&b.ws, "app-"), (&b.home, "gdep-")] {
        let named = naming(&b, here);
        assert!(
            named.iter().any(|p| {
                let name = p.file_name().unwrap().to_string_lossy();
                name.starts_with(crate_d) && name.ends_with(".d")
            }),
            "no {crate_d}*.d names {}: {named:?}",
            here.display()
        );
    }
    write(
        &b.ws.join("util/src/lib.rs"),
        "pub fn twice(x: u8) -> u8 { 3 * x }\n",
    );
    let before = sb.stats().counters();
    cargo_zccache(&sb, &b, &["build", "--portable"]);
    let (hits, misses) = sb.stats().counters().hit_miss_since(before);
    assert_eq!(
        (hits, misses),
        (0, 2),
        "util and app recompile: {}",
        sb.stats()
    );
    assert!(
        run_app(&b).ends_with(" 21 app/src/main.rs\n"),
        "{}",
        run_app(&b)
    );
}

#[test]
fn without_portable_nothing_embedding_the_first_checkout_is_served() {
    if skip() {
        return;
    }
    let sb = Sandbox::new();
    let (a, b) = two_checkouts(&sb);
    cargo_zccache(&sb, &a, &["build"]);
    // Without remapping, rustc embeds the absolute paths.
    let embedded = naming(&a, &a.home);
    assert!(
        embedded
            .iter()
            .any(|p| p.to_string_lossy().contains("gdep")),
        "the git crate does not embed its CARGO_HOME path: {:?}",
        rustc_outputs(&a)
    );
    let before = sb.stats().counters();
    cargo_zccache(&sb, &b, &["build"]);
    let (hits, misses) = sb.stats().counters().hit_miss_since(before);
    assert_eq!((hits, misses), (0, 4), "{}", sb.stats());
    for first in [&a.ws, &a.home] {
        let found = naming(&b, first);
        assert!(found.is_empty(), "{} named in {found:?}", first.display());
    }
    assert!(
        run_app(&b).contains("home-two/cargo/git/checkouts/"),
        "{}",
        run_app(&b)
    );
}

#[test]
fn a_crate_embedding_its_own_path_is_cached_per_checkout_only() {
    if skip() {
        return;
    }
    let sb = Sandbox::new();
    let (a, b) = two_checkouts(&sb);
    // `env!` values are string literals no remapping touches: util's rlib
    // names its checkout whatever the flags.
    let util = "pub fn twice(x: u8) -> u8 { 2 * x }\n\
                pub const DIR: &str = env!(\"CARGO_MANIFEST_DIR\");\n";
    for c in [&a, &b] {
        write(&c.ws.join("util/src/lib.rs"), util);
    }
    sb.zcc_ok(&["start"]);
    cargo_zccache(&sb, &a, &["build", "--portable"]);
    assert!(
        !naming(&a, &a.ws.join("util")).is_empty(),
        "util does not embed its dir"
    );
    // Stored all the same, for this checkout: a rebuild here hits.
    std::fs::remove_dir_all(a.ws.join("target")).unwrap();
    let before = sb.stats().counters();
    cargo_zccache(&sb, &a, &["build", "--portable"]);
    let (hits, misses) = sb.stats().counters().hit_miss_since(before);
    assert_eq!((hits, misses), (4, 0), "rebuild in place: {}", sb.stats());
    // Elsewhere util (and app, which links util's rlib) compile; the git
    // crates are shared; nothing names the first checkout.
    let before = sb.stats().counters();
    cargo_zccache(&sb, &b, &["build", "--portable"]);
    let (hits, misses) = sb.stats().counters().hit_miss_since(before);
    assert_eq!((hits, misses), (2, 2), "second checkout: {}", sb.stats());
    for first in [&a.ws, &a.home] {
        let found = naming(&b, first);
        assert!(found.is_empty(), "{} named in {found:?}", first.display());
    }
    assert!(!naming(&b, &b.ws.join("util")).is_empty());
}
