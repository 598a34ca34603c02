"""Enable Banking end to end, offline: the real bridge with its built-in Enable Banking sandbox (beside the
Salt Edge one), driven over XML-RPC and plain HTTP as Odoo's buttons and a person's browser would — link a
fake bank, see its accounts and transactions with pending ones apart, fetch again without duplicates,
meet the bank's daily read limit, revoke, remove; and another company that can neither see nor attach."""

import re
import xmlrpc.client

import pytest

import harness
from harness import Api, browser, counts, get, human_time_in, sandbox_admin, settled
from harness.enablebanking import MOCK_BANK, at_bank, link_bank, query_param, sandbox_state, start

# The sandbox generates 300 booked rows per account, three a day; the bridge's first read asks for the
# last 89 days (90 days of rows), 50 rows a page.
ROWS_READ_FIRST = 90 * 3
PENDING_PER_ACCOUNT = 2


@pytest.fixture(scope="module")
def bridge(backend_servers):
    return backend_servers.bridge(users={"alice": "Acme", "bob": "Globex"}, env={"BANKBRIDGE_SYNC_INTERVAL": "0"})


def test_both_aggregators_banks_are_institutions_with_their_provider(bridge):
    api = Api(bridge, "alice")
    for model in ("account.online.institution", "account.online.link"):
        field = api(model, "fields_get", ["provider"], attributes=["type", "selection", "readonly", "required"])["provider"]
        assert field["type"] == "selection" and field["readonly"] and field["required"], field
        assert field["selection"] == [["saltedge", "Salt Edge"], ["enablebanking", "Enable Banking"]]
    eb = api(
        "account.online.institution",
        "search_read",
        [["provider", "=", "enablebanking"]],
        fields=["code", "name", "country_code", "provider", "max_consent_days", "mode"],
    )
    assert {"Mock Bank", "Mock Business Bank", "Mock Unavailable Bank"} <= {i["name"] for i in eb}
    assert all(i["code"].startswith("enablebanking:") and i["provider"] == "enablebanking" for i in eb)
    mock = next(i for i in eb if i["code"] == MOCK_BANK)
    assert (mock["country_code"], mock["max_consent_days"], mock["mode"]) == ("FI", 180, "oauth")
    salt_edge = api("account.online.institution", "search_read", [["provider", "=", "saltedge"]], fields=["code"])
    assert any(i["code"] == "fakebank_simple_xf" for i in salt_edge)
    codes = [i["code"] for i in api("account.online.institution", "search_read", [], fields=["code"])]
    assert len(codes) == len(set(codes)) == len(eb) + len(salt_edge)
    # Searchable and groupable like any selection; not writable by clients.
    assert api("account.online.institution", "search_count", [["provider", "in", ["enablebanking"]]]) == len(eb)
    with pytest.raises(xmlrpc.client.Fault):
        api("account.online.institution", "write", [mock["id"]], {"provider": "saltedge"})


