//! Unit tests of the portable key forms ([`super`]) and of the stored
//! text markers ([`super::super::portable_text`]).

use super::super::portable_text::{from_markers, localize_manifest, names_a_root, to_markers};
use super::*;
use crate::storage::{InputSet, Manifest, RecordKey, RecordedFile};

fn root(name: &str, path: &str) -> Root {
    Root {
        name: name.into(),
        path: PathBuf::from(path),
    }
}

/// A checkout at `ws` with its CARGO_HOME at `home`, both remapped as
/// `cargo zccache --portable` does.
fn checkout(ws: &str, home: &str) -> Anchors {
    Anchors::new(
        vec![root("workspace", ws), root("cargo-home", home)],
        vec![PathBuf::from(ws), PathBuf::from(home)],
    )
}

fn request(cwd: &str, env: &[(&str, &str)], args: &[&str]) -> CompileRequest {
    CompileRequest {
        cwd: PathBuf::from(cwd),
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        args: args.iter().map(|a| a.to_string()).collect(),
        compiler: PathBuf::from("rustc"),
        client_pid: 0,
        umask: 0o022,
        prefix: None,
        verify_per_million: 0,
        base_dirs: Vec::new(),
        settings_from_env: false,
    }
}

#[test]
fn safe_paths_key_alike_in_two_checkouts() {
    let a = checkout("/ci/a", "/home/u/.cargo");
    let b = checkout("/w/b", "/h/v/cargo");
    for (x, y) in [
        ("/ci/a", "/w/b"),
        ("/ci/a/target/debug/deps", "/w/b/target/debug/deps"),
        (
            "/home/u/.cargo/registry/src/idx/serde-1.0.0/src/lib.rs",
            "/h/v/cargo/registry/src/idx/serde-1.0.0/src/lib.rs",
        ),
    ] {
        assert_eq!(a.key_path(x), b.key_path(y), "{x} vs {y}");
        assert!(a.key_path(x).starts_with('\0'), "{x}");
    }
    assert_eq!(a.key_path("/ci/a/src/../lib.rs"), "\0workspace\0/lib.rs");
    assert_eq!(a.key_path("/usr/lib/libz.a"), "/usr/lib/libz.a");
    assert_eq!(a.key_path("src/lib.rs"), "src/lib.rs");
    // A sibling whose name merely starts like the root is outside it.
    assert_eq!(a.key_path("/ci/ab/x.rs"), "/ci/ab/x.rs");
}

#[test]
fn arguments_and_values_key_their_paths() {
    let a = checkout("/ci/a", "/home/u/.cargo");
    let b = checkout("/w/b", "/h/v/cargo");
    for (x, y) in [
        ("--out-dir=/ci/a/target/d", "--out-dir=/w/b/target/d"),
        ("dependency=/ci/a/target/d", "dependency=/w/b/target/d"),
        ("-Ldependency=/ci/a/target/d", "-Ldependency=/w/b/target/d"),
        (
            "util=/ci/a/target/libutil.rlib",
            "util=/w/b/target/libutil.rlib",
        ),
        ("--remap-path-prefix=/ci/a=.", "--remap-path-prefix=/w/b=."),
        ("/home/u/.cargo=/cargo", "/h/v/cargo=/cargo"),
    ] {
        assert_eq!(a.key_arg(x), b.key_arg(y), "{x} vs {y}");
        assert_ne!(a.key_arg(x), x);
    }
    assert_eq!(a.key_arg("--cfg=feature=\"x\""), "--cfg=feature=\"x\"");
    assert_eq!(
        a.key_value("-Copt-level=1\x1f--remap-path-prefix=/ci/a=."),
        b.key_value("-Copt-level=1\x1f--remap-path-prefix=/w/b=.")
    );
    // The remap target is keyed as written.
    assert_ne!(
        a.key_arg("--remap-path-prefix=/ci/a=."),
        b.key_arg("--remap-path-prefix=/w/b=x")
    );
}

#[test]
fn paths_without_a_remap_inside_their_root_stay_verbatim() {
    // Only the workspace is remapped: CARGO_HOME paths are embedded as
    // they are, so they stay in the key.
    let a = Anchors::new(
        vec![root("workspace", "/ci/a"), root("cargo-home", "/h/.cargo")],
        vec![PathBuf::from("/ci/a")],
    );
    let src = "/h/.cargo/registry/src/i/x-1.0.0/src/lib.rs";
    assert_eq!(a.key_path(src), src);
    assert_eq!(a.key_path("/ci/a/src/lib.rs"), "\0workspace\0/src/lib.rs");
    // A remap above the root embeds the checkout's own directory name.
    let above = Anchors::new(
        vec![root("workspace", "/ci/a"), root("base0", "/ci")],
        vec![PathBuf::from("/ci")],
    );
    assert_eq!(above.key_path("/ci/a/src/lib.rs"), "/ci/a/src/lib.rs");
    assert_eq!(above.key_path("/ci/other/x.rs"), "\0base0\0/other/x.rs");
    // rustc applies the last matching remap.
    let last = Anchors::new(
        vec![root("workspace", "/ci/a"), root("base0", "/ci")],
        vec![PathBuf::from("/ci/a"), PathBuf::from("/ci")],
    );
    assert_eq!(last.key_path("/ci/a/x.rs"), "/ci/a/x.rs");
}

