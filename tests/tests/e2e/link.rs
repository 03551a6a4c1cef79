//! Link and archive caching: driver links, direct `ld`, `ar`; byte-identical
//! hits with sibling outputs; invalidation by input object, `-L` library and
//! linker flag; named non-cacheable reasons; the non-deterministic archive
//! warning (stats only, never on stderr); CMake's `ar qc` + `ranlib` pair.

use crate::harness::*;
use std::os::unix::fs::PermissionsExt;

/// Objects `a.o` (main) and `b.o` (helper), compiled without zccache.
fn objects(sb: &Sandbox, scale: i32) {
    sb.write(
        "a.c",
        "int helper(int);\nint main(void) { return helper(1) - 3; }\n",
    );
    sb.write(
        "b.c",
        format!("int helper(int x) {{ return x * {scale}; }}\n"),
    );
    for n in ["a", "b"] {
        let (c, o) = (format!("{n}.c"), format!("{n}.o"));
        assert_ok(&sb.run("gcc", &["-O2", "-c", &c, "-o", &o]), "gcc -c");
    }
}

/// `zccache <args>` expecting one hit or one miss, and success.
fn expect(sb: &Sandbox, args: &[&str], outcome: Outcome) {
    sb.compile_expect(args, outcome);
}

const LINK: &[&str] = &[
    "gcc",
    "a.o",
    "-o",
    "app",
    "-Llib",
    "-lb",
    "-Wl,-Map=app.map",
];

#[test]
fn driver_link_is_cached_byte_identical_with_siblings() {
    if missing(&["gcc", "ar"]) {
        return;
    }
    let sb = Sandbox::new();
    objects(&sb, 3);
    std::fs::create_dir_all(sb.path("lib")).unwrap();
    assert_ok(&sb.run("ar", &["rcsD", "lib/libb.a", "b.o"]), "bare ar");
    let bare_ar = sb.read("lib/libb.a");
    let (_, bare) = sb.bare("gcc", &LINK[1..], &["app", "app.map"]);
    sb.start();
    sb.remove("lib/libb.a");
    expect(&sb, &["ar", "rcsD", "lib/libb.a", "b.o"], Outcome::Miss);
    sb.remove("lib/libb.a");
    expect(&sb, &["ar", "rcsD", "lib/libb.a", "b.o"], Outcome::Hit);
    assert_same(&sb.read("lib/libb.a"), &bare_ar, "archive (hit)");
    expect(&sb, LINK, Outcome::Miss);
    assert_same(&sb.read("app"), &bare[0], "app (miss)");
    sb.remove("app");
    sb.remove("app.map");
    expect(&sb, LINK, Outcome::Hit);
    assert_same(&sb.read("app"), &bare[0], "app (hit)");
    assert_same(&sb.read("app.map"), &bare[1], "app.map sibling (hit)");
    let mode = std::fs::metadata(sb.path("app"))
        .unwrap()
        .permissions()
        .mode();
    assert!(mode & 0o100 != 0, "restored app is executable: {mode:o}");
    let st = sb.run_in(&sb.src, &sb.path("app").to_string_lossy(), &[] as &[&str]);
    assert!(st.status.success(), "restored app runs");
}

#[test]
fn link_misses_when_an_input_library_or_flag_changes() {
    if missing(&["gcc", "ar"]) {
        return;
    }
    let sb = Sandbox::new();
    objects(&sb, 3);
    std::fs::create_dir_all(sb.path("lib")).unwrap();
    assert_ok(&sb.run("ar", &["rcsD", "lib/libb.a", "b.o"]), "ar");
    sb.start();
    expect(&sb, LINK, Outcome::Miss);
    expect(&sb, LINK, Outcome::Hit);
    // A changed library found through -L.
    objects(&sb, 5);
    assert_ok(&sb.run("ar", &["rcsD", "lib/libb.a", "b.o"]), "ar");
    expect(&sb, LINK, Outcome::Miss);
    expect(&sb, LINK, Outcome::Hit);
    // A changed input object.
    sb.write(
        "a.c",
        "int helper(int);\nint main(void) { return helper(2) - 10; }\n",
    );
    assert_ok(&sb.run("gcc", &["-O2", "-c", "a.c", "-o", "a.o"]), "gcc -c");
    expect(&sb, LINK, Outcome::Miss);
    // A changed linker flag.
    let mut flagged = LINK.to_vec();
    flagged.push("-Wl,-O1");
    expect(&sb, &flagged, Outcome::Miss);
    expect(&sb, LINK, Outcome::Hit);
    // A library appearing earlier on the search path shadows the old one.
    std::fs::create_dir_all(sb.path("lib0")).unwrap();
    std::fs::copy(sb.path("lib/libb.a"), sb.path("lib0/libb.a")).unwrap();
    let mut shadowed = vec!["gcc", "a.o", "-o", "app", "-Llib0", "-Llib", "-lb"];
    expect(&sb, &shadowed, Outcome::Miss);
    sb.write("lib0/libb.a", "!<arch>\n");
    shadowed.push("-Wl,-O1");
    let out = sb.zcc(&shadowed);
    assert!(
        !out.status.success(),
        "empty shadowing archive breaks the link"
    );
}

