"""x2many commands on many records at once and the cap on ids per call (issue 10 items 6 and 12): a write to
many parents runs each command set-based (one statement per chunk, Odoo's meaning per parent), and a call naming
more than 30,000 ids gets a clear fault 2 instead of holding the database for a minute."""

import xmlrpc.client

import pytest

from harness import Api


@pytest.fixture(scope="module")
def alice(bridge):
    return Api(bridge, "alice")


def test_commands_apply_to_every_record_of_a_write(alice):
    links = alice("account.online.link", "create", [{"name": f"bulk parent {i}"} for i in range(300)])
    alice("account.online.link", "write", links, {"account_online_account_ids": [[0, 0, {"name": "bulk child"}]]})
    children = alice("account.online.account", "search", [["account_online_link_id", "in", links]])
    assert len(children) == 300
    # (4, id) on several parents: the record ends on the last one, as Odoo's successive writes leave it.
    alice("account.online.link", "write", links[:3], {"account_online_account_ids": [[4, children[0]]]})
    [row] = alice("account.online.account", "read", [children[0]], ["account_online_link_id"])
    assert row["account_online_link_id"][0] == links[2]
    # (6, 0, ids) keeps exactly those lines on each parent; (5,) removes every line of every parent.
    alice("account.online.link", "write", links[:10], {"account_online_account_ids": [[6, 0, [children[0]]]]})
    assert alice("account.online.account", "search_count", [["account_online_link_id", "in", links[:10]]]) == 1
    alice("account.online.link", "write", links, {"account_online_account_ids": [[5]]})
    assert alice("account.online.account", "search_count", [["account_online_link_id", "in", links]]) == 0
    assert alice("account.online.link", "unlink", links) is True


def test_more_than_30000_ids_in_one_call_is_a_clear_fault(alice):
    for method, args in (("read", [list(range(1, 30_002)), ["name"]]), ("write", [list(range(1, 30_002)), {"name": "x"}]),
                         ("unlink", [list(range(1, 30_002))])):
        with pytest.raises(xmlrpc.client.Fault) as err:
            alice("account.online.link", method, *args)
        assert err.value.faultCode == 2, method
        assert err.value.faultString.startswith("Too many record ids in one call (30001)"), err.value.faultString
    # 30,000 is still one call: the records that exist among them, in the order given.
    found = [r["id"] for r in alice("account.online.link", "read", list(range(1, 30_001)), ["id"])]
    assert found == alice("account.online.link", "search", [["id", "<=", 30_000]], order="id")
