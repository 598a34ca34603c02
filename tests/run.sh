#!/usr/bin/env bash
# The whole test suite: formatting-independent Rust tests, then the Python suite (xmlrpc.client, real
# client libraries, end-to-end flows) against the real binary, on SQLite and on PostgreSQL, then the Odoo
# addon's tests inside a real Odoo 17.0, 18.0 and 19.0 Community against the real bridge
# (tests/odoo/run_all_series.sh, which runs tests/odoo/run_addon_tests.sh for each serie).
# PostgreSQL: uses $BANKBRIDGE_TEST_POSTGRES_URL if set, otherwise starts a throwaway local cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

pg_dir=""
cleanup() { if [ -n "$pg_dir" ]; then tests/postgres.sh stop "$pg_dir/data"; rm -rf "$pg_dir"; fi; }
trap cleanup EXIT
if [ -z "${BANKBRIDGE_TEST_POSTGRES_URL:-}" ]; then
    echo "== starting a throwaway PostgreSQL server"
    pg_dir=$(mktemp -d /tmp/bankbridge-pg.XXXXXX)
    chmod 755 "$pg_dir"
    BANKBRIDGE_TEST_PGPORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    export BANKBRIDGE_TEST_PGPORT
    BANKBRIDGE_TEST_POSTGRES_URL=$(tests/postgres.sh start "$pg_dir/data")
    export BANKBRIDGE_TEST_POSTGRES_URL
fi

echo "== layers: no import runs back up (scripts/check_layers.py)"
python3 scripts/check_layers.py

echo "== cargo build and Rust tests"
cargo build --quiet
cargo test --quiet

echo "== Python environment"
venv=${BANKBRIDGE_VENV:-$repo/target/test-venv}
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt

if command -v npm >/dev/null 2>&1; then
    echo "== browser test dependencies (playwright-core, driving Debian's chromium)"
    (cd tests/browser && npm ci --no-audit --no-fund --silent)
fi

echo "== Python suite against target/debug/bankbridge"
export BANKBRIDGE_BIN="$repo/target/debug/bankbridge"
mkdir -p "$repo/target/test-output"
"$venv/bin/python" -m pytest tests/python -q -p no:cacheprovider --basetemp="$repo/target/test-output/pytest" "$@"

echo "== Odoo 17.0, 18.0 and 19.0 Community: the addon's tests and the admin's journey in headless Chromium"
tests/odoo/run_all_series.sh
