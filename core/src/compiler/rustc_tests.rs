//! Tests of the rustc argv parser.

use super::*;

fn parse(line: &str) -> Result<RustcInvocation, RustcRefusal> {
    let args: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    parse_rustc_args(&args, Path::new("/"))
}

const CARGO_LIB: &str = "--crate-name foo --edition=2021 src/lib.rs --error-format=json \
    --json=diagnostic-rendered-ansi,artifacts,future-incompat --crate-type lib \
    --emit=dep-info,metadata,link -C embed-bitcode=no -C debuginfo=2 \
    -C metadata=1c6e -C extra-filename=-0bc1 --out-dir /t/debug/deps \
    -L dependency=/t/debug/deps --extern bar=/t/debug/deps/libbar-1.rlib -l static=z";

#[test]
fn cargo_lib_call_is_understood() {
    let inv = parse(CARGO_LIB).unwrap();
    assert_eq!(inv.crate_name, "foo");
    assert_eq!(inv.input, "src/lib.rs");
    assert_eq!(inv.crate_types, vec!["lib"]);
    assert_eq!(inv.emit, vec!["dep-info", "metadata", "link"]);
    assert_eq!(inv.extra_filename, "-0bc1");
    assert_eq!(inv.externs, vec!["/t/debug/deps/libbar-1.rlib"]);
    assert_eq!(inv.native_libs, vec!["z"]);
    assert_eq!(inv.emit_index, Some(8));
    assert!(!inv.links());
    assert_eq!(
        inv.output_names(),
        vec!["foo-0bc1.d", "libfoo-0bc1.rlib", "libfoo-0bc1.rmeta"]
    );
}

#[test]
fn bin_and_proc_macro_names() {
    let bin = parse("--crate-name app src/main.rs --crate-type bin --emit=dep-info,link -C extra-filename=-9 --out-dir /o").unwrap();
    assert!(bin.links());
    assert_eq!(bin.output_names(), vec!["app-9", "app-9.d"]);
    let test = parse("--crate-name t src/lib.rs --test -C extra-filename=-1 --out-dir /o").unwrap();
    assert_eq!(test.output_names(), vec!["t-1"]);
    let pm = parse(
        "--crate-name m src/lib.rs --crate-type proc-macro --emit=dep-info,link --out-dir /o",
    )
    .unwrap();
    assert_eq!(pm.output_names(), vec!["libm.so", "m.d"]);
}

#[test]
fn refusals_are_named() {
    let r = |l: &str| parse(l).unwrap_err().label();
    assert_eq!(r("-vV"), "rustc_informational");
    assert_eq!(
        r("- --crate-name ___ --print=file-names --crate-type bin"),
        "rustc_informational"
    );
    assert_eq!(r("- --crate-name a --out-dir /o"), "rustc_input");
    assert_eq!(
        r("--crate-name a a.rs --out-dir /o --print=cfg"),
        "rustc_informational"
    );
    assert_eq!(
        r("--crate-name a a.rs --out-dir /o -C incremental=/i"),
        "rustc_incremental"
    );
    assert_eq!(
        r("--crate-name a a.rs --out-dir /o --crate-type sdylib"),
        "rustc_crate_type"
    );
    assert_eq!(
        r("--crate-name a a.rs --out-dir /o --emit=asm"),
        "rustc_emit"
    );
    assert_eq!(r("--crate-name a a.rs -o x"), "rustc_outputs");
    assert_eq!(r("--crate-name a a.rs"), "rustc_missing_arg");
    assert_eq!(
        r("--crate-name a a.rs --out-dir /o --target wasm32-unknown-unknown"),
        "rustc_target"
    );
    assert_eq!(r("--crate-name"), "rustc_bad_arg");
    // Injecting dep-info would change the embedded crate metadata.
    for ty in ["lib", "rlib", "dylib", "proc-macro"] {
        let line = format!("--crate-name a a.rs --out-dir /o --crate-type {ty}");
        assert_eq!(r(&line), "rustc_no_dep_info", "{ty}");
    }
    assert_eq!(
        r("--crate-name a a.rs --out-dir /o --crate-type bin --emit=metadata,link"),
        "rustc_no_dep_info"
    );
    for ty in ["bin", "staticlib", "cdylib"] {
        let line = format!("--crate-name a a.rs --out-dir /o --crate-type {ty}");
        assert!(parse(&line).is_ok(), "{ty} takes injected dep-info");
    }
}

#[test]
fn argfiles_expand_one_arg_per_line() {
    let d = tempfile::tempdir().unwrap();
    let lines = "--crate-name\nx y\n--out-dir\n/o\n--emit=dep-info,link\n";
    std::fs::write(d.path().join("args"), lines).unwrap();
    let args = vec!["@args".to_string(), "a.rs".to_string()];
    let inv = parse_rustc_args(&args, d.path()).unwrap();
    assert_eq!(inv.crate_name, "x y");
    assert!(parse_rustc_args(&["@missing".to_string()], d.path()).is_err());
}

#[test]
fn link_args_are_collected_in_order() {
    let inv = parse(
        "--crate-name app main.rs --crate-type bin --out-dir /o -C link-arg=extra.o \
         -Clink-args=-Wl,-Tmy.ld -C link-arg=-lfoo",
    )
    .unwrap();
    assert_eq!(inv.link_args, vec!["extra.o", "-Wl,-Tmy.ld", "-lfoo"]);
}
