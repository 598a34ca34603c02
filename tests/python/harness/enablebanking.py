"""Enable Banking's flow driven the way a person drives it: click a button over XML-RPC, open the bank's page
the bridge answers with (the built-in Enable Banking sandbox's), log in and approve (or cancel), and let the
browser follow the redirect back to the bridge. The sandbox's test hooks: harness.sandbox_admin."""

import json
import urllib.parse
import urllib.request

from .flows import get, sandbox_root

MOCK_BANK = "enablebanking:FI:Mock Bank"
UNAVAILABLE_BANK = "enablebanking:FI:Mock Unavailable Bank"


def at_bank(bank_url, username="user", password="secret", action="approve", follow=True):
    """Opens the bank's page, fills in and submits the form; returns (status, final URL or Location,
    body). With `follow`, the browser goes on to the bridge's return URL."""
    status, _, page = get(bank_url)
    if status != 200:
        return status, "", page
    assert 'name="username"' in page, page
    form = urllib.parse.urlencode({"username": username, "password": password, "action": action}).encode()
    return get(urllib.request.Request(bank_url, data=form), follow)


def start(api, institution=MOCK_BANK, email="accounting@acme.test", link_ids=(), return_to=None):
    """Add a Bank Account: returns (link id, bank page URL)."""
    kwargs = {"institution_code": institution, "email": email}
    if return_to:
        kwargs["return_to"] = return_to
    action = api("account.online.link", "action_new_synchronization", list(link_ids), **kwargs)
    assert action["type"] == "ir.actions.act_url" and action["target"] == "self", action
    return action["res_id"], action["url"]


def link_bank(api, institution=MOCK_BANK, username="acme", email="accounting@acme.test"):
    """Links a bank end to end (approve at the bank, back to the bridge); returns (link id, bank page URL,
    final URL, body)."""
    link, bank_url = start(api, institution, email)
    status, final_url, body = at_bank(bank_url, username=username)
    assert status == 200, body
    return link, bank_url, final_url, body


def sandbox_state(bank_url):
    with urllib.request.urlopen(f"{sandbox_root(bank_url)}/sandbox/admin/state", timeout=15) as response:
        return json.loads(response.read())


def query_param(url, key):
    values = urllib.parse.parse_qs(urllib.parse.urlparse(url).query).get(key)
    return values[0] if values else None
