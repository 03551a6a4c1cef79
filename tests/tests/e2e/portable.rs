//! Base dirs (`ZCCACHE_BASE_DIR`; ccache manual, "base_dir"): two
//! checkouts of one small project at different absolute paths
//! (`<sandbox>/ci/a/proj` and `<sandbox>/ci/b/proj`), compiled from their
//! `build` dirs with absolute paths as CMake passes them, share one cache.
//! Each test proves both sides: what should be shared hits and equals an
//! uncached compile in that checkout; what would carry the other
//! checkout's path (debug info without a prefix map, an absolute
//! `#include`), or what changed in the second checkout, misses.

use crate::harness::*;
use std::path::{Path, PathBuf};
use std::process::Output;

const HEADER: &str = "#define FOO 41\n";
const SOURCE: &str = "#include \"foo.h\"\nint f(int x) { int unused; return x + FOO; }\n";

/// A sandbox with `ci/{a,b}/proj/{src/main.c,include/foo.h,build/}`, its
/// daemon started with `ZCCACHE_BASE_DIR=<sandbox>/ci` unless `base_dir`
/// is false.
fn checkouts(base_dir: bool) -> Option<Sandbox> {
    if missing(&["gcc"]) {
        return None;
    }
    let mut sb = Sandbox::new();
    for c in ["a", "b"] {
        sb.write(&format!("../ci/{c}/proj/include/foo.h"), HEADER);
        sb.write(&format!("../ci/{c}/proj/src/main.c"), SOURCE);
        std::fs::create_dir_all(proj(&sb, c).join("build")).unwrap();
    }
    if base_dir {
        sb.set_env("ZCCACHE_BASE_DIR", sb.root.join("ci"));
    }
    sb.start();
    Some(sb)
}

fn proj(sb: &Sandbox, checkout: &str) -> PathBuf {
    sb.root.join("ci").join(checkout).join("proj")
}

/// CMake-style argv for checkout `c`: absolute `-I`, source, `-o`, `-MF`.
fn argv(sb: &Sandbox, c: &str, extra: &[&str]) -> Vec<String> {
    let p = proj(sb, c);
    let s = |x: PathBuf| x.to_string_lossy().into_owned();
    let mut v: Vec<String> = vec!["gcc".into(), "-O2".into(), "-Wall".into()];
    v.extend(extra.iter().map(|e| e.to_string()));
    v.push(format!("-I{}", s(p.join("include"))));
    v.extend(["-MD".into(), "-MT".into(), "main.o".into(), "-MF".into()]);
    v.push(s(p.join("build/main.o.d")));
    v.extend(["-o".into(), s(p.join("build/main.o")), "-c".into()]);
    v.push(s(p.join("src/main.c")));
    v
}

/// Compiles checkout `c` through zccache from its build dir, expecting
/// `outcome`; returns the run and the object's bytes.
fn cached(sb: &Sandbox, c: &str, extra: &[&str], outcome: Outcome) -> (Output, Vec<u8>) {
    compile_with(sb, sb, c, extra, outcome)
}

/// [`cached`] with the cache (and daemon) of `cache`, the checkouts of
/// `paths`.
fn compile_with(
    cache: &Sandbox,
    paths: &Sandbox,
    c: &str,
    extra: &[&str],
    outcome: Outcome,
) -> (Output, Vec<u8>) {
    let build = proj(paths, c).join("build");
    let before = cache.stats();
    let mut cmd = cache.zcc_cmd(&argv(paths, c, extra));
    let out = run_cmd(cmd.current_dir(&build), None);
    assert_ok(&out, &format!("zccache compile in checkout {c}"));
    outcome.check(&before, &cache.stats(), &format!("checkout {c} {extra:?}"));
    (out, std::fs::read(build.join("main.o")).unwrap())
}

/// The object an uncached compile in checkout `c` makes, through zccache
/// with an empty cache of its own (so with the same rewritten paths).
fn fresh(sb: &Sandbox, c: &str, extra: &[&str]) -> Vec<u8> {
    let mut other = Sandbox::new();
    other.env = sb.env.clone();
    other.start();
    compile_with(&other, sb, c, extra, Outcome::Miss).1
}

fn has(hay: &[u8], needle: &Path) -> bool {
    let n = needle.to_string_lossy();
    hay.windows(n.len()).any(|w| w == n.as_bytes())
}