#[test]
fn shared_library_and_direct_ld_are_cached() {
    if missing(&["gcc", "g++", "ld"]) {
        return;
    }
    let sb = Sandbox::new();
    sb.write("s.cpp", "int area(int w, int h) { return w * h; }\n");
    assert_ok(
        &sb.run("g++", &["-fPIC", "-c", "s.cpp", "-o", "s.o"]),
        "g++ -c",
    );
    objects(&sb, 2);
    let so = [
        "g++",
        "-shared",
        "s.o",
        "-o",
        "libs.so",
        "-Wl,-soname,libs.so.1",
    ];
    let ld = ["ld", "-r", "a.o", "b.o", "-o", "ab.o"];
    let (_, bare_so) = sb.bare("g++", &so[1..], &["libs.so"]);
    let (_, bare_ld) = sb.bare("ld", &ld[1..], &["ab.o"]);
    sb.start();
    for (args, out, bare) in [
        (&so[..], "libs.so", &bare_so[0]),
        (&ld[..], "ab.o", &bare_ld[0]),
    ] {
        expect(&sb, args, Outcome::Miss);
        sb.remove(out);
        expect(&sb, args, Outcome::Hit);
        assert_same(&sb.read(out), bare, out);
    }
}

#[test]
fn unreproducible_links_are_non_cacheable_with_a_reason() {
    if missing(&["gcc"]) {
        return;
    }
    let sb = Sandbox::new();
    objects(&sb, 3);
    sb.start();
    for (extra, reason) in [
        ("-Wl,--build-id=uuid", "build_id_uuid"),
        ("-flto=jobserver", "lto_jobserver"),
    ] {
        let out = sb.zcc(&["gcc", "a.o", "b.o", "-o", "app", extra]);
        assert_ok(&out, extra);
        assert!(sb.exists("app"));
        let st = sb.stats();
        assert_eq!(st.nc_reason(reason), 1, "{st}");
    }
    sb.write("one.c", "int main(void) { return 0; }\n");
    assert_ok(&sb.zcc(&["gcc", "one.c", "-o", "one"]), "compile and link");
    let st = sb.stats();
    assert_eq!(st.nc_reason("compile_and_link"), 1, "{st}");
    assert_eq!(st.counters().hits + st.counters().misses, 0);
}

#[test]
fn nondeterministic_archive_warns_in_stats_only() {
    if missing(&["gcc", "ar"]) {
        return;
    }
    let sb = Sandbox::new();
    objects(&sb, 3);
    sb.start();
    let out = sb.zcc_ok(&["ar", "rcs", "libx.a", "a.o"]);
    assert!(out.stderr.is_empty(), "stderr: {}", text(&out.stderr));
    sb.zcc_ok(&["ar", "rcs", "liby.a", "b.o"]);
    let st = sb.stats();
    assert_eq!(st.warning_reason("ar_nondeterministic"), 1, "{st}");
    // Appending to an existing archive keys on its previous content.
    sb.remove("libx.a");
    sb.compile_expect(&["ar", "rcs", "libx.a", "a.o"], Outcome::Hit);
    sb.compile_expect(&["ar", "q", "libx.a", "b.o"], Outcome::Miss);
    let listing = sb.run("ar", &["t", "libx.a"]);
    assert_eq!(text(&listing.stdout), "a.o\nb.o\n");
}

/// CMake's static-library rule, `ar qc` then `ranlib`: both are cached, the
/// result is byte-identical to running them bare, and `ranlib` keys on the
/// archive it indexes in place.
#[test]
fn cmake_style_ar_qc_then_ranlib_is_cached() {
    if missing(&["gcc", "ar", "ranlib"]) {
        return;
    }
    let sb = Sandbox::new();
    objects(&sb, 3);
    assert_ok(&sb.run("ar", &["qc", "bare.a", "a.o", "b.o"]), "bare ar");
    assert_ok(&sb.run("ranlib", &["bare.a"]), "bare ranlib");
    let bare = sb.read("bare.a");
    sb.start();
    for outcome in [Outcome::Miss, Outcome::Hit] {
        sb.remove("libx.a");
        expect(&sb, &["ar", "qc", "libx.a", "a.o", "b.o"], outcome);
        expect(&sb, &["ranlib", "libx.a"], outcome);
        assert_same(
            &sb.read("libx.a"),
            &bare,
            &format!("indexed archive ({outcome})"),
        );
    }
    // A different archive to index: ranlib must not replay the old index.
    objects(&sb, 5);
    sb.remove("libx.a");
    expect(&sb, &["ar", "qc", "libx.a", "a.o", "b.o"], Outcome::Miss);
    expect(&sb, &["ranlib", "libx.a"], Outcome::Miss);
    sb.remove("bare.a");
    assert_ok(&sb.run("ar", &["qc", "bare.a", "a.o", "b.o"]), "bare ar");
    assert_ok(&sb.run("ranlib", &["bare.a"]), "bare ranlib");
    assert_same(&sb.read("libx.a"), &sb.read("bare.a"), "re-indexed archive");
    // ranlib options it cannot prove reproducible run uncached.
    let before = sb.stats();
    sb.zcc_ok(&["ranlib", "-t", "libx.a"]);
    let after = sb.stats();
    let n = |s: &Stats| s.nc_reason("ranlib_option");
    assert_eq!(n(&after) - n(&before), 1, "{after}");
}
