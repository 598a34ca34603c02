"""The offline online-synchronization flow end to end: the real bridge with its built-in Salt Edge
sandbox, driven over XML-RPC and plain HTTP like Odoo's buttons and a person's browser would."""

import json
import re
import urllib.parse
import urllib.request
import xmlrpc.client

import pytest

from harness import Api, assert_same_as_salt_edge, bridge_transaction_ids, connect, counts, get, human_time_in, now_iso, post_callback, sandbox_admin, settled, sign_callback, submit_connect, submit_connect_location

TRANSACTIONS_PER_ACCOUNT = 1234  # more than one 1,000-row page
PENDING_PER_ACCOUNT = 2


@pytest.fixture(scope="module")
def flow(backend_servers):
    return backend_servers.bridge(users={"alice": "Acme", "mallory": "Evil Corp"}, env={"BANKBRIDGE_SANDBOX_TRANSACTIONS": str(TRANSACTIONS_PER_ACCOUNT), "BANKBRIDGE_SYNC_INTERVAL": "0"})


@pytest.fixture
def api(flow):
    return Api(flow, "alice")


def test_institutions_are_searchable_by_country_and_name(api):
    xf = api("account.online.institution", "search_read", [["country_code", "=", "XF"]], fields=["code", "name", "status"])
    codes = {i["code"] for i in xf}
    assert {"fakebank_simple_xf", "fakebank_interactive_xf", "fakebank_with_error_xf"} <= codes
    found = api("account.online.institution", "name_search", "sms", [["country_code", "=", "XF"]])
    assert any("SMS" in name for _, name in found)


def test_link_fetch_accounts_and_transactions(api):
    link, connect_url, final_url, body = connect(api, "flow@acme.test")
    assert "/saltedge/return" in final_url and "connected" in body
    # The result page names the company the bank customer consented to (issue 14 item 9).
    assert '<p id="company">Acme</p>' in body
    # The first import happens without a click: accounts, every posted and every pending row.
    assert settled(api, link)["state"] == "connected"
    record = api.link(link, "state", "error_message", "connection_identifier", "expiring_synchronization_date", "account_online_account_ids", "last_refresh", "provider_code")
    assert record["state"] == "connected" and record["error_message"] is False
    assert record["connection_identifier"] and record["expiring_synchronization_date"] and record["last_refresh"]
    assert record["provider_code"] == "fakebank_simple_xf"
    accounts, posted, pending = counts(api, link)
    assert (len(accounts), posted, pending) == (2, 2 * TRANSACTIONS_PER_ACCOUNT, 2 * PENDING_PER_ACCOUNT)
    ids = api("account.online.transaction", "search_read", [["online_account_id", "=", accounts[0]]], fields=["online_transaction_identifier"])
    identifiers = [r["online_transaction_identifier"] for r in ids]
    assert len(identifiers) == len(set(identifiers))
    assert_same_as_salt_edge(api, link, connect_url)

    # A click before Salt Edge allows the next refresh: a message naming the time in plain words,
    # nothing lost or duplicated.
    early = api("account.online.link", "action_fetch_transactions", [link])
    assert early["tag"] == "display_notification" and early["params"]["type"] == "warning"
    message = early["params"]["message"]
    assert "allows the next refresh" in message and human_time_in(message), message
    assert not re.search(r"\d\dT\d\d:", message), message
    settled(api, link)
    assert counts(api, link) == (accounts, posted, pending)

    # Fetch Transactions: returns at once, then exactly what that attempt brought once it finishes —
    # pending rows settled at the bank come back posted (new ids) and the pending ones go away.
    connection = record["connection_identifier"]
    account_online_id = api("account.online.account", "read", [accounts[0]], ["online_identifier"])[0]["online_identifier"]
    pending_before = bridge_transaction_ids(api, accounts[0], "pending")
    sandbox_admin(connect_url, f"connections/{connection}/post_pending", {"account_id": account_online_id, "count": 1})
    sandbox_admin(connect_url, f"connections/{connection}/next_refresh", {"in_secs": 0})
    started = api("account.online.link", "action_fetch_transactions", [link])
    assert started["params"]["title"] == "Synchronization running" and started["params"]["type"] == "info"
    assert settled(api, link)["state"] == "connected"
    _, posted_after, pending_after = counts(api, link)
    # The attempt brought new posted rows (at least the settled pending ones), the pending rows it
    # replaced are gone, and the bridge holds exactly what Salt Edge holds now.
    assert posted_after > posted
    assert not (pending_before & bridge_transaction_ids(api, accounts[0], "pending"))
    assert_same_as_salt_edge(api, link, connect_url)

    # Fetch Accounts: an account opened at the bank appears exactly once.
    sandbox_admin(connect_url, f"connections/{connection}/accounts", {"name": "New savings", "currency_code": "EUR", "transactions": 5})
    added = api("account.online.link", "action_fetch_accounts", [link])
    assert added["params"]["counts"]["accounts_added"] == 1
    # No new account, and Salt Edge allows no refresh page before next_refresh_possible_at.
    second = api("account.online.link", "action_fetch_accounts", [link])
    assert second["type"] == "ir.actions.client" and second["params"]["title"] == "Accounts up to date", second
    names = [a["name"] for a in api("account.online.account", "search_read", [["account_online_link_id", "=", link]], fields=["name"])]
    assert names.count("New savings") == 1 and len(names) == 3

    # Update Credentials: Salt Edge's reconnect page, then back to connected.
    update = api("account.online.link", "action_update_credentials", [link])
    assert update["type"] == "ir.actions.act_url"
    status, final_url, body = submit_connect(update["url"], login="flow")
    assert status == 200 and "/saltedge/return" in final_url, body
    assert settled(api, link)["state"] == "connected"


