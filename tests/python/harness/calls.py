"""Calling a running server as its clients do: raw HTTP posts (status, headers and body kept, whatever the
status), JSON-2 style JSON requests, JSON-RPC, XML-RPC `execute_kw` for one user, and reading the fault a call or a response carries."""

import json
import urllib.error
import urllib.request
import xmlrpc.client
from typing import NamedTuple


class Reply(NamedTuple):
    """An HTTP answer of any status."""

    status: int
    headers: object  # http.client.HTTPMessage: .get(name), `name in headers`
    data: bytes

    def json(self):
        return json.loads(self.data)

    def ok(self):
        """The body of a 200 answer; an AssertionError naming the status and the body's start otherwise."""
        assert self.status == 200, (self.status, self.data[:300])
        return self.data


def request(url, data=None, method=None, headers=None, timeout=60, opener=None):
    """One HTTP request (GET without `data`, POST with it, unless `method` says otherwise); returns the Reply,
    a 4xx or 5xx included (never raised)."""
    sent = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with (opener or urllib.request.build_opener()).open(sent, timeout=timeout) as r:
            return Reply(r.status, r.headers, r.read())
    except urllib.error.HTTPError as e:
        return Reply(e.code, e.headers, e.read())


def post(url, body, content_type="text/xml", headers=None, timeout=60, opener=None):
    """POSTs `body` (bytes) to `url`; returns the Reply, a 4xx or 5xx included (never raised)."""
    return request(url, body, "POST", {"Content-Type": content_type, **(headers or {})}, timeout, opener)


def json_request(url, body=None, key=None, scheme="bearer", raw=None, headers=None, method="POST", timeout=60):
    """A JSON request as JSON-2 clients send it: `body` encoded (or the bytes `raw` as they are), `key` as the
    `Authorization: SCHEME KEY` token; a header given as None is left out. Returns the Reply, any status."""
    sent = {"Content-Type": "application/json"}
    if key:
        sent["Authorization"] = f"{scheme} {key}"
    sent.update(headers or {})
    sent = {name: value for name, value in sent.items() if value is not None}
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    return request(url, data, method, sent, timeout)


def jsonrpc_body(params, request_id=1):
    """The body of a JSON-RPC 2.0 `call`, as Odoo's clients send it."""
    return json.dumps({"jsonrpc": "2.0", "method": "call", "id": request_id, "params": params}).encode()


def jsonrpc(url, params, headers=None, request_id=1, timeout=30, opener=None):
    """A JSON-RPC call to `url` (`/jsonrpc`, `/web/session/...`, `/web/dataset/call_kw`); returns the decoded
    answer (`result` or `error`). The HTTP status must be 200: Odoo answers errors inside a 200."""
    return json.loads(post(url, jsonrpc_body(params, request_id), "application/json", headers, timeout, opener).ok())


class Api:
    """`execute_kw` for one user of a running server (a bridge, or anything with `url`, `db` and `keys`),
    through Python's xmlrpc.client as Odoo's External API documentation does:
    `api(model, method, *args, **kwargs)`. `key` overrides the user's key; `uid` skips the log-in."""

    def __init__(self, server, login, key=None, allow_none=False, uid=None):
        self.server, self.url, self.db, self.login = server, server.url, server.db, login
        self.key = server.keys[login] if key is None else key
        self.allow_none = allow_none
        self.common = xmlrpc.client.ServerProxy(f"{self.url}/xmlrpc/2/common", allow_none=allow_none)
        self.uid = uid if uid is not None else self.common.authenticate(self.db, login, self.key, {})
        self.models = xmlrpc.client.ServerProxy(f"{self.url}/xmlrpc/2/object", allow_none=allow_none)

    def __call__(self, model, method, *args, **kwargs):
        return self.models.execute_kw(self.db, self.uid, self.key, model, method, list(args), kwargs)

    def link(self, link_id, *fields):
        """One account.online.link record (default fields: state, error_message)."""
        return self("account.online.link", "read", [link_id], list(fields) or ["state", "error_message"])[0]


def fault_of(call):
    """The xmlrpc.client.Fault that `call()` raises (an AssertionError if it returns)."""
    try:
        result = call()
    except xmlrpc.client.Fault as fault:
        return fault
    raise AssertionError(f"expected a fault, got {result!r}")


def response_fault(data):
    """The fault an XML-RPC response body carries (an AssertionError if it carries a result)."""
    try:
        xmlrpc.client.loads(data)
    except xmlrpc.client.Fault as fault:
        return fault
    raise AssertionError(f"expected a fault, got {data[:200]!r}")
