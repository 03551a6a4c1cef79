#!/usr/bin/env bash
# Install zccache from this checkout, then build real C code (zlib, from the
# crates.io crate libz-sys) twice through it and show the hit statistics.
# Usage: scripts/quickstart.sh        (needs cargo, gcc and make)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${QUICKSTART_DIR:-/tmp/zccache-quickstart}

if ! command -v gcc >/dev/null || ! command -v make >/dev/null; then
  echo "installing gcc and make (apt-get)"
  apt-get update -qq && apt-get install -y -qq gcc make
fi

echo "== installing zccache, zccache-daemon and cargo-zccache (scripts/install.sh)"
"$ROOT/scripts/install.sh"
ZCCACHE=${ZCCACHE_INSTALL_DIR:-${CARGO_HOME:-$HOME/.cargo}/bin}/zccache

echo "== fetching zlib sources via cargo fetch (crate libz-sys)"
mkdir -p "$WORK/fetch/src"
cat >"$WORK/fetch/Cargo.toml" <<'TOML'
[package]
name = "zccache-quickstart-fetch"
version = "0.0.0"
edition = "2021"
publish = false
[dependencies]
libz-sys = { version = "=1.1.31", default-features = false, features = ["static"] }
TOML
echo 'fn main() {}' >"$WORK/fetch/src/main.rs"
(cd "$WORK/fetch" && cargo fetch -q)
ZSRC=$(cd "$WORK/fetch" && cargo metadata --format-version 1 --offline |
  python3 -c 'import json,sys,os; print(next(os.path.dirname(p["manifest_path"]) for p in json.load(sys.stdin)["packages"] if p["name"]=="libz-sys"))')/src/zlib
rm -rf "$WORK/zlib" && cp -R "$ZSRC" "$WORK/zlib" && chmod -R u+w "$WORK/zlib"

cat >"$WORK/zlib/Makefile.zccache" <<'MK'
SRCS := $(wildcard *.c)
OBJS := $(SRCS:.c=.o)
CFLAGS := -O2 -DSTDC -D_LARGEFILE64_SOURCE -fvisibility=hidden
libz.a: $(OBJS)
	ar rcs $@ $^
%.o: %.c
	$(CC) $(CFLAGS) -MD -c $< -o $@
clean:
	rm -f $(OBJS) $(OBJS:.o=.d) libz.a
MK

export ZCCACHE_CACHE_DIR="$WORK/cache"
"$ZCCACHE" stop >/dev/null 2>&1 || true
rm -rf "$ZCCACHE_CACHE_DIR"
cd "$WORK/zlib"
echo "== cold build (empty cache)"
time make -s -j2 -f Makefile.zccache CC="$ZCCACHE gcc"
make -s -f Makefile.zccache clean
echo "== warm build (after clean)"
time make -s -j2 -f Makefile.zccache CC="$ZCCACHE gcc"
echo "== zccache stats"
"$ZCCACHE" stats
"$ZCCACHE" stop >/dev/null