def test_duplicate_connection_names_the_existing_link(api):
    first, *_ = connect(api, "dup@acme.test", login="same-login")
    action = api("account.online.link", "action_new_synchronization", [], institution_code="fakebank_simple_xf", email="dup@acme.test")
    status, _, body = submit_connect(action["url"], login="same-login")
    assert "ConnectionDuplicated" in body or "already" in body.lower()
    duplicate = action["res_id"]
    record = api.link(duplicate)
    assert record["state"] == "error"
    # The existing connection by the name the user knows it by, never a raw record reference.
    name = api.link(first, "name")["name"]
    for text in (record["error_message"],):
        assert f'already synchronized this bank account in "{name}"' in text and "Update Credentials" in text, text
        assert "account.online.link" not in text and "ConnectionDuplicated" not in text, text
    with pytest.raises(xmlrpc.client.Fault) as err:
        api("account.online.link", "action_fetch_accounts", [duplicate])
    assert err.value.faultCode == 2
    assert f'"{name}"' in err.value.faultString and "Update Credentials" in err.value.faultString
    assert "account.online.link" not in err.value.faultString


def test_unlink_explains_then_remove_connection_allows_it(api):
    link, *_ = connect(api, "unlink@acme.test")
    with pytest.raises(xmlrpc.client.Fault) as err:
        api("account.online.link", "unlink", [link])
    assert err.value.faultCode == 2
    assert "still exists at the bank" in err.value.faultString and "Remove connection" in err.value.faultString
    record = api.link(link, "state", "connection_identifier")
    assert record["state"] == "disconnected" and record["connection_identifier"]
    assert api("account.online.link", "action_remove_connection", [link])["params"]["type"] == "success"
    assert api("account.online.link", "action_remove_connection", [link])["params"]["type"] == "success"  # idempotent
    assert api("account.online.link", "unlink", [link]) is True
    assert api("account.online.link", "search", [["id", "=", link]]) == []


def test_revoke_consent(api):
    link, *_ = connect(api, "revoke@acme.test")
    result = api("account.online.link", "action_revoke_consent", [link])
    assert result["params"]["title"] == "Consent revoked"
    record = api.link(link)
    assert record["state"] == "disconnected" and "Consent revoked" in record["error_message"]


