//! rustc called directly through zccache (no cargo): a `staticlib` is
//! cached byte for byte, a native library found through `-L native=` is
//! part of the key, an `@argfile` works like its expansion, and the files
//! named by `-C link-arg` (objects, `-l` libraries) key a linked crate.

use crate::harness::*;

fn sandbox() -> Option<Sandbox> {
    if missing(&["rustc", "cc", "ar"]) {
        return None;
    }
    let sb = Sandbox::new();
    sb.start();
    Some(sb)
}

#[test]
fn staticlib_hits_and_matches_bare() {
    let Some(sb) = sandbox() else { return };
    sb.write(
        "s.rs",
        "#[no_mangle]\npub extern \"C\" fn s_answer() -> u32 { 42 }\n",
    );
    let args = [
        "--crate-name",
        "s",
        "--crate-type",
        "staticlib",
        "--emit=dep-info,link",
        "-C",
        "extra-filename=-x",
        "--out-dir",
        "out",
        "s.rs",
    ];
    std::fs::create_dir_all(sb.path("out")).unwrap();
    let out = sb.run("rustc", &args);
    assert_ok(&out, "bare rustc");
    let bare = sb.read("out/libs-x.a");
    sb.remove("out/libs-x.a");
    let mut z = vec!["rustc"];
    z.extend_from_slice(&args);
    sb.compile_expect(&z, Outcome::Miss);
    assert_same(&sb.read("out/libs-x.a"), &bare, "staticlib (miss)");
    sb.remove("out/libs-x.a");
    sb.remove("out/s-x.d");
    sb.compile_expect(&z, Outcome::Hit);
    assert_same(&sb.read("out/libs-x.a"), &bare, "staticlib (hit)");
    assert!(sb.exists("out/s-x.d"));
}

/// `dylib` and `cdylib` (linked like a bin, one `.so` each) hit and are
/// byte-identical to a bare rustc; a source edit misses. The cdylib call
/// has no `--emit`, so the cache adds dep-info itself, which must not
/// change the library.
#[test]
fn dylib_and_cdylib_hit_and_match_bare() {
    let Some(sb) = sandbox() else { return };
    std::fs::create_dir_all(sb.path("out")).unwrap();
    for (ty, name, emit) in [
        ("dylib", "d", "--emit=dep-info,link"),
        ("cdylib", "c", "-Copt-level=0"),
    ] {
        let src = format!("{name}.rs");
        sb.write(
            &src,
            "#[no_mangle]\npub extern \"C\" fn answer() -> u32 { 42 }\n",
        );
        let args = [
            "--crate-name",
            name,
            "--crate-type",
            ty,
            emit,
            "--out-dir",
            "out",
            &src,
        ];
        let so = format!("out/lib{name}.so");
        assert_ok(&sb.run("rustc", &args), "bare rustc");
        let bare = sb.read(&so);
        sb.remove(&so);
        let mut z = vec!["rustc"];
        z.extend_from_slice(&args);
        sb.compile_expect(&z, Outcome::Miss);
        sb.remove(&so);
        sb.compile_expect(&z, Outcome::Hit);
        assert_same(&sb.read(&so), &bare, &format!("{ty} (hit)"));
        sb.write(
            &src,
            "#[no_mangle]\npub extern \"C\" fn answer() -> u32 { 43 }\n",
        );
        sb.compile_expect(&z, Outcome::Miss);
    }
}

/// Without `--emit=dep-info`, adding it would change an rlib's embedded
/// metadata: such calls run uncached, and the rlib equals a bare one.
#[test]
fn rlib_without_dep_info_runs_uncached() {
    let Some(sb) = sandbox() else { return };
    std::fs::create_dir_all(sb.path("out")).unwrap();
    sb.write("l.rs", "pub fn answer() -> u32 { 42 }\n");
    let args = [
        "--crate-name",
        "l",
        "--crate-type",
        "rlib",
        "--out-dir",
        "out",
        "l.rs",
    ];
    assert_ok(&sb.run("rustc", &args), "bare rustc");
    let bare = sb.read("out/libl.rlib");
    let mut z = vec!["rustc"];
    z.extend_from_slice(&args);
    let before = sb.stats();
    sb.zcc_ok(&z);
    let after = sb.stats();
    let n = |s: &Stats| s.nc_reason("rustc_no_dep_info");
    assert_eq!(n(&after) - n(&before), 1, "{after}");
    assert_same(&sb.read("out/libl.rlib"), &bare, "rlib run by the launcher");
}

