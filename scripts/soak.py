#!/usr/bin/env python3
"""Soak test: mixed read/write XML-RPC load on a bridge started here, on loopback only, for a bounded
time. N client threads, each with its own keep-alive connection, run a mix of search_read, read,
search_count, name_search, create, write and unlink; every fault or transport error is counted; the
server's RSS is sampled every few seconds. Prints a summary and exits 1 on any error response.

    scripts/soak.py --duration 600 --connections 64                      # SQLite (the default)
    scripts/soak.py --duration 600 --connections 64 --database postgres://…/db

Uses target/debug/bankbridge unless BANKBRIDGE_BIN is set. See RELIABILITY.md for the figures.
"""

import argparse
import http.client
import random
import sys
import tempfile
import threading
import time
import xmlrpc.client
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "python"))
import harness  # noqa: E402

MAX_OWN = 20  # links each client keeps at most (older ones are unlinked)


class KeepAlive(xmlrpc.client.Transport):
    """xmlrpc.client's transport keeps its connection open between calls; bound it to loopback."""

    def make_connection(self, host):
        assert host.split(":")[0] in ("127.0.0.1", "localhost"), host
        return super().make_connection(host)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=600, help="seconds of load (default 600)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--database", help="PostgreSQL URL of an empty database (default: a fresh SQLite file)")
    parser.add_argument("--workers", type=int, default=None, help="bridge HTTP workers (default: one per core)")
    args = parser.parse_args()
    if args.duration > 3600:
        parser.error("--duration is capped at one hour")

    workdir = Path(tempfile.mkdtemp(prefix="bankbridge-soak-"))
    env = {"RUST_LOG": "warn", "BANKBRIDGE_SYNC_INTERVAL": "0", "BANKBRIDGE_POOL_SIZE": "8"}
    if args.workers:
        env["BANKBRIDGE_WORKERS"] = str(args.workers)
    with harness.Servers(workdir) as servers:
        bridge = servers.bridge(database=args.database or str(workdir / "soak.db"), users={"soak": "Soak Inc"}, env=env)
        return soak(args, bridge)


def soak(args, bridge):
    setup = harness.Api(bridge, "soak")
    uid, key = setup.uid, setup.key
    links = setup("account.online.link", "create", [{"name": f"Soak bank {i:03d}", "auto_sync": i % 2 == 0} for i in range(200)])
    for link in links[:50]:
        setup("account.online.account", "create", [{"name": f"Account {link}-{j}", "account_online_link_id": link, "currency_code": "EUR"} for j in range(3)])

    stop_at = time.time() + args.duration
    lock = threading.Lock()
    counts = {"calls": 0, "errors": 0}
    by_kind = {}
    first_errors = []

    def worker(n):
        rng = random.Random(n)
        models = xmlrpc.client.ServerProxy(f"{bridge.url}/xmlrpc/2/object", transport=KeepAlive())
        mine = []

        def call(model, method, *a, **kw):
            return models.execute_kw(bridge.db, uid, key, model, method, list(a), kw)

        while time.time() < stop_at:
            roll = rng.random()
            try:
                if roll < 0.30:
                    kind = "search_read"
                    call("account.online.link", "search_read", [["name", "ilike", f"bank {rng.randrange(20):02d}"]], fields=["name", "state", "auto_sync"], limit=20)
                elif roll < 0.45:
                    kind = "read"
                    call("account.online.link", "read", rng.sample(links, 5), ["name", "account_online_account_ids", "company_id"])
                elif roll < 0.55:
                    kind = "search_count"
                    call("account.online.account", "search_count", [["account_online_link_id.auto_sync", "=", True]])
                elif roll < 0.62:
                    kind = "name_search"
                    call("account.online.link", "name_search", "soak", limit=10)
                elif len(mine) >= MAX_OWN and roll < 0.92:
                    # Keep the data set bounded: memory must stay flat for a constant amount of data.
                    kind = "unlink"
                    call("account.online.link", "unlink", [mine.pop(0)])
                elif roll < 0.77 or not mine:
                    kind = "create"
                    mine.append(call("account.online.link", "create", {"name": f"load {n} {rng.random():.6f}", "renewal_contact_email": "ops@soak.test"}))
                elif roll < 0.92:
                    kind = "write"
                    call("account.online.link", "write", [rng.choice(mine)], {"name": f"load {n} rewritten {rng.random():.6f}", "auto_sync": rng.random() < 0.5})
                else:
                    kind = "unlink"
                    call("account.online.link", "unlink", [mine.pop(rng.randrange(len(mine)))])
                with lock:
                    counts["calls"] += 1
                    by_kind[kind] = by_kind.get(kind, 0) + 1
            except (xmlrpc.client.Fault, xmlrpc.client.ProtocolError, OSError, http.client.HTTPException) as e:
                with lock:
                    counts["errors"] += 1
                    if len(first_errors) < 10:
                        first_errors.append(f"{kind}: {type(e).__name__}: {str(e)[:200]}")
                models = xmlrpc.client.ServerProxy(f"{bridge.url}/xmlrpc/2/object", transport=KeepAlive())

    def rss():  # 0 once the bridge is gone (the summary says so)
        return harness.rss_kib(bridge.pid) if bridge.alive else 0

    samples = [(0.0, rss())]
    started = time.time()
    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(args.connections)]
    for t in threads:
        t.start()
    last_calls = 0
    while time.time() < stop_at:
        time.sleep(min(10, max(0.1, stop_at - time.time())))
        with lock:
            calls, errors = counts["calls"], counts["errors"]
        samples.append((time.time() - started, rss()))
        print(f"t={samples[-1][0]:6.0f}s calls={calls} (+{calls - last_calls}) errors={errors} rss={samples[-1][1] / 1024:.1f} MiB", flush=True)
        last_calls = calls
    for t in threads:
        t.join(timeout=60)
    elapsed = time.time() - started
    alive = bridge.alive and bridge.healthy()
    samples.append((elapsed, rss()))
    bridge.stop()

    warm = [kib for t, kib in samples if t >= 60] or [samples[-1][1]]
    print()
    print(f"duration            {elapsed:.0f} s, {args.connections} connections, database {'PostgreSQL' if args.database else 'SQLite'}")
    print(f"calls               {counts['calls']} ({counts['calls'] / elapsed:.0f}/s): " + ", ".join(f"{k} {v}" for k, v in sorted(by_kind.items())))
    print(f"error responses     {counts['errors']}")
    print(f"RSS start           {samples[0][1] / 1024:.1f} MiB (before load)")
    print(f"RSS after 60 s      {warm[0] / 1024:.1f} MiB")
    print(f"RSS end             {samples[-1][1] / 1024:.1f} MiB (max {max(k for _, k in samples) / 1024:.1f} MiB)")
    print(f"server alive at end {alive}")
    for line in first_errors:
        print("  " + line)
    return 0 if counts["errors"] == 0 and alive else 1


if __name__ == "__main__":
    sys.exit(main())
