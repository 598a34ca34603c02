"""Salt Edge misbehaving (sandbox fault modes) while the bridge imports what an attempt brought, and
`bankbridge sync` killed mid-import: the stored transactions end up exactly the expected set, with no
duplicate and no gap."""

import time
import xmlrpc.client

import pytest

from harness import Api, sandbox_admin, settled, submit_connect

PER_ACCOUNT = 2500
PENDING = 2


@pytest.fixture(scope="module")
def flow(backend_servers):
    return backend_servers.bridge(users={"alice": "Acme"}, env={"BANKBRIDGE_SANDBOX_TRANSACTIONS": str(PER_ACCOUNT), "BANKBRIDGE_SYNC_INTERVAL": "0"})


def assert_exact(api, link):
    """Every generated transaction exactly once: counts and identifiers."""
    accounts = api("account.online.account", "search", [["account_online_link_id", "=", link]])
    for account in accounts:
        rows = api("account.online.transaction", "search_read", [["online_account_id", "=", account], ["status", "=", "posted"]], fields=["online_transaction_identifier"])
        identifiers = [r["online_transaction_identifier"] for r in rows]
        assert len(identifiers) == PER_ACCOUNT, (account, len(identifiers))
        assert len(set(identifiers)) == PER_ACCOUNT
        numbers = sorted(int(i) for i in identifiers)
        # The sandbox's ids are consecutive per account: no gap inside the range.
        assert numbers[-1] - numbers[0] == PER_ACCOUNT - 1
        assert api("account.online.transaction", "search_count", [["online_account_id", "=", account], ["status", "=", "pending"]]) == PENDING


def connect_under(api, email, fault):
    """Starts a connection, turns the sandbox fault on, consents: the bridge's first import (without
    any click) runs under the fault. Returns (link, connect URL, the settled link record)."""
    action = api("account.online.link", "action_new_synchronization", [], institution_code="fakebank_simple_xf", email=email)
    sandbox_admin(action["url"], "faults", fault)
    try:
        status, _, body = submit_connect(action["url"], login=email.split("@")[0])
        assert status == 200, body
        record = settled(api, action["res_id"], timeout=120)
    finally:
        sandbox_admin(action["url"], "faults", {"mode": "none"})
    return action["res_id"], action["url"], record


def fetch_again(api, link):
    """Fetch Transactions (Salt Edge allows no refresh yet: the bridge imports what it already holds)."""
    result = api("account.online.link", "action_fetch_transactions", [link])
    assert result["params"]["title"] == "Synchronization running"
    return settled(api, link, timeout=120)


@pytest.mark.parametrize(
    "fault",
    [
        {"mode": "rate_limit", "every_nth": 2, "retry_after_secs": 1},
        {"mode": "server_error", "every_nth": 2, "status": 503},
        {"mode": "drop", "every_nth": 3},
        {"mode": "slow", "every_nth": 2, "delay_ms": 300},
    ],
    ids=lambda f: f["mode"],
)
def test_transient_faults_are_retried_to_the_exact_set(flow, fault):
    api = Api(flow, "alice")
    link, _, record = connect_under(api, f"{fault['mode']}@acme.test", fault)
    assert record["state"] == "connected" and record["error_message"] is False, record
    assert_exact(api, link)


def fetch_under(api, email, fault):
    """A connected link, then an account opened at the bank, then Fetch Transactions under `fault`."""
    link, connect_url, record = connect_under(api, email, {"mode": "none"})
    assert record["state"] == "connected"
    connection = api.link(link, "connection_identifier")["connection_identifier"]
    sandbox_admin(connect_url, f"connections/{connection}/accounts", {"name": "Opened later", "currency_code": "EUR", "transactions": PER_ACCOUNT, "pending": PENDING})
    sandbox_admin(connect_url, "faults", fault)
    try:
        return link, fetch_again(api, link)
    finally:
        sandbox_admin(connect_url, "faults", {"mode": "none"})


def test_malformed_json_is_a_clear_error_and_a_rerun_completes(flow):
    api = Api(flow, "alice")
    link, record = fetch_under(api, "malformed@acme.test", {"mode": "malformed", "every_nth": 3})
    assert record["state"] == "connected" and "Unexpected answer from the bank's aggregator" in record["error_message"], record
    assert fetch_again(api, link)["error_message"] is False
    assert_exact(api, link)


def test_rate_limit_storm_reports_retry_later_then_rerun_completes(flow):
    api = Api(flow, "alice")
    # Salt Edge refuses even the first read: the button itself says so, and the link records it.
    with pytest.raises(xmlrpc.client.Fault) as err:
        fetch_under(api, "storm@acme.test", {"mode": "rate_limit", "every_nth": 1, "retry_after_secs": 0})
    assert err.value.faultCode == 2 and "try again later" in err.value.faultString
    link = api("account.online.link", "search", [["renewal_contact_email", "=", "storm@acme.test"]])[0]
    record = settled(api, link)
    assert record["state"] == "connected" and "try again later" in record["error_message"], record
    assert fetch_again(api, link)["error_message"] is False
    assert_exact(api, link)


def test_sync_killed_with_sigkill_then_rerun_is_exact(flow, servers):
    api = Api(flow, "alice")
    link, connect_url, record = connect_under(api, "kill9@acme.test", {"mode": "none"})
    assert record["state"] == "connected"
    # An account opened at the bank: `bankbridge sync` imports it, slowly, and is killed half-way.
    connection = api.link(link, "connection_identifier")["connection_identifier"]
    sandbox_admin(connect_url, f"connections/{connection}/accounts", {"name": "Opened later", "currency_code": "EUR", "transactions": PER_ACCOUNT, "pending": PENDING})
    sandbox_admin(connect_url, "faults", {"mode": "slow", "every_nth": 1, "delay_ms": 150})
    sync = servers.process("sync", [flow.binary, "sync", "--link", str(link)], env=flow.env, cwd=flow.workdir)
    new_account = []
    deadline = time.time() + 60
    stored = 0
    while time.time() < deadline:
        new_account = new_account or api("account.online.account", "search", [["account_online_link_id", "=", link], ["name", "=", "Opened later"]])
        stored = api("account.online.transaction", "search_count", [["online_account_id", "in", new_account]]) if new_account else 0
        if stored >= 1000:
            break
        time.sleep(0.05)
    sync.kill()
    sandbox_admin(connect_url, "faults", {"mode": "none"})
    assert 0 < stored < PER_ACCOUNT, stored
    rerun = flow.run_cli("sync", "--link", str(link), timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert "synced 1 link(s)" in rerun.stdout
    assert_exact(api, link)
