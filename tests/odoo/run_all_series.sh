#!/usr/bin/env bash
# The addon's Odoo stage for every supported serie (17, 18, 19; or the ones given), each in its own real
# Odoo (tests/odoo/run_addon_tests.sh), sharing one PostgreSQL server: $BANKBRIDGE_TEST_POSTGRES_URL, or a
# throwaway one started here. Each Odoo tree and venv is prepared once, before the stages run (cached
# under target/odoo<serie>); then BANKBRIDGE_ODOO_PARALLEL stages run at a time (default 2: installing
# Odoo is mostly one busy process, two of them use two cores). Each stage's output goes to
# target/test-output/odoo<serie>-stage.txt. Prints each serie's test count and wall time; fails unless
# every stage passed.
#   tests/odoo/run_all_series.sh [SERIE...]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
series=("$@")
[ ${#series[@]} -eq 0 ] && series=(17 18 19)
parallel=${BANKBRIDGE_ODOO_PARALLEL:-2}
out="$repo/target/test-output"
mkdir -p "$out"

pg_dir=""
cleanup() { if [ -n "$pg_dir" ]; then tests/postgres.sh stop "$pg_dir/data"; rm -rf "$pg_dir"; fi; }
trap cleanup EXIT
if [ -z "${BANKBRIDGE_TEST_POSTGRES_URL:-}" ]; then
    pg_dir=$(mktemp -d /tmp/bankbridge-odoo-pg.XXXXXX)
    chmod 755 "$pg_dir"
    BANKBRIDGE_TEST_PGPORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    export BANKBRIDGE_TEST_PGPORT
    BANKBRIDGE_TEST_POSTGRES_URL=$(tests/postgres.sh start "$pg_dir/data")
fi
export BANKBRIDGE_TEST_POSTGRES_URL
# Odoo's database role, once (the stages running side by side would race to create it).
tests/odoo/env.sh role "$BANKBRIDGE_TEST_POSTGRES_URL"

for serie in "${series[@]}"; do
    tests/odoo/env.sh setup "$serie" >/dev/null
done

start=$(date +%s)
declare -A pids
running=0
for serie in "${series[@]}"; do
    if [ "$running" -ge "$parallel" ]; then
        wait -n || true
        running=$((running - 1))
    fi
    echo "== Odoo $serie: the addon's tests and the admin's journey (output: target/test-output/odoo$serie-stage.txt)"
    tests/odoo/run_addon_tests.sh "$serie" >"$out/odoo$serie-stage.txt" 2>&1 &
    pids[$serie]=$!
    running=$((running + 1))
done
failed=()
for serie in "${series[@]}"; do
    if ! wait "${pids[$serie]}"; then
        failed+=("$serie")
    fi
done
echo "== Odoo stages (${parallel} at a time), $(( $(date +%s) - start ))s in all:"
for serie in "${series[@]}"; do
    line=$(grep -E "^Odoo $serie (stage passed|tests run)" "$out/odoo$serie-stage.txt" | tail -n 1 || true)
    echo "   $serie: ${line:-no result (see target/test-output/odoo$serie-stage.txt)}"
done
if [ ${#failed[@]} -gt 0 ]; then
    for serie in "${failed[@]}"; do
        echo "FAILED: Odoo $serie (last lines of target/test-output/odoo$serie-stage.txt):" >&2
        tail -n 40 "$out/odoo$serie-stage.txt" >&2
    done
    exit 1
fi
