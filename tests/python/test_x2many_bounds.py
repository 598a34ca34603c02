"""x2many creates are set-based and bounded per call (issue 24, defect 2). Before: `write(ids, {one2many:
[(0, 0, vals)] × n})` created the records one by one inside the write transaction: on SQLite (0, 0, …) × 30
on 30,000 links took 110 s, and another company's create failed after 33 s with "Internal server error"
(database is locked); on PostgreSQL 20,000 links took 389 s. Now the values are checked once and inserted
with one statement per chunk of parents, and a call that would create more than 10,000 records is refused
at once with a message saying so."""

import threading
import time
import xmlrpc.client

import pytest

from harness import Api

MAX_CREATES = 10_000  # orm/write.rs MAX_X2MANY_CREATES


@pytest.fixture(scope="module")
def companies(backend_servers):
    server = backend_servers.bridge(users={"sara": "Acme", "tom": "Globex"})
    return server, Api(server, "sara"), Api(server, "tom")


def create_links(api, n, prefix):
    ids = []
    for start in range(0, n, 2000):
        ids += api("account.online.link", "create", [{"name": f"{prefix}{i}"} for i in range(start, min(n, start + 2000))])
    return ids


def test_a_create_on_every_parent_is_one_set(companies):
    _, sara, _ = companies
    links = create_links(sara, 4000, "set-")
    commands = [(0, 0, {"name": "Current"}), (0, 0, {"name": "Savings", "currency_code": "EUR"})]
    assert sara("account.online.link", "write", links, {"account_online_account_ids": commands}) is True
    rows = sara("account.online.account", "search_read", [["account_online_link_id", "in", links]],
                fields=["name", "currency_code", "account_online_link_id", "company_id", "create_date"])
    assert len(rows) == 2 * len(links)
    by_link = {}
    for row in rows:
        by_link.setdefault(row["account_online_link_id"][0], []).append((row["name"], row["currency_code"]))
        assert row["company_id"] and row["create_date"]
    assert set(by_link) == set(links)
    assert all(sorted(v) == [("Current", False), ("Savings", "EUR")] for v in by_link.values())
    # A create with nested lines, set-based too.
    link = sara("account.online.link", "create", {"name": "nested", "account_online_account_ids": [(0, 0, {"name": f"n{i}"}) for i in range(3)]})
    assert sara("account.online.account", "search_count", [["account_online_link_id", "=", link]]) == 3
    # The values are checked once, before anything is written: a bad one fails the whole call.
    with pytest.raises(xmlrpc.client.Fault) as err:
        sara("account.online.link", "write", links[:10], {"account_online_account_ids": [(0, 0, {"name": "x"}), (0, 0, {"nope": 1})]})
    assert "nope" in err.value.faultString
    assert sara("account.online.account", "search_count", [["account_online_link_id", "in", links[:10]], ["name", "=", "x"]]) == 0


def test_a_call_that_would_create_too_many_is_refused_at_once(companies):
    server, sara, tom = companies
    links = create_links(sara, 3400, "bound-")
    commands = [(0, 0, {"name": f"account {k}"}) for k in range(3)]  # 10,200 records
    outcome = {}

    def big_write():
        started = time.monotonic()
        try:
            sara("account.online.link", "write", links, {"account_online_account_ids": commands})
            outcome["big"] = "written"
        except xmlrpc.client.Fault as e:
            outcome["big"] = e
        outcome["seconds"] = time.monotonic() - started

    writer = threading.Thread(target=big_write)
    writer.start()
    # Another company writes meanwhile.
    assert isinstance(tom("account.online.link", "create", {"name": "Globex bank"}), int)
    writer.join()
    fault = outcome["big"]
    assert isinstance(fault, xmlrpc.client.Fault), fault
    assert fault.faultCode == 2 and f"at most {MAX_CREATES} records per call" in fault.faultString, fault.faultString
    assert "account_online_account_ids" in fault.faultString
    # Nothing of it was written (one transaction), and the same write in two calls goes through.
    assert sara("account.online.account", "search_count", [["account_online_link_id", "in", links]]) == 0
    for half in (links[:1700], links[1700:]):
        assert sara("account.online.link", "write", half, {"account_online_account_ids": commands}) is True
    assert sara("account.online.account", "search_count", [["account_online_link_id", "in", links]]) == 3 * len(links)
