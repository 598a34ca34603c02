"""`bankbridge sync` as cron or a newcomer runs it: without a terminal, against a running `serve` (each
failed link's reason printed, non-zero exit) and with `serve` stopped (a prompt, precise message)."""

import re
import subprocess
import time

import pytest

import harness
from sandbox_flow import Api, StandaloneSandbox, admin, connect, settled

PER_ACCOUNT = 2500


@pytest.fixture(scope="module")
def flow(tmp_path_factory):
    # The command line behaves the same on both backends; SQLite keeps this module light.
    workdir = tmp_path_factory.mktemp("cli-sync")
    server = harness.started_bridge(
        "sqlite", workdir, {"alice": "Acme"}, extra_env={"BANKBRIDGE_SANDBOX_TRANSACTIONS": str(PER_ACCOUNT), "BANKBRIDGE_SYNC_INTERVAL": "0"}
    )
    yield server
    server.stop()


def run_sync(flow, *args, timeout=120):
    # capture_output: standard output and error are pipes, as under cron.
    return subprocess.run([harness.binary(), "sync", *args], env=flow.env, cwd=flow.workdir, capture_output=True, text=True, timeout=timeout)


def test_without_a_terminal_each_failed_link_says_why_and_the_exit_code_is_non_zero(flow):
    api = Api(flow, "alice")
    good, *_ = connect(api, "good@acme.test")
    expired, connect_url, *_ = connect(api, "expired@acme.test")
    connection = api.link(expired, "connection_identifier")["connection_identifier"]
    admin(connect_url, f"connections/{connection}/expire_consent")
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
def polled(tmp_path_factory):
    """A bridge whose Salt Edge (a standalone sandbox) sends no callbacks: `serve` does not import what an
    attempt started by `sync` brings (it did not start it, and no callback tells it), so the rows counted
    by `sync` are the ones it imports itself."""
    workdir = tmp_path_factory.mktemp("cli-sync-polled")
    sandbox = StandaloneSandbox(workdir, env={"BANKBRIDGE_SANDBOX_TRANSACTIONS": "20"})
    bridge = harness.Bridge(harness.new_database_url("sqlite", workdir), workdir, extra_env={**sandbox.bridge_env(), "BANKBRIDGE_SALTEDGE_INCLUDE_SANDBOXES": "true"})
    bridge.add_user("alice", company="Acme")
    bridge.start()
    yield bridge
    bridge.stop()
    sandbox.stop()


def test_without_a_terminal_progress_lines_show_total_rate_and_eta(polled):
    flow = polled
    api = Api(flow, "alice")
    harness.wait_for(lambda: api("account.online.institution", "search", [["code", "=", "fakebank_simple_xf"]]), 30, "the institutions")
    link, connect_url, *_ = connect(api, "progress@acme.test")
    # Consent already imported everything (the first import needs no click): the bank opens an account
    # with PER_ACCOUNT rows, and allows the next refresh now, so that `sync` has rows to show progress on.
    assert settled(api, link)["state"] == "connected"
    connection = api.link(link, "connection_identifier")["connection_identifier"]
    admin(connect_url, f"connections/{connection}/accounts", {"name": "Savings", "transactions": PER_ACCOUNT})
    admin(connect_url, f"connections/{connection}/next_refresh", {"in_secs": 0})
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
