#!/usr/bin/env bash
# Build the release `zccache` and `cargo-zccache` as static executables
# (glibc crt-static) and print the path of `zccache` (`cargo-zccache` is next
# to it). A static binary starts ~0.3 ms faster than a dynamically linked
# one, and a non-PIE one another ~0.3 ms faster than a static-pie one: the
# static-pie `zccache` applies ~25,000 relocations at every start (115 more
# page faults per launcher run). The price of non-PIE is no address-space
# randomisation of the executable image; ZCCACHE_PIE=1 builds static-pie
# instead. Passing --target keeps RUSTFLAGS away from proc-macros and build
# scripts (cargo book, RUSTFLAGS).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HOST=$(rustc -vV | sed -n 's/^host: //p')
FLAGS="-C target-feature=+crt-static"
if [ "${ZCCACHE_PIE:-0}" != 1 ]; then
  FLAGS="$FLAGS -C relocation-model=static"
fi
cd "$ROOT"
RUSTFLAGS="${RUSTFLAGS:-} $FLAGS" \
  cargo build --quiet --locked --release -p zccache-core -p cargo-zccache --target "$HOST" >&2
echo "$ROOT/target/$HOST/release/zccache"