def test_expired_consent_puts_the_link_in_error_with_a_clear_message(api):
    link, connect_url, *_ = connect(api, "expired@acme.test")
    settled(api, link)
    connection = api.link(link, "connection_identifier")["connection_identifier"]
    sandbox_admin(connect_url, f"connections/{connection}/expire_consent")
    sandbox_admin(connect_url, f"connections/{connection}/next_refresh", {"in_secs": 0})
    with pytest.raises(xmlrpc.client.Fault) as err:
        api("account.online.link", "action_fetch_transactions", [link])
    assert err.value.faultCode == 2 and "Update Credentials" in err.value.faultString
    record = settled(api, link)
    assert record["state"] == "error"
    assert "consent has expired" in record["error_message"] and "Update Credentials" in record["error_message"]
    assert "ConsentExpired" not in record["error_message"]
    # Renewing the consent through Update Credentials brings it back.
    update = api("account.online.link", "action_update_credentials", [link])
    submit_connect(update["url"], login="expired")
    assert settled(api, link)["state"] == "connected"


def test_interactive_and_failing_banks(api):
    action = api("account.online.link", "action_new_synchronization", [], institution_code="fakebank_interactive_xf", email="sms@acme.test")
    status, final_url, body = submit_connect(action["url"], login="sms", sms_code="123456")
    assert status == 200 and settled(api, action["res_id"])["state"] == "connected", body
    failing = api("account.online.link", "action_new_synchronization", [], institution_code="fakebank_with_error_xf", email="err@acme.test")
    status, _, body = submit_connect(failing["url"], login="err", password="InvalidCredentials")
    record = api.link(failing["res_id"])
    # The bank's words, never Salt Edge's error class.
    assert record["state"] == "error" and "login or password is not correct" in record["error_message"], record
    assert "InvalidCredentials" not in record["error_message"], record


def test_consent_must_be_ticked(api):
    action = api("account.online.link", "action_new_synchronization", [], institution_code="fakebank_simple_xf", email="noconsent@acme.test")
    status, _, body = submit_connect(action["url"], consent=False)
    assert status == 422 and "consent" in body.lower()
    assert api.link(action["res_id"])["state"] == "disconnected"


def test_bad_button_input_gets_user_errors(api):
    cases = [
        ({"institution_code": "no_such_bank", "email": "x@acme.test"}, "Unknown institution"),
        ({"institution_code": "fakebank_simple_xf", "email": "not-an-email"}, "valid email"),
        ({"institution_code": "fakebank_simple_xf", "email": "x@acme.test", "return_to": "javascript:alert(1)"}, "return_to"),
    ]
    for kwargs, text in cases:
        with pytest.raises(xmlrpc.client.Fault) as err:
            api("account.online.link", "action_new_synchronization", [], **kwargs)
        assert err.value.faultCode == 2 and text in err.value.faultString
    fresh = api("account.online.link", "create", {"name": "never connected"})
    with pytest.raises(xmlrpc.client.Fault) as err:
        api("account.online.link", "action_fetch_transactions", [fresh])
    assert err.value.faultCode == 2 and "not connected" in err.value.faultString
    with pytest.raises(xmlrpc.client.Fault) as err:
        api("account.online.link", "action_update_credentials", [987654])
    assert err.value.faultCode == 2


def test_other_companies_cannot_press_my_buttons(flow, api):
    link, *_ = connect(api, "private@acme.test")
    settled(api, link)
    mallory = Api(flow, "mallory")
    for method in ["action_fetch_transactions", "action_update_credentials", "action_revoke_consent", "action_remove_connection"]:
        with pytest.raises(xmlrpc.client.Fault) as err:
            mallory("account.online.link", method, [link])
        # Odoo's access error, as Odoo's buttons answer it: they read their record first.
        assert err.value.faultCode == 4, method
        assert "doesn't have 'read' access to:\n- Bank Connection (account.online.link)" in err.value.faultString
    assert api.link(link)["state"] == "connected"



def test_forged_callbacks_change_nothing(flow, api):
    link, *_ = connect(api, "forged@acme.test")
    before = settled(api, link, fields=("state", "connection_identifier", "error_message"))
    body = {"data": {"connection_id": before["connection_identifier"], "error_class": "InvalidCredentials", "error_message": "pwned"}, "meta": {"version": "6", "time": now_iso()}}
    assert post_callback(flow, "fail", body) == 401
    assert post_callback(flow, "fail", body, signature="bm90IGEgc2lnbmF0dXJl") == 401
    assert post_callback(flow, "destroy", body, signature="") == 401
    assert api.link(link, "state", "connection_identifier", "error_message") == before


