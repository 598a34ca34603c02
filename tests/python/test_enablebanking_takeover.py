"""An Enable Banking read survives the death of the replica that runs it (issue 24). Two replicas on one
PostgreSQL and one standalone Enable Banking sandbox. A linked bank has new booked rows; the user clicks
Fetch Transactions on replica A, whose read stores the first page of them and then waits on a slow page
at the bank; A is killed (SIGKILL) there. Replica B finishes the link's synchronization: the link leaves
`fetching`, every row of the bank is stored exactly once, and the reads counted against the bank's daily
limit are the reads made (the bank refuses none).

Before: an Enable Banking read held no lease and nothing took it over; B's scheduler found the link stale
two minutes later but, as the scheduler, was refused the read (eight hours after the read the dead
process had counted), so the link stayed `fetching` for hours."""

import json
import os
import subprocess
import urllib.parse

import harness
from harness import Api, counts, get, psql, sandbox_admin, settled
from harness.enablebanking import at_bank, start

APP_ID = "5f0e9d8c-2b1a-4c3d-8e7f-a1b2c3d4e5f6"
PUBLIC_URL = "http://bridge.test"  # the redirect URL registered at the sandbox; the test follows it to A
ROWS_READ_FIRST = 90 * 3  # 300 booked rows, three a day; the first read asks for 89 days
PENDING_PER_ACCOUNT = 2
ADDED = 100  # new booked rows of the first account: three pages of 50 in the next read
SLOW_MS = 120_000


def test_a_killed_replicas_enable_banking_read_is_finished_by_the_other(servers, tmp_path):
    harness.require_postgres()
    private, public = tmp_path / "eb-app.pem", tmp_path / "eb-app-public.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(private), "2048"], check=True, capture_output=True)
    subprocess.run(["openssl", "rsa", "-in", str(private), "-pubout", "-out", str(public)], check=True, capture_output=True)
    saltedge_port, eb_port = harness.free_port(), harness.free_port()
    eb_url = f"http://127.0.0.1:{eb_port}"
    servers.process("sandbox", [harness.binary(), "sandbox", "--port", str(saltedge_port), "--enablebanking-port", str(eb_port),
                                "--enablebanking-app-key", str(public), "--enablebanking-app-id", APP_ID,
                                "--callback-url", PUBLIC_URL],
                    ready=lambda: sandbox_admin(eb_url, "faults", {"mode": "none"}) is not None, env=dict(os.environ))
    env = {
        "BANKBRIDGE_PUBLIC_URL": PUBLIC_URL,
        "BANKBRIDGE_ENABLEBANKING_URL": f"{eb_url}/",
        "BANKBRIDGE_ENABLEBANKING_APP_ID": APP_ID,
        "BANKBRIDGE_ENABLEBANKING_PRIVATE_KEY": str(private),
        # Both replicas run the scheduler, every few seconds.
        "BANKBRIDGE_SYNC_INTERVAL": "5",
    }
    a = servers.bridge("postgres", users={"wes": "Acme"}, env=env)
    database = a.database_url
    b = servers.bridge(database=database, keys=a.keys, env=env)
    api_a, api_b = Api(a, "wes"), Api(b, "wes")

    # Link the bank on A (the browser comes back to A), its first read included.
    link, bank_url = start(api_a, email="eb@acme.test")
    status, location, body = at_bank(bank_url, username="acme", follow=False)
    assert status in (302, 303) and location.startswith(f"{PUBLIC_URL}/enablebanking/return?"), (status, location, body)
    status, _, body = get(f"{a.url}/enablebanking/return?{urllib.parse.urlparse(location).query}")
    assert status == 200 and "Bank account connected" in body, body
    first = settled(api_a, link, timeout=120, fields=("state", "error_message", "last_refresh"))
    assert first["state"] == "connected" and first["error_message"] is False, first
    accounts, posted, pending = counts(api_a, link)
    assert (len(accounts), posted, pending) == (2, 2 * ROWS_READ_FIRST, 2 * PENDING_PER_ACCOUNT)
    ids = ",".join(map(str, accounts))
    first_account = api_a("account.online.account", "read", [accounts[0]], ["online_identifier"])[0]["online_identifier"]

    # New rows at the bank; the second transactions request (the first account's second page) is slow.
    sandbox_admin(eb_url, "accounts/add_booked", {"account": first_account, "count": ADDED})
    sandbox_admin(eb_url, "faults", {"mode": "slow", "path_contains": "transactions", "every_nth": 2, "times": 1, "delay_ms": SLOW_MS})
    started = api_a("account.online.link", "action_fetch_transactions", [link])
    assert started["params"]["title"] == "Synchronization running", started

    # A stored the first page of the new rows and waits for the next one: it is killed there.
    def mid_read():
        state = psql(database, f"SELECT state FROM online_links WHERE id = {link}")
        stored = int(psql(database, f"SELECT count(*) FROM online_transactions WHERE online_account_id IN ({ids}) AND status = 'posted'"))
        return state == "fetching" and stored > 2 * ROWS_READ_FIRST and stored < 2 * ROWS_READ_FIRST + ADDED
    harness.wait_for(mid_read, 60, "A to store the first page of the new rows")
    a.kill()
    sandbox_admin(eb_url, "faults", {"mode": "none"})

    # B finishes the read: the link leaves `fetching`, connected, with every row once.
    def finished():
        record = api_b.link(link, "state", "error_message", "last_refresh")
        return record if record["state"] != "fetching" else None
    record = harness.wait_for(finished, 240, f"B to finish link {link}'s synchronization")
    assert record["state"] == "connected" and record["error_message"] is False, record
    assert record["last_refresh"] > first["last_refresh"], (record, first)
    assert counts(api_b, link) == (accounts, 2 * ROWS_READ_FIRST + ADDED, 2 * PENDING_PER_ACCOUNT)
    assert psql(database, f"SELECT count(*) FROM (SELECT online_account_id, online_transaction_identifier FROM online_transactions WHERE online_account_id IN ({ids}) GROUP BY 1, 2 HAVING count(*) > 1) d") == "0"
    assert f"link={link}" in "\n".join(line for line in b.log_text().splitlines() if "taking over" in line), b.log_text()[-3000:]

    # The reads counted are the reads made: two when it was connected (transactions, balances), one by A
    # (transactions), one by B finishing it (transactions; balances were read today). That is the bank's
    # four a day: the bridge says when the next read is allowed instead of letting the bank refuse it.
    reads = json.loads(psql(database, f"SELECT bank_reads FROM online_links WHERE id = {link}"))
    assert len(reads) == 4, reads
    last, allowed = psql(database, f"SELECT last_refresh, next_refresh_possible_at FROM online_links WHERE id = {link}").split("|")
    assert allowed > last, (last, allowed)
    refused = api_b("account.online.link", "action_fetch_transactions", [link])
    assert refused["params"]["type"] == "warning" and "four reads" in refused["params"]["message"], refused
    assert psql(database, f"SELECT followed_by IS NULL FROM online_links WHERE id = {link}") == "t"
