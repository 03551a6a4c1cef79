#!/usr/bin/env bash
# Fetch REAL third-party C code for the benchmark, via `cargo fetch` in a
# throwaway cargo project, into ${ZCBENCH_ROOT:-/tmp/zcbench}/fixtures:
#   zlib/     classic zlib, bundled in the crates.io crate libz-sys (src/zlib)
#   zlib-ng/  zlib-ng with its upstream CMakeLists.txt (libz-sys, src/zlib-ng)
#   zstd/     zstd lib + its upstream build/cmake (crate zstd-sys)
# Idempotent: the crates come from cargo's registry cache after the first run;
# the fixture dirs are re-copied fresh each time (so a bench can't dirty them).
set -euo pipefail

ROOT=${ZCBENCH_ROOT:-/tmp/zcbench}
FIX=$ROOT/fixtures
FETCH=$ROOT/fetch-crates          # throwaway cargo project, used only for `cargo fetch`
LIBZ_VER=${LIBZ_VER:-=1.1.31}
ZSTD_VER=${ZSTD_VER:-=2.1.2}
mkdir -p "$FIX" "$FETCH/src"

cat > "$FETCH/Cargo.toml" <<TOML
[package]
name = "zcbench-fetch"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
libz-sys = { version = "$LIBZ_VER", default-features = false, features = ["static"] }
zstd-sys = { version = "$ZSTD_VER", default-features = false }

[workspace]
TOML
echo 'fn main() {}' > "$FETCH/src/main.rs"
( cd "$FETCH" && cargo fetch -q )

# crate_dir NAME: where cargo unpacked that crate (from `cargo metadata`)
crate_dir() {
  ( cd "$FETCH" && cargo metadata --format-version 1 --offline ) |
    python3 -c '
import json, os, sys
for p in json.load(sys.stdin)["packages"]:
    if p["name"] == sys.argv[1]:
        print(os.path.dirname(p["manifest_path"]))
        break
else:
    sys.exit("crate %s not found" % sys.argv[1])' "$1"
}
LIBZ_DIR=$(crate_dir libz-sys)
ZSTD_DIR=$(crate_dir zstd-sys)
echo "libz-sys: $LIBZ_DIR"
echo "zstd-sys: $ZSTD_DIR"

copy_tree() {  # copy_tree SRC DST: fresh, writable copy
  rm -rf "$2"
  mkdir -p "$2"
  cp -R "$1/." "$2/"
  chmod -R u+w "$2"
}

copy_tree "$LIBZ_DIR/src/zlib" "$FIX/zlib"
test -f "$FIX/zlib/deflate.c"
copy_tree "$LIBZ_DIR/src/zlib-ng" "$FIX/zlib-ng"
test -f "$FIX/zlib-ng/CMakeLists.txt"
copy_tree "$ZSTD_DIR/zstd" "$FIX/zstd"
test -f "$FIX/zstd/build/cmake/CMakeLists.txt"

{
  echo "libz-sys $(basename "$LIBZ_DIR")"
  echo "zstd-sys $(basename "$ZSTD_DIR")"
} > "$FIX/VERSIONS"

echo "fixtures ready in $FIX:"
printf '  zlib:    %s .c files\n' "$(find "$FIX/zlib" -maxdepth 1 -name '*.c' | wc -l)"
printf '  zlib-ng: %s .c files\n' "$(find "$FIX/zlib-ng" -name '*.c' | wc -l)"
printf '  zstd:    %s .c files in lib/\n' "$(find "$FIX/zstd/lib" -name '*.c' | wc -l)"