# -- issue 10: one Salt Edge customer per company, one-time return state ------------------------------

def victim_connection(api, email):
    link, *_ = connect(api, email)
    settled(api, link)
    return link, api.link(link, "connection_identifier", "client_id", "name")


def test_return_url_without_its_state_reveals_and_changes_nothing(flow, api):
    """The attack of issue 10 item 1: company B starts a synchronization with company A's e-mail, then
    sends the return URL its own link id and A's connection id."""
    victim, record = victim_connection(api, "victim@acme.test")
    mallory = Api(flow, "mallory")
    attacker = mallory("account.online.link", "action_new_synchronization", [], institution_code="fakebank_simple_xf", email="victim@acme.test")["res_id"]
    status, _, body = get(f"{flow.url}/saltedge/return?link={attacker}&connection_id={record['connection_identifier']}")
    assert status == 200 and "no longer valid" in body
    assert mallory.link(attacker, "connection_identifier", "state") == {"id": attacker, "connection_identifier": False, "state": "disconnected"}
    # Walking ids reveals nothing either (item 4): no link name, no message, no state change.
    status, _, body = get(f"{flow.url}/saltedge/return?link={victim}&error_class=InvalidCredentials&error_message=pwned")
    assert record["name"] not in body and "pwned" not in body and "Acme" not in body
    assert api.link(victim, "state")["state"] == "connected"


def test_customers_are_per_company_not_per_email(flow, api):
    victim, record = victim_connection(api, "shared@acme.test")
    mallory = Api(flow, "mallory")
    action = mallory("account.online.link", "action_new_synchronization", [], institution_code="fakebank_simple_xf", email="shared@acme.test")
    assert mallory.link(action["res_id"], "client_id")["client_id"] != record["client_id"]


def test_a_valid_state_cannot_attach_another_companys_connection(flow, api):
    victim, record = victim_connection(api, "victim2@acme.test")
    mallory = Api(flow, "mallory")
    action = mallory("account.online.link", "action_new_synchronization", [], institution_code="fakebank_simple_xf", email="victim2@acme.test")
    location = submit_connect_location(action["url"], login="mallory-login")
    parts = urllib.parse.urlsplit(location)
    query = dict(urllib.parse.parse_qsl(parts.query))
    assert set(query) >= {"state", "connection_id"}
    query["connection_id"] = record["connection_identifier"]
    forged = urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))
    status, _, body = get(forged)
    assert status == 200 and "cannot be used here" in body
    settled(mallory, action["res_id"])
    assert mallory.link(action["res_id"], "connection_identifier")["connection_identifier"] != record["connection_identifier"]
    assert api.link(victim, "connection_identifier", "state") == {"id": victim, "connection_identifier": record["connection_identifier"], "state": "connected"}


def test_a_signed_callback_for_another_companys_customer_attaches_nothing(flow, api):
    victim, record = victim_connection(api, "victim3@acme.test")
    mallory = Api(flow, "mallory")
    attacker = mallory("account.online.link", "action_new_synchronization", [], institution_code="fakebank_simple_xf", email="victim3@acme.test")["res_id"]
    body = json.dumps({"data": {"connection_id": record["connection_identifier"], "customer_id": record["client_id"], "custom_fields": {"link_id": str(attacker)}, "stage": "finish"}, "meta": {"version": "6", "time": now_iso()}}).encode()
    url = f"{flow.url}/saltedge/callbacks/success"
    assert post_callback(flow, "success", body, sign_callback(url, body)) == 200
    assert mallory.link(attacker, "connection_identifier")["connection_identifier"] is False
    assert mallory("account.online.account", "search_count", [["account_online_link_id", "=", attacker]]) == 0