/// `rustc -vV`, which cargo and build scripts run through the wrapper, is
/// answered from the daemon's memory byte for byte and is not counted as a
/// compile; `rustc -V` still runs rustc (non-cacheable).
#[test]
fn version_queries_are_answered_exactly() {
    let Some(sb) = sandbox() else { return };
    let bare = sb.run("rustc", &["-vV"]);
    assert_ok(&bare, "rustc -vV");
    let before = sb.counters();
    for _ in 0..2 {
        let out = sb.zcc_ok(&["rustc", "-vV"]);
        assert_eq!(text(&out.stdout), text(&bare.stdout));
        assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    }
    let after = sb.counters();
    assert_eq!(
        (after.hits, after.misses, after.non_cacheable),
        (before.hits, before.misses, before.non_cacheable),
        "-vV is not a compile"
    );
    let short = sb.zcc_ok(&["rustc", "-V"]);
    assert_eq!(text(&short.stdout), text(&sb.run("rustc", &["-V"]).stdout));
    let st = sb.stats();
    assert_eq!(st.nc_reason("rustc_informational"), 1, "{st}");
}

/// cargo's target-info query (`rustc - --print=…` with stdin on
/// /dev/null) is run once and then answered from memory, byte for byte,
/// per argv: a flag that changes the cfgs gets its own answer.
#[test]
fn cargos_target_info_query_is_answered_from_memory() {
    if missing(&["rustc"]) {
        return;
    }
    let mut sb = Sandbox::new();
    sb.set_env("ZCCACHE_DEBUG", "1");
    sb.start();
    let query = |extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = "- --crate-name ___ --print=file-names --crate-type bin \
             --crate-type rlib --print=sysroot --print=split-debuginfo --print=crate-name \
             --print=cfg"
            .split_whitespace()
            .map(str::to_string)
            .collect();
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let answered = || {
        let log = std::fs::read_to_string(sb.cache.join("logs/daemon.log")).unwrap_or_default();
        log.matches("target-info query answered from memory")
            .count()
    };
    for extra in [&[][..], &["-C", "debug-assertions=off"][..]] {
        let args = query(extra);
        let bare = sb.run("rustc", &args);
        assert_ok(&bare, "bare rustc --print");
        let mut z = vec!["rustc".to_string()];
        z.extend(args.clone());
        let before = answered();
        for round in 0..2 {
            let out = sb.zcc_ok(&z);
            assert_eq!(
                text(&out.stdout),
                text(&bare.stdout),
                "{extra:?} round {round}"
            );
            assert_eq!(text(&out.stderr), text(&bare.stderr));
        }
        assert_eq!(answered() - before, 1, "the second call came from memory");
    }
    let plain = text(&sb.run("rustc", &query(&[])).stdout);
    let on = text(
        &sb.run("rustc", &query(&["-C", "debug-assertions=off"]))
            .stdout,
    );
    assert_ne!(
        plain, on,
        "the flag changes the cfgs, so the answers differ"
    );
}

fn native_lib(sb: &Sandbox, value: u32) {
    sb.write(
        "nat/nat.c",
        format!("unsigned nat_value(void) {{ return {value}; }}\n"),
    );
    let obj = sb.path("nat/nat.o");
    let out = sb.run("cc", &["-c", "nat/nat.c", "-o", obj.to_str().unwrap()]);
    assert_ok(&out, "cc");
    sb.remove("nat/libnat.a");
    assert_ok(&sb.run("ar", &["rcs", "nat/libnat.a", "nat/nat.o"]), "ar");
}

#[test]
fn native_libraries_on_the_search_path_are_keyed() {
    let Some(sb) = sandbox() else { return };
    sb.write(
        "r.rs",
        "extern \"C\" { fn nat_value() -> u32; }\npub fn v() -> u32 { unsafe { nat_value() } }\n",
    );
    sb.write(
        "args.txt",
        "--crate-name\nr\n--crate-type\nrlib\n--emit=dep-info,link\n-L\nnative=nat\n-l\nstatic=nat\n--out-dir\nout\n",
    );
    std::fs::create_dir_all(sb.path("out")).unwrap();
    native_lib(&sb, 1);
    let z = ["rustc", "@args.txt", "r.rs"];
    sb.compile_expect(&z, Outcome::Miss);
    sb.compile_expect(&z, Outcome::Hit);
    native_lib(&sb, 2);
    sb.compile_expect(&z, Outcome::Miss);
    sb.compile_expect(&z, Outcome::Hit);
}

/// Writes `extra/extra.o` (defining `zc_marker = value`) and
/// `extra/libzcx.a` (defining `zc_lib = value * 10`).
fn link_arg_inputs(sb: &Sandbox, value: u32) {
    sb.write("extra/extra.c", format!("unsigned zc_marker = {value};\n"));
    sb.write("extra/x.c", format!("unsigned zc_lib = {};\n", value * 10));
    for (src, obj) in [
        ("extra/extra.c", "extra/extra.o"),
        ("extra/x.c", "extra/x.o"),
    ] {
        assert_ok(&sb.run("cc", &["-c", src, "-o", obj]), "cc");
    }
    sb.remove("extra/libzcx.a");
    assert_ok(&sb.run("ar", &["rcs", "extra/libzcx.a", "extra/x.o"]), "ar");
}