#[test]
fn second_checkout_hits_and_equals_its_bare_object() {
    let Some(sb) = checkouts(true) else { return };
    let (_, a_obj) = cached(&sb, "a", &[], Outcome::Miss);
    let (_, b_obj) = cached(&sb, "b", &[], Outcome::Hit);
    assert_same(&b_obj, &a_obj, "b's object");
    let build = proj(&sb, "b").join("build");
    let bare_args: Vec<String> = argv(&sb, "b", &[])[1..].to_vec();
    let bare_args: Vec<&str> = bare_args.iter().map(String::as_str).collect();
    let (_, bare) = sb.bare_in(&build, "gcc", &bare_args, &["main.o"]);
    assert_same(&b_obj, &bare[0], "b's object against bare gcc in b");
}

#[test]
fn without_base_dir_checkouts_share_nothing() {
    let Some(sb) = checkouts(false) else { return };
    cached(&sb, "a", &[], Outcome::Miss);
    cached(&sb, "b", &[], Outcome::Miss);
}

#[test]
fn depfile_and_warnings_name_this_checkouts_files() {
    let Some(sb) = checkouts(true) else { return };
    let (a_run, _) = cached(&sb, "a", &[], Outcome::Miss);
    let (b_run, _) = cached(&sb, "b", &[], Outcome::Hit);
    let warning = text(&b_run.stderr);
    assert!(warning.contains("unused"), "warning replayed: {warning}");
    assert_eq!(
        b_run.stderr, a_run.stderr,
        "diagnostics name relative paths"
    );
    assert!(!has(&b_run.stderr, &proj(&sb, "a")), "{warning}");
    assert!(warning.contains("../src/main.c"), "{warning}");
    let dep = std::fs::read(proj(&sb, "b").join("build/main.o.d")).unwrap();
    assert!(!has(&dep, &proj(&sb, "a")), "{}", text(&dep));
    assert!(text(&dep).starts_with("main.o:"), "{}", text(&dep));
    for rel in ["../src/main.c", "../include/foo.h"] {
        assert!(text(&dep).contains(rel), "{}", text(&dep));
        let build = proj(&sb, "b").join("build");
        assert!(build.join(rel).is_file(), "{rel} resolves into b");
    }
}

#[test]
fn a_header_changed_in_the_second_checkout_misses() {
    let Some(sb) = checkouts(true) else { return };
    cached(&sb, "a", &[], Outcome::Miss);
    sb.write("../ci/b/proj/include/foo.h", "#define FOO 42\n");
    let (_, b_obj) = cached(&sb, "b", &[], Outcome::Miss);
    assert_same(&b_obj, &fresh(&sb, "b", &[]), "b's object");
}

#[test]
fn a_shadowing_header_in_the_second_checkout_misses() {
    let Some(sb) = checkouts(true) else { return };
    cached(&sb, "a", &[], Outcome::Miss);
    // `#include "foo.h"` looks in the source's dir before `-I`.
    sb.write("../ci/b/proj/src/foo.h", "#define FOO 43\n");
    let (_, b_obj) = cached(&sb, "b", &[], Outcome::Miss);
    assert_same(&b_obj, &fresh(&sb, "b", &[]), "b's object");
}

#[test]
fn debug_info_without_a_prefix_map_is_not_shared() {
    let Some(sb) = checkouts(true) else { return };
    cached(&sb, "a", &["-g"], Outcome::Miss);
    let (_, b_obj) = cached(&sb, "b", &["-g"], Outcome::Miss);
    assert!(!has(&b_obj, &proj(&sb, "a")), "b's object names a's dir");
    assert!(has(&b_obj, &proj(&sb, "b")), "fixture: -g embeds the cwd");
    assert_same(&b_obj, &fresh(&sb, "b", &["-g"]), "b's -g object");
}

#[test]
fn debug_info_with_a_checkout_prefix_map_is_shared() {
    let Some(sb) = checkouts(true) else { return };
    let map = |c: &str| format!("-ffile-prefix-map={}=.", proj(&sb, c).display());
    let (_, a_obj) = cached(&sb, "a", &["-g", &map("a")], Outcome::Miss);
    let (_, b_obj) = cached(&sb, "b", &["-g", &map("b")], Outcome::Hit);
    assert_same(&b_obj, &a_obj, "b's object");
    assert!(!has(&b_obj, &proj(&sb, "a")), "b's object names a's dir");
    assert_same(&b_obj, &fresh(&sb, "b", &["-g", &map("b")]), "b's object");
    // A map that does not cover the build dir leaves the cwd in the key.
    let src_map = |c: &str| format!("-ffile-prefix-map={}/src=.", proj(&sb, c).display());
    cached(&sb, "a", &["-g", &src_map("a")], Outcome::Miss);
    cached(&sb, "b", &["-g", &src_map("b")], Outcome::Miss);
}

