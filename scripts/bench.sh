#!/usr/bin/env bash
# Builds the release binary and the bench_aid helper, then runs scripts/bench.py (odoo-import, given first,
# runs scripts/bench_odoo_import.py instead):
#   scripts/bench.sh load [--seconds 10 --connections 64 --rounds 2] [--no-odoo | --only-odoo] [--no-postgres]
#                         [--baseline-bridge PATH]
#     (--baseline-bridge: a bankbridge binary built from an older commit, loaded in the same rounds on SQLite
#     and PostgreSQL for a same-run before/after ratio; --no-postgres: skip the bridges on PostgreSQL;
#     search_read is also loaded through JSON-2 against its own static ceiling)
#   scripts/bench.sh encode [--iterations 15]
#   scripts/bench.sh sync [--rows 100000 1000000 (any counts, e.g. 10000000)] [--no-postgres]
#   scripts/bench.sh odoo-import [--serie 17|18|19] [--rows 1000 10000] [--json FILE]
#     (scripts/bench_odoo_import.py: the addon's import of one bank account of N transactions into real Odoo
#     19 by default, through the background job's code and the bridge's built-in sandbox, against Odoo's floor
#     of creating the same statement lines in one create(vals_list), same run, same database; needs
#     BANKBRIDGE_SHARED or ../shared for the Odoo tree. Odoo is the measured side: the bridge is the debug
#     build, or $BANKBRIDGE_BIN, e.g. a release binary; its options follow it, --json among them)
# Options before the subcommand go to bench.py (e.g. --json FILE). Prerequisites (installed by nothing
# here): wrk (load), GNU time at /usr/bin/time (sync), PostgreSQL server binaries and psql (sync and load,
# unless --no-postgres, or BANKBRIDGE_BENCH_POSTGRES_URL names a server to create databases on; load's Odoo
# peer, unless --no-odoo), python3. The Odoo 17 peer comes from ../shared/odoo17 through tests/odoo/env.sh
# setup (unpacked, with its venv, under target/odoo17 the first time).
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
if [ "${1:-}" = odoo-import ]; then
    shift
    if [ -z "${BANKBRIDGE_BIN:-}" ]; then
        cargo build --quiet
        BANKBRIDGE_BIN=$target/debug/bankbridge
    fi
    exec python3 scripts/bench_odoo_import.py --bridge "$BANKBRIDGE_BIN" "$@"
fi
cargo build --release --quiet
aid=$(cargo bench --quiet --no-run --bench bench_aid --message-format=json 2>/dev/null \
    | python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "bench_aid" and m.get("executable"):
        print(m["executable"])')
[ -x "$aid" ] || { echo "could not build the bench_aid helper" >&2; exit 1; }
exec python3 scripts/bench.py --bridge "$target/release/bankbridge" --aid "$aid" "$@"
