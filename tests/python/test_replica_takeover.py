"""Synchronizations survive the death of the replica that runs them (issue 24). Two replicas on one
PostgreSQL and one standalone Salt Edge sandbox whose attempts run 8 s (and which sends no callbacks, so
followers poll). Replica A's scheduler starts three fetches and A follows a fourth link's first connect;
A is then killed (SIGKILL) while it waits for those attempts. Replica B, which runs no scheduler, takes
each of them over once A's follower leases run out, finishes them, and every account ends with exactly
Salt Edge's transactions: nothing lost, nothing imported twice.

Before: nothing took them over. The links stayed `fetching` (the scheduled ones until a scheduler saw them
stale, on its next cycle an interval later; the connect until someone clicked again)."""

import re
import time

import harness
from harness import Api, psql, sandbox_transaction_ids, settled, submit_connect

PROVIDER = "musterbank_de"
PER_ACCOUNT = 40
PENDING = 2


def test_a_killed_replicas_synchronizations_are_finished_by_the_other(servers):
    harness.require_postgres()
    sandbox = servers.sandbox(env={
        "BANKBRIDGE_SANDBOX_ATTEMPT_DELAY_MS": "8000",
        "BANKBRIDGE_SANDBOX_REFRESH_INTERVAL": "0",
        "BANKBRIDGE_SANDBOX_TRANSACTIONS": str(PER_ACCOUNT),
        "BANKBRIDGE_SANDBOX_PENDING": str(PENDING),
    })
    # Three connected auto_sync links, set up by a first process that is then stopped.
    setup = servers.bridge("postgres", users={"wes": "Acme"}, env=sandbox.bridge_env())
    database = setup.database_url
    api = Api(setup, "wes")
    harness.wait_for(lambda: api("account.online.institution", "search_count", [["code", "=", PROVIDER]]), 30, "the institutions")
    scheduled = []
    for i in range(3):
        action = api("account.online.link", "action_new_synchronization", [], institution_code=PROVIDER, email=f"take{i}@acme.test")
        assert submit_connect(action["url"], login=f"taker{i}")[0] == 200
        scheduled.append(action["res_id"])
    for link in scheduled:
        assert settled(api, link, timeout=60)["state"] == "connected"
    keys = dict(setup.keys)
    setup.stop()
    psql(database, "UPDATE online_links SET last_refresh = NULL, sync_claimed_by = NULL, sync_claimed_until = NULL")

    # Replica A runs the scheduler (its first cycle starts a fetch of each link); B runs none.
    a = servers.bridge(database=database, keys=keys, env=sandbox.bridge_env(sync_interval=3600))
    b = servers.bridge(database=database, keys=keys, env=sandbox.bridge_env())
    # A fourth link's first connect, followed by A (the browser comes back to A).
    api_a, api_b = Api(a, "wes"), Api(b, "wes")
    action = api_a("account.online.link", "action_new_synchronization", [], institution_code=PROVIDER, email="fresh@acme.test")
    assert submit_connect(action["url"], login="fresh")[0] == 200
    links = scheduled + [action["res_id"]]
    ids = ",".join(map(str, links))
    a_worker = f"{a.pid}-"
    harness.wait_for(
        lambda: psql(database, f"SELECT count(*) FROM online_links WHERE id IN ({ids}) AND state = 'fetching' AND followed_by LIKE '{a_worker}%'") == "4",
        30, "A to follow the four attempts")
    a.kill()
    killed_at = time.monotonic()

    for link in links:
        record = harness.wait_for(lambda: (lambda r: r if r["state"] != "fetching" else None)(api_b.link(link, "state", "error_message", "last_refresh")), 90, f"B to finish link {link}")
        assert record["state"] == "connected" and record["last_refresh"], record
    print(f"B finished A's four synchronizations {time.monotonic() - killed_at:.0f} s after A was killed")
    taken = {int(m) for m in re.findall(r"taking over a synchronization[^\n]*?link=(\d+)", b.log_text())}
    assert taken == set(links), (taken, links)
    assert psql(database, f"SELECT count(*) FROM online_links WHERE id IN ({ids}) AND followed_by IS NOT NULL") == "0"

    # Exactly Salt Edge's rows, each once.
    assert psql(database, "SELECT count(*) FROM (SELECT online_account_id, online_transaction_identifier FROM online_transactions GROUP BY 1, 2 HAVING count(*) > 1) d") == "0"
    rows = psql(database, f"SELECT a.id || ' ' || l.connection_identifier || ' ' || a.online_identifier FROM online_accounts a JOIN online_links l ON l.id = a.account_online_link_id WHERE l.id IN ({ids})")
    checked = 0
    for line in rows.splitlines():
        account, connection, online_id = line.split()
        for status, pending in (("posted", False), ("pending", True)):
            stored = psql(database, f"SELECT online_transaction_identifier FROM online_transactions WHERE online_account_id = {account} AND status = '{status}'").split()
            expected = sandbox_transaction_ids(sandbox.url, connection, online_id, pending)
            assert sorted(stored) == sorted(expected), (account, status, len(stored), len(expected))
            checked += len(expected)
    assert checked >= len(links) * PER_ACCOUNT
