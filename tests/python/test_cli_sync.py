"""`bankbridge sync` as cron or a newcomer runs it: without a terminal, against a running `serve` (each
failed link's reason printed, non-zero exit) and with `serve` stopped (a prompt, precise message)."""

import re
import time

import pytest

import harness
from harness import Api, connect, sandbox_admin, settled

PER_ACCOUNT = 2500


@pytest.fixture(scope="module")
def flow(module_servers):
    # The command line behaves the same on both backends; SQLite keeps this module light.
    return module_servers.bridge(users={"alice": "Acme"}, env={"BANKBRIDGE_SANDBOX_TRANSACTIONS": str(PER_ACCOUNT), "BANKBRIDGE_SYNC_INTERVAL": "0"})


def run_sync(flow, *args, timeout=120):
    # Output captured: standard output and error are pipes, as under cron.
    return flow.run_cli("sync", *args, timeout=timeout)


def test_without_a_terminal_each_failed_link_says_why_and_the_exit_code_is_non_zero(flow):
    api = Api(flow, "alice")
    good, *_ = connect(api, "good@acme.test")
    expired, connect_url, *_ = connect(api, "expired@acme.test")
    connection = api.link(expired, "connection_identifier")["connection_identifier"]
    sandbox_admin(connect_url, f"connections/{connection}/expire_consent")
    out = run_sync(flow)
    assert out.returncode != 0, out
    # The reason of the failed link, with its id, whatever the mode.
    failure = [line for line in out.stderr.splitlines() if line.startswith(f"link {expired} failed:")]
    assert len(failure) == 1, out.stderr
    assert "Update Credentials" in failure[0], failure
    assert f"link {good} failed" not in out.stderr
    assert "1 failed" in out.stdout, out.stdout
    assert "1 of 2 link(s) could not be synced" in out.stderr, out.stderr


@pytest.fixture(scope="module")
def polled(module_servers):
    """A bridge whose Salt Edge (a standalone sandbox) sends no callbacks: `serve` does not import what an
    attempt started by `sync` brings (it did not start it, and no callback tells it), so the rows counted
    by `sync` are the ones it imports itself."""
    sandbox = module_servers.sandbox(env={"BANKBRIDGE_SANDBOX_TRANSACTIONS": "20"})
    return module_servers.bridge(users={"alice": "Acme"}, env={**sandbox.bridge_env(), "BANKBRIDGE_SALTEDGE_INCLUDE_SANDBOXES": "true"})


def test_without_a_terminal_progress_lines_show_total_rate_and_eta(polled):
    flow = polled
    api = Api(flow, "alice")
    harness.wait_for(lambda: api("account.online.institution", "search", [["code", "=", "fakebank_simple_xf"]]), 30, "the institutions")
    link, connect_url, *_ = connect(api, "progress@acme.test")
    # Consent already imported everything (the first import needs no click): the bank opens an account
    # with PER_ACCOUNT rows, and allows the next refresh now, so that `sync` has rows to show progress on.
    assert settled(api, link)["state"] == "connected"
    connection = api.link(link, "connection_identifier")["connection_identifier"]
    sandbox_admin(connect_url, f"connections/{connection}/accounts", {"name": "Savings", "transactions": PER_ACCOUNT})
    sandbox_admin(connect_url, f"connections/{connection}/next_refresh", {"in_secs": 0})
    out = run_sync(flow, "--link", str(link), "--progress-interval", "0")
    assert out.returncode == 0, out.stderr
    line = re.compile(r"^link (\d+): ([\d,]+) of ([\d,]+) rows \((\d+)%\), ([\d,]+) rows/s, ETA (\S.*)$")
    progress = [m for m in map(line.match, out.stderr.splitlines()) if m]
    assert len(progress) >= 2, out.stderr
    # The total is what the bank reports beyond the stored rows: the new account's rows and the few new
    # rows the refresh brings to the other accounts.
    total = progress[-1].group(3)
    assert int(total.replace(",", "")) >= PER_ACCOUNT, out.stderr
    assert all(int(m.group(1)) == link and m.group(3) == total for m in progress), out.stderr
    assert progress[-1].group(2) == total and progress[-1].group(4) == "100", out.stderr
    assert any(0 < int(m.group(4)) < 100 for m in progress), out.stderr
    assert re.search(rf"synced 1 link\(s\): {total} new transactions, .* \([\d,]+ rows/s\)", out.stdout), out.stdout


def test_with_serve_stopped_sync_says_the_bridge_is_not_running(flow):
    api = Api(flow, "alice")
    connect(api, "stopped@acme.test")
    flow.stop()
    try:
        started = time.monotonic()
        # A couple of seconds is the promise; 15 s of retries blaming Salt Edge was the failure.
        out = run_sync(flow, timeout=15)
        elapsed = time.monotonic() - started
        assert out.returncode != 0, out
        assert "the bridge is not running" in out.stderr, out.stderr
        assert "start `bankbridge serve`" in out.stderr.lower(), out.stderr
        assert "try again later" not in out.stderr.lower(), out.stderr
        assert elapsed < 15
    finally:
        flow.start()
