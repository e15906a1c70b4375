#!/bin/bash
# Installs componentize-js (npm, pinned in package-lock.json) into
# node_modules here, for building this example. Idempotent; the test
# command runs it. Uses node and npm (installed from Debian if missing).
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v npm >/dev/null; then
  # A machine without node: Debian's (needs root, as the test command's
  # other apt-get installs do).
  apt-get install -y -qq nodejs npm
fi
if ! npx --no-install componentize-js --version 2>/dev/null | grep -q "0.23.0"; then
  npm ci --no-audit --no-fund
fi
npx --no-install componentize-js --version
