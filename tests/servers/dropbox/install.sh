#!/bin/bash
# Installs the official Dropbox Python SDK that proves the local fake of the
# Dropbox API (sdk_scenario.py), in a venv (Debian; idempotent, a few
# seconds when already installed). The fake itself (fake_dropbox.py) needs
# only the system python3 and its standard library.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
TOOLS=${DROPBOX_TOOLS_DIR:-/opt/dropbox-test-tools}
SDK_VERSION=12.2.4
mkdir -p "$TOOLS"

command -v python3 >/dev/null || { apt-get update -qq; apt-get install -y -qq --no-install-recommends python3; }
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends python3-venv
fi
if [ ! -x "$TOOLS/venv/bin/python" ]; then python3 -m venv "$TOOLS/venv"; fi

# Reinstall only when the pinned version is not the one importable.
if ! "$TOOLS/venv/bin/python" -c "import dropbox, sys; sys.exit(dropbox.__version__ != '$SDK_VERSION')" 2>/dev/null; then
  "$TOOLS/venv/bin/pip" install -q --disable-pip-version-check "dropbox==$SDK_VERSION"
fi
"$TOOLS/venv/bin/python" -c 'import dropbox; print("dropbox SDK", dropbox.__version__)'
