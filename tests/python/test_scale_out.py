"""Scale-out on PostgreSQL: two bridge processes on one database and one standalone Salt Edge sandbox,
50 `auto_sync` links. Every link is fetched exactly once per scheduler cycle (claims use
`FOR UPDATE SKIP LOCKED`), both processes take part, concurrent Fetch Transactions on one link from
both processes never duplicate a row, a link whose fetch fails is not hammered within a cycle, and when
one process is killed mid-cycle the other finishes the links it has not claimed."""

import collections
import os
import re
import threading
import time
import xmlrpc.client

import pytest

import harness
from harness import Api, psql, sandbox_transaction_ids, settled, submit_connect


LINKS = 50
PER_ACCOUNT = 40
PENDING = 2
PROVIDER = "musterbank_de"
SCHEDULER_CONCURRENCY = 8  # sync/scheduler.rs CONCURRENT_FETCHES
INTERVAL = 20  # seconds between scheduler cycles (a cycle here takes a few)
DONE = re.compile(r"scheduled fetch done link=(\d+)")
FAILED = re.compile(r"scheduled fetch failed link=(\d+)")


def bridge_env(sandbox, interval):
    return {**sandbox.bridge_env(sync_interval=interval), "BANKBRIDGE_POOL_SIZE": "4", "BANKBRIDGE_WORKERS": "2"}


def fetched(bridge, since=0):
    """(link id → count) of scheduled fetches logged after byte offset `since`."""
    return collections.Counter(int(m) for m in DONE.findall(bridge.log_text()[since:]))


@pytest.fixture(scope="module")
def cluster(module_servers):
    harness.require_postgres()
    # Attempts stay asynchronous but short: this module is about two replicas sharing the work, and its
    # one-shot recovery `sync` follows 50 attempts one after the other.
    sandbox = module_servers.sandbox(env={"BANKBRIDGE_SANDBOX_TRANSACTIONS": str(PER_ACCOUNT), "BANKBRIDGE_SANDBOX_PENDING": str(PENDING), "BANKBRIDGE_SANDBOX_REFRESH_INTERVAL": "0", "BANKBRIDGE_SANDBOX_ATTEMPT_DELAY_MS": "200"})
    # Set-up bridge (no scheduler): 50 connected links.
    setup = module_servers.bridge("postgres", users={"alice": "Acme"}, env=bridge_env(sandbox, 0))
    api = Api(setup, "alice")
    # A real (non-fake) provider of the sandbox: a bridge with Salt Edge credentials lists no fake banks.
    harness.wait_for(lambda: api("account.online.institution", "search_count", [["code", "=", PROVIDER]]), 30, "the institutions")
    links = []
    for i in range(LINKS):
        action = api("account.online.link", "action_new_synchronization", [], institution_code=PROVIDER, email=f"scale{i}@acme.test")
        status, _, body = submit_connect(action["url"], login=f"user{i}")
        assert status == 200, body
        links.append(action["res_id"])
    # No callbacks reach this bridge (the standalone sandbox sends none): it polls each attempt to its end.
    for link in links:
        assert settled(api, link, timeout=120)["state"] == "connected"
    states = api("account.online.link", "search_read", [["id", "in", links]], fields=["state", "auto_sync"])
    assert all(s["state"] == "connected" and s["auto_sync"] for s in states), states
    setup.stop()
    return {"database": setup.database_url, "sandbox": sandbox, "links": links, "keys": setup.keys}


def start_pair(servers, cluster, interval=INTERVAL):
    bridges = [servers.bridge(database=cluster["database"], keys=cluster["keys"], env=bridge_env(cluster["sandbox"], interval), start=False) for _ in range(2)]
    # Every link due now, no claim left over.
    psql(cluster["database"], "UPDATE online_links SET last_refresh = NULL, sync_claimed_by = NULL, sync_claimed_until = NULL")
    threads = [threading.Thread(target=b.start) for b in bridges]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return bridges


def assert_exact_rows(cluster):
    """Every account holds exactly the rows Salt Edge holds (ids and amounts): no duplicate, no gap."""
    db = cluster["database"]
    dupes = psql(db, "SELECT count(*) FROM (SELECT online_account_id, online_transaction_identifier FROM online_transactions GROUP BY 1, 2 HAVING count(*) > 1) d")
    assert dupes == "0"
    accounts = psql(db, "SELECT a.id || ' ' || l.connection_identifier || ' ' || a.online_identifier FROM online_accounts a JOIN online_links l ON l.id = a.account_online_link_id")
    checked = 0
    for line in accounts.splitlines():
        account, connection, online_id = line.split()
        for status, pending in (("posted", False), ("pending", True)):
            stored = psql(db, f"SELECT online_transaction_identifier FROM online_transactions WHERE online_account_id = {account} AND status = '{status}'").split()
            expected = sandbox_transaction_ids(cluster["sandbox"].url, connection, online_id, pending)
            assert len(expected) == len(set(expected))
            assert sorted(stored) == sorted(expected), (account, status, len(stored), len(expected))
            checked += len(expected)
    assert checked >= LINKS * (PER_ACCOUNT + PENDING)


