#!/bin/bash
# Builds the Python plugin into a component: build.sh [OUT.wasm]
# (componentize-py from install.sh; the WIT is the repository's wit/).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOOLS=${COMPONENTIZE_PY_DIR:-/opt/componentize-py}
OUT=${1:-$HERE/memory_py.wasm}
cd "$HERE"
"$TOOLS/venv/bin/componentize-py" -d ../../wit -w wharf:storage/plugin componentize app -o "$OUT"
