#!/usr/bin/env bash
# Install every executable zccache needs from this checkout, release builds
# (scripts/build-release.sh): `zccache` (the lean launcher every integration
# calls), `zccache-daemon` (the daemon, the admin commands and the full
# launcher `zccache` hands over to; it must sit next to `zccache`) and
# `cargo-zccache` (the `cargo zccache` subcommand), into
# $ZCCACHE_INSTALL_DIR, else $CARGO_HOME/bin, else ~/.cargo/bin (where cargo
# finds `cargo-zccache` as a subcommand). Prints what it installed.
# Usage: scripts/install.sh            (needs cargo)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEST=${ZCCACHE_INSTALL_DIR:-${CARGO_HOME:-$HOME/.cargo}/bin}
ZCCACHE=$("$ROOT/scripts/build-release.sh")
BIN_DIR=$(dirname "$ZCCACHE")
mkdir -p "$DEST"
for bin in zccache-daemon cargo-zccache zccache; do
  install -m 0755 "$BIN_DIR/$bin" "$DEST/$bin"
  echo "installed $DEST/$bin"
done
"$DEST/zccache" --version
case ":$PATH:" in
  *":$DEST:"*) ;;
  *) echo "note: $DEST is not on PATH; add it to use zccache and cargo zccache" ;;
esac
