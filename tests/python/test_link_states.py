"""A bank link's state moves through one transition function (issue 21): what Salt Edge reports after the
user disconnected a link changes nothing, through the real HTTP path (the sandbox's signed callbacks)."""

import json

import pytest

from harness import Api, connect, now_iso, post_callback, settled, sign_callback, submit_connect


@pytest.fixture(scope="module")
def flow(backend_servers):
    return backend_servers.bridge(users={"alice": "Acme"}, env={"BANKBRIDGE_SYNC_INTERVAL": "0"})


@pytest.fixture
def api(flow):
    return Api(flow, "alice")


def signed_callback(flow, kind, record, **data):
    """POSTs a callback for the link's connection, signed as Salt Edge (the sandbox) signs it, now."""
    payload = {"connection_id": record["connection_identifier"], "customer_id": record["client_id"], **data}
    body = json.dumps({"data": payload, "meta": {"version": "6", "time": now_iso()}}).encode()
    return post_callback(flow, kind, body, sign_callback(f"{flow.url}/saltedge/callbacks/{kind}", body))


FIELDS = ("state", "error_message", "connection_identifier", "client_id")


def test_a_late_fail_after_revoke_leaves_the_link_disconnected(flow, api):
    link, *_ = connect(api, "late-fail@acme.test")
    assert settled(api, link)["state"] == "connected"
    api("account.online.link", "action_revoke_consent", [link])
    revoked = api.link(link, *FIELDS)
    assert revoked["state"] == "disconnected" and "Consent revoked" in revoked["error_message"]
    # An attempt that was still running at Salt Edge fails afterwards: the signed, fresh callback is
    # accepted (200) and changes nothing.
    assert signed_callback(flow, "fail", revoked, error_class="InvalidCredentials", error_message="late fail") == 200
    assert api.link(link, *FIELDS) == revoked
    # Nor does a late success or stage report.
    assert signed_callback(flow, "success", revoked, stage="finish") == 200
    assert signed_callback(flow, "notify", revoked, stage="fetching") == 200
    assert api.link(link, *FIELDS) == revoked
    # The user's own Update Credentials brings it back.
    update = api("account.online.link", "action_update_credentials", [link])
    status, final_url, body = submit_connect(update["url"], login="late-fail")
    assert status == 200 and "/saltedge/return" in final_url, body
    assert settled(api, link)["state"] == "connected"


def test_a_fail_callback_on_a_connected_link_reads_as_sentences(flow, api):
    link, *_ = connect(api, "sentences@acme.test")
    record = settled(api, link, fields=FIELDS)
    assert signed_callback(flow, "fail", record, error_class="InvalidCredentials", error_message="late fail") == 200
    after = api.link(link, "state", "error_message")
    assert after["state"] == "error", after
    assert after["error_message"] == (
        "The bank refused the connection: late fail. Click Update Credentials to try again."
    ), after
