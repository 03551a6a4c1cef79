#!/usr/bin/env bash
# Install every binary zccache needs from this checkout: `zccache` (the
# launcher, masquerade, daemon and admin commands, one static executable) and
# `cargo-zccache` (the `cargo zccache` subcommand), both release builds, into
# $ZCCACHE_INSTALL_DIR, else $CARGO_HOME/bin, else ~/.cargo/bin (where cargo
# finds `cargo-zccache` as a subcommand). Prints what it installed.
# Usage: scripts/install.sh            (needs cargo)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEST=${ZCCACHE_INSTALL_DIR:-${CARGO_HOME:-$HOME/.cargo}/bin}
ZCCACHE=$("$ROOT/scripts/build-release.sh")
BIN_DIR=$(dirname "$ZCCACHE")
mkdir -p "$DEST"
for bin in zccache cargo-zccache; do
  install -m 0755 "$BIN_DIR/$bin" "$DEST/$bin"
  echo "installed $DEST/$bin"
done
"$DEST/zccache" --version
case ":$PATH:" in
  *":$DEST:"*) ;;
  *) echo "note: $DEST is not on PATH; add it to use zccache and cargo zccache" ;;
esac
