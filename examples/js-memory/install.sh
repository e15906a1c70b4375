#!/bin/bash
# Installs componentize-js (npm, pinned in package-lock.json) into
# node_modules here, for building this example. Idempotent; the test
# command runs it. Needs node >= 20 and npm.
set -euo pipefail
cd "$(dirname "$0")"
if ! npx --no-install componentize-js --version 2>/dev/null | grep -q "0.23.0"; then
  npm ci --no-audit --no-fund
fi
npx --no-install componentize-js --version
