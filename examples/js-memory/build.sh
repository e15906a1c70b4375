#!/bin/bash
# Builds the JavaScript plugin into a component: build.sh [OUT.wasm]
# Needs install.sh first (componentize-js 0.23.0, pinned). The WIT is the
# repository's wit/, the world `wharf:storage/plugin`.
#
# --disable http fetch-event: the plugin makes no requests, so the
# engine's fetch() and its wasi:http imports are left out. stdio stays (a
# trap then prints the JavaScript stack), clocks (Date.now() for
# last-modified) and random too.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/memory_js.wasm}
cd "$HERE"
npx --no-install componentize-js app.js --wit ../../wit --world-name wharf:storage/plugin \
    --disable http fetch-event -o "$OUT"
