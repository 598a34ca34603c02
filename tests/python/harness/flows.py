"""The online-synchronization flow driven the way Odoo's buttons and a person's browser drive it: press a
button over XML-RPC, open the Salt Edge (sandbox) connect page it returns, submit it, follow the redirect, wait
for the attempt; plus the sandbox's test hooks, its transaction list, and signed Salt Edge callbacks."""

import base64
import datetime
import json
import re
import subprocess
import urllib.error
import urllib.parse
import urllib.request

from .calls import post
from .processes import REPO, wait_for

SANDBOX_PRIVATE_KEY = REPO / "src" / "sandbox" / "keys" / "sandbox_private.pem"


def sandbox_root(url):
    """The base URL of the sandbox serving `url` (a connect page URL, or the sandbox's own URL)."""
    parsed = urllib.parse.urlparse(url)
    return f"{parsed.scheme}://{parsed.netloc}"


def sandbox_admin(url, path, body=None):
    """A sandbox test hook (no Salt Edge surface): POST /sandbox/admin/PATH on the sandbox serving `url`."""
    request = urllib.request.Request(
        f"{sandbox_root(url)}/sandbox/admin/{path}",
        data=json.dumps(body or {}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=15) as response:
        return json.loads(response.read() or b"{}")


def _connect_form(connect_url, login, password, consent=True, sms_code=None):
    """Opens the connect page and fills it in as a person would; returns the encoded form."""
    page = urllib.request.urlopen(connect_url, timeout=15).read().decode()
    form = {"login": login, "password": password}
    provider = re.search(r'name="provider_code" value="([^"]+)"', page)
    if provider:
        form["provider_code"] = provider.group(1)
    if consent:
        form["consent"] = "yes"
    if sms_code is not None:
        form["sms_code"] = sms_code
    return urllib.parse.urlencode(form).encode()


def submit_connect(connect_url, login="username", password="secret", consent=True, sms_code=None):
    """Opens the connect page, fills it in and submits it; returns (status, final URL, body)."""
    request = urllib.request.Request(connect_url, data=_connect_form(connect_url, login, password, consent, sms_code))
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.geturl(), response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.geturl(), e.read().decode()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def submit_connect_location(connect_url, login="username", password="secret"):
    """Submits the connect page without following the redirect; returns the `Location` Salt Edge sends
    the browser to (the bridge's return URL with its `state`)."""
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(connect_url, data=_connect_form(connect_url, login, password))
    try:
        with opener.open(request, timeout=30) as response:
            raise AssertionError(f"expected a redirect, got {response.status}")
    except urllib.error.HTTPError as e:
        assert e.code in (302, 303), e.code
        return e.headers["Location"]


def get(url, follow=True):
    """GET `url` (or send a urllib Request: a form's POST) as a browser without cookies would; returns (status,
    final URL, or the Location when `follow` is False, body)."""
    opener = urllib.request.build_opener() if follow else urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(url, timeout=30) as r:
            return r.status, r.geturl(), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Location", ""), e.read().decode()


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


def settled(api, link_id, timeout=60, fields=("state", "error_message", "sync_progress")):
    """Waits until the link's synchronization is no longer running; returns the record."""

    def read():
        record = api.link(link_id, *fields)
        return record if record["state"] != "fetching" else None

    return wait_for(read, timeout, f"link {link_id} to finish its synchronization")


def wait_connected(api, link_id, timeout=120):
    """Polls the link, as a client does after the consent page, until it is `connected`; fails at once if
    the attempt ends in another state, and after `timeout` s naming the state it was left in."""
    last = {}

    def read():
        last.update(api.link(link_id, "state", "error_message", "sync_progress"))
        if last["state"] not in ("connected", "fetching", "disconnected"):
            raise AssertionError(f"link {link_id} ended {last['state']}: {last['error_message']}")
        return dict(last) if last["state"] == "connected" else None

    try:
        return wait_for(read, timeout, f"link {link_id} to be connected")
    except AssertionError as e:
        raise AssertionError(f"{e}; last read: {last}") from None


def counts(api, link_id):
    """(account ids, posted rows, pending rows) of a link."""
    accounts = api("account.online.account", "search", [["account_online_link_id", "=", link_id]])
    posted = api("account.online.transaction", "search_count", [["online_account_id", "in", accounts], ["status", "=", "posted"]])
    pending = api("account.online.transaction", "search_count", [["online_account_id", "in", accounts], ["status", "=", "pending"]])
    return accounts, posted, pending


def sign(message, key_path=SANDBOX_PRIVATE_KEY):
    """RSA-SHA256 signature (base64) of `message` (bytes), by default with the sandbox's private key (it is
    committed: sandbox use only)."""
    out = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(key_path)], input=message, capture_output=True,
                         check=True)
    return base64.b64encode(out.stdout).decode()