#[test]
fn an_absolute_include_under_a_base_dir_is_not_shared() {
    let Some(sb) = checkouts(true) else { return };
    for c in ["a", "b"] {
        let header = proj(&sb, c).join("include/foo.h");
        let body = format!(
            "#include \"{}\"\nconst char *f = __FILE__;\n",
            header.display()
        );
        sb.write(&format!("../ci/{c}/proj/src/main.c"), body);
    }
    cached(&sb, "a", &[], Outcome::Miss);
    let (_, b_obj) = cached(&sb, "b", &[], Outcome::Miss);
    assert!(!has(&b_obj, &proj(&sb, "a")), "b's object names a's dir");
    let dep = std::fs::read(proj(&sb, "b").join("build/main.o.d")).unwrap();
    assert!(!has(&dep, &proj(&sb, "a")), "{}", text(&dep));
}

#[test]
fn the_default_depfile_target_stays_the_output_as_given() {
    let Some(sb) = checkouts(true) else { return };
    let p = proj(&sb, "b");
    let obj = p.join("build/main.o");
    let args = [
        "-MD".to_string(),
        format!("-I{}", p.join("include").display()),
        "-c".into(),
        p.join("src/main.c").to_string_lossy().into_owned(),
        "-o".into(),
        obj.to_string_lossy().into_owned(),
    ];
    let build = p.join("build");
    let bare: Vec<&str> = args.iter().map(String::as_str).collect();
    let (_, want) = sb.bare_in(&build, "gcc", &bare, &["main.d"]);
    let mut z = vec!["gcc".to_string()];
    z.extend(args.iter().cloned());
    assert_ok(&sb.zcc_in(&build, &z), "zccache -MD");
    let got = std::fs::read(build.join("main.d")).unwrap();
    let target = |d: &[u8]| text(d).split(':').next().unwrap_or_default().to_string();
    assert_eq!(target(&got), target(&want[0]), "{}", text(&got));
}

#[test]
fn a_relative_base_dir_is_a_one_line_config_error() {
    let mut sb = Sandbox::new();
    sb.set_env("ZCCACHE_BASE_DIR", "/abs/ok:relative/dir");
    let out = sb.zcc(&["config"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("ZCCACHE_BASE_DIR") && err.contains("relative/dir"),
        "{err}"
    );
    sb.set_env("ZCCACHE_BASE_DIR", "/abs/one:/abs/two");
    let shown = text(&sb.zcc_ok(&["config"]).stdout);
    assert!(shown.contains("/abs/one:/abs/two"), "{shown}");
}

/// Runs `zccache <args>` in checkout `c`'s build dir expecting `outcome`;
/// returns the bytes of `output` there.
fn tool_step(sb: &Sandbox, c: &str, args: &[&str], output: &str, outcome: Outcome) -> Vec<u8> {
    let build = proj(sb, c).join("build");
    let before = sb.stats();
    assert_ok(
        &sb.zcc_in(&build, args),
        &format!("zccache {args:?} in {c}"),
    );
    outcome.check(&before, &sb.stats(), &format!("{args:?} in checkout {c}"));
    std::fs::read(build.join(output)).unwrap()
}

#[test]
fn archives_and_links_are_shared_unless_they_name_the_checkout() {
    let Some(sb) = checkouts(true) else { return };
    let ar = ["ar", "rcs", "libf.a", "main.o"];
    let so = ["gcc", "-shared", "-o", "libf.so", "main.o"];
    for (c, outcome) in [("a", Outcome::Miss), ("b", Outcome::Hit)] {
        cached(&sb, c, &[], outcome);
        tool_step(&sb, c, &ar, "libf.a", outcome);
        tool_step(&sb, c, &so, "libf.so", outcome);
    }
    let build = proj(&sb, "b").join("build");
    let served = std::fs::read(build.join("libf.so")).unwrap();
    let (_, bare) = sb.bare_in(&build, "gcc", &so[1..], &["libf.so"]);
    assert_same(
        &served,
        &bare[0],
        "b's shared library against bare gcc in b",
    );
    // An rpath naming the checkout is in the output: never shared.
    let rpath = |c: &str| format!("-Wl,-rpath,{}", proj(&sb, c).join("build").display());
    for (c, outcome) in [("a", Outcome::Miss), ("b", Outcome::Miss)] {
        let r = rpath(c);
        let args = ["gcc", "-shared", r.as_str(), "-o", "libr.so", "main.o"];
        let out = tool_step(&sb, c, &args, "libr.so", outcome);
        assert!(has(&out, &proj(&sb, c)), "fixture: the rpath is embedded");
    }
}
