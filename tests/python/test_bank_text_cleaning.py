"""Text from the bank goes through the same cleaning point as text from clients (issue 10, item 7): an
account name with NUL, a C0 control and U+FFFF must neither break Fetch Accounts (PostgreSQL refuses NUL
in text) nor make every later XML-RPC answer unreadable for Python clients (expat refuses the answer)."""

import pytest

from harness import Api, connect, sandbox_admin, settled


@pytest.fixture(scope="module")
def flow(backend_servers):
    return backend_servers.bridge(users={"alice": "Acme"}, env={"BANKBRIDGE_SANDBOX_TRANSACTIONS": "3", "BANKBRIDGE_SYNC_INTERVAL": "0"})


def test_hostile_account_name_from_the_bank_is_stored_clean(flow):
    api = Api(flow, "alice")
    link, connect_url, _, _ = connect(api, "alice@acme.example")
    record = settled(api, link)
    assert record["state"] == "connected", record
    connection = api.link(link, "connection_identifier")["connection_identifier"]
    sandbox_admin(connect_url, f"connections/{connection}/accounts", {"name": "Sav\x00ings\x01 \uffffplus", "currency_code": "EUR", "transactions": 2})

    added = api("account.online.link", "action_fetch_accounts", [link])
    settled(api, link)
    # The whole read goes through xmlrpc.client: one unclean character anywhere makes it raise ExpatError.
    accounts = api("account.online.account", "search_read", [["account_online_link_id", "=", link]], fields=["name"])
    names = sorted(a["name"] for a in accounts)
    assert "Savings plus" in names, (added, names)
    assert api.link(link, "state")["state"] == "connected"