#[test]
fn a_request_is_portable_only_with_a_safe_cwd() {
    let env = [
        (WORKSPACE_ENV, "/ci/a"),
        ("CARGO_HOME", "/h/.cargo"),
        ("HOME", "/h"),
    ];
    let remap = [
        "--remap-path-prefix=/ci/a=.",
        "--remap-path-prefix",
        "/h/.cargo=/cargo",
    ];
    let r = request("/ci/a", &env, &remap);
    let a = Anchors::for_request(&r, &r.args).expect("portable");
    assert_eq!(a.names(), "workspace,cargo-home");
    // No remap: the unchanged path.
    let plain = request("/ci/a", &env, &["src/lib.rs"]);
    assert!(Anchors::for_request(&plain, &plain.args).is_none());
    // A cwd outside every root, or under an unremapped one.
    let outside = request("/tmp/x", &env, &remap);
    assert!(Anchors::for_request(&outside, &outside.args).is_none());
    let only_ws = ["--remap-path-prefix=/ci/a=."];
    let registry = request("/h/.cargo/registry/src/i/x-1.0.0", &env, &only_ws);
    assert!(Anchors::for_request(&registry, &registry.args).is_none());
    // CARGO_HOME defaults to $HOME/.cargo.
    let r = request(
        "/h/.cargo/x",
        &[("HOME", "/h")],
        &["--remap-path-prefix=/h/.cargo=/c"],
    );
    assert!(Anchors::for_request(&r, &r.args).is_some());
}

#[test]
fn stored_text_is_rerooted_for_the_serving_checkout() {
    let a = checkout("/ci/a", "/home/u/.cargo");
    let b = checkout("/w/b", "/h/v/cargo");
    let depinfo = b"/ci/a/target/debug/deps/x.d: src/lib.rs /home/u/.cargo/registry/src/i/y/lib.rs\n\n# env-dep:OUT_DIR=/ci/a/target/out\n";
    let stored = to_markers(depinfo, &a);
    assert!(!names_a_root(&stored, &a));
    let there = from_markers(&stored, &b).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&there),
        "/w/b/target/debug/deps/x.d: src/lib.rs /h/v/cargo/registry/src/i/y/lib.rs\n\n# env-dep:OUT_DIR=/w/b/target/out\n"
    );
    assert_eq!(from_markers(&stored, &a).unwrap().as_ref(), depinfo);
    // Whole paths only.
    let other = b"/ci/ab/x.rs and x/ci/a/y";
    assert_eq!(to_markers(other, &a), other.to_vec());
    // Text without markers is borrowed; a root this request lacks fails.
    assert!(matches!(from_markers(b"plain", &b), Ok(Cow::Borrowed(_))));
    let lone = Anchors::new(vec![root("workspace", "/w")], vec![PathBuf::from("/w")]);
    assert!(from_markers(&stored, &lone).is_err());
}

#[test]
fn names_a_root_finds_unmapped_paths() {
    let a = Anchors::new(
        vec![root("workspace", "/ci/a"), root("cargo-home", "/h/.cargo")],
        vec![PathBuf::from("/ci/a")],
    );
    assert!(names_a_root(b"panicked at /h/.cargo/registry/x.rs:1", &a));
    assert!(names_a_root(b"\0/ci/a\0", &a));
    assert!(!names_a_root(b"/ci/abc and /h/.cargox", &a));
}

#[test]
fn pins_name_the_variables_that_locate_the_roots() {
    let a = checkout("/ci/a", "/home/u/.cargo");
    let env = vec![
        (WORKSPACE_ENV.to_string(), "/ci/a".to_string()),
        ("HOME".to_string(), "/home/u".to_string()),
    ];
    assert_eq!(
        a.pins(&env).unwrap(),
        vec![
            (WORKSPACE_ENV.to_string(), Some("/ci/a".to_string())),
            ("CARGO_HOME".to_string(), None),
            ("HOME".to_string(), Some("/home/u".to_string())),
        ]
    );
    // No variable locates a base dir: such results are not pinned.
    let based = Anchors::new(vec![root("base0", "/ci")], vec![PathBuf::from("/ci/a")]);
    assert!(based.pins(&env).is_none());
}

#[test]
fn manifests_are_localized_for_the_lookup() {
    let b = checkout("/w/b", "/h/v/cargo");
    let file = |p: &str| RecordedFile {
        path: p.into(),
        hash: [7; 32],
    };
    let mut m = Manifest::default();
    m.add(InputSet {
        files: vec![
            file("\0workspace\0/src/lib.rs"),
            file("src/main.rs"),
            file("\0base3\0/x.rs"),
        ],
        env: vec![],
        dir_checks: vec![],
        entry: RecordKey([1; 32]),
    });
    let local = localize_manifest(&m, &b);
    let paths: Vec<&str> = local.sets[0]
        .files
        .iter()
        .map(|f| f.path.as_str())
        .collect();
    assert_eq!(paths, ["/w/b/src/lib.rs", "src/main.rs", "\0base3\0/x.rs"]);
    assert_eq!(local.sets[0].entry, m.sets[0].entry);
}

use std::borrow::Cow;
