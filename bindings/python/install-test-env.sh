#!/usr/bin/env bash
# Builds the wharf wheel from this folder (maturin, from PyPI, with the
# workspace's target directory, so the host is not built twice) and
# installs it, with what the Python and Django tests need, into two
# virtual environments under target/python:
#   venv-3.11  the machine's CPython 3.11, Django 5.2 LTS
#   venv-3.12  CPython 3.12 from the machine's pyenv, Django 6, and
#              django-storages with boto3 (the peer the Django tests and
#              the benchmark compare against), and django-rclone (whose
#              backups the tests run through wharf-rclone), with the
#              sqlite3 shell it dumps SQLite databases with (apt-get)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=target/python
mkdir -p "$out"
rm -rf "$out/wheels"
start=$(date +%s)
python3 -m pip wheel --quiet --disable-pip-version-check --no-deps -w "$out/wheels" ./bindings/python
wheel=$(ls "$out"/wheels/wharf-*.whl)
echo "built $(basename "$wheel") ($(du -k "$wheel" | cut -f1) KiB) in $(( $(date +%s) - start )) s"

python312() {
    local root version
    root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
    if [ ! -d "$root/versions" ]; then
        echo "no pyenv at $root: the Django 6 tests need CPython 3.12 from the machine's pyenv" >&2
        return 1
    fi
    newest_312() { ls "$root/versions" | grep -E '^3\.12\.[0-9]+$' | sort -V | tail -1; }
    version=$(newest_312)
    if [ -z "$version" ] && [ -x "$root/bin/pyenv" ]; then
        # Not there yet: the machine's pyenv builds it.
        PYENV_ROOT="$root" "$root/bin/pyenv" install --skip-existing 3.12 >&2 || true
        version=$(newest_312)
    fi
    if [ -z "$version" ]; then
        echo "pyenv has no CPython 3.12 and could not install it: the Django 6 tests need it (pyenv install 3.12)" >&2
        return 1
    fi
    echo "$root/versions/$version/bin/python3"
}

setup() {
    local python=$1 venv=$2; shift 2
    [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$wheel"
    echo "$venv: $("$venv/bin/python" --version), Django $("$venv/bin/python" -c 'import django; print(django.__version__)')"
}

setup python3 "$out/venv-3.11" 'Django>=5.2,<5.3' 'pytest>=8'
if ! command -v sqlite3 >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends sqlite3
fi
setup "$(python312)" "$out/venv-3.12" 'Django>=6,<7' 'pytest>=8' 'django-storages[s3]==1.14.6' boto3 'django-rclone==0.4.0'
