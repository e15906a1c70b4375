#!/bin/bash
# Installs componentize-py (PyPI) in a venv, for building this example.
# Idempotent; the test command runs it.
set -euo pipefail
TOOLS=${COMPONENTIZE_PY_DIR:-/opt/componentize-py}
VERSION=0.25.1
if ! "$TOOLS/venv/bin/componentize-py" --version 2>/dev/null | grep -q "$VERSION"; then
  python3 -m venv "$TOOLS/venv"
  "$TOOLS/venv/bin/pip" install --quiet --disable-pip-version-check "componentize-py==$VERSION"
fi
"$TOOLS/venv/bin/componentize-py" --version