def sign_callback(url, body):
    """Signs a callback to `url` as the built-in sandbox does (Salt Edge signs `URL|BODY`)."""
    return sign(f"{url}|".encode() + body)


def post_callback(bridge, kind, body, signature=None):
    """POSTs a Salt Edge callback (`body`: raw bytes or a dict) to the bridge; returns the HTTP status."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {} if signature is None else {"Signature": signature}
    return post(f"{bridge.url}/saltedge/callbacks/{kind}", data, "application/json", headers, timeout=10).status


def human_time_in(message):
    """The moment a message names in plain words (` on 5 Mar 2026 at 14:00 UTC`), or None."""
    return re.search(r" on \d{1,2} [A-Z][a-z]{2} \d{4} at \d\d:\d\d UTC", message)


def now_iso(offset_secs=0):
    at = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=offset_secs)
    return at.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def sandbox_transaction_ids(url, connection, account, pending=False):
    """The ids of the posted (or pending) transactions the sandbox serving `url` holds for one account, read
    through its Salt Edge API page by page, in its order (a list: duplicates stay visible). Every row must be
    of the status asked for and not flagged `duplicated`, as Salt Edge's default list is."""
    ids, from_id = [], None
    status = "pending" if pending else "posted"
    while True:
        query = {"connection_id": connection, "account_id": account, "per_page": "1000"}
        if pending:
            query["pending"] = "true"
        if from_id:
            query["from_id"] = from_id
        request = urllib.request.Request(
            f"{sandbox_root(url)}/api/v6/transactions?{urllib.parse.urlencode(query)}",
            headers={"App-id": "sandbox-app-id", "Secret": "sandbox-secret", "Accept": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            page = json.loads(response.read())
        for row in page["data"]:
            assert row["status"] == status and not row.get("duplicated"), row
            ids.append(row["id"])
        from_id = page.get("meta", {}).get("next_id")
        if not from_id:
            return ids


def bridge_transaction_ids(api, account_id, status):
    """The identifiers of an account's stored rows of one status (none twice)."""
    rows = api("account.online.transaction", "search_read", [["online_account_id", "=", account_id], ["status", "=", status]], fields=["online_transaction_identifier"])
    identifiers = [r["online_transaction_identifier"] for r in rows]
    assert len(identifiers) == len(set(identifiers)), "duplicated rows"
    return set(identifiers)


def assert_same_as_salt_edge(api, link_id, connect_url):
    """The bridge holds exactly Salt Edge's posted and pending rows of every account of the link."""
    connection = api.link(link_id, "connection_identifier")["connection_identifier"]
    for account in api("account.online.account", "search_read", [["account_online_link_id", "=", link_id]], fields=["online_identifier"]):
        for status, pending in (("posted", False), ("pending", True)):
            expected = sandbox_transaction_ids(connect_url, connection, account["online_identifier"], pending=pending)
            assert bridge_transaction_ids(api, account["id"], status) == set(expected)
