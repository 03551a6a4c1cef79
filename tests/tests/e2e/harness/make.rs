//! Generated make projects for the build-level tests.

#![allow(dead_code)]

use super::{assert_ok, assert_same};
use std::path::Path;
use std::process::Command;

/// Source for file number `i` of a generated project: enough code that each
/// compile takes a moment at -O2.
pub fn gen_source(i: usize) -> String {
    let mut s = format!("#include \"common.h\"\nint f{i}_base = {i};\n");
    for j in 0..12 {
        s.push_str(&format!(
            "int f{i}_{j}(int x) {{ int acc = x; for (int k = 0; k < {n}; k++) \
             {{ acc = acc * 31 + k ^ (acc >> 3); if (acc & 1) acc += COMMON; }} return acc; }}\n",
            n = 10 + j + i
        ));
    }
    s
}

/// Writes a make project of `n` generated sources into `dir`.
pub fn write_make_project(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("common.h"), "#define COMMON 7\n").unwrap();
    for i in 0..n {
        std::fs::write(dir.join(format!("s{i}.c")), gen_source(i)).unwrap();
    }
    std::fs::write(
        dir.join("Makefile"),
        "SRCS := $(sort $(wildcard s*.c))\n\
         OBJS := $(SRCS:.c=.o)\n\
         CFLAGS ?= -O2\n\
         all: $(OBJS)\n\
         %.o: %.c common.h\n\
         \t$(CC) $(CFLAGS) -c $< -o $@\n\
         clean:\n\
         \trm -f $(OBJS)\n\
         .PHONY: all clean\n",
    )
    .unwrap();
}

/// Bare-compiles every `s<i>.c` of a make project in `dir` to a bytes list
/// (compiled in `dir` itself, to a scratch name, so file names match).
pub fn bare_make_objects(dir: &Path, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let src = format!("s{i}.c");
            let tmp = format!("bare-{i}.tmp.o");
            let out = Command::new("gcc")
                .current_dir(dir)
                .args(["-O2", "-c", &src, "-o", &tmp])
                .output()
                .unwrap();
            assert_ok(&out, "bare gcc for make project");
            let b = std::fs::read(dir.join(&tmp)).unwrap();
            std::fs::remove_file(dir.join(&tmp)).unwrap();
            b
        })
        .collect()
}

/// Asserts every `s<i>.o` in `dir` equals the bare bytes.
pub fn check_make_objects(dir: &Path, bare: &[Vec<u8>]) {
    for (i, want) in bare.iter().enumerate() {
        let p = dir.join(format!("s{i}.o"));
        let got = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert_same(&got, want, &p.to_string_lossy());
    }
}
