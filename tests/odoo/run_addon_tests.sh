#!/usr/bin/env bash
# The addon's tests inside a real Odoo Community of one serie (17, 18 or 19), against the real bridge:
#   1. the trimmed Odoo <serie> and its venv (tests/odoo/env.sh, cached under target/odoo<serie>);
#   2. a PostgreSQL server ($BANKBRIDGE_TEST_POSTGRES_URL, or a throwaway one) and a fresh database;
#   3. the real bridge (target/debug/bankbridge) on SQLite, a free loopback port, its built-in sandbox
#      (150 posted transactions per account: imported in batches the journey watches, while keeping the
#      stage short);
#   4. odoo-bin installs the serie's account_online_bridge (odoo_addon/<serie>.0) with its tests; the
#      journey test (a headless-Chromium walk as the Community admin, by clicks) saves its screenshots and
#      summary under target/test-output/odoo<serie>-journey/.
# Fails unless the Odoo tests ran, none failed, the journey ran, no line is logged at level ERROR, and no
# WARNING names the addon (except its own loggers' warnings from the tests of failure paths).
# Prints the count and the stage's wall time.
#   tests/odoo/run_addon_tests.sh [SERIE] [extra odoo-bin args]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
serie=17
case "${1:-}" in 17|18|19) serie=$1; shift ;; esac
out="$repo/target/test-output"
mkdir -p "$out"
stage_start=$(date +%s)
bin=${BANKBRIDGE_BIN:-$repo/target/debug/bankbridge}
[ -x "$bin" ] || { echo "bankbridge binary not found at $bin: run cargo build first" >&2; exit 1; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
addons="$repo/odoo_addon/$serie.0"

odoo_dir=$(tests/odoo/env.sh setup "$serie")
work=$(mktemp -d /tmp/bankbridge-odoo$serie.XXXXXX)
chmod 755 "$work"
pg_started=""
bridge_pid=""
db=""
cleanup() {
    trap - EXIT
    set +e
    [ -n "$bridge_pid" ] && kill "$bridge_pid" 2>/dev/null && wait "$bridge_pid" 2>/dev/null
    [ -n "$db" ] && [ -z "${BANKBRIDGE_ODOO_KEEP_DB:-}" ] && [ -n "${pg_url:-}" ] && psql -q "$pg_url" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
    [ -n "$pg_started" ] && tests/postgres.sh stop "$work/pg"
    rm -rf "$work"
}
trap cleanup EXIT

pg_url=${BANKBRIDGE_TEST_POSTGRES_URL:-}
if [ -z "$pg_url" ]; then
    pg_url=$(BANKBRIDGE_TEST_PGPORT=$(free_port) tests/postgres.sh start "$work/pg")
    pg_started=1
fi
tests/odoo/env.sh role "$pg_url"
pg_hostport=${pg_url#*@}
pg_hostport=${pg_hostport%%/*}
db="odoo${serie}_bridge_$$"
install="-i"
if [ -n "${BANKBRIDGE_ODOO_KEEP_DB:-}" ]; then
    # Development: reuse (and keep) this database; the addon is updated, not installed.
    db=$BANKBRIDGE_ODOO_KEEP_DB
    psql -q "$pg_url" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 && install="-u"
fi

echo "== Odoo $serie: starting the bridge (SQLite, built-in sandbox)"
export DATABASE_URL="$work/bridge.db" RUST_LOG=${RUST_LOG:-info}
api_key=$("$bin" user add odoo --company "My Company" | awk '{print $NF}' | tail -n 1)
"$bin" serve --bind 127.0.0.1 --port "$(free_port)" --sync-interval 0 --sandbox-transactions 150 >"$work/bridge.out" 2>"$out/odoo$serie-bridge.log" &
bridge_pid=$!
bridge_url=""
for _ in $(seq 1 150); do
    bridge_url=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$work/bridge.out" 2>/dev/null | head -n 1 || true)
    [ -n "$bridge_url" ] && curl -fsS "$bridge_url/health" >/dev/null 2>&1 && break
    kill -0 "$bridge_pid" 2>/dev/null || { cat "$out/odoo$serie-bridge.log" >&2; exit 1; }
    sleep 0.2
done
[ -n "$bridge_url" ] || { echo "bridge did not start" >&2; cat "$out/odoo$serie-bridge.log" >&2; exit 1; }
echo "bridge at $bridge_url"

# 19.0: demo data is off by default (--without-demo=all only warns) and the XML-RPC endpoints the
# journey's bridge never calls on Odoo do not matter here.
demo=(--without-demo=all)
[ "$serie" -ge 19 ] && demo=()
echo "== Odoo $serie: install account_online_bridge with its tests (database $db)"
log="$out/odoo$serie-tests.log"
rm -rf "$out/odoo$serie-journey"
start=$(date +%s)
set +e
BANKBRIDGE_ODOO_TEST_BRIDGE_URL="$bridge_url" BANKBRIDGE_ODOO_TEST_BRIDGE_LOGIN=odoo \
BANKBRIDGE_ODOO_TEST_BRIDGE_KEY="$api_key" BANKBRIDGE_ODOO_TEST_OUTPUT="$out/odoo$serie-journey" \
BANKBRIDGE_ODOO_TEST_NODE_DIR="$repo/tests/browser" \
nice -n 5 "$odoo_dir/venv/bin/python" "$odoo_dir/src/odoo-bin" \
    --db_host "${pg_hostport%:*}" --db_port "${pg_hostport##*:}" --db_user odoo -d "$db" \
    --addons-path="$odoo_dir/src/addons,$addons" --data-dir "$work/odoo-data" \
    --http-interface 127.0.0.1 --http-port "$(free_port)" --max-cron-threads 0 \
    "$install" account_online_bridge --test-enable --test-tags /account_online_bridge \
    --stop-after-init "${demo[@]}" --log-level=test "$@" >"$log" 2>&1
status=$?
set -e
elapsed=$(( $(date +%s) - start ))

summary=$(grep -E "odoo\.tests\.result: .* tests when loading database" "$log" | tail -n 1 || true)
ran=$(sed -n 's/.*of \([0-9]\+\) tests when loading database.*/\1/p' <<<"$summary")
# Log levels, not words: 19.0's mail prints a docutils "(ERROR/3)" line on stderr at every install.
problems=$(grep -E "^\S+ \S+ [0-9]+ (ERROR|CRITICAL) " "$log" | head -n 20 || true)
# Odoo's warnings about the addon (its own loggers warn on purpose in the tests of failure paths).
warnings=$(grep -E "^\S+ \S+ [0-9]+ WARNING " "$log" | grep -E "account_online_bridge|bank[._]bridge" \
    | grep -vE " WARNING \S+ odoo\.addons\.account_online_bridge\." | head -n 20 || true)
install_warnings=$(sed -n '/Starting post tests\|Starting .*tests/q;p' "$log" | grep -E "^\S+ \S+ [0-9]+ WARNING " \
    | grep -E "account_online_bridge|bank[._]bridge" | head -n 20 || true)
echo "${summary:-no test summary found}"
echo "Odoo $serie tests run: ${ran:-0} (odoo-bin exit $status, ${elapsed}s; log: $log)"
failed=""
if [ "$status" -ne 0 ] || [ -z "$ran" ] || [ "$ran" -eq 0 ] || [ -n "$problems" ] \
    || ! grep -q "0 failed, 0 error(s)" <<<"$summary"; then
    echo "FAILED: the addon's tests in real Odoo $serie did not all pass" >&2
    [ -n "$problems" ] && echo "$problems" >&2
    tail -n 60 "$log" >&2
    failed=1
fi
if [ -n "$warnings$install_warnings" ]; then
    echo "FAILED: Odoo $serie warns about the addon:" >&2
    printf '%s\n%s\n' "$install_warnings" "$warnings" | sed '/^$/d' >&2
    failed=1
fi
if ! grep -q "Starting TestJourney.test_community_admin_journey" "$log"; then
    echo "FAILED: the journey test did not run" >&2
    failed=1
elif grep -qE "skipped|SKIP" <(grep -i "TestJourney" "$log"); then
    echo "FAILED: the journey test was skipped" >&2
    failed=1
fi
[ -n "$failed" ] && exit 1
echo "Odoo $serie stage passed in $(( $(date +%s) - stage_start ))s (tests: $ran)"
