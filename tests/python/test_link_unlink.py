"""`unlink` of many links looks them up at once (issue 24, defect 4). Before, the hook that revokes a
link's consent before it is deleted read each link in its own database task: 30,000 ids took 2.1 s on
SQLite and 3.0 s on PostgreSQL here (3-9 s in the review), one round trip per id. Now the links that still
have a Salt Edge connection are read in one query per 10,000 ids; only those talk to Salt Edge. The
database tasks a call runs are counted by the bridge's own metric (`bankbridge_db_wait_seconds_count`)."""

import re
import urllib.request
import xmlrpc.client

import pytest

from harness import Api, connect, settled


def database_tasks(bridge):
    with urllib.request.urlopen(f"{bridge.url}/metrics", timeout=30) as r:
        text = r.read().decode()
    return float(re.search(r"^bankbridge_db_wait_seconds_count (\S+)$", text, re.M).group(1))


@pytest.fixture(scope="module")
def linked(backend_servers):
    server = backend_servers.bridge(users={"vera": "Acme"})
    return server, Api(server, "vera")


def test_unlink_of_many_links_reads_them_at_once(linked):
    server, api = linked
    ids = []
    for start in range(0, 6000, 2000):
        ids += api("account.online.link", "create", [{"name": f"old {i}"} for i in range(start, start + 2000)])
    before = database_tasks(server)
    assert api("account.online.link", "unlink", ids) is True
    tasks = database_tasks(server) - before
    print(f"unlink of {len(ids)} links ran {tasks:.0f} database tasks")
    # The credential check and the lookup, the delete: a few tasks, not one per link (6,000 before).
    assert tasks <= 5, tasks
    assert api("account.online.link", "search_count", [["id", "in", ids]]) == 0


def test_a_connected_link_among_them_is_revoked_and_kept_with_the_others(linked):
    _, api = linked
    link, *_ = connect(api, "vera@acme.test")
    assert settled(api, link)["state"] == "connected"
    others = api("account.online.link", "create", [{"name": f"plain {i}"} for i in range(500)])
    with pytest.raises(xmlrpc.client.Fault) as err:
        api("account.online.link", "unlink", others + [link])
    assert "still exists at the bank" in err.value.faultString
    label = api.link(link, "name")["name"]
    assert f'"{label}"' in err.value.faultString
    # The call changed nothing but the consent: every record is still there, the link's consent revoked.
    assert api("account.online.link", "search_count", [["id", "in", others + [link]]]) == len(others) + 1
    assert api.link(link, "state")["state"] == "disconnected"
