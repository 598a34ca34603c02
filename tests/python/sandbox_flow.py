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


def connect(api, email, institution="fakebank_simple_xf", login="username"):
    """Links a fake bank end to end; returns (link id, connect URL)."""
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
