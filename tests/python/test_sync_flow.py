"""The offline online-synchronization flow end to end: the real bridge with its built-in Salt Edge
sandbox, driven over XML-RPC and plain HTTP like Odoo's buttons and a person's browser would."""

import urllib.request
import xmlrpc.client

import pytest

import harness
from sandbox_flow import Api, admin, connect, submit_connect, post_callback

TRANSACTIONS_PER_ACCOUNT = 1234  # more than one 1,000-row page
PENDING_PER_ACCOUNT = 2


@pytest.fixture(scope="module")
def flow(backend, tmp_path_factory):
    workdir = tmp_path_factory.mktemp(f"flow-{backend}")
    server = harness.started_bridge(backend, workdir, {"alice": "Acme", "mallory": "Evil Corp"}, extra_env={"BANKBRIDGE_SANDBOX_TRANSACTIONS": str(TRANSACTIONS_PER_ACCOUNT), "BANKBRIDGE_SYNC_INTERVAL": "0"})
    yield server
    server.stop()


@pytest.fixture
def api(flow):
    return Api(flow, "alice")


def counts(api, link_id):
    accounts = api("account.online.account", "search", [["account_online_link_id", "=", link_id]])
    posted = api("account.online.transaction", "search_count", [["online_account_id", "in", accounts], ["status", "=", "posted"]])
    pending = api("account.online.transaction", "search_count", [["online_account_id", "in", accounts], ["status", "=", "pending"]])
    return accounts, posted, pending


def test_institutions_are_searchable_by_country_and_name(api):
    xf = api("account.online.institution", "search_read", [["country_code", "=", "XF"]], fields=["code", "name", "status"])
    codes = {i["code"] for i in xf}
    assert {"fakebank_simple_xf", "fakebank_interactive_xf", "fakebank_with_error_xf"} <= codes
    found = api("account.online.institution", "name_search", "sms", [["country_code", "=", "XF"]])
    assert any("SMS" in name for _, name in found)


def test_link_fetch_accounts_and_transactions(api):
    link, connect_url, final_url, body = connect(api, "flow@acme.test")
    assert "/saltedge/return" in final_url and "connected" in body
    record = api.link(link, "state", "error_message", "connection_identifier", "expiring_synchronization_date", "account_online_account_ids", "last_refresh", "provider_code")
    assert record["state"] == "connected" and record["error_message"] is False
    assert record["connection_identifier"] and record["expiring_synchronization_date"] and record["last_refresh"]
    assert record["provider_code"] == "fakebank_simple_xf"
    assert len(record["account_online_account_ids"]) == 2

    result = api("account.online.link", "action_fetch_transactions", [link])
    assert result["tag"] == "display_notification"
    assert result["params"]["counts"]["transactions_added"] == 2 * TRANSACTIONS_PER_ACCOUNT
    accounts, posted, pending = counts(api, link)
    assert (len(accounts), posted, pending) == (2, 2 * TRANSACTIONS_PER_ACCOUNT, 2 * PENDING_PER_ACCOUNT)
    again = api("account.online.link", "action_fetch_transactions", [link])
    assert again["params"]["counts"]["transactions_added"] == 0
    assert counts(api, link) == (accounts, posted, pending)
    ids = api("account.online.transaction", "search_read", [["online_account_id", "=", accounts[0]]], fields=["online_transaction_identifier"])
    identifiers = [r["online_transaction_identifier"] for r in ids]
    assert len(identifiers) == len(set(identifiers))

    # A pending row settled at the bank comes back posted (new id) and the pending one goes away.
    connection = record["connection_identifier"]
    account_online_id = api("account.online.account", "read", [accounts[0]], ["online_identifier"])[0]["online_identifier"]
    admin(connect_url, f"connections/{connection}/post_pending", {"account_id": account_online_id, "count": 1})
    admin(connect_url, f"connections/{connection}/next_refresh", {"in_secs": 0})
    api("account.online.link", "action_fetch_transactions", [link])
    _, posted_after, pending_after = counts(api, link)
    assert posted_after == posted + 1 and pending_after == pending - 1

    # Fetch Accounts: an account opened at the bank appears exactly once.
    admin(connect_url, f"connections/{connection}/accounts", {"name": "New savings", "currency_code": "EUR", "transactions": 5})
    added = api("account.online.link", "action_fetch_accounts", [link])
    assert added["params"]["counts"]["accounts_added"] == 1
    second = api("account.online.link", "action_fetch_accounts", [link])
    assert second["type"] in ("ir.actions.act_url", "ir.actions.client")
    names = [a["name"] for a in api("account.online.account", "search_read", [["account_online_link_id", "=", link]], fields=["name"])]
    assert names.count("New savings") == 1 and len(names) == 3

    # Update Credentials: Salt Edge's reconnect page, then back to connected.
    update = api("account.online.link", "action_update_credentials", [link])
    assert update["type"] == "ir.actions.act_url"
    status, final_url, body = submit_connect(update["url"])
    assert status == 200 and "/saltedge/return" in final_url, body
    assert api.link(link)["state"] == "connected"