def test_link_read_again_without_duplicates_then_revoke_and_remove(bridge):
    api = Api(bridge, "alice")
    link, bank_url, final_url, body = link_bank(api, username="acme")
    assert "/enablebanking/return" in final_url and "Bank account connected" in body, body
    assert '<p id="company">Acme</p>' in body
    # Nothing but the code and the one-time state came back in the URL.
    assert query_param(final_url, "code") and query_param(final_url, "state")
    record = settled(api, link, fields=("state", "error_message", "provider", "provider_code", "connection_identifier", "expiring_synchronization_date", "last_refresh", "next_refresh"))
    assert record["state"] == "connected" and record["error_message"] is False, record
    assert (record["provider"], record["provider_code"]) == ("enablebanking", MOCK_BANK)
    assert record["connection_identifier"] and record["expiring_synchronization_date"] and record["last_refresh"]
    accounts, posted, pending = counts(api, link)
    assert (len(accounts), posted, pending) == (2, 2 * ROWS_READ_FIRST, 2 * PENDING_PER_ACCOUNT)
    details = api("account.online.account", "read", accounts, ["name", "account_number", "balance", "currency_code", "online_identifier"])
    assert all(d["account_number"].startswith("FI00MOCK") and d["currency_code"] == "EUR" for d in details), details
    assert all(d["balance"] is not False for d in details), "the first fetch reads the balances"
    rows = api("account.online.transaction", "search_read", [["online_account_id", "in", accounts]], fields=["online_transaction_identifier", "status", "amount", "payment_ref", "partner_name", "date"])
    assert len({(r["online_transaction_identifier"]) for r in rows}) == len(rows)
    assert all(r["payment_ref"] and r["date"] for r in rows)
    assert any(r["amount"] < 0 for r in rows) and any(r["amount"] > 0 for r in rows)

    # Fetch again: nothing duplicated; pending rows the bank has booked since come back posted and leave
    # the pending set.
    sandbox_admin(bank_url, "accounts/settle_pending", {"account": details[0]["online_identifier"], "new_pending": 1})
    started = api("account.online.link", "action_fetch_transactions", [link])
    assert started["params"]["title"] == "Synchronization running", started
    assert "Enable Banking" in started["params"]["message"]
    assert settled(api, link)["state"] == "connected"
    assert counts(api, link) == (accounts, 2 * ROWS_READ_FIRST + 2, 2 * PENDING_PER_ACCOUNT - 1)

    # The bank allows four reads a day without the user: the link read twice (transactions and
    # balances) when it was connected and once now; one more, then the bridge says when.
    api("account.online.link", "action_fetch_transactions", [link])
    assert settled(api, link)["state"] == "connected"
    assert counts(api, link) == (accounts, 2 * ROWS_READ_FIRST + 2, 2 * PENDING_PER_ACCOUNT - 1)
    refused = api("account.online.link", "action_fetch_transactions", [link])
    message = refused["params"]["message"]
    assert refused["params"]["type"] == "warning" and "four reads" in message and human_time_in(message), message
    assert api.link(link, "state")["state"] == "connected"

    # Revoke: the session ends at Enable Banking (its consent at the bank with it); the data stays.
    closed_before = sandbox_state(bank_url)["sessions_by_status"].get("CLOSED", 0)
    revoked = api("account.online.link", "action_revoke_consent", [link])
    assert revoked["params"]["title"] == "Consent revoked" and "Salt Edge" not in revoked["params"]["message"]
    record = api.link(link, "state", "error_message")
    assert record["state"] == "disconnected" and "Consent revoked" in record["error_message"]
    assert sandbox_state(bank_url)["sessions_by_status"].get("CLOSED", 0) == closed_before + 1
    assert counts(api, link)[1] == 2 * ROWS_READ_FIRST + 2
    with pytest.raises(xmlrpc.client.Fault) as fault:
        api("account.online.link", "action_fetch_transactions", [link])
    assert "disconnected" in fault.value.faultString

    # Remove, then delete the record: nothing stays at Enable Banking.
    removed = api("account.online.link", "action_remove_connection", [link])
    assert "Enable Banking" in removed["params"]["message"], removed
    assert api("account.online.link", "unlink", [link]) is True
    assert api("account.online.link", "search_count", [["id", "=", link]]) == 0


def test_update_credentials_renews_the_session_and_keeps_the_accounts(bridge):
    api = Api(bridge, "alice")
    link, bank_url, _, _ = link_bank(api, username="renew")
    assert settled(api, link)["state"] == "connected"
    before = api.link(link, "connection_identifier")["connection_identifier"]
    accounts, posted, pending = counts(api, link)
    action = api("account.online.link", "action_update_credentials", [link])
    status, _, body = at_bank(action["url"], username="renew")
    assert status == 200 and "Bank account connected" in body, body
    record = settled(api, link, fields=("state", "connection_identifier", "error_message"))
    assert record["state"] == "connected" and record["connection_identifier"] != before, record
    # The same accounts (known again by their identification hash), the same rows: none twice.
    assert counts(api, link) == (accounts, posted, pending)
    assert sandbox_state(bank_url)["sessions_by_status"].get("CLOSED", 0) >= 1, "the replaced session is ended"


def test_one_aggregator_failing_to_list_its_banks_does_not_hide_the_others(bridge):
    api = Api(bridge, "alice")
    bridge.execute_sql("DELETE FROM online_institutions WHERE code = 'enablebanking:DE:Mock Business Bank'")
    salt_edge = bridge.query_sql("SELECT value FROM bridge_settings WHERE key = 'sandbox.base_url'")[0][0]
    sandbox_admin(salt_edge, "faults", {"mode": "server_error", "every_nth": 1})
    try:
        link, bank_url = start(api, institution="enablebanking:DE:Mock Business Bank", email="refresh@acme.test")
        assert "/sandbox-bank/authorize/" in bank_url
        assert api.link(link, "provider")["provider"] == "enablebanking"
    finally:
        sandbox_admin(salt_edge, "faults", {"mode": "none"})


def test_bankbridge_sync_reads_an_enable_banking_link_beside_the_running_bridge(bridge):
    api = Api(bridge, "alice")
    link, bank_url, _, _ = link_bank(api, username="operator")
    assert settled(api, link)["state"] == "connected"
    before = counts(api, link)
    sandbox_admin(bank_url, "accounts/add_booked", {"account": api("account.online.account", "read", before[0][:1], ["online_identifier"])[0]["online_identifier"], "count": 3})
    out = bridge.cli("sync", "--link", str(link))
    assert "synced 1 link(s): 3 new transactions" in out, out
    assert counts(api, link) == (before[0], before[1] + 3, before[2])


