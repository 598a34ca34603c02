#!/usr/bin/env python3
"""Baseline peer for `scripts/bench.sh load`: Python's stdlib SimpleXMLRPCServer (the stack Odoo's own
XML-RPC sits on: xmlrpc.client marshalling) serving `execute_kw(..., 'account.online.account',
'search_read', ...)` from the same SQLite file as the bridge, in the same wire format (many2one as
[id, name], empty values as False). One thread per connection (ThreadingMixIn) and HTTP/1.1
keep-alive, so that it faces the same keep-alive load generator as the bridge.

Usage: bench_python_baseline.py DATABASE_FILE API_KEY   (prints "listening on http://ADDR")
"""

import socketserver
import sqlite3
import sys
import threading
from xmlrpc.server import SimpleXMLRPCRequestHandler, SimpleXMLRPCServer

DB_PATH, KEY = sys.argv[1], sys.argv[2]
FIELDS = [
    ("name", "char"), ("account_number", "char"), ("balance", "float"), ("currency_code", "char"),
    ("online_identifier", "char"), ("account_online_link_id", "many2one:online_links"),
    ("journal_id", "integer"), ("last_sync", "char"), ("fetching_status", "char"),
    ("inverse_transaction_sign", "boolean"), ("company_id", "many2one:companies"),
    ("create_date", "char"), ("write_date", "char"),
]
local = threading.local()


def conn():
    if not hasattr(local, "conn"):
        local.conn = sqlite3.connect(f"file:{DB_PATH}?mode=ro", uri=True)
    return local.conn


def search_read(domain, limit):
    c = conn()
    rows = c.execute(
        f"SELECT id, {', '.join(f for f, _ in FIELDS)} FROM online_accounts ORDER BY id LIMIT ?", (limit or -1,)
    ).fetchall()
    names = {}
    for table in ("online_links", "companies"):
        names[table] = dict(c.execute(f"SELECT id, name FROM {table}").fetchall())
    out = []
    for row in rows:
        rec = {"id": row[0]}
        for (field, kind), value in zip(FIELDS, row[1:]):
            if kind.startswith("many2one:"):
                rec[field] = [value, names[kind.split(":")[1]].get(value) or False] if value else False
            elif kind == "boolean":
                rec[field] = bool(value)
            elif kind == "integer":
                rec[field] = value or 0
            elif kind == "float":
                rec[field] = float(value or 0.0)
            else:
                rec[field] = value if value is not None else False
        rec["display_name"] = rec["name"] or f"account.online.account,{row[0]}"
        out.append(rec)
    return out


def execute_kw(db, uid, password, model, method, args, kwargs=None):
    if password != KEY:
        raise PermissionError("Access Denied")
    if model != "account.online.account" or method != "search_read":
        raise ValueError(f"baseline serves only account.online.account.search_read, not {model}.{method}")
    kwargs = kwargs or {}
    return search_read(args[0] if args else [], kwargs.get("limit", 0))


class Handler(SimpleXMLRPCRequestHandler):
    rpc_paths = ("/xmlrpc/2/object",)
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, SimpleXMLRPCServer):
    daemon_threads = True
    request_queue_size = 256


server = Server(("127.0.0.1", 0), requestHandler=Handler, logRequests=False, allow_none=False)
server.register_function(execute_kw)
print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
server.serve_forever()
