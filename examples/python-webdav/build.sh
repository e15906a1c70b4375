#!/bin/bash
# Builds the WebDAV plugin into a component: build.sh [OUT.wasm]
# componentize-py (installed by ../python-memory/install.sh) reads the
# contract from the repository's wit/ (its deps/ holds the WASI files) and
# targets the world for HTTP plugins.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOOLS=${COMPONENTIZE_PY_DIR:-/opt/componentize-py}
OUT=${1:-$HERE/webdav_py.wasm}
cd "$HERE"
"$TOOLS/venv/bin/componentize-py" -d ../../wit -w wharf:storage/http-plugin componentize app -o "$OUT"
