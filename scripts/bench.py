#!/usr/bin/env python3
"""Side-by-side benchmarks of the release binary (run through scripts/bench.sh, which builds it).

  load    requests/s and latency percentiles (wrk, keep-alive, loopback) for common.version,
          execute_kw search_read of 80 account.online.account records, read of one link, the
          framework ceiling (a static server answering the byte-identical search_read response),
          and Python's SimpleXMLRPCServer serving the same records from the same SQLite file;
          the same search_read through JSON-2 (/json/2, bearer key) beside its own ceiling (the static server
          answering the bridge's JSON-2 bytes as application/json); the same search_read from a second
          bridge on PostgreSQL (a throwaway cluster, or a database created on BANKBRIDGE_BENCH_POSTGRES_URL;
          skipped with --no-postgres) and, with --baseline-bridge PATH, from a bankbridge binary built from an
          older commit on its own SQLite file and PostgreSQL database (a same-run before/after ratio on each
          backend), every bridge seeded alike and checked to answer the same
          records; then real Odoo 17 as the peer a user has (threaded, and prefork with --workers 2) answering
          the same search_read of 80 records of a model with the same fields
          (scripts/bench_odoo/), at 1 and 16 connections side by side with the bridge.
  encode  xmlrpc::encode_response vs Python's xmlrpc.client.dumps on the same 10,000 records.
  sync    bankbridge sync of 100,000 and 1,000,000 transactions (--rows: any counts, e.g. 10,000,000) from a
          standalone Salt Edge sandbox over HTTP into SQLite and PostgreSQL (rows/s, peak RSS) vs mapping and
          storing the same rows in the same pages with the same functions and no HTTP (bench_aid
          store-ceiling, timed around those calls only).

Every figure is reported as a ratio against its baseline measured in the same run. Servers are started
and stopped through the test harness (tests/python/harness). Needs only the Python standard library,
plus `wrk` (load) and GNU time at /usr/bin/time (sync)."""

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import xmlrpc.client
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "python"))
import harness  # noqa: E402
LUA = """
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
"""
XML_HEADERS = {"Content-Type": "text/xml"}
JSON2_SEARCH_READ = "/json/2/account.online.account/search_read"
JSON2_SEARCH_READ_BODY = json.dumps({"domain": [], "limit": 80})


def json2_headers(key):
    """What a JSON-2 client sends: its API key as a bearer token, the arguments as JSON."""
    return {"Content-Type": "application/json", "Authorization": f"bearer {key}"}


def machine():
    model = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPU ({model}), {platform.system()} {platform.release()}, Python {platform.python_version()}"


def start_bridge(servers, binary, database, name="bridge"):
    """A bridge of `binary` on `database` with the user the benchmark calls as (admin); returns (bridge, key)."""
    bridge = servers.bridge(database=database, users={"admin": "My Company"}, env={"RUST_LOG": "warn"},
                            args=["--sync-interval", "0"], binary_path=binary, name=name)
    return bridge, bridge.keys["admin"]


