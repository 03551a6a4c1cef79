//! rustc called directly through zccache (no cargo): a `staticlib` is
//! cached byte for byte, a native library found through `-L native=` is
//! part of the key, and an `@argfile` works like its expansion.

mod common;
use common::*;

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
    sb.compile_expect(&z, "miss");
    assert_same(&sb.read("out/libs-x.a"), &bare, "staticlib (miss)");
    sb.remove("out/libs-x.a");
    sb.remove("out/s-x.d");
    sb.compile_expect(&z, "hit");
    assert_same(&sb.read("out/libs-x.a"), &bare, "staticlib (hit)");
    assert!(sb.exists("out/s-x.d"));
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
        "--crate-name\nr\n--crate-type\nrlib\n-L\nnative=nat\n-l\nstatic=nat\n--out-dir\nout\n",
    );
    std::fs::create_dir_all(sb.path("out")).unwrap();
    native_lib(&sb, 1);
    let z = ["rustc", "@args.txt", "r.rs"];
    sb.compile_expect(&z, "miss");
    sb.compile_expect(&z, "hit");
    native_lib(&sb, 2);
    sb.compile_expect(&z, "miss");
    sb.compile_expect(&z, "hit");
}