def test_every_link_is_fetched_exactly_once_per_cycle_by_one_of_two_processes(servers, cluster):
    links = set(cluster["links"])
    a, b = start_pair(servers, cluster)
    try:
        # Cycle 1: all 50 links fetched, each by exactly one process.
        harness.wait_for(lambda: sum((fetched(a) + fetched(b)).values()) >= LINKS, INTERVAL, "the first cycle")
        first = fetched(a) + fetched(b)
        assert set(first) == links, sorted(links - set(first))
        assert set(first.values()) == {1}, {k: v for k, v in first.items() if v > 1}
        assert set(fetched(a)) and set(fetched(b)), "both processes take part"
        assert not set(fetched(a)) & set(fetched(b))
        # Cycle 2 (one interval later): again exactly once each, not earlier.
        assert sum((fetched(a) + fetched(b)).values()) == LINKS
        harness.wait_for(lambda: sum((fetched(a) + fetched(b)).values()) >= 2 * LINKS, 2 * INTERVAL + 10, "the second cycle")
        time.sleep(1)
        both = fetched(a) + fetched(b)
        assert set(both) == links and set(both.values()) == {2}, {k: v for k, v in both.items() if v != 2}
        assert FAILED.search(a.log_text() + b.log_text()) is None
    finally:
        a.stop()
        b.stop()
    # Compared once both have stopped, within seconds of the second cycle: while they ran, the third cycle
    # (an interval later) could ask Salt Edge for new rows in the middle of the comparison, which then
    # found an account 6 rows short on a loaded box.
    assert_exact_rows(cluster)


def test_concurrent_fetches_of_one_link_from_both_processes_never_duplicate(servers, cluster):
    # No scheduler here: its own fetch of the link would refresh it behind the test's back.
    a, b = start_pair(servers, cluster, interval=0)
    try:
        link = cluster["links"][0]
        apis = [Api(a, "alice"), Api(b, "alice")]
        account = apis[0]("account.online.account", "search", [["account_online_link_id", "=", link]])[0]
        connection = apis[0].link(link, "connection_identifier")["connection_identifier"]
        online_id = apis[0]("account.online.account", "read", [account], ["online_identifier"])[0]["online_identifier"]
        errors = []

        def press(bridge):
            api = Api(bridge, "alice")  # one connection per thread: a ServerProxy is not thread-safe
            try:
                api("account.online.link", "action_fetch_transactions", [link])
            except xmlrpc.client.Fault as e:
                errors.append(e.faultString)

        for round_ in range(4):
            # New posted rows (settled pending ones) and new pending ones between rounds.
            cluster["sandbox"].admin(f"connections/{connection}/post_pending", {"account_id": online_id, "count": PENDING, "new_pending": PENDING})
            threads = [threading.Thread(target=press, args=(bridge,)) for bridge in (a, b) for _ in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert not errors, errors
            # The buttons return at once; one follower (whichever process started first) imports.
            assert settled(apis[0], link, timeout=120)["state"] == "connected"
            rows = apis[0]("account.online.transaction", "search_read", [["online_account_id", "=", account]], fields=["online_transaction_identifier", "status"])
            identifiers = [r["online_transaction_identifier"] for r in rows]
            assert len(identifiers) == len(set(identifiers)), round_
            for status, is_pending in (("posted", False), ("pending", True)):
                stored = sorted(r["online_transaction_identifier"] for r in rows if r["status"] == status)
                expected = sorted(sandbox_transaction_ids(cluster["sandbox"].url, connection, online_id, is_pending))
                assert stored == expected, (round_, status, sorted(set(expected) - set(stored)), sorted(set(stored) - set(expected)), psql(cluster["database"], f"SELECT last_transaction_identifier FROM online_accounts WHERE id = {account}"))
            assert len(rows) >= PER_ACCOUNT + PENDING * (round_ + 2)
    finally:
        a.stop()
        b.stop()


def test_a_failing_link_is_not_refetched_within_a_cycle(servers, cluster):
    """A fetch that fails (here: Salt Edge answers garbage) leaves the link claimed until a later cycle;
    released at once, the link was due again and both processes fetched it in a tight loop."""
    cluster["sandbox"].faults(mode="malformed", every_nth=1)
    a, b = start_pair(servers, cluster)
    try:
        time.sleep(INTERVAL * 0.75)
        failures = collections.Counter(int(m) for m in FAILED.findall(a.log_text() + b.log_text()))
        assert set(failures) == set(cluster["links"]), len(failures)
        assert set(failures.values()) == {1}, max(failures.values())
    finally:
        cluster["sandbox"].faults(mode="none")
        a.stop()
        b.stop()


def test_one_process_killed_mid_cycle_the_other_finishes(servers, cluster):
    cluster["sandbox"].faults(mode="slow", every_nth=1, delay_ms=60)
    # A long interval: the one cycle under test is the only one in the window.
    a, b = start_pair(servers, cluster, interval=120)
    try:
        harness.wait_for(lambda: sum(fetched(a).values()) >= 5, 60, "process A's first fetches")
        a.kill()
        killed_done = fetched(a)
        held = {int(x) for x in psql(cluster["database"], f"SELECT id FROM online_links WHERE sync_claimed_by LIKE '{a.pid}-%'").split()}
        assert len(held) <= SCHEDULER_CONCURRENCY, held  # A follows at most that many links at once
        # B finishes every link A had not finished; the one A was fetching stays leased to A (600 s).
        remaining = set(cluster["links"]) - set(killed_done) - held
        harness.wait_for(lambda: remaining <= set(fetched(b)), 90, "process B to finish")
        time.sleep(1)
        by_b = fetched(b)
        assert set(by_b.values()) == {1}
        assert not set(by_b) & set(killed_done), "a link fetched twice in one cycle"
        assert set(cluster["links"]) - set(killed_done) - set(by_b) <= held
    finally:
        cluster["sandbox"].faults(mode="none")
        a.stop()
        b.stop()
    # Recovery: a one-shot sync of everything (what the next cycle does once the lease ends) is exact.
    env = dict(os.environ, DATABASE_URL=cluster["database"], **bridge_env(cluster["sandbox"], 0))
    out = harness.run_cli("sync", env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    assert_exact_rows(cluster)
