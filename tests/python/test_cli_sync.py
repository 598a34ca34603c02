"""`bankbridge sync` as cron or a newcomer runs it: without a terminal, against a running `serve` (each
failed link's reason printed, non-zero exit) and with `serve` stopped (a prompt, precise message)."""

import re
import subprocess
import time

import pytest

import harness
from sandbox_flow import Api, admin, connect

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


def test_without_a_terminal_progress_lines_show_total_rate_and_eta(flow):
    api = Api(flow, "alice")
    link, *_ = connect(api, "progress@acme.test")
    out = run_sync(flow, "--link", str(link), "--progress-interval", "0")
    assert out.returncode == 0, out.stderr
    line = re.compile(r"^link (\d+): ([\d,]+) of ([\d,]+) rows \((\d+)%\), ([\d,]+) rows/s, ETA (\S.*)$")
    progress = [m for m in map(line.match, out.stderr.splitlines()) if m]
    assert len(progress) >= 2, out.stderr
    accounts = api("account.online.account", "search", [["account_online_link_id", "=", link]])
    total = PER_ACCOUNT * len(accounts)
    assert all(int(m.group(1)) == link and m.group(3) == f"{total:,}" for m in progress), out.stderr
    assert progress[-1].group(2) == f"{total:,}" and progress[-1].group(4) == "100", out.stderr
    assert any(0 < int(m.group(4)) < 100 for m in progress), out.stderr
    assert re.search(rf"synced 1 link\(s\): {total:,} new transactions, .* \([\d,]+ rows/s\)", out.stdout), out.stdout
    # A rerun expects nothing new.
    again = run_sync(flow, "--link", str(link), "--progress-interval", "0")
    assert again.returncode == 0 and "new transactions" in again.stdout, again
    assert "synced 1 link(s): 0 new transactions" in again.stdout, again.stdout


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