def wrk(url, body_file, seconds, connections, threads, headers=XML_HEADERS):
    script = Path(body_file).with_suffix(".lua")
    script.write_text(LUA + "".join(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}\n"
                                    for k, v in headers.items()))
    env = dict(os.environ, BENCH_BODY=str(body_file))
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency", "-s", str(script), url],
        env=env, capture_output=True, text=True, timeout=seconds + 60,
    )
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed: {out.stderr}")
    text = out.stdout

    def dur(s):
        m = re.match(r"([\d.]+)(us|ms|s|m)", s)
        v, unit = float(m.group(1)), m.group(2)
        return v * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]

    pct = {p: dur(v) for p, v in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", text, re.M)}
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    socket_errors = re.search(r"Socket errors: (.*)", text)
    return {
        "rps": rps, "p50_ms": pct.get("50"), "p90_ms": pct.get("90"), "p99_ms": pct.get("99"),
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
    }


ODOO_DB = "bench_odoo"
BENCH_MODULE = "bench_online_account"


class OdooPeer:
    """Real Odoo 17 (harness.Odoo) on the run's PostgreSQL server, with scripts/bench_odoo/bench_online_account
    installed and 80 records."""

    SERVE_ARGS = ["--no-database-list", "--log-level=warn",
                  # Prefork's defaults recycle a worker after 8,192 requests and kill long ones; the load is
                  # bounded in time by wrk anyway.
                  "--limit-request", "1000000", "--limit-time-real", "600", "--limit-time-cpu", "600"]

    def __init__(self, work, postgres):
        self.odoo = harness.Odoo(postgres.admin_url, work, addons=[REPO / "scripts" / "bench_odoo"],
                                 db=f"{ODOO_DB}_{os.getpid()}")
        print("== installing the benchmark module into a fresh Odoo database (a minute or two)", flush=True)
        try:
            self.odoo.install(BENCH_MODULE)
        except BaseException:
            self.odoo.stop()
            raise

    def start(self, workers):
        """Starts Odoo (`workers` 0: threaded; > 0: prefork) on free ports; returns its base URL."""
        return self.odoo.serve(workers, args=self.SERVE_ARGS, timeout=120).url

    def seed(self, url, fields, count=80):
        """80 records like the bridge's; returns the search_read body and the records it answers."""
        call = harness.Api(self.odoo, "admin")
        if call("account.online.account", "search_count", []) == 0:
            link = call("account.online.link", "create", {"name": "Benchmark bank"})
            for i in range(1, count + 1):
                call("account.online.account", "create", {
                    "name": f"Account {i:02d}", "account_number": f"XF{i:020d}", "currency_code": "EUR",
                    "account_online_link_id": link, "journal_id": i})
        body = xmlrpc.client.dumps((self.odoo.db, call.uid, "admin", "account.online.account", "search_read", [[]],
                                    {"fields": fields, "limit": count}), "execute_kw")
        (records,), _ = xmlrpc.client.loads(harness.post(f"{url}/xmlrpc/2/object", body.encode()).ok())
        assert len(records) == count, len(records)
        return body, records

    def stop(self):
        self.odoo.stop()


def odoo_peer(args, work, postgres, sr_url, sr_file, records):
    """search_read of 80 records: the bridge vs real Odoo 17 (threaded, --workers 2) at 1 and 16
    connections, one after the other in this run. Returns the figures and ratios."""
    peer = OdooPeer(work, postgres)
    try:
        fields = [f for f in records[0] if f not in ("id",)]
        urls = {"threaded": peer.start(0), "--workers 2": peer.start(2)}
        odoo_body, odoo_records = peer.seed(urls["threaded"], fields)
        assert set(odoo_records[0]) == set(records[0]), (sorted(odoo_records[0]), sorted(records[0]))
        odoo_file = work / "odoo-search_read.xml"
        odoo_file.write_text(odoo_body)
        odoo_bytes = len(harness.post(urls["threaded"] + "/xmlrpc/2/object", odoo_body.encode()).ok())
        loadavg = open("/proc/loadavg").read().split()[:3]
        targets = {"bridge": (sr_url, sr_file)}
        targets.update({f"odoo {mode}": (url + "/xmlrpc/2/object", odoo_file) for mode, url in urls.items()})
        # Each Odoo process loads its registry and checks the password (pbkdf2) on its first call: warm
        # every worker up with concurrent calls before measuring.
        for url in urls.values():
            warm = [threading.Thread(target=harness.post, args=(url + "/xmlrpc/2/object", odoo_body.encode()),
                                     kwargs={"timeout": 300}) for _ in range(4)]
            for t in warm:
                t.start()
            for t in warm:
                t.join()
        figures = {}
        for connections in (1, 16):
            for name, (url, body) in targets.items():
                threads = 1 if connections == 1 else 2
                wrk(url, body, 5, connections, threads)  # warm-up
                r = wrk(url, body, args.seconds, connections, threads)
                figures[f"{name}, {connections} connection(s)"] = r
                print(f"odoo peer: {connections:2d} connection(s) {name:18s} {r['rps']:10.1f} req/s  p50 "
                      f"{r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms  non-2xx {r['non_2xx']} {r['socket_errors']}",
                      flush=True)
        ratios = {}
        for connections in (1, 16):
            bridge = figures[f"bridge, {connections} connection(s)"]["rps"]
            for mode in urls:
                odoo = figures[f"odoo {mode}, {connections} connection(s)"]["rps"]
                ratios[f"bridge / odoo {mode}, {connections} connection(s)"] = bridge / odoo if odoo else float("inf")
        return {"figures": figures, "ratios": ratios, "odoo_response_bytes": odoo_bytes,
                "fields": fields, "loadavg": " ".join(loadavg)}
    finally:
        peer.stop()


def print_odoo_peer(odoo, args, bridge_bytes):
    print()
    print(f"machine: {machine()}; load average before the Odoo rounds: {odoo['loadavg']}")
    print(f"real Odoo 17 peer: search_read of 80 records, {len(odoo['fields'])} fields; response "
          f"{odoo['odoo_response_bytes']} bytes (bridge {bridge_bytes}); wrk {args.seconds}s each")
    print("| target | connections | req/s | p50 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|")
    for name, r in odoo["figures"].items():
        target, connections = name.rsplit(", ", 1)
        print(f"| {target} | {connections.split()[0]} | {r['rps']:.1f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} |")
    for k, v in odoo["ratios"].items():
        print(f"ratio {k}: {v:.1f}")


SEARCH_READ = "search_read 80 accounts"
SEARCH_READ_PG = "search_read 80 accounts (PostgreSQL)"
SEARCH_READ_BASELINE = "search_read 80 accounts (baseline build)"
SEARCH_READ_BASELINE_PG = "search_read 80 accounts (baseline build, PostgreSQL)"
JSON2 = "JSON-2 search_read 80 accounts"
JSON2_PG = "JSON-2 search_read 80 accounts (PostgreSQL)"
JSON2_BASELINE = "JSON-2 search_read 80 accounts (baseline build)"
JSON2_BASELINE_PG = "JSON-2 search_read 80 accounts (baseline build, PostgreSQL)"
JSON2_CEILING = "ceiling (static JSON-2 search_read)"
# Set by the database at creation: each bridge is seeded at its own moment (see same_records).
SEEDING_TIME_FIELDS = ("create_date", "write_date")
ODOO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


def seed_bridge(bridge, count=80):
    """Creates the link and the 80 accounts every bridge target serves, through XML-RPC as a client would;
    returns (uid, link id)."""
    call = harness.Api(bridge, "admin")
    link = call("account.online.link", "create", {"name": "Benchmark bank"})
    call("account.online.account", "create", [
        {"name": f"Account {i:02d}", "account_number": f"XF{i:020d}", "currency_code": "EUR",
         "account_online_link_id": link, "journal_id": i}
        for i in range(1, count + 1)
    ])
    return call.uid, link


def search_read_body(uid, key):
    return xmlrpc.client.dumps(("bankbridge", uid, key, "account.online.account", "search_read", [[]], {"limit": 80}),
                               "execute_kw")


def same_records(expected, got):
    """Compares the search_read answers of two bridges seeded alike on fresh databases. Everything must be
    equal, ids, field names and XML-RPC types included, except the values of create_date and write_date:
    they are the moment each bridge was seeded, so they need only be Odoo datetimes ("YYYY-MM-DD
    HH:MM:SS") within 10 minutes of the reference's. Returns None, or a description of the first difference."""
    if len(got) != len(expected):
        return f"{len(got)} records instead of {len(expected)}"
    for i, (a, b) in enumerate(zip(expected, got)):
        if list(a) != list(b):
            return f"record {i}: fields {list(b)} instead of {list(a)}"
        for field, va in a.items():
            vb = b[field]
            if field in SEEDING_TIME_FIELDS:
                if not (isinstance(va, str) and isinstance(vb, str) and ODOO_DATETIME.match(va)
                        and ODOO_DATETIME.match(vb)):
                    return f"record {i} (id {a.get('id')}): {field} {vb!r}, expected a datetime like {va!r}"
                gap = abs((datetime.strptime(va, "%Y-%m-%d %H:%M:%S")
                           - datetime.strptime(vb, "%Y-%m-%d %H:%M:%S")).total_seconds())
                if gap > 600:
                    return f"record {i} (id {a.get('id')}): {field} {vb!r}, {gap:.0f} s away from {va!r}"
            elif vb != va or type(vb) is not type(va):
                return f"record {i} (id {a.get('id')}): {field} {vb!r}, expected {va!r}"
    return None


def same_json2_records(expected, got):
    """same_records for a JSON-2 answer: its members are compared in the XML-RPC answer's order (a JSON
    object's order carries no meaning, and builds before Records' own serializer wrote them sorted)."""
    if len(got) == len(expected):
        got = [{k: b[k] for k in a} if set(a) == set(b) else b for a, b in zip(expected, got)]
    return same_records(expected, got)


class SecondBridge:
    """Another bridge serving the same search_read on its own fresh database: seeded like the first one,
    its answer checked against the first one's records (same_records)."""

    def __init__(self, servers, binary, database, work, tag, expected_link, expected_records):
        bridge, key = start_bridge(servers, binary, database, name=f"bridge-{tag}")
        uid, link = seed_bridge(bridge)
        if link != expected_link:
            raise RuntimeError(f"the {tag} bridge created link {link}, the first bridge {expected_link}")
        self.url = bridge.url + "/xmlrpc/2/object"
        self.body = search_read_body(uid, key)
        self.file = work / f"search_read-{tag}.xml"
        self.file.write_text(self.body)
        self.response = harness.post(self.url, self.body.encode()).ok()
        (self.records,), _ = xmlrpc.client.loads(self.response)
        diff = same_records(expected_records, self.records)
        if diff:
            raise RuntimeError(f"the {tag} bridge's search_read differs from the bridge's: {diff}")
        self.json2_url = bridge.url + JSON2_SEARCH_READ
        self.json2_headers = json2_headers(key)
        self.json2_file = work / f"json2-{tag}.json"
        self.json2_file.write_text(JSON2_SEARCH_READ_BODY)
        self.json2_records = json.loads(harness.post(self.json2_url, JSON2_SEARCH_READ_BODY.encode(),
                                                     headers=self.json2_headers).ok())
        diff = same_json2_records(self.records, self.json2_records)
        if diff:
            raise RuntimeError(f"the {tag} bridge's JSON-2 search_read differs from its XML-RPC one: {diff}")

    def check_unchanged(self):
        (after,), _ = xmlrpc.client.loads(harness.post(self.url, self.body.encode()).ok())
        assert after == self.records
        assert json.loads(harness.post(self.json2_url, JSON2_SEARCH_READ_BODY.encode(),
                                       headers=self.json2_headers).ok()) == self.json2_records


def load(args):
    if not shutil.which("wrk"):
        sys.exit("wrk not found: install it (Debian: apt-get install wrk)")
    work = Path(tempfile.mkdtemp(prefix="bankbridge-bench-load-"))
    db_file = work / "bench.db"
    servers = harness.Servers(work)
    postgres = None
    pg_databases = []
    try:
        bridge, key = start_bridge(servers, args.bridge, str(db_file))
        uid, link = seed_bridge(bridge)
        if not (args.no_postgres and args.no_odoo):
            # The second bridge's database and Odoo's: a throwaway cluster, or BANKBRIDGE_BENCH_POSTGRES_URL.
            postgres = harness.Postgres(os.environ.get("BANKBRIDGE_BENCH_POSTGRES_URL"))

        bodies = {
            "version": ("/xmlrpc/2/common", xmlrpc.client.dumps((), "version")),
            "search_read": ("/xmlrpc/2/object", search_read_body(uid, key)),
            "read": ("/xmlrpc/2/object", xmlrpc.client.dumps(
                ("bankbridge", uid, key, "account.online.link", "read", [[link]], {}), "execute_kw")),
        }
        files = {}
        for name, (_, body) in bodies.items():
            files[name] = work / f"{name}.xml"
            files[name].write_text(body)

        # The ceiling serves the bridge's own search_read response, byte for byte.
        sr_url = bridge.url + bodies["search_read"][0]
        response = harness.post(sr_url, bodies["search_read"][1].encode()).ok()
        (records,), _ = xmlrpc.client.loads(response)
        assert len(records) == 80, len(records)
        if args.only_odoo:
            odoo = odoo_peer(args, work, postgres, sr_url, files["search_read"], records)
            print_odoo_peer(odoo, args, len(response))
            if args.json:
                Path(args.json).write_text(json.dumps({"machine": machine(), "command": " ".join(sys.argv),
                                                       "bridge_response_bytes": len(response), "odoo_peer": odoo},
                                                      indent=2))
            return
        ceiling_body = work / "ceiling-response.xml"
        ceiling_body.write_bytes(response)
        ceiling = servers.listener("ceiling", [args.aid, "ceiling-server", "--body", str(ceiling_body),
                                               "--workers", str(os.cpu_count())])
        assert harness.post(ceiling.url + "/xmlrpc/2/object", bodies["search_read"][1].encode()).ok() == response
        # JSON-2's search_read (Odoo 19's API) of the same records, and its own ceiling: the same static
        # server answering the bridge's JSON-2 bytes as application/json.
        json2_url, json2_head = bridge.url + JSON2_SEARCH_READ, json2_headers(key)
        files["json2"] = work / "json2-search_read.json"
        files["json2"].write_text(JSON2_SEARCH_READ_BODY)
        json2_response = harness.post(json2_url, JSON2_SEARCH_READ_BODY.encode(), headers=json2_head).ok()
        diff = same_json2_records(records, json.loads(json2_response))
        if diff:
            raise RuntimeError(f"JSON-2's search_read differs from XML-RPC's: {diff}")
        json2_ceiling_body = work / "ceiling-response.json"
        json2_ceiling_body.write_bytes(json2_response)
        json2_ceiling = servers.listener("ceiling-json2", [args.aid, "ceiling-server", "--body",
                                                           str(json2_ceiling_body), "--workers", str(os.cpu_count()),
                                                           "--content-type", "application/json; charset=utf-8"])
        assert harness.post(json2_ceiling.url + JSON2_SEARCH_READ, JSON2_SEARCH_READ_BODY.encode(),
                            headers=json2_head).ok() == json2_response

        python = servers.listener("python-baseline", [sys.executable, str(REPO / "scripts" / "bench_python_baseline.py"),
                                                      str(db_file), key])
        (py_records,), _ = xmlrpc.client.loads(
            harness.post(python.url + "/xmlrpc/2/object", bodies["search_read"][1].encode()).ok())
        if py_records != records:
            diff = [(a, b) for a, b in zip(records, py_records) if a != b][:1]
            raise RuntimeError(f"the Python baseline does not return the bridge's records: {diff}")

        # The same bridge on PostgreSQL, and the baseline build on its own SQLite file: seeded alike, their
        # answers must be the bridge's records (ids included: every database is fresh).
        second = {}
        if not args.no_postgres:
            pg_database = postgres.create_database("bb_bench_load")
            pg_databases.append(pg_database)
            second[SEARCH_READ_PG] = SecondBridge(servers, args.bridge, pg_database, work, "postgres", link, records)
        if args.baseline_bridge:
            second[SEARCH_READ_BASELINE] = SecondBridge(servers, args.baseline_bridge, str(work / "baseline.db"), work,
                                                        "baseline", link, records)
            if not args.no_postgres:
                # The baseline build on PostgreSQL too: the before/after of the PostgreSQL read path.
                pg_baseline_database = postgres.create_database("bb_bench_load_baseline")
                pg_databases.append(pg_baseline_database)
                second[SEARCH_READ_BASELINE_PG] = SecondBridge(servers, args.baseline_bridge, pg_baseline_database,
                                                               work, "baseline-postgres", link, records)

        targets = {
            "common.version": (bridge.url + bodies["version"][0], files["version"]),
            SEARCH_READ: (sr_url, files["search_read"]),
            "read 1 link": (bridge.url + bodies["read"][0], files["read"]),
            "ceiling (static search_read)": (ceiling.url + "/xmlrpc/2/object", files["search_read"]),
            "python SimpleXMLRPCServer search_read": (python.url + "/xmlrpc/2/object", files["search_read"]),
            JSON2: (json2_url, files["json2"], json2_head),
            JSON2_CEILING: (json2_ceiling.url + JSON2_SEARCH_READ, files["json2"], json2_head),
        }
        targets.update({name: (b.url, b.file) for name, b in second.items()})
        json2_second = {SEARCH_READ_PG: JSON2_PG, SEARCH_READ_BASELINE: JSON2_BASELINE,
                        SEARCH_READ_BASELINE_PG: JSON2_BASELINE_PG}
        targets.update({json2_second[name]: (b.json2_url, b.json2_file, b.json2_headers) for name, b in second.items()})
        results = {name: [] for name in targets}
        for round_no in range(args.rounds):
            for name, (url, body, *headers) in targets.items():
                wrk(url, body, 2, args.connections, args.threads, *headers)  # warm-up
                r = wrk(url, body, args.seconds, args.connections, args.threads, *headers)
                results[name].append(r)
                print(f"round {round_no + 1} {name:40s} {r['rps']:10.0f} req/s  p50 {r['p50_ms']:.2f} ms  "
                      f"p99 {r['p99_ms']:.2f} ms  non-2xx {r['non_2xx']} {r['socket_errors']}", flush=True)
        # One client at a time: Python's best case (no GIL contention between its 64 threads).
        single = {}
        for name in (SEARCH_READ, "python SimpleXMLRPCServer search_read", *second):
            url, body, *headers = targets[name]
            single[name] = wrk(url, body, args.seconds, 1, 1, *headers)
            print(f"1 connection {name:40s} {single[name]['rps']:10.0f} req/s  p50 {single[name]['p50_ms']:.2f} ms",
                  flush=True)
        # Responses still correct after the load.
        (after,), _ = xmlrpc.client.loads(harness.post(sr_url, bodies["search_read"][1].encode()).ok())
        assert after == records
        assert harness.post(json2_url, JSON2_SEARCH_READ_BODY.encode(), headers=json2_head).ok() == json2_response
        for b in second.values():
            b.check_unchanged()
        odoo = None if args.no_odoo else odoo_peer(args, work, postgres, sr_url, files["search_read"], records)

        best = {name: max(rs, key=lambda r: r["rps"]) for name, rs in results.items()}
        sr, ceil, py = best[SEARCH_READ], best["ceiling (static search_read)"], best[
            "python SimpleXMLRPCServer search_read"]
        ratios = {
            "search_read / ceiling": sr["rps"] / ceil["rps"],
            "search_read / python": sr["rps"] / py["rps"],
            "search_read p99 / p50": sr["p99_ms"] / sr["p50_ms"],
            "search_read / python, 1 connection each": single[SEARCH_READ]["rps"]
            / single["python SimpleXMLRPCServer search_read"]["rps"],
        }
        j2, j2_ceil = best[JSON2], best[JSON2_CEILING]
        ratios["JSON-2 search_read / JSON-2 ceiling"] = j2["rps"] / j2_ceil["rps"]
        ratios["JSON-2 search_read / XML-RPC search_read"] = j2["rps"] / sr["rps"]
        if JSON2_PG in best:
            ratios["JSON-2 search_read PostgreSQL / JSON-2 ceiling"] = best[JSON2_PG]["rps"] / j2_ceil["rps"]
        if JSON2_BASELINE in best:
            ratios["JSON-2 search_read / baseline build"] = j2["rps"] / best[JSON2_BASELINE]["rps"]
        if SEARCH_READ_PG in best:
            pg = best[SEARCH_READ_PG]
            ratios["search_read PostgreSQL / ceiling"] = pg["rps"] / ceil["rps"]
            ratios["search_read PostgreSQL / SQLite"] = pg["rps"] / sr["rps"]
            ratios["search_read PostgreSQL / SQLite, 1 connection each"] = (single[SEARCH_READ_PG]["rps"]
                                                                            / single[SEARCH_READ]["rps"])
        if SEARCH_READ_BASELINE in best:
            base = best[SEARCH_READ_BASELINE]
            ratios["search_read / baseline build"] = sr["rps"] / base["rps"]
            ratios["baseline build / ceiling"] = base["rps"] / ceil["rps"]
            ratios["search_read / baseline build, 1 connection each"] = (single[SEARCH_READ]["rps"]
                                                                         / single[SEARCH_READ_BASELINE]["rps"])
        if SEARCH_READ_BASELINE_PG in best:
            base_pg = best[SEARCH_READ_BASELINE_PG]
            ratios["baseline build PostgreSQL / ceiling"] = base_pg["rps"] / ceil["rps"]
            ratios["baseline build PostgreSQL / baseline build SQLite"] = (base_pg["rps"]
                                                                           / best[SEARCH_READ_BASELINE]["rps"])
            ratios["search_read PostgreSQL / baseline build PostgreSQL"] = best[SEARCH_READ_PG]["rps"] / base_pg["rps"]
        summary = {
            "machine": machine(),
            "command": " ".join(sys.argv),
            "connections": args.connections, "wrk_threads": args.threads, "seconds": args.seconds,
            "rounds": args.rounds, "response_bytes": len(response), "json2_response_bytes": len(json2_response),
            "postgres": SEARCH_READ_PG in second, "baseline_bridge": args.baseline_bridge,
            "second_bridge_response_bytes": {name: len(b.response) for name, b in second.items()},
            "best_round": best, "all_rounds": results,
            "ratios": ratios,
            "one_connection": single,
            "odoo_peer": odoo,
        }
        print()
        print(f"machine: {summary['machine']}")
        others = "".join(f", {name.split('(')[1].rstrip(')')} {len(b.response)}" for name, b in second.items())
        print(f"wrk -t{args.threads} -c{args.connections} -d{args.seconds}s, best of {args.rounds} rounds; "
              f"search_read response {len(response)} bytes{others}; JSON-2 response {len(json2_response)} bytes")
        if args.baseline_bridge:
            print(f"baseline build: {args.baseline_bridge}")
        print("| target | req/s | p50 ms | p90 ms | p99 ms |")
        print("|---|---:|---:|---:|---:|")
        for name, r in best.items():
            print(f"| {name} | {r['rps']:.0f} | {r['p50_ms']:.2f} | {r['p90_ms']:.2f} | {r['p99_ms']:.2f} |")
        for k, v in summary["ratios"].items():
            print(f"ratio {k}: {v:.2f}")
        if odoo:
            print_odoo_peer(odoo, args, len(response))
        if args.json:
            Path(args.json).write_text(json.dumps(summary, indent=2))
    finally:
        servers.close()
        for database in pg_databases:
            postgres.drop_database(database)
        if postgres:
            postgres.stop()
        shutil.rmtree(work, ignore_errors=True)


def transaction_records(n):
    """10,000 records shaped like search_read of account.online.transaction (all fields)."""
    out = []
    for i in range(1, n + 1):
        raw = {"id": str(8_000_000_000_000_000_000 + i), "account_id": "7000000000000000001", "duplicated": False,
               "mode": "normal", "status": "posted", "made_on": f"2025-{i % 12 + 1:02d}-{i % 28 + 1:02d}",
               "amount": round((i * 7919 % 200_000) / 100 - 1000, 2), "currency_code": "EUR",
               "description": f"CARD PAYMENT {i} SHOP NUMBER {i % 97}", "category": "shopping",
               "extra": {"payee": f"Shop {i % 97}", "account_number": f"XF{i:020d}", "information": "card"}}
        out.append({
            "id": i, "online_transaction_identifier": raw["id"], "date": raw["made_on"], "amount": raw["amount"],
            "currency_code": "EUR", "payment_ref": raw["description"], "partner_name": raw["extra"]["payee"],
            "account_number": False if i % 3 == 0 else raw["extra"]["account_number"], "status": "posted",
            "online_account_id": [3, "Checking account"], "raw_data": json.dumps(raw),
            "company_id": [1, "My Company"], "create_date": "2026-01-31 10:00:00", "display_name": raw["description"],
        })
    return out


def encode(args):
    work = Path(tempfile.mkdtemp(prefix="bankbridge-bench-encode-"))
    try:
        records = transaction_records(10_000)
        data = work / "records.json"
        data.write_text(json.dumps(records))
        times = []
        size = 0
        for _ in range(args.iterations):
            t = time.perf_counter()
            xml = xmlrpc.client.dumps((records,), methodresponse=True, allow_none=False)
            times.append(time.perf_counter() - t)
            size = len(xml.encode())
        times.sort()
        py_best, py_median = times[0], times[len(times) // 2]
        out = subprocess.run([args.aid, "encode", "--json", str(data), "--iterations", str(args.iterations)],
                             capture_output=True, text=True, check=True).stdout
        m = re.search(r"best_s=([\d.]+) median_s=([\d.]+) bytes=(\d+)", out)
        rs_best, rs_median, rs_bytes = float(m.group(1)), float(m.group(2)), int(m.group(3))
        print(f"machine: {machine()}")
        print(f"10,000 records, best/median of {args.iterations}")
        print(f"python xmlrpc.client.dumps: best {py_best * 1e3:.1f} ms, median {py_median * 1e3:.1f} ms, {size} bytes")
        print(f"rust xmlrpc::encode_response: best {rs_best * 1e3:.1f} ms, median {rs_median * 1e3:.1f} ms, {rs_bytes} bytes")
        print(f"ratio python/rust (best): {py_best / rs_best:.2f}; (median): {py_median / rs_median:.2f}")
        if args.json:
            Path(args.json).write_text(json.dumps({
                "machine": machine(), "python_best_s": py_best, "python_median_s": py_median, "python_bytes": size,
                "rust_best_s": rs_best, "rust_median_s": rs_median, "rust_bytes": rs_bytes,
                "ratio_best": py_best / rs_best, "ratio_median": py_median / rs_median}, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def linked_bank(servers, binary, database, rows):
    """What `bankbridge sync` imports: a bridge on `database`, its Salt Edge a standalone sandbox (it sends no
    callbacks, as for a bridge Salt Edge cannot reach; attempts are instant: this measures the import, not
    Salt Edge's fetch time; both run `binary`, the release build: the test harness's default debug build
    generated pages three times slower, and the sandbox, not the bridge, set the pace), one link to
    fakebank_simple_xf connected through the consent page and then waited for as a client does (the attempt after consent is asynchronous: the link is polled until it is
    connected), then two accounts opened at the bank holding `rows` transactions between them and the next
    refresh allowed now. The bridge is stopped before the measure, so that `sync` runs alone. Returns (link id,
    the environment to run `sync` in)."""
    sandbox = servers.sandbox(env={"BANKBRIDGE_SANDBOX_TRANSACTIONS": "10", "BANKBRIDGE_SANDBOX_PENDING": "0",
                                   "BANKBRIDGE_SANDBOX_ATTEMPT_DELAY_MS": "0"}, binary_path=binary)
    bridge = servers.bridge(database=database, users={"bench": "Bench Co"}, binary_path=binary,
                            env={**sandbox.bridge_env(), "BANKBRIDGE_SALTEDGE_INCLUDE_SANDBOXES": "true",
                                 "RUST_LOG": "warn"})
    api = harness.Api(bridge, "bench")
    harness.wait_for(lambda: api("account.online.institution", "search_count", [["code", "=", "fakebank_simple_xf"]]),
                     60, "the sandbox's institutions")
    link, *_ = harness.connect(api, "bench@example.com")
    harness.wait_connected(api, link, timeout=300)
    connection = api.link(link, "connection_identifier")["connection_identifier"]
    for part in range(2):
        transactions = rows // 2 + (rows % 2 if part == 0 else 0)
        sandbox.admin(f"connections/{connection}/accounts",
                      {"name": f"Benchmark {part + 1}", "transactions": transactions, "pending": 0})
    sandbox.admin(f"connections/{connection}/next_refresh", {"in_secs": 0})
    bridge.stop()
    return link, bridge.env


def timed(cmd, env):
    """Runs cmd under GNU time; returns (stdout, peak RSS in KiB)."""
    out = subprocess.run(["/usr/bin/time", "-v", *cmd], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stdout}\n{out.stderr[-3000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr).group(1))
    return out.stdout, rss


def new_database(backend, work, postgres, tag):
    if backend == "sqlite":
        return str(work / f"{tag}.db")
    return postgres.create_database(f"bb_bench_{tag}")


def drop_database(backend, postgres, database):
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(database + suffix).unlink(missing_ok=True)
    else:
        postgres.drop_database(database)


def sync(args):
    if not Path("/usr/bin/time").exists():
        sys.exit("GNU time not found at /usr/bin/time (Debian: apt-get install time)")
    work = Path(tempfile.mkdtemp(prefix="bankbridge-bench-sync-"))
    results = []
    postgres = None
    try:
        backends = ["sqlite"]
        if not args.no_postgres:
            # A throwaway cluster, or databases created on BANKBRIDGE_BENCH_POSTGRES_URL.
            postgres = harness.Postgres(os.environ.get("BANKBRIDGE_BENCH_POSTGRES_URL"))
            backends.append("postgres")
        for backend in backends:
            for rows in args.rows:
                tag = f"{backend}_{rows}"
                db = new_database(backend, work, postgres, tag)
                with harness.Servers(work) as servers:
                    link, env = linked_bank(servers, args.bridge, db, rows)
                    out, rss = timed([args.bridge, "sync", "--link", str(link)], env)
                m = re.search(r"([\d,]+) new transactions.* in ([\d.]+) s \(([\d,]+) rows/s\)", out)
                if not m:
                    raise RuntimeError(f"unexpected output of bankbridge sync: {out!r}")
                added, secs = int(m.group(1).replace(",", "")), float(m.group(2))
                rps = float(m.group(3).replace(",", ""))
                # The bank's refresh also brings a few new rows to the link's first two accounts.
                if added < rows:
                    raise RuntimeError(f"bankbridge sync imported {added} rows, expected at least {rows}: {out!r}")
                drop_database(backend, postgres, db)
                cdb = new_database(backend, work, postgres, tag + "_ceiling")
                cout, crss = timed([args.aid, "store-ceiling", "--database", cdb, "--rows", str(rows)],
                                   dict(os.environ, RUST_LOG="warn"))
                drop_database(backend, postgres, cdb)
                cm = re.search(r"rows=(\d+) storage_s=([\d.]+) rows_per_s=(\d+)", cout)
                r = {"backend": backend, "rows": rows, "added": added, "sync_s": secs, "sync_rows_per_s": rps,
                     "sync_peak_rss_mib": rss / 1024, "ceiling_rows_per_s": float(cm.group(3)),
                     "ceiling_peak_rss_mib": crss / 1024}
                r["ratio"] = r["sync_rows_per_s"] / r["ceiling_rows_per_s"]
                results.append(r)
                print(f"{backend:8s} {rows:>8d} rows: sync {added} rows, {rps:8.0f} rows/s ({secs:.1f} s, peak RSS "
                      f"{r['sync_peak_rss_mib']:.1f} MiB) | ceiling {r['ceiling_rows_per_s']:8.0f} rows/s | "
                      f"ratio {r['ratio']:.2f}", flush=True)
        print()
        print(f"machine: {machine()}")
        print("| backend | rows | sync rows/s | peak RSS MiB | storage ceiling rows/s | sync / ceiling |")
        print("|---|---:|---:|---:|---:|---:|")
        for r in results:
            print(f"| {r['backend']} | {r['rows']:,} | {r['sync_rows_per_s']:.0f} | {r['sync_peak_rss_mib']:.1f} | "
                  f"{r['ceiling_rows_per_s']:.0f} | {r['ratio']:.2f} |")
        if args.json:
            Path(args.json).write_text(json.dumps({"machine": machine(), "results": results}, indent=2))
    finally:
        if postgres:
            postgres.stop()
        shutil.rmtree(work, ignore_errors=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bridge", required=True, help="the release bankbridge binary")
    p.add_argument("--aid", required=True, help="the bench_aid benchmark binary")
    p.add_argument("--json", help="also write the figures to this JSON file")
    sub = p.add_subparsers(dest="what", required=True)
    lp = sub.add_parser("load")
    lp.add_argument("--seconds", type=int, default=10)
    lp.add_argument("--connections", type=int, default=64)
    lp.add_argument("--threads", type=int, default=2)
    lp.add_argument("--rounds", type=int, default=2)
    lp.add_argument("--no-odoo", action="store_true", help="skip the real Odoo 17 peer (tests/odoo/env.sh)")
    lp.add_argument("--only-odoo", action="store_true",
                    help="measure only the bridge vs Odoo 17 comparison (skip the ceiling, Python, PostgreSQL "
                         "and baseline rounds)")
    lp.add_argument("--no-postgres", action="store_true",
                    help="skip the second bridge on PostgreSQL (otherwise a throwaway cluster through "
                         "tests/postgres.sh, or a database created on BANKBRIDGE_BENCH_POSTGRES_URL)")
    lp.add_argument("--baseline-bridge", metavar="PATH",
                    help="a bankbridge binary built from an older commit: also load it, seeded alike on its own "
                         "SQLite file, for same-run ratios against it")
    ep = sub.add_parser("encode")
    ep.add_argument("--iterations", type=int, default=15)
    sp = sub.add_parser("sync")
    sp.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    sp.add_argument("--no-postgres", action="store_true")
    args = p.parse_args()
    if args.what == "load" and args.baseline_bridge:
        if args.only_odoo:
            p.error("--baseline-bridge is not measured with --only-odoo")
        if not os.access(args.baseline_bridge, os.X_OK):
            p.error(f"--baseline-bridge {args.baseline_bridge}: not an executable file")
    {"load": load, "encode": encode, "sync": sync}[args.what](args)


if __name__ == "__main__":
    main()
