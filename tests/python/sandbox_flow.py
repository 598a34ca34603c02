"""Helpers to drive the bridge's offline flow the way a person would: call a button over XML-RPC, open
the returned Salt Edge (sandbox) connect page over HTTP, submit it, follow the redirect."""

import json
import re
import urllib.error
import urllib.parse
import urllib.request
import xmlrpc.client
from urllib.parse import urlparse


class Api:
    """`execute_kw` for one user of a running bridge."""

    def __init__(self, bridge, login):
        self.bridge = bridge
        self.key = bridge.keys[login]
        self.uid = xmlrpc.client.ServerProxy(f"{bridge.url}/xmlrpc/2/common").authenticate(bridge.db, login, self.key, {})
        self.models = xmlrpc.client.ServerProxy(f"{bridge.url}/xmlrpc/2/object")

    def __call__(self, model, method, *args, **kwargs):
        return self.models.execute_kw(self.bridge.db, self.uid, self.key, model, method, list(args), kwargs)

    def link(self, link_id, *fields):
        return self("account.online.link", "read", [link_id], list(fields) or ["state", "error_message"])[0]


def sandbox_root(connect_url):
    parsed = urlparse(connect_url)
    return f"{parsed.scheme}://{parsed.netloc}"


def submit_connect(connect_url, login="username", password="secret", consent=True, sms_code=None):
    """Opens the connect page, fills it in and submits it; returns (status, final URL, body)."""
    page = urllib.request.urlopen(connect_url, timeout=15).read().decode()
    form = {"login": login, "password": password}
    provider = re.search(r'name="provider_code" value="([^"]+)"', page)
    if provider:
        form["provider_code"] = provider.group(1)
    if consent:
        form["consent"] = "yes"
    if sms_code is not None:
        form["sms_code"] = sms_code
    request = urllib.request.Request(connect_url, data=urllib.parse.urlencode(form).encode())
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.geturl(), response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.geturl(), e.read().decode()


def admin(connect_url, path, body=None):
    """A sandbox test hook (not Salt Edge surface)."""
    request = urllib.request.Request(
        f"{sandbox_root(connect_url)}/sandbox/admin/{path}",
        data=json.dumps(body or {}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=15) as response:
        return json.loads(response.read() or b"{}")


def connect(api, email, institution="fakebank_simple_xf", login=None):
    """Links a fake bank end to end; returns (link id, connect URL, final URL, body). The bank login
    defaults to the e-mail's local part: one company is one Salt Edge customer, and the same login at
    the same bank twice is a duplicate connection, as at Salt Edge."""
    login = login or email.split("@")[0]
    action = api("account.online.link", "action_new_synchronization", [], institution_code=institution, email=email)
    assert action["type"] == "ir.actions.act_url" and action["target"] == "self"
    status, final_url, body = submit_connect(action["url"], login=login)
    assert status == 200, body
    return action["res_id"], action["url"], final_url, body


def post_callback(bridge, kind, body, signature=None):
    """POSTs a Salt Edge callback (`body`: raw bytes or a dict) to the bridge; returns the HTTP status."""
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Signature"] = signature
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(f"{bridge.url}/saltedge/callbacks/{kind}", data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def settled(api, link_id, timeout=60, fields=("state", "error_message", "sync_progress")):
    """Waits until the link's synchronization is no longer running; returns the record."""
    import harness

    def read():
        record = api.link(link_id, *fields)
        return record if record["state"] != "fetching" else None

    return harness.wait_for(read, timeout, f"link {link_id} to finish its synchronization")


def counts(api, link_id):
    """(account ids, posted rows, pending rows) of a link."""
    accounts = api("account.online.account", "search", [["account_online_link_id", "=", link_id]])
    posted = api("account.online.transaction", "search_count", [["online_account_id", "in", accounts], ["status", "=", "posted"]])
    pending = api("account.online.transaction", "search_count", [["online_account_id", "in", accounts], ["status", "=", "pending"]])
    return accounts, posted, pending


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def submit_connect_location(connect_url, login="username", password="secret"):
    """Submits the connect page without following the redirect; returns the `Location` Salt Edge sends
    the browser to (the bridge's return URL with its `state`)."""
    page = urllib.request.urlopen(connect_url, timeout=15).read().decode()
    form = {"login": login, "password": password, "consent": "yes"}
    provider = re.search(r'name="provider_code" value="([^"]+)"', page)
    if provider:
        form["provider_code"] = provider.group(1)
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(connect_url, data=urllib.parse.urlencode(form).encode())
    try:
        with opener.open(request, timeout=30) as response:
            raise AssertionError(f"expected a redirect, got {response.status}")
    except urllib.error.HTTPError as e:
        assert e.code in (302, 303), e.code
        return e.headers["Location"]


def get(url, follow=True):
    """GET without cookies; returns (status, final URL or Location, body)."""
    opener = urllib.request.build_opener() if follow else urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(url, timeout=15) as r:
            return r.status, r.geturl(), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Location", ""), e.read().decode()


def sign_callback(url, body):
    """Signs a callback as the built-in sandbox does (its private key is committed: sandbox use only)."""
    import base64
    import subprocess

    import harness

    key = harness.REPO / "src" / "sandbox" / "keys" / "sandbox_private.pem"
    out = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(key)], input=f"{url}|".encode() + body, capture_output=True, check=True)
    return base64.b64encode(out.stdout).decode()


