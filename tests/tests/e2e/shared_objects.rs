//! Two compiles that differ only in the object path and depfile target
//! (CMake's static and shared variants of one source) share one entry; the
//! hit's depfile names the requested target and equals gcc's own.

use crate::harness::*;

#[test]
fn same_source_in_two_object_dirs_shares_an_entry() {
    if missing(&["gcc"]) {
        return;
    }
    let sb = Sandbox::new();
    sb.write("inc/h.h", "#define V 7\n");
    sb.write("a.c", "#include \"h.h\"\nint a(void) { return V; }\n");
    std::fs::create_dir_all(sb.path("st")).unwrap();
    std::fs::create_dir_all(sb.path("sh")).unwrap();
    let args = |dir: &str| -> Vec<String> {
        let o = format!("{dir}/a.c.o");
        [
            "gcc",
            "-O2",
            "-fPIC",
            "-Iinc",
            "-MD",
            "-MT",
            &o,
            "-MF",
            &format!("{dir}/a.c.o.d"),
            "-o",
            &o,
            "-c",
            "a.c",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let sh: Vec<String> = args("sh");
    let sh_ref: Vec<&str> = sh.iter().map(String::as_str).collect();
    let (_, bare) = sb.bare("gcc", &sh_ref[1..], &["sh/a.c.o", "sh/a.c.o.d"]);
    sb.start();
    let st = args("st");
    let st_ref: Vec<&str> = st.iter().map(String::as_str).collect();
    sb.compile_expect(&st_ref, Outcome::Miss);
    sb.compile_expect(&sh_ref, Outcome::Hit);
    assert_same(&sb.read("sh/a.c.o"), &bare[0], "object");
    assert_same(&sb.read("sh/a.c.o.d"), &bare[1], "depfile names sh/a.c.o");
    // A target make would need quoted keeps its own entry.
    let odd = [
        "gcc", "-O2", "-fPIC", "-Iinc", "-MD", "-MT", "st/a$x.o", "-MF", "st/odd.d", "-o",
        "st/odd.o", "-c", "a.c",
    ];
    sb.compile_expect(&odd, Outcome::Miss);
}
