#!/usr/bin/env bash
# Build the release executables into target/dist/ and print the path of
# `zccache` there; `zccache-daemon` and `cargo-zccache` are next to it.
#
# - `zccache`, the lean launcher (every compile of a build starts it), is a
#   static musl executable when Rust's x86_64-unknown-linux-musl target is
#   installed (`rustup target add x86_64-unknown-linux-musl`): it starts in
#   ~0.4 ms against ~0.7 ms for a static glibc one, whose start-up probes the
#   CPU's caches with `cpuid` (slow under a hypervisor). Without that target,
#   or with ZCCACHE_MUSL=0, it is a static glibc executable.
# - `zccache-daemon` (daemon, admin commands, full launcher) and
#   `cargo-zccache` are static glibc executables (glibc crt-static). They are
#   non-PIE: a static-pie one applies ~25,000 relocations at every start;
#   ZCCACHE_PIE=1 builds static-pie instead (address-space randomisation of
#   the image). Passing --target keeps RUSTFLAGS away from proc-macros and
#   build scripts (cargo book, RUSTFLAGS).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HOST=$(rustc -vV | sed -n 's/^host: //p')
MUSL=${HOST%-gnu}-musl
FLAGS="-C target-feature=+crt-static"
if [ "${ZCCACHE_PIE:-0}" != 1 ]; then
  FLAGS="$FLAGS -C relocation-model=static"
fi
cd "$ROOT"
build() {  # build <target> <package>...
  local target=$1; shift
  local pkgs=() p
  for p in "$@"; do pkgs+=(-p "$p"); done
  RUSTFLAGS="${RUSTFLAGS:-} $FLAGS" \
    cargo build --quiet --locked --release "${pkgs[@]}" --target "$target" >&2
}
build "$HOST" zccache-core cargo-zccache
LAUNCHER_TARGET=$HOST
if [ "${ZCCACHE_MUSL:-1}" != 0 ] && [ "$MUSL" != "$HOST" ] \
   && rustup target list --installed 2>/dev/null | grep -qx "$MUSL"; then
  LAUNCHER_TARGET=$MUSL
fi
build "$LAUNCHER_TARGET" zccache-launcher
DIST=$ROOT/target/dist
mkdir -p "$DIST"
install -m 0755 "target/$HOST/release/zccache-daemon" "target/$HOST/release/cargo-zccache" "$DIST/"
install -m 0755 "target/$LAUNCHER_TARGET/release/zccache" "$DIST/"
echo "$DIST/zccache"
