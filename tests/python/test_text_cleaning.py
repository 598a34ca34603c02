"""One cleaning point for stored text (issue 10 items 7 and 8): text that XML 1.0 cannot carry (C0 controls
other than tab, LF and CR, NUL, U+FFFE, U+FFFF) never reaches storage, whichever way a client sends it. JSON
can carry such characters; if one were stored, every later XML-RPC answer carrying it would be unreadable for
Python clients (expat refuses the whole answer) and PostgreSQL would refuse the NUL."""

import harness

DIRTY = "a\u0000b\u0001c\u001fd\ufffee\uffff f\tg\nh\ri"
CLEAN = "abcde f\tg\nh\ri"


def jsonrpc_execute(bridge, login, *args):
    api = harness.Api(bridge, login)
    answer = harness.jsonrpc(f"{bridge.url}/jsonrpc", {
        "service": "object", "method": "execute_kw", "args": [bridge.db, api.uid, api.key, *args]})
    assert "error" not in answer, answer
    return answer["result"]


def test_text_from_json_clients_is_cleaned_before_it_is_stored(bridge):
    link = jsonrpc_execute(bridge, "alice", "account.online.link", "create", [{"name": DIRTY}], {})
    account = jsonrpc_execute(bridge, "alice", "account.online.account", "create",
                              [{"name": "acc", "account_online_link_id": link}], {})
    jsonrpc_execute(bridge, "alice", "account.online.account", "write", [[account], {"account_number": DIRTY}], {})
    alice = harness.Api(bridge, "alice")
    # Readable by Python's XML-RPC client, cleaned, and the same through JSON.
    [row] = alice("account.online.link", "search_read", [["id", "=", link]], fields=["name"])
    assert row["name"] == CLEAN
    [acc] = alice("account.online.account", "read", [account], ["account_number"])
    assert acc["account_number"] == CLEAN
    assert jsonrpc_execute(bridge, "alice", "account.online.link", "read", [[link], ["name"]], {}) == [{"id": link, "name": CLEAN}]
