#!/usr/bin/env bash
# Build the release `zccache` as a static executable (glibc crt-static) and
# print its path. A static binary starts ~0.3 ms faster than a dynamically
# linked one, which is a third of a cache hit's budget. Passing --target keeps
# RUSTFLAGS away from proc-macros and build scripts (cargo book, RUSTFLAGS).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HOST=$(rustc -vV | sed -n 's/^host: //p')
cd "$ROOT"
RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
  cargo build --quiet --locked --release -p zccache-core --target "$HOST" >&2
echo "$ROOT/target/$HOST/release/zccache"
