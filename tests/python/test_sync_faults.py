"""Salt Edge misbehaving (sandbox fault modes) and the bridge killed mid-sync: the stored transactions
end up exactly the expected set, with no duplicate and no gap."""

import os
import signal
import subprocess
import time
import xmlrpc.client

import pytest

import harness
from sandbox_flow import Api, admin, connect

PER_ACCOUNT = 2500
PENDING = 2


@pytest.fixture(scope="module")
def flow(backend, tmp_path_factory):
    workdir = tmp_path_factory.mktemp(f"faults-{backend}")
    server = harness.started_bridge(backend, workdir, {"alice": "Acme"}, extra_env={"BANKBRIDGE_SANDBOX_TRANSACTIONS": str(PER_ACCOUNT), "BANKBRIDGE_SYNC_INTERVAL": "0"})
    yield server
    server.stop()


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
    link, connect_url, *_ = connect(api, f"{fault['mode']}@acme.test")
    admin(connect_url, "faults", fault)
    try:
        api("account.online.link", "action_fetch_transactions", [link])
    finally:
        admin(connect_url, "faults", {"mode": "none"})
    assert_exact(api, link)
    assert api.link(link)["state"] == "connected"


def test_malformed_json_is_a_clear_error_and_a_rerun_completes(flow):
    api = Api(flow, "alice")
    link, connect_url, *_ = connect(api, "malformed@acme.test")
    admin(connect_url, "faults", {"mode": "malformed", "every_nth": 3})
    try:
        with pytest.raises(xmlrpc.client.Fault) as err:
            api("account.online.link", "action_fetch_transactions", [link])
        assert "Unexpected answer from Salt Edge" in err.value.faultString
    finally:
        admin(connect_url, "faults", {"mode": "none"})
    api("account.online.link", "action_fetch_transactions", [link])
    assert_exact(api, link)


def test_rate_limit_storm_reports_retry_later_then_rerun_completes(flow):
    api = Api(flow, "alice")
    link, connect_url, *_ = connect(api, "storm@acme.test")
    admin(connect_url, "faults", {"mode": "rate_limit", "every_nth": 1, "retry_after_secs": 0})
    try:
        with pytest.raises(xmlrpc.client.Fault) as err:
            api("account.online.link", "action_fetch_transactions", [link])
        assert err.value.faultCode == 2 and "try again later" in err.value.faultString
    finally:
        admin(connect_url, "faults", {"mode": "none"})
    api("account.online.link", "action_fetch_transactions", [link])
    assert_exact(api, link)


def test_sync_killed_with_sigkill_then_rerun_is_exact(flow):
    api = Api(flow, "alice")
    link, connect_url, *_ = connect(api, "kill9@acme.test")
    # Slow pages so the kill lands in the middle of the sync.
    admin(connect_url, "faults", {"mode": "slow", "every_nth": 1, "delay_ms": 150})
    proc = subprocess.Popen([harness.binary(), "sync", "--link", str(link)], env=flow.env, cwd=flow.workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    accounts = []
    deadline = time.time() + 60
    stored = 0
    while time.time() < deadline:
        accounts = accounts or api("account.online.account", "search", [["account_online_link_id", "=", link]])
        stored = api("account.online.transaction", "search_count", [["online_account_id", "in", accounts]]) if accounts else 0
        if stored >= 1000:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    admin(connect_url, "faults", {"mode": "none"})
    assert 0 < stored < 2 * PER_ACCOUNT, stored
    rerun = subprocess.run([harness.binary(), "sync", "--link", str(link)], env=flow.env, cwd=flow.workdir, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert "synced 1 link(s)" in rerun.stdout
    assert_exact(api, link)
