//! Misses compiled on a real icecream farm (`ZCCACHE_PREFIX=icecc`): a
//! one-machine farm on loopback ([`IceFarm`]) compiles every miss on its
//! remote daemon, the objects equal bare gcc's, `farm_compiles` counts
//! the misses, and a rebuild is all hits with no new farm jobs.

use crate::harness::icecream::{icecream_missing, IceFarm};
use crate::harness::*;

/// Small C sources with system headers, so the compiles are preprocessed
/// locally and compiled in the farm's chroot environment.
const SOURCES: [(&str, &str); 4] = [
    ("add.c", "int add(int a, int b) { return a + b; }\n"),
    (
        "greet.c",
        "#include <stdio.h>\nvoid greet(const char *n) { printf(\"hi %s\\n\", n); }\n",
    ),
    (
        "len.c",
        "#include <string.h>\n#include \"scale.h\"\nsize_t len(const char *s) { return strlen(s) * SCALE; }\n",
    ),
    (
        "sum.c",
        "#include <stdlib.h>\n#include \"scale.h\"\n\
         long sum(const int *v, size_t n) { long s = 0; while (n--) s += labs(v[n]); return s * SCALE; }\n",
    ),
];

/// `gcc -O2 -Iinc -c <src> -o <obj>` for one source.
fn compile_args(src: &str) -> [String; 7] {
    let obj = object_of(src);
    ["gcc", "-O2", "-Iinc", "-c", src, "-o", &obj].map(String::from)
}

fn object_of(src: &str) -> String {
    src.replace(".c", ".o")
}

/// One farm counter of `zccache stats --json`.
fn farm_stat(sb: &Sandbox, key: &str) -> u64 {
    let json = sb.stats_json();
    json[key]
        .as_u64()
        .unwrap_or_else(|| panic!("stats --json has no number {key:?}: {json}"))
}

/// Compiles every source through zccache expecting `outcome`, each
/// object byte-identical to bare gcc's.
fn build_all(sb: &Sandbox, outcome: Outcome) {
    for (src, _) in SOURCES {
        let obj = object_of(src);
        let step = sb.test().zcc(compile_args(src)).expect(outcome);
        step.same_as_bare(&obj).run();
    }
}

#[test]
fn icecream_runs_misses_and_objects_equal_bare() {
    if icecream_missing() || missing(&["gcc"]) {
        return;
    }
    let mut sb = Sandbox::new();
    let Some(farm) = IceFarm::start(&sb) else {
        return;
    };
    farm.use_farm(&mut sb);
    sb.write("inc/scale.h", "#define SCALE 3\n");
    for (src, text) in SOURCES {
        sb.write(src, text);
    }
    sb.start();

    build_all(&sb, Outcome::Miss);
    let jobs = farm.remote_jobs();
    let sources: Vec<&str> = SOURCES.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        jobs,
        sources,
        "jobs on the farm's remote daemon\n{}",
        farm.logs()
    );
    let misses = sb.counters().misses;
    assert_eq!(farm_stat(&sb, "farm_compiles"), misses, "{}", sb.stats());
    assert_eq!(farm_stat(&sb, "farm_errors"), 0, "{}", sb.stats());
    assert_eq!(farm_stat(&sb, "farm_fallbacks"), 0, "{}", sb.stats());

    build_all(&sb, Outcome::Hit);
    assert_eq!(farm.remote_jobs(), jobs, "a rebuild of hits ran farm jobs");
    assert_eq!(farm_stat(&sb, "farm_compiles"), misses, "{}", sb.stats());
}
