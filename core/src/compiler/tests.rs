//! Unit tests of the gcc/clang argument parser (`gcc.rs` and the
//! `gcc_options.rs` table) through its public API.

use super::gcc::*;
use super::CompilerFamily;

fn argv(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

fn parse(s: &str) -> Parsed {
    parse_gcc_args(&argv(s), CompilerFamily::Gcc)
}

fn ok(s: &str) -> CompileInvocation {
    match parse(s) {
        Parsed::Cacheable(inv) => inv,
        Parsed::NonCacheable(r) => panic!("{s:?} not cacheable: {r}"),
    }
}

fn reason(s: &str) -> NonCacheableReason {
    match parse(s) {
        Parsed::NonCacheable(r) => r,
        Parsed::Cacheable(inv) => panic!("{s:?} unexpectedly cacheable: {inv:?}"),
    }
}

fn unsupported(s: &str) -> String {
    match reason(s) {
        NonCacheableReason::UnsupportedOption(o) => o,
        r => panic!("{s:?}: expected unsupported_option, got {r:?}"),
    }
}

fn src(path: &str, lang: Option<&str>) -> SourceInput {
    SourceInput {
        path: path.to_string(),
        language: lang.map(str::to_string),
    }
}

#[test]
fn simple_compile() {
    let inv = ok("-c foo.c -o foo.o -O2 -Wall");
    assert_eq!(inv.common_args, argv("-O2 -Wall"));
    assert_eq!(inv.sources, vec![src("foo.c", None)]);
    assert_eq!(inv.output.as_deref(), Some("foo.o"));
    assert_eq!(inv.depfile, None);
    assert!(!inv.debug_info);
    assert_eq!(inv.object_path(0), "foo.o");
}

#[test]
fn mode_reasons() {
    use NonCacheableReason::*;
    assert_eq!(reason("foo.c -o app"), Link);
    assert_eq!(reason("foo.o bar.o -o app -lm"), Link);
    assert_eq!(reason("-E foo.c"), PreprocessOnly);
    assert_eq!(reason("-c -E foo.c"), PreprocessOnly);
    assert_eq!(reason("-S foo.c"), AssemblyOutput);
    assert_eq!(reason("-c -S foo.c"), AssemblyOutput);
    assert_eq!(reason("-M foo.c"), DepsOnly);
    assert_eq!(reason("-c -MM foo.c"), DepsOnly);
    assert_eq!(reason("-c -x c -"), StdinInput);
    assert_eq!(reason("-c foo.c -o -"), StdoutOutput);
    assert_eq!(reason("-c"), NoSource);
    assert_eq!(reason("-c -O2 -o x.o"), NoSource);
    assert_eq!(reason("-c a.c b.c -o x.o"), MultipleSourcesWithOutput);
    assert_eq!(reason("-c foo.c -gsplit-dwarf"), SplitDwarf);
    assert_eq!(reason("-c foo.c --coverage"), Coverage);
    assert_eq!(reason("-c foo.c -fprofile-arcs"), Coverage);
    assert_eq!(reason("-c foo.c -ftest-coverage"), Coverage);
    assert_eq!(reason("-c foo.c -fprofile-generate=dir"), Coverage);
    // The driver mode wins over an option reason.
    assert_eq!(reason("-E foo.c -save-temps"), PreprocessOnly);
}

#[test]
fn labels_and_display() {
    use NonCacheableReason::*;
    let all = [
        (Link, "link"),
        (PreprocessOnly, "preprocess_only"),
        (DepsOnly, "deps_only"),
        (StdinInput, "stdin_input"),
        (StdoutOutput, "stdout_output"),
        (NoSource, "no_source"),
        (MultipleSourcesWithOutput, "multiple_sources_with_output"),
        (UnsupportedOption("-v".into()), "unsupported_option"),
        (SplitDwarf, "split_dwarf"),
        (Coverage, "coverage"),
        (AssemblyOutput, "assembly_output"),
    ];
    for (r, label) in all {
        assert_eq!(r.label(), label);
        assert!(!r.to_string().is_empty());
    }
    assert!(UnsupportedOption("-fplugin=x.so".into())
        .to_string()
        .contains("-fplugin=x.so"));
}

#[test]
fn unsupported_options() {
    let cases = [
        ("-c a.c -save-temps", "-save-temps"),
        ("-c a.c -save-temps=obj", "-save-temps=obj"),
        ("-c a.c -fdump-tree-all", "-fdump-tree-all"),
        ("-c a.c -MJ out.json", "-MJ"),
        (
            "-c a.c --serialize-diagnostics a.dia",
            "--serialize-diagnostics",
        ),
        ("-c a.c -fstack-usage", "-fstack-usage"),
        ("-c a.c -fcallgraph-info=su", "-fcallgraph-info=su"),
        ("-c a.c -fprofile-use=p.gcda", "-fprofile-use=p.gcda"),
        (
            "-c a.c -fprofile-instr-use=p.prof",
            "-fprofile-instr-use=p.prof",
        ),
        ("-c a.c -fauto-profile=p.afdo", "-fauto-profile=p.afdo"),
        ("-c a.c -fprofile-sample-use=p", "-fprofile-sample-use=p"),
        ("-c a.c -fplugin=x.so", "-fplugin=x.so"),
        ("-c a.c -fplugin-arg-x-y=1", "-fplugin-arg-x-y=1"),
        ("-c a.c -specs=x.specs", "-specs=x.specs"),
        ("-c a.c -B /opt/bin", "-B"),
        ("-c a.c -B/opt/bin", "-B/opt/bin"),
        (
            "-c a.c -fsanitize-blacklist=bl.txt",
            "-fsanitize-blacklist=bl.txt",
        ),
        (
            "-c a.c -fsanitize-ignorelist=il.txt",
            "-fsanitize-ignorelist=il.txt",
        ),
        ("-c a.c -Xclang -load -Xclang p.so", "-Xclang -load"),
        ("-c a.c -ivfsoverlay o.yaml", "-ivfsoverlay"),
        ("-c a.c -fmodules", "-fmodules"),
        ("-c a.c -fmodules-ts", "-fmodules-ts"),
        ("-c a.c -arch x86_64 -arch arm64", "-arch (more than one)"),
        (
            "-c a.c -fcrash-diagnostics-dir=d",
            "-fcrash-diagnostics-dir=d",
        ),
        ("-c a.c -ftime-trace", "-ftime-trace"),
        ("-c a.c -fopt-info-vec=v.txt", "-fopt-info-vec=v.txt"),
        (
            "-c a.c -fdiagnostics-format=sarif-file",
            "-fdiagnostics-format=sarif-file",
        ),
        ("-c a.c -MG -MD", "-MG"),
        ("-c a.c -v", "-v"),
        ("-c a.c -###", "-###"),
        ("-c a.c -fsyntax-only", "-fsyntax-only"),
        ("-c a.c -dA", "-dA"),
        ("-c a.c -aux-info a.txt", "-aux-info"),
        ("-c a.c -include-pch p.pch", "-include-pch"),
        ("-c a.c --frobnicate", "--frobnicate"),
        ("-c a.c -Wp,-MF,x.d", "-Wp,-MF,x.d"),
        ("-c a.c -Xpreprocessor -MD", "-Xpreprocessor -MD"),
        ("-c a.c -Wa,-adhln=a.lst", "-Wa,-adhln=a.lst"),
        (
            "-c a.c -fdebug-prefix-map=nomapping",
            "-fdebug-prefix-map=nomapping",
        ),
        ("-c a.c a.o", "input a.o"),
        ("-c a.c libx.a", "input libx.a"),
        ("-c a.c README", "input README"),
        ("-c a.c -emit-llvm", "-emit-llvm without -o"),
        ("-c a.c -I", "-I (missing argument)"),
        ("-c a.c -o", "-o (missing argument)"),
    ];
    for (args, want) in cases {
        assert_eq!(unsupported(args), want, "{args}");
    }
}

#[test]
fn kept_options_stay_cacheable() {
    let args = "-c a.c -fPIC -fno-strict-aliasing -march=native -mavx2 -Wall -Werror=format -w -O3 -Os \
                -std=c++17 -ansi -pedantic -pedantic-errors -nostdinc -nostdinc++ -pthread -pipe \
                --param max-inline-insns-single=100 --param=ssp-buffer-size=4 -Wa,--noexecstack \
                -Wp,-DX -Xpreprocessor -DY -Xassembler --fatal-warnings -shared -Wl,-z,now -P -C -CC \
                -H -Q -fopt-info -fdiagnostics-format=json -fdiagnostics-color=always -Xlinker -v \
                -ftime-report -fno-modules -gz -fprofile-update=atomic -fprofile-instr-generate";
    let inv = ok(args);
    let mut want = argv(args);
    want.retain(|a| a != "-c" && a != "a.c");
    assert_eq!(inv.common_args, want);
}

#[test]
fn clang_options() {
    let args = "-c a.c -target aarch64-linux-gnu --target=x86_64-pc-linux-gnu -isysroot /sdk \
                --sysroot /sr --sysroot=/sr2 -arch arm64 -mllvm -inline-threshold=100 \
                -Xclang -fno-pch-timestamp -Xarch_arm64 -O2 -stdlib=libc++ -Qunused-arguments \
                -fcolor-diagnostics -resource-dir /rd -gcc-toolchain /gt -fdebug-compilation-dir /dc \
                -fdebug-compilation-dir=. -cxx-isystem /cxx";
    let inv = parse_gcc_args(&argv(args), CompilerFamily::Clang);
    let Parsed::Cacheable(inv) = inv else {
        panic!("{inv:?}")
    };
    let mut want = argv(args);
    want.retain(|a| a != "-c" && a != "a.c");
    assert_eq!(inv.common_args, want);
    assert_eq!(inv.sources, vec![src("a.c", None)]);
}

#[test]
fn emcc_settings_take_values() {
    let Parsed::Cacheable(inv) = parse_gcc_args(
        &argv("-c a.c -s WASM=1 -sUSE_SDL=2 -o a.o"),
        CompilerFamily::Emcc,
    ) else {
        panic!()
    };
    assert_eq!(inv.common_args, argv("-s WASM=1 -sUSE_SDL=2"));
    // For gcc, `-s` is the strip flag and WASM=1 would be an input.
    assert_eq!(unsupported("-c a.c -s WASM=1 -o a.o"), "input WASM=1");
}

#[test]
fn separate_and_joined_forms() {
    let inv = ok(
        "-c -I inc -Iinc2 -D X=1 -DY -U Z -UW -include pre.h -includepre2.h -imacros m.h \
                  -isystem /sys -isystem/sys2 -iquote q -idirafter after -MF dep.d -MD a.c -ofoo.o",
    );
    assert_eq!(
        inv.common_args,
        argv(
            "-I inc -Iinc2 -D X=1 -DY -U Z -UW -include pre.h -includepre2.h -imacros m.h \
              -isystem /sys -isystem/sys2 -iquote q -idirafter after"
        )
    );
    assert_eq!(inv.sources, vec![src("a.c", None)]);
    assert_eq!(inv.output.as_deref(), Some("foo.o"));
    assert_eq!(
        inv.depfile.as_ref().and_then(|d| d.file.as_deref()),
        Some("dep.d")
    );
    use SearchDirKind::*;
    let dirs: Vec<(SearchDirKind, &str)> = inv
        .search_dirs
        .iter()
        .map(|(k, d)| (*k, d.as_str()))
        .collect();
    assert_eq!(
        dirs,
        vec![
            (Angle, "inc"),
            (Angle, "inc2"),
            (System, "/sys"),
            (System, "/sys2"),
            (Quote, "q"),
            (After, "after")
        ]
    );
}

#[test]
fn option_values_are_not_sources() {
    // Each value below looks like a source but belongs to its option.
    let inv = ok(
        "-c -o out.c -include x.c -D a.c -MT t.c -MF d.c -MD -Xclang y.c -isysroot s.c \
                  -imacros m.c --param p.c -L l.c -l lib.c real.c",
    );
    assert_eq!(inv.sources, vec![src("real.c", None)]);
    assert_eq!(inv.output.as_deref(), Some("out.c"));
}

#[test]
fn i_dash_is_not_a_search_dir() {
    let inv = ok("-c -Ia -I- -Ib x.c");
    assert_eq!(inv.common_args, argv("-Ia -I- -Ib"));
    let dirs: Vec<&str> = inv.search_dirs.iter().map(|(_, d)| d.as_str()).collect();
    assert_eq!(dirs, ["a", "b"]);
}

#[test]
fn language_switching() {
    let inv = ok("-c -x c++ a.h b.txt -x none c.c -xc d.inc -O2 e.cpp");
    assert_eq!(
        inv.sources,
        vec![
            src("a.h", Some("c++")),
            src("b.txt", Some("c++")),
            src("c.c", None),
            src("d.inc", Some("c")),
            src("e.cpp", Some("c")),
        ]
    );
    assert_eq!(inv.common_args, argv("-O2"));
    assert_eq!(
        inv.compile_argv(1, "b.o", &[]),
        argv("-O2 -c -x c++ b.txt -o b.o")
    );
    assert_eq!(inv.compile_argv(2, "c.o", &[]), argv("-O2 -c c.c -o c.o"));
}

#[test]
fn source_extensions() {
    for f in [
        "a.c", "a.cc", "a.cpp", "a.cxx", "a.c++", "a.C", "a.m", "a.mm", "a.i", "a.ii", "a.s",
        "a.S", "a.sx",
    ] {
        assert_eq!(ok(&format!("-c {f}")).sources, vec![src(f, None)], "{f}");
    }
    for f in ["a.o", "a.so", "a.a", "a.cu", "noext", ".c"] {
        assert_eq!(unsupported(&format!("-c {f}")), format!("input {f}"), "{f}");
    }
}

#[test]
fn multiple_sources() {
    let inv = ok("-c src/a.c b.cpp -O2");
    assert!(inv.output.is_none());
    assert_eq!(inv.object_path(0), "a.o");
    assert_eq!(inv.object_path(1), "b.o");
    assert_eq!(inv.object_path(9), "");
    assert_eq!(
        inv.compile_argv(0, "a.o", &argv("-MD -MF t.d")),
        argv("-O2 -MD -MF t.d -c src/a.c -o a.o")
    );
}

#[test]
fn dir_x_c_without_extension_is_input() {
    assert_eq!(unsupported("-c dir.c/file"), "input dir.c/file");
}

#[test]
fn object_paths() {
    assert_eq!(ok("-c lib/foo.bar.c").object_path(0), "foo.bar.o");
    assert_eq!(ok("-c foo.c -o obj/x.o").object_path(0), "obj/x.o");
    // Precompiled headers land next to the header (gcc manual, "Precompiled Headers").
    assert_eq!(ok("-c inc/pch.h").object_path(0), "inc/pch.h.gch");
    assert_eq!(
        ok("-c -x c++-header inc/pch.hxx.cxx").object_path(0),
        "inc/pch.hxx.cxx.gch"
    );
    assert_eq!(ok("-c -x c++ inc/pch.h").object_path(0), "pch.o");
}

#[test]
fn depfile_flags() {
    let inv = ok("-c a.c -o obj/a.o -MMD -MF obj/a.d -MT t1 -MQ t$2 -MTt3 -MP");
    assert_eq!(inv.common_args, Vec::<String>::new());
    let dep = inv.depfile.expect("depfile");
    assert_eq!(dep.kind, DepKind::Mmd);
    assert_eq!(dep.file.as_deref(), Some("obj/a.d"));
    assert_eq!(
        dep.targets,
        vec![
            DepTarget::Plain("t1".into()),
            DepTarget::Quoted("t$2".into()),
            DepTarget::Plain("t3".into())
        ]
    );
    assert!(dep.phony_headers);
    assert_eq!(dep.path_for("obj/a.o"), "obj/a.d");
    assert_eq!(
        dep.to_args("/tmp/x.d", "obj/a.o"),
        argv("-MMD -MF /tmp/x.d -MT t1 -MQ t$2 -MT t3 -MP")
    );
}

#[test]
fn depfile_defaults() {
    let inv = ok("-c src/a.c -MD");
    let dep = inv.depfile.clone().expect("depfile");
    assert_eq!(
        dep,
        DepfileRequest {
            kind: DepKind::Md,
            file: None,
            targets: vec![],
            phony_headers: false
        }
    );
    let obj = inv.object_path(0);
    assert_eq!(obj, "a.o");
    assert_eq!(dep.path_for(&obj), "a.d");
    assert_eq!(dep.path_for("obj/a.o"), "obj/a.d");
    assert_eq!(dep.path_for("obj.dir/noext"), "obj.dir/noext.d");
    assert_eq!(dep.path_for("x.y.o"), "x.y.d");
    assert_eq!(
        dep.to_args("f.d", "obj/a.o"),
        argv("-MD -MF f.d -MQ obj/a.o")
    );
}

#[test]
fn dep_flags_without_md_are_dropped() {
    let inv = ok("-c a.c -MF a.d -MT x -MP");
    assert_eq!(inv.depfile, None);
    assert!(inv.common_args.is_empty());
}

#[test]
fn wp_md_maps_to_depfile() {
    let inv = ok("-c -Wp,-MMD,dir/.a.o.d src/a.c -o dir/a.o");
    assert!(inv.common_args.is_empty());
    let dep = inv.depfile.expect("depfile");
    assert_eq!(dep.kind, DepKind::Mmd);
    assert_eq!(dep.file.as_deref(), Some("dir/.a.o.d"));
    // cpp's own default target: the source's base name with .o.
    assert_eq!(dep.targets, vec![DepTarget::Quoted("a.o".into())]);
    let inv = ok("-c -Wp,-MD,a.d -MT tgt a.c");
    let dep = inv.depfile.expect("depfile");
    assert_eq!(dep.kind, DepKind::Md);
    assert_eq!(dep.targets, vec![DepTarget::Plain("tgt".into())]);
    assert_eq!(
        unsupported("-c -Wp,-MD,a.d a.c b.c"),
        "-Wp,-MD with more than one source"
    );
}

#[test]
fn debug_info() {
    assert!(ok("-c a.c -g").debug_info);
    assert!(ok("-c a.c -g3").debug_info);
    assert!(ok("-c a.c -ggdb").debug_info);
    assert!(ok("-c a.c -gdwarf-4").debug_info);
    assert!(!ok("-c a.c -g -g0").debug_info);
    assert!(ok("-c a.c -g0 -g").debug_info);
    assert!(ok("-c a.c -g -gz").debug_info);
    assert!(!ok("-c a.c -gz -gno-column-info").debug_info);
    assert!(!ok("-c a.c -O2").debug_info);
    assert!(ok("-c a.S -Wa,--gdwarf-5").debug_info);
    assert_eq!(ok("-c a.c -g -g0").common_args, argv("-g -g0"));
}

#[test]
fn prefix_maps() {
    let inv =
        ok("-c a.c -g -fdebug-prefix-map=/src=. -ffile-prefix-map=/b=/x=y -fmacro-prefix-map=/m=.");
    assert_eq!(
        inv.prefix_maps,
        vec![
            ("/src".to_string(), ".".to_string()),
            ("/b".to_string(), "/x=y".to_string())
        ]
    );
    assert_eq!(inv.common_args.len(), 4);
}

#[test]
fn last_output_wins_and_argv_roundtrip() {
    let inv = ok("-o first.o -DA -c a.c -o second.o");
    assert_eq!(inv.output.as_deref(), Some("second.o"));
    assert_eq!(
        inv.compile_argv(0, "tmp.o", &[]),
        argv("-DA -c a.c -o tmp.o")
    );
}

#[test]
fn never_panics_on_odd_input() {
    let odd = [
        "",
        "-",
        "--",
        "-x",
        "-Wp,",
        "-Wp,-MD",
        "-Xclang",
        "@",
        "-o",
        "-MF",
        "-fdebug-prefix-map=",
    ];
    for a in odd {
        let _ = parse_gcc_args(&[a.to_string()], CompilerFamily::Gcc);
        let _ = parse_gcc_args(
            &["-c".to_string(), a.to_string(), "a.c".to_string()],
            CompilerFamily::Clang,
        );
    }
}
