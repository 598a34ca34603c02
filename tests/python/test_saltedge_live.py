"""The bridge against a Salt Edge it reaches only as a client would (`bankbridge sandbox` as a stand-in,
with Salt Edge credentials, no callbacks reaching the bridge): Test-status clients list and link the
fake providers, attempts are followed by polling, and a `RouteNotFound` is an error, never "done"."""

import xmlrpc.client

import pytest

import harness
from harness import Api, assert_same_as_salt_edge, counts, settled, submit_connect

PER_ACCOUNT = 60
PENDING = 2


@pytest.fixture(scope="module")
def sandbox(module_servers):
    return module_servers.sandbox(env={"BANKBRIDGE_SANDBOX_TRANSACTIONS": str(PER_ACCOUNT), "BANKBRIDGE_SANDBOX_PENDING": str(PENDING)})


def institution_codes(api):
    return {i["code"] for i in api("account.online.institution", "search_read", [], fields=["code"])}


def test_live_client_lists_no_fake_providers(backend, sandbox, servers):
    bridge = servers.bridge(backend, users={"alice": "Acme"}, env=sandbox.bridge_env())
    api = Api(bridge, "alice")
    codes = harness.wait_for(lambda: institution_codes(api), 30, "the institutions")
    assert "musterbank_de" in codes and "fakebank_simple_xf" not in codes


def test_test_status_client_links_a_fake_bank_by_polling(backend, sandbox, servers):
    bridge = servers.bridge(backend, users={"alice": "Acme"}, env={**sandbox.bridge_env(), "BANKBRIDGE_SALTEDGE_INCLUDE_SANDBOXES": "true"})
    api = Api(bridge, "alice")
    codes = harness.wait_for(lambda: institution_codes(api), 30, "the institutions")
    assert {"fakebank_simple_xf", "fakebank_interactive_xf", "musterbank_de"} <= codes
    action = api("account.online.link", "action_new_synchronization", [], institution_code="fakebank_simple_xf", email="test@acme.test")
    status, final_url, body = submit_connect(action["url"], login=f"tess-{backend}")
    assert status == 200 and "/saltedge/return" in final_url, body
    # No callback reaches this bridge: it polls the attempt to its end and imports without a click.
    record = settled(api, action["res_id"])
    assert record["state"] == "connected", record
    accounts, posted, pending = counts(api, action["res_id"])
    assert (len(accounts), posted, pending) == (2, 2 * PER_ACCOUNT, 2 * PENDING)
    assert_same_as_salt_edge(api, action["res_id"], action["url"])


def test_route_not_found_is_an_error_never_done(backend, sandbox, servers):
    bridge = servers.bridge(backend, users={"alice": "Acme"}, env=sandbox.bridge_env())
    api = Api(bridge, "alice")
    harness.wait_for(lambda: "musterbank_de" in institution_codes(api), 30, "the institutions")
    action = api("account.online.link", "action_new_synchronization", [], institution_code="musterbank_de", email="route@acme.test")
    submit_connect(action["url"], login=f"route-{backend}")
    link = action["res_id"]
    connection = settled(api, link, fields=("state", "connection_identifier"))["connection_identifier"]
    assert connection
    bridge.stop()
    # The same database behind a wrong API path: Salt Edge answers 404 RouteNotFound to everything.
    wrong = servers.bridge(database=bridge.database_url, keys=bridge.keys, env=sandbox.bridge_env(api_path="api/v6/wrong/"))
    api = Api(wrong, "alice")
    for method in ["action_remove_connection", "action_revoke_consent"]:
        with pytest.raises(xmlrpc.client.Fault) as err:
            api("account.online.link", method, [link])
        # The accountant reads what to check; the error class is for the operator, in the bridge's log.
        assert "refused the bridge's request" in err.value.faultString, method
        assert "aggregator settings" in err.value.faultString, method
    assert "RouteNotFound" in wrong.log_text()
    record = api.link(link, "state", "connection_identifier")
    assert record["connection_identifier"] == connection and record["state"] == "connected", record
