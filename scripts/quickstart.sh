#!/usr/bin/env bash
# Wharf's main job on the embedded default, from a fresh clone: build the
# host with its built-in fs plugin, store a file in media: (./media, no
# server, no configuration) and read it back.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add wasm32-wasip2 >/dev/null
cargo build --release -p wharf-cli
wharf="${CARGO_TARGET_DIR:-target}/release/wharf"

echo "== wharf put README.md media:docs/README.md"
"$wharf" put README.md media:docs/README.md
echo "== wharf ls -l media:docs/"
"$wharf" ls -l media:docs/
echo "== wharf cat media:docs/README.md | head -3"
"$wharf" cat media:docs/README.md | head -3
echo "== wharf get media:docs/README.md: identical to the original?"
tmp=$(mktemp)
"$wharf" get media:docs/README.md "$tmp"
cmp README.md "$tmp" && echo "yes: the bytes made the round trip through the sandboxed fs plugin"
rm -f "$tmp"