def now_iso(offset_secs=0):
    import datetime

    at = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=offset_secs)
    return at.strftime("%Y-%m-%dT%H:%M:%S.000Z")


class StandaloneSandbox:
    """`bankbridge sandbox` on a free port: a Salt Edge stand-in that sends no callbacks."""

    def __init__(self, workdir, env=None):
        import os
        import subprocess
        import time

        import harness

        self.port = harness.free_port()
        self.log = open(workdir / f"sandbox-{self.port}.log", "w")
        self.proc = subprocess.Popen([harness.binary(), "sandbox", "--port", str(self.port)], env=dict(os.environ, **(env or {})), stdout=self.log, stderr=self.log, cwd=workdir)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                admin(self.url + "/", "faults", {"mode": "none"})
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("sandbox did not start")

    def bridge_env(self, api_path="api/v6/"):
        return {
            "BANKBRIDGE_SALTEDGE_URL": f"{self.url}/{api_path}",
            "BANKBRIDGE_SALTEDGE_APP_ID": "sandbox-app-id",
            "BANKBRIDGE_SALTEDGE_SECRET": "sandbox-secret",
            "BANKBRIDGE_SYNC_INTERVAL": "0",
        }

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=15)
        self.log.close()


def sandbox_transaction_ids(connect_url, connection, account, pending=False):
    """The transaction ids the built-in sandbox (Salt Edge) holds for one account, read through its API."""
    ids, from_id = set(), None
    while True:
        query = {"connection_id": connection, "account_id": account, "per_page": "1000"}
        if pending:
            query["pending"] = "true"
        if from_id:
            query["from_id"] = from_id
        request = urllib.request.Request(
            f"{sandbox_root(connect_url)}/api/v6/transactions?{urllib.parse.urlencode(query)}",
            headers={"App-id": "sandbox-app-id", "Secret": "sandbox-secret", "Accept": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=15) as response:
            page = json.loads(response.read())
        ids |= {t["id"] for t in page["data"] if t["status"] == ("pending" if pending else "posted") and not t.get("duplicated")}
        from_id = page.get("meta", {}).get("next_id")
        if not from_id:
            return ids


def bridge_transaction_ids(api, account_id, status):
    rows = api("account.online.transaction", "search_read", [["online_account_id", "=", account_id], ["status", "=", status]], fields=["online_transaction_identifier"])
    identifiers = [r["online_transaction_identifier"] for r in rows]
    assert len(identifiers) == len(set(identifiers)), "duplicated rows"
    return set(identifiers)


def assert_same_as_salt_edge(api, link_id, connect_url):
    """The bridge holds exactly Salt Edge's posted and pending rows of every account of the link."""
    connection = api.link(link_id, "connection_identifier")["connection_identifier"]
    for account in api("account.online.account", "search_read", [["account_online_link_id", "=", link_id]], fields=["online_identifier"]):
        assert bridge_transaction_ids(api, account["id"], "posted") == sandbox_transaction_ids(connect_url, connection, account["online_identifier"])
        assert bridge_transaction_ids(api, account["id"], "pending") == sandbox_transaction_ids(connect_url, connection, account["online_identifier"], pending=True)
