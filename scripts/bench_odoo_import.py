#!/usr/bin/env python3
"""The import into Odoo (run through scripts/bench.sh odoo-import): lines/s of the addon's real import of one
bank account of N posted transactions, against Odoo's own floor of creating the same statement lines in one
create(vals_list), measured in the same run on the same database.

  1. a real bridge (--bridge, its built-in Salt Edge sandbox, attempts instant) on SQLite, its user `odoo` of
     "My Company"; one connection to fakebank_simple_xf made through the consent page, then, at the bank,
     one account per N holding N posted transactions (the sandbox's admin hook, as the tests open accounts),
     fetched by the bridge through Salt Edge's API as a refresh does;
  2. real Odoo (--serie, default 19) on a throwaway PostgreSQL database, account_online_bridge installed;
  3. inside Odoo (scripts/bench_odoo/odoo_import.py, in odoo-bin shell), for each N: the addon's import
     through the background job's code and the bridge over XML-RPC (ours), then the floor.

Prints lines/s for both and ours/floor per N. Needs only the Python standard library, the PostgreSQL server
binaries (or BANKBRIDGE_BENCH_POSTGRES_URL) and the Odoo tree of the serie (tests/odoo/env.sh)."""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "python"))
sys.path.insert(0, str(REPO / "scripts"))
import harness  # noqa: E402
from bench import machine  # noqa: E402

DRIVER = REPO / "scripts" / "bench_odoo" / "odoo_import.py"


def account_name(rows):
    return f"Benchmark {rows}"


