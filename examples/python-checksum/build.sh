#!/bin/bash
# Builds the checksum overlay into a component: build.sh [OUT.wasm]
# componentize-py (installed by ../python-memory/install.sh) reads the
# contract from the repository's wit/ and targets the overlay world.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOOLS=${COMPONENTIZE_PY_DIR:-/opt/componentize-py}
OUT=${1:-$HERE/checksum_py.wasm}
cd "$HERE"
"$TOOLS/venv/bin/componentize-py" -d ../../wit -w wharf:storage/overlay componentize app -o "$OUT"