def test_duplicate_connection_names_the_existing_link(api):
    first, *_ = connect(api, "dup@acme.test", login="same-login")
    action = api("account.online.link", "action_new_synchronization", [], institution_code="fakebank_simple_xf", email="dup@acme.test")
    status, _, body = submit_connect(action["url"], login="same-login")
    assert "ConnectionDuplicated" in body or "already" in body.lower()
    duplicate = action["res_id"]
    record = api.link(duplicate)
    assert record["state"] == "error"
    assert f"account.online.link {first}" in record["error_message"] and "Update Credentials" in record["error_message"]
    with pytest.raises(xmlrpc.client.Fault) as err:
        api("account.online.link", "action_fetch_accounts", [duplicate])
    assert err.value.faultCode == 2
    assert f"account.online.link {first}" in err.value.faultString and "Update Credentials" in err.value.faultString


def test_unlink_explains_then_remove_connection_allows_it(api):
    link, *_ = connect(api, "unlink@acme.test")
    with pytest.raises(xmlrpc.client.Fault) as err:
        api("account.online.link", "unlink", [link])
    assert err.value.faultCode == 2
    assert "still exists at Salt Edge" in err.value.faultString and "Remove connection" in err.value.faultString
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
    connection = api.link(link, "connection_identifier")["connection_identifier"]
    admin(connect_url, f"connections/{connection}/expire_consent")
    with pytest.raises(xmlrpc.client.Fault) as err:
        api("account.online.link", "action_fetch_transactions", [link])
    assert err.value.faultCode == 2
    record = api.link(link)
    assert record["state"] == "error"
    assert "Consent" in record["error_message"] and "Update Credentials" in record["error_message"]
    # Renewing the consent through Update Credentials brings it back.
    update = api("account.online.link", "action_update_credentials", [link])
    submit_connect(update["url"])
    assert api.link(link)["state"] == "connected"
    api("account.online.link", "action_fetch_transactions", [link])


def test_interactive_and_failing_banks(api):
    action = api("account.online.link", "action_new_synchronization", [], institution_code="fakebank_interactive_xf", email="sms@acme.test")
    status, final_url, body = submit_connect(action["url"], sms_code="123456")
    assert status == 200 and api.link(action["res_id"])["state"] == "connected", body
    failing = api("account.online.link", "action_new_synchronization", [], institution_code="fakebank_with_error_xf", email="err@acme.test")
    status, _, body = submit_connect(failing["url"], password="InvalidCredentials")
    record = api.link(failing["res_id"])
    assert record["state"] == "error" and "InvalidCredentials" in record["error_message"]


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
    mallory = Api(flow, "mallory")
    for method in ["action_fetch_transactions", "action_update_credentials", "action_revoke_consent", "action_remove_connection"]:
        with pytest.raises(xmlrpc.client.Fault) as err:
            mallory("account.online.link", method, [link])
        assert err.value.faultCode == 2, method
    assert api.link(link)["state"] == "connected"



def test_forged_callbacks_change_nothing(flow, api):
    link, *_ = connect(api, "forged@acme.test")
    before = api.link(link, "state", "connection_identifier", "error_message")
    body = {"data": {"connection_id": before["connection_identifier"], "error_class": "InvalidCredentials", "error_message": "pwned"}, "meta": {"version": "6"}}
    assert post_callback(flow, "fail", body) == 401
    assert post_callback(flow, "fail", body, signature="bm90IGEgc2lnbmF0dXJl") == 401
    assert post_callback(flow, "destroy", body, signature="") == 401
    assert api.link(link, "state", "connection_identifier", "error_message") == before


def test_forged_return_url_cannot_attach_someone_elses_connection(flow, api):
    victim, *_ = connect(api, "victim@acme.test")
    victim_connection = api.link(victim, "connection_identifier")["connection_identifier"]
    attacker = api("account.online.link", "action_new_synchronization", [], institution_code="fakebank_simple_xf", email="attacker@acme.test")["res_id"]
    with urllib.request.urlopen(f"{flow.url}/saltedge/return?link={attacker}&connection_id={victim_connection}", timeout=10) as r:
        body = r.read().decode()
    assert "not completed" in body
    assert api.link(attacker, "state", "connection_identifier")["connection_identifier"] is False