#[test]
fn files_named_by_link_args_are_keyed() {
    let Some(sb) = sandbox() else { return };
    sb.write(
        "app.rs",
        "extern \"C\" { static zc_marker: u32; static zc_lib: u32; }\n\
         fn main() { unsafe { println!(\"{} {}\", zc_marker, zc_lib) } }\n",
    );
    std::fs::create_dir_all(sb.path("out")).unwrap();
    let args = [
        "--crate-name",
        "app",
        "--crate-type",
        "bin",
        "--out-dir",
        "out",
        "-C",
        "link-arg=extra/extra.o",
        "-C",
        "link-args=-Lextra -lzcx",
        "app.rs",
    ];
    let mut z = vec!["rustc"];
    z.extend_from_slice(&args);
    let app = sb.path("out/app");
    let run_app = || {
        let out = sb.run::<&str>(app.to_str().unwrap(), &[]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    link_arg_inputs(&sb, 1);
    sb.compile_expect(&z, Outcome::Miss);
    assert_eq!(run_app().trim(), "1 10");
    sb.compile_expect(&z, Outcome::Hit);
    // A new object named by -C link-arg: the link must not be served stale.
    sb.write("extra/extra.c", "unsigned zc_marker = 2;\n");
    assert_ok(
        &sb.run("cc", &["-c", "extra/extra.c", "-o", "extra/extra.o"]),
        "cc",
    );
    sb.compile_expect(&z, Outcome::Miss);
    assert_eq!(run_app().trim(), "2 10");
    // A new library found through the link args' -L/-l.
    link_arg_inputs(&sb, 3);
    sb.compile_expect(&z, Outcome::Miss);
    assert_eq!(run_app().trim(), "3 30");
    let hit_bytes = {
        sb.compile_expect(&z, Outcome::Hit);
        sb.read("out/app")
    };
    assert_ok(&sb.run("rustc", &args), "bare rustc");
    assert_same(
        &sb.read("out/app"),
        &hit_bytes,
        "bin linked with link-arg inputs",
    );
}

/// A `-C link-arg=-l…` library found through `LIBRARY_PATH` (no `-L`) is
/// keyed by content too.
#[test]
fn link_arg_libraries_on_library_path_are_keyed() {
    let Some(mut sb) = sandbox() else { return };
    sb.set_env("LIBRARY_PATH", sb.path("extra"));
    sb.write(
        "app.rs",
        "extern \"C\" { static zc_marker: u32; static zc_lib: u32; }\n\
         fn main() { unsafe { println!(\"{} {}\", zc_marker, zc_lib) } }\n",
    );
    std::fs::create_dir_all(sb.path("out")).unwrap();
    let z = [
        "rustc",
        "--crate-name",
        "app",
        "--crate-type",
        "bin",
        "--out-dir",
        "out",
        "-C",
        "link-arg=extra/extra.o",
        "-C",
        "link-arg=-lzcx",
        "app.rs",
    ];
    let app = sb.path("out/app");
    let run_app = || {
        let out = sb.run::<&str>(app.to_str().unwrap(), &[]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    link_arg_inputs(&sb, 1);
    sb.compile_expect(&z, Outcome::Miss);
    assert_eq!(run_app().trim(), "1 10");
    sb.compile_expect(&z, Outcome::Hit);
    // Only the library changes; the object named by path stays.
    sb.write("extra/x.c", "unsigned zc_lib = 40;\n");
    assert_ok(&sb.run("cc", &["-c", "extra/x.c", "-o", "extra/x.o"]), "cc");
    sb.remove("extra/libzcx.a");
    assert_ok(&sb.run("ar", &["rcs", "extra/libzcx.a", "extra/x.o"]), "ar");
    sb.compile_expect(&z, Outcome::Miss);
    assert_eq!(run_app().trim(), "1 40");
}

#[test]
fn link_args_naming_extra_outputs_are_not_cached() {
    let Some(sb) = sandbox() else { return };
    sb.write("m.rs", "fn main() {}\n");
    std::fs::create_dir_all(sb.path("out")).unwrap();
    let before = sb.stats();
    let z = [
        "rustc",
        "--crate-name",
        "m",
        "--crate-type",
        "bin",
        "--out-dir",
        "out",
        "-C",
        "link-arg=-Wl,-Map=out/m.map",
        "m.rs",
    ];
    assert_ok(&sb.zcc(&z), "zccache rustc with -Map");
    assert!(
        sb.exists("out/m.map"),
        "the real link ran and wrote its map"
    );
    let after = sb.stats();
    let label = "rustc_link_outputs";
    let seen = after.nc_reason(label) - before.nc_reason(label);
    assert_eq!(seen, 1, "expected one {label} refusal; stats {after}");
}