def bank_with_accounts(servers, binary, rows_list):
    """A bridge whose connection holds one account opened with `rows` posted transactions per entry of
    `rows_list`, stored on the bridge; returns (bridge, link id, {rows: posted rows stored}). The refresh that
    brings the new accounts also brings each of them the few new rows a Salt Edge refresh brings (the
    sandbox's `new_per_refresh`): the import and the floor both take every stored row."""
    bridge = servers.bridge(users={"odoo": "My Company"}, binary_path=binary, args=["--sync-interval", "0"],
                            env={"RUST_LOG": "warn", "BANKBRIDGE_SANDBOX_ATTEMPT_DELAY_MS": "0",
                                 "BANKBRIDGE_SANDBOX_TRANSACTIONS": "10"})
    api = harness.Api(bridge, "odoo")
    harness.wait_for(lambda: api("account.online.institution", "search_count", [["code", "=", "fakebank_simple_xf"]]),
                     60, "the sandbox's institutions")
    link, connect_url, *_ = harness.connect(api, "bench@example.com")
    harness.wait_connected(api, link, timeout=300)
    connection = api.link(link, "connection_identifier")["connection_identifier"]
    for rows in rows_list:
        harness.sandbox_admin(connect_url, f"connections/{connection}/accounts",
                              {"name": account_name(rows), "currency_code": "USD", "transactions": rows, "pending": 0})
    harness.sandbox_admin(connect_url, f"connections/{connection}/next_refresh", {"in_secs": 0})
    api("account.online.link", "action_fetch_transactions", [link])

    def stored():
        counts = {}
        for rows in rows_list:
            ids = api("account.online.account", "search", [["account_online_link_id", "=", link],
                                                            ["name", "=", account_name(rows)]])
            if len(ids) != 1:
                return None
            counts[rows] = api("account.online.transaction", "search_count",
                               [["online_account_id", "=", ids[0]], ["status", "=", "posted"]])
        return counts if all(counts[rows] >= rows for rows in rows_list) else None

    harness.wait_for(stored, 600, "the bridge to store the benchmark accounts' transactions", interval=1.0)
    harness.settled(api, link, timeout=120)
    counts = stored()
    if any(counts[rows] > rows + 10 for rows in rows_list):
        raise AssertionError(f"more rows than the bank's accounts were opened with and a refresh brings: {counts}")
    return bridge, link, counts


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bridge", required=True, help="the bankbridge binary (debug or release)")
    p.add_argument("--serie", type=int, choices=(17, 18, 19), default=19, help="the Odoo serie (default 19)")
    p.add_argument("--rows", type=int, nargs="+", default=[1_000, 10_000])
    p.add_argument("--json", help="also write the figures to this JSON file")
    p.add_argument("--profile", metavar="DIR",
                   help="run each measure under cProfile and write DIR/{ours,floor}-N.pstats (slower: to find where "
                        "the time goes, not for figures)")
    p.add_argument("--no-floor", action="store_true", help="measure ours only (with --profile: where ours spends)")
    args = p.parse_args()
    if len(set(args.rows)) != len(args.rows):
        p.error("--rows: each N once")

    work = Path(tempfile.mkdtemp(prefix="bankbridge-bench-odoo-import-"))
    os.chmod(work, 0o755)
    postgres = harness.Postgres(os.environ.get("BANKBRIDGE_BENCH_POSTGRES_URL"))
    odoo = None
    results = []
    try:
        with harness.Servers(work) as servers:
            started = time.monotonic()
            bridge, link, stored = bank_with_accounts(servers, args.bridge, args.rows)
            print(f"bridge ready ({time.monotonic() - started:.0f}s): link {link}, accounts of "
                  f"{', '.join(f'{stored[r]:,}' for r in args.rows)} posted transactions", flush=True)
            odoo = harness.Odoo(postgres.admin_url, work, addons=[REPO / "odoo_addon" / f"{args.serie}.0"],
                                serie=args.serie)
            started = time.monotonic()
            odoo.install("account_online_bridge")
            print(f"Odoo {args.serie} database {odoo.db} with account_online_bridge ({time.monotonic() - started:.0f}s)",
                  flush=True)
            config = {"bridge_url": bridge.url, "bridge_db": bridge.db, "bridge_login": "odoo",
                      "bridge_key": bridge.keys["odoo"], "link_id": link,
                      "accounts": [{"name": account_name(rows), "nominal": rows, "rows": stored[rows]}
                                   for rows in args.rows],
                      "profile_dir": str(Path(args.profile).resolve()) if args.profile else None,
                      "no_floor": args.no_floor}
            if args.profile:
                Path(args.profile).mkdir(parents=True, exist_ok=True)
            shell = [odoo.base_args[0], odoo.base_args[1], "shell", *odoo.base_args[2:], "--log-level=warn"]
            env = dict(os.environ, BENCH_ODOO_IMPORT=json.dumps(config))
            log = work / "odoo-shell.log"
            with open(DRIVER) as driver, open(log, "w") as errors:
                proc = subprocess.Popen(shell, stdin=driver, stdout=subprocess.PIPE, stderr=errors, text=True,
                                        env=env, cwd=work)
                stdout = []
                for line in proc.stdout:
                    stdout.append(line)
                    if not line.startswith("BENCH_RESULT "):
                        continue
                    r = json.loads(line.split(" ", 1)[1])
                    r["ours_lines_per_s"] = r["rows"] / r["ours_s"]
                    results.append(r)
                    if r["floor_s"] is None:
                        print(f"N={r['nominal']:>6,} ({r['rows']:,} lines): ours {r['ours_lines_per_s']:7.1f} lines/s "
                              f"({r['ours_s']:.1f} s)", flush=True)
                        continue
                    r["floor_lines_per_s"] = r["rows"] / r["floor_s"]
                    r["ratio"] = r["ours_lines_per_s"] / r["floor_lines_per_s"]
                    print(f"N={r['nominal']:>6,} ({r['rows']:,} lines): ours {r['ours_lines_per_s']:7.1f} lines/s "
                          f"({r['ours_s']:.1f} s) | floor {r['floor_lines_per_s']:7.1f} lines/s ({r['floor_s']:.1f} s) | "
                          f"ours/floor {r['ratio']:.2f}", flush=True)
                proc.wait()
            if proc.returncode != 0 or len(results) != len(args.rows):
                raise RuntimeError(f"the Odoo side failed (exit {proc.returncode}):\n{''.join(stdout)[-3000:]}\n"
                                   f"{log.read_text()[-5000:]}")
        if args.no_floor:
            return
        print()
        print(f"machine: {machine()}")
        print(f"Odoo {args.serie}, one bank account, `scripts/bench.sh odoo-import --serie {args.serie}`")
        print("| N | lines | ours lines/s | Odoo's floor lines/s (one create) | ours / floor |")
        print("|---:|---:|---:|---:|---:|")
        for r in results:
            print(f"| {r['nominal']:,} | {r['rows']:,} | {r['ours_lines_per_s']:.0f} | {r['floor_lines_per_s']:.0f} | {r['ratio']:.2f} |")
        if args.json:
            Path(args.json).write_text(json.dumps({"machine": machine(), "serie": args.serie, "results": results},
                                                  indent=2))
    finally:
        if odoo:
            odoo.stop()
        postgres.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