def test_a_cancelled_authorization_changes_nothing_but_the_message(bridge):
    api = Api(bridge, "alice")
    link, bank_url = start(api)
    status, final_url, body = at_bank(bank_url, action="cancel")
    assert status == 200 and "not completed" in body, body
    assert query_param(final_url, "error") == "access_denied"
    record = api.link(link, "state", "error_message", "connection_identifier")
    assert record["state"] == "error" and record["connection_identifier"] is False
    assert "not completed" in record["error_message"] and "access_denied" not in record["error_message"]
    assert counts(api, link)[0] == []


def test_another_company_neither_sees_nor_attaches_the_session(bridge):
    alice, bob = Api(bridge, "alice"), Api(bridge, "bob")
    link, bank_url = start(alice, email="owner@acme.test")
    status, location, _ = at_bank(bank_url, username="victim", follow=False)
    assert status == 302 and "/enablebanking/return" in location
    code = query_param(location, "code")
    # Bob starts his own attempt and presents Alice's code with his own one-time state.
    bob_link, bob_bank_url = start(bob, email="bob@globex.test")
    bob_state = query_param(at_bank(bob_bank_url, username="bob", follow=False)[1], "state")
    status, _, body = get(f"{bridge.url}/enablebanking/return?state={bob_state}&code={code}")
    assert status == 200 and "not completed" in body, body
    record = bob.link(bob_link, "state", "error_message", "connection_identifier")
    assert record["state"] == "error" and record["connection_identifier"] is False, record
    assert "another authorization" in record["error_message"]
    assert counts(bob, bob_link)[0] == []
    # Bob's state is used up; Alice's link is not his to read, search or act on.
    assert "no longer valid" in get(f"{bridge.url}/enablebanking/return?state={bob_state}&code={code}")[2]
    assert bob("account.online.link", "search", [["id", "=", link]]) == []
    assert bob("account.online.account", "search_count", [["account_online_link_id", "=", link]]) == 0
    with pytest.raises(xmlrpc.client.Fault):
        bob("account.online.link", "action_fetch_transactions", [link])
    # A URL without a valid state changes nothing and says nothing.
    status, _, body = get(f"{bridge.url}/enablebanking/return?state=forged&code={code}")
    assert status == 200 and "no longer valid" in body and "Acme" not in body


def test_the_unavailable_bank_leaves_the_link_connected_with_the_banks_words(bridge):
    api = Api(bridge, "alice")
    link, _, _, body = link_bank(api, institution="enablebanking:FI:Mock Unavailable Bank", username="down")
    record = settled(api, link, fields=("state", "error_message", "connection_identifier"))
    assert record["connection_identifier"] and record["state"] == "connected", record
    assert "not answering" in record["error_message"] and "ASPSP_ERROR" in record["error_message"], record


def test_the_readme_lists_every_enable_banking_sandbox_bank():
    readme = (harness.REPO / "README.md").read_text()
    catalogue = (harness.REPO / "src" / "sandbox" / "enablebanking" / "data.rs").read_text()
    banks = re.findall(r'name: "([^"]+)",\s*country: "([A-Z]{2})"', catalogue)
    assert len(banks) >= 3, banks
    missing = [f"enablebanking:{country}:{name}" for name, country in banks if f"`enablebanking:{country}:{name}`" not in readme]
    assert not missing, missing


def test_the_bank_page_in_headless_chromium(bridge):
    """A real browser at the (sandbox) bank: a wrong password is refused on the page, the right one and
    Approve land on the bridge's return page, which lists the connected accounts."""
    api = Api(bridge, "alice")
    link, bank_url = start(api, email=f"browser-{bridge.backend}@acme.test")
    out = harness.REPO / "target" / "test-output" / "browser-enablebanking" / bridge.backend
    summary = browser.run_journey("enablebanking_flow.mjs", bank_url, out)
    assert summary["title"] == "Mock Bank" and "bankbridge asks to read your accounts" in summary["asks"], summary
    assert "Wrong user name or password." in summary["refusedText"]
    assert "/enablebanking/return" in summary["finalUrl"] and summary["result"] == "Bank account connected", summary
    assert len(summary["accounts"]) == 2, summary
    browser.assert_screenshots(out, "01-bank-page.png", "02-wrong-password.png", "03-filled-in.png", "04-returned.png")
    assert settled(api, link)["state"] == "connected"