def test_return_url_is_used_once(flow, api):
    action = api("account.online.link", "action_new_synchronization", [], institution_code="fakebank_simple_xf", email="once@acme.test", return_to="http://odoo.acme.test/odoo/action-42")
    location = submit_connect_location(action["url"], login="once-login")
    status, back, _ = get(location, follow=False)
    assert status == 302 and back == "http://odoo.acme.test/odoo/action-42"
    assert settled(api, action["res_id"])["state"] == "connected"
    status, _, body = get(location, follow=False)
    assert status == 200 and "no longer valid" in body
    # Update Credentials with the Odoo form's URL: the browser ends there after the reconnect page.
    update = api("account.online.link", "action_update_credentials", [action["res_id"]], return_to="http://odoo.acme.test/odoo/action-43")
    status, back, _ = get(submit_connect_location(update["url"], login="once-login"), follow=False)
    assert status == 302 and back == "http://odoo.acme.test/odoo/action-43"
    assert settled(api, action["res_id"])["state"] == "connected"


def test_return_to_is_allow_listed(flow, api):
    api("account.online.link", "action_new_synchronization", [], institution_code="fakebank_simple_xf", email="odoo@acme.test", return_to="http://odoo.acme.test/odoo/banks")
    for evil in ["https://evil.example/phish", "http://odoo.acme.test.evil.example/", "http://user:pw@odoo.acme.test/"]:
        with pytest.raises(xmlrpc.client.Fault) as err:
            api("account.online.link", "action_new_synchronization", [], institution_code="fakebank_simple_xf", email="odoo@acme.test", return_to=evil)
        assert err.value.faultCode == 2 and "return_to" in err.value.faultString, evil


def test_stale_or_future_callbacks_are_refused(flow, api):
    link, *_ = connect(api, "stale@acme.test")
    before = settled(api, link, fields=("state", "connection_identifier", "error_message"))
    customer = api.link(link, "client_id")["client_id"]
    url = f"{flow.url}/saltedge/callbacks/fail"
    for when in ["2001-01-01T00:00:00Z", now_iso(-3600), now_iso(3600), None]:
        meta = {"version": "6"} if when is None else {"version": "6", "time": when}
        body = json.dumps({"data": {"connection_id": before["connection_identifier"], "customer_id": customer, "error_class": "InvalidCredentials", "error_message": "replayed"}, "meta": meta}).encode()
        assert post_callback(flow, "fail", body, sign_callback(url, body)) == 400, when
        assert api.link(link, "state", "connection_identifier", "error_message") == before, when
    fresh = json.dumps({"data": {"connection_id": before["connection_identifier"], "customer_id": customer, "error_class": "InvalidCredentials", "error_message": "fresh"}, "meta": {"version": "6", "time": now_iso()}}).encode()
    assert post_callback(flow, "fail", fresh, sign_callback(url, fresh)) == 200


def test_unknown_callback_kinds_are_acknowledged(flow):
    body = json.dumps({"data": {"provider_code": "fakebank_simple_xf", "provider_status": "active"}, "meta": {"version": "6", "time": now_iso()}}).encode()
    for kind in ["provider_changes", "something_new"]:
        url = f"{flow.url}/saltedge/callbacks/{kind}"
        assert post_callback(flow, kind, body, sign_callback(url, body)) == 200, kind


def test_cli_sync_waits_for_the_attempt(flow, api):
    """`bankbridge sync` starts a background refresh and waits for it: what the attempt brings is there
    when the command returns (no callback reaches the CLI: it polls)."""
    link, connect_url, *_ = connect(api, "cli@acme.test")
    settled(api, link)
    before = counts(api, link)
    connection = api.link(link, "connection_identifier")["connection_identifier"]
    sandbox_admin(connect_url, f"connections/{connection}/next_refresh", {"in_secs": 0})
    out = flow.run_cli("sync", "--link", str(link), timeout=120)
    assert out.returncode == 0, out.stderr
    assert "synced 1 link(s)" in out.stdout
    assert counts(api, link)[1] > before[1]
    assert_same_as_salt_edge(api, link, connect_url)


def test_the_connect_page_names_the_company_that_asks(api):
    """Issue 14 item 9: the bank's page says who "this application" is: the company of the user who clicked."""
    action = api("account.online.link", "action_new_synchronization", [], institution_code="fakebank_simple_xf", email="who@acme.test")
    page = urllib.request.urlopen(action["url"], timeout=15).read().decode()
    assert "<strong>Acme</strong> asks to connect your bank account." in page, page[:2000]
