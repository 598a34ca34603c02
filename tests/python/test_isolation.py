"""Authentication and company isolation, exhaustively: every `object` call without valid credentials is
fault 3; a user of one company cannot read, search, write or unlink another company's records by any
route (ids, domains, dotted paths, `any`, x2many commands, name_search, exists); no answer carries a
secret; repeated wrong credentials are throttled; callbacks whose signature does not verify change
nothing (and a correctly signed one does, so the check is not vacuous). test_external_api.py and
test_sync_flow.py hold the basic cases."""

import datetime
import json
import subprocess
import time
import xmlrpc.client

import pytest

import harness
from harness import Api, connect, post_callback, settled, sign

MODELS = ["account.online.link", "account.online.account", "account.online.transaction", "account.online.institution", "res.company", "res.users", "ir.model"]
GENERIC = ["search", "search_count", "read", "search_read", "name_search", "exists", "fields_get", "check_access_rights", "default_get", "create", "write", "unlink"]
BUTTONS = ["action_fetch_transactions", "action_new_synchronization", "action_update_credentials", "action_revoke_consent", "action_remove_connection", "action_fetch_accounts"]
SECRET_NAME_PARTS = ("password", "hash", "secret", "token", "api_key", "private")


@pytest.fixture(scope="module")
def world(bridge):
    """Alice's (Acme) link with an account and a transaction, and Bob (Globex) with his own."""
    alice, bob = Api(bridge, "alice"), Api(bridge, "bob")
    a_link = alice("account.online.link", "create", {"name": "Acme Bank", "renewal_contact_email": "cfo@acme.test"})
    a_acc = alice("account.online.account", "create", {"name": "Acme EUR", "account_online_link_id": a_link, "account_number": "DE-ACME"})
    a_tx = alice("account.online.transaction", "create", {"online_transaction_identifier": "acme-1", "date": "2024-01-02", "amount": 42.0, "online_account_id": a_acc, "payment_ref": "acme secret payment"})
    b_link = bob("account.online.link", "create", {"name": "Globex Bank"})
    b_acc = bob("account.online.account", "create", {"name": "Globex USD", "account_online_link_id": b_link})
    return alice, bob, {"account.online.link": a_link, "account.online.account": a_acc, "account.online.transaction": a_tx}, {"link": b_link, "account": b_acc}


def test_every_object_call_without_valid_credentials_is_fault_3(bridge, world):
    alice, _, acme, _ = world
    models = xmlrpc.client.ServerProxy(f"{bridge.url}/xmlrpc/2/object", allow_none=True)
    common = xmlrpc.client.ServerProxy(f"{bridge.url}/xmlrpc/2/common")
    # Wrong keys get a uid throttled, so the attempts aim at users of their own (not alice and bob).
    stamp = int(time.time() * 1000) % 1_000_000
    victim_key = bridge.add_user(f"victim{stamp}", company="Acme")
    other_key = bridge.add_user(f"other{stamp}", company="Globex")
    victim = common.authenticate(bridge.db, f"victim{stamp}", victim_key, {})
    other = common.authenticate(bridge.db, f"other{stamp}", other_key, {})
    bridge.cli("user", "passwd", f"other{stamp}", stdin="other-password-1\n")
    bad_credentials = [
        (victim, "not-the-key"),
        (victim, ""),
        (victim, victim_key[:-1]),
        (victim, victim_key.upper()),
        (victim, other_key),  # someone else's key
        (victim, "other-password-1"),  # someone else's password
        (0, victim_key),
        (-1, victim_key),
        (999_999, victim_key),
        (victim, 12345),
        (victim, None),
        (victim, [victim_key]),
        (str(victim), victim_key),
        (True, victim_key),
        (None, victim_key),
    ]
    calls = 0
    for model in MODELS:
        for method in GENERIC + BUTTONS + ["no_such_method", "_private"]:
            for uid, key in bad_credentials[:: 1 if model == "account.online.link" else 5]:
                err = harness.fault_of(lambda: models.execute_kw(bridge.db, uid, key, model, method, [[acme["account.online.link"]]], {}))
                assert (err.faultCode, err.faultString) == (3, "Access Denied"), (model, method, uid, err.faultString)
                calls += 1
    # Malformed calls without credentials learn nothing about their shape either.
    for params in [(bridge.db,), (bridge.db, victim), (bridge.db, victim, "x", 42), (bridge.db, victim, "x", "account.online.link", "search", "not a list"), (123, victim, "x", "nope", "nope")]:
        err = harness.fault_of(lambda: models.execute_kw(*params))
        assert err.faultCode == 3, params
    err = harness.fault_of(lambda: models.execute(bridge.db, victim, "wrong", "account.online.link", "search", []))
    assert err.faultCode == 3
    # The legacy endpoint and JSON-RPC say the same.
    legacy = xmlrpc.client.ServerProxy(f"{bridge.url}/xmlrpc/object")
    assert harness.fault_of(lambda: legacy.execute_kw(bridge.db, victim, "wrong", "account.online.link", "search", [[]])).faultCode == "AccessDenied"
    answer = harness.jsonrpc(f"{bridge.url}/jsonrpc", {"service": "object", "method": "execute_kw", "args": [bridge.db, victim, "wrong", "account.online.link", "search", [[]]]})
    assert "error" in answer and "AccessDenied" in json.dumps(answer["error"]), answer
    answer = harness.jsonrpc(f"{bridge.url}/web/dataset/call_kw", {"model": "account.online.link", "method": "search", "args": [[]], "kwargs": {}})
    assert "error" in answer and "result" not in answer
    assert calls > 200
    # Nothing changed.
    assert alice("account.online.link", "read", [acme["account.online.link"]], ["name"])[0]["name"] == "Acme Bank"


def test_another_company_can_neither_see_nor_touch_records(world):
    alice, bob, acme, globex = world
    snapshot = {model: alice(model, "read", [rid]) for model, rid in acme.items()}
    for model, rid in acme.items():
        assert rid not in bob(model, "search", [])
        assert bob(model, "search", [["id", "=", rid]]) == []
        assert bob(model, "search", [["id", "in", [rid]]]) == []
        assert bob(model, "search_count", [["id", "=", rid]]) == 0
        assert bob(model, "search_read", [["id", "=", rid]]) == []
        assert bob(model, "exists", [rid]) == []
        assert all(r[0] != rid for r in bob(model, "name_search", ""))
        # Naming it is Odoo's access error (fault 4), also among one's own records; the snapshot below shows
        # nothing changed.
        writable = {"account.online.link": {"name": "pwned"}, "account.online.account": {"name": "pwned"}, "account.online.transaction": {"payment_ref": "pwned"}}[model]
        own = {"account.online.link": globex["link"], "account.online.account": globex["account"]}.get(model)
        calls = [("read", ([rid],)), ("name_get", ([rid],)), ("write", ([rid], writable)), ("unlink", ([rid],))]
        if own:
            calls += [("read", ([rid, own], ["id"])), ("write", ([own, rid], writable))]
        for method, args in calls:
            assert harness.fault_of(lambda: bob(model, method, *args)).faultCode == 4, (model, method)
    # Domains that walk into the other company's records find nothing.
    a_link, a_acc = acme["account.online.link"], acme["account.online.account"]
    assert bob("account.online.account", "search", [["account_online_link_id", "=", a_link]]) == []
    assert bob("account.online.transaction", "search", [["online_account_id", "=", a_acc]]) == []
    assert bob("account.online.transaction", "search", [["online_account_id.account_online_link_id.name", "=", "Acme Bank"]]) == []
    assert bob("account.online.link", "search", [["account_online_account_ids", "any", [["name", "=", "Acme EUR"]]]]) == []
    assert bob("account.online.link", "search", [["account_online_account_ids", "in", [a_acc]]]) == []
    assert bob("account.online.transaction", "search_count", [["payment_ref", "ilike", "acme secret"]]) == 0
    assert bob("account.online.link", "search_count", ["|", ["name", "=", "Acme Bank"], ["renewal_contact_email", "=", "cfo@acme.test"]]) == 0
    assert bob("account.online.link", "search", [["company_id.name", "=", "Acme"]]) == []
    # Only their own company and users.
    assert [c["name"] for c in bob("res.company", "search_read", [], fields=["name"])] == ["Globex"]
    assert "alice" not in {u["login"] for u in bob("res.users", "search_read", [], fields=["login"])}
    acme_company = alice("res.company", "search", [])[0]
    assert harness.fault_of(lambda: bob("res.company", "read", [acme_company])).faultCode == 4
    # No pointer from Globex's records to Acme's, by create, write or x2many command.
    # (model, method, arguments, the outcome: fault 2 for a pointer to a record that is not visible, as to
    # one that does not exist; fault 4 for another company's record or company, as Odoo's record rules)
    attempts = [
        ("account.online.account", "create", ({"name": "hijack", "account_online_link_id": a_link},), 2),
        ("account.online.transaction", "create", ({"online_transaction_identifier": "x", "date": "2024-01-01", "amount": 1, "online_account_id": a_acc},), 2),
        ("account.online.account", "write", ([globex["account"]], {"account_online_link_id": a_link}), 2),
        ("account.online.link", "write", ([globex["link"]], {"account_online_account_ids": [[4, a_acc]]}), 4),
        ("account.online.link", "write", ([globex["link"]], {"account_online_account_ids": [[6, 0, [a_acc]]]}), 4),
        ("account.online.link", "write", ([globex["link"]], {"account_online_account_ids": [[1, a_acc, {"name": "pwned"}]]}), 4),
        ("account.online.link", "write", ([globex["link"]], {"account_online_account_ids": [[2, a_acc]]}), 4),
        ("account.online.link", "write", ([globex["link"]], {"account_online_account_ids": [[3, a_acc]]}), 4),
        ("account.online.link", "create", ({"name": "x", "company_id": acme_company},), 4),
        ("account.online.link", "write", ([globex["link"]], {"company_id": acme_company}), 4),
    ]

    def outcome(model, method, args):
        try:
            return bob(model, method, *args)
        except xmlrpc.client.Fault as err:
            return err.faultCode

    outcomes = [(model, method, outcome(model, method, args)) for model, method, args, _ in attempts]
    assert outcomes == [(model, method, expected) for model, method, _, expected in attempts]
    assert bob("account.online.account", "search", [["account_online_link_id", "=", a_link]]) == []
    assert alice("account.online.account", "read", [a_acc], ["account_online_link_id"])[0]["account_online_link_id"][0] == a_link
    for model, rid in acme.items():
        assert alice(model, "read", [rid]) == snapshot[model], model
    # Bob's buttons on Alice's link: Odoo's access error, before the button does anything.
    for method in BUTTONS:
        assert harness.fault_of(lambda: bob("account.online.link", method, [a_link])).faultCode == 4, method


def test_no_answer_carries_a_secret(bridge, world):
    alice, bob, *_ = world
    secrets = [*bridge.keys.values(), "alice-password-1", "$argon2"]
    for api in (alice, bob):
        for model in MODELS:
            fields = api(model, "fields_get")
            for name in fields:
                assert not any(part in name for part in SECRET_NAME_PARTS), (model, name)
            answers = [fields, api(model, "search_read", []), api(model, "search_read", [], fields=[]), api(model, "fields_get", list(fields), attributes=["string", "help", "type", "relation", "selection", "readonly", "required"])]
            ids = api(model, "search", [])
            if ids:
                answers.append(api(model, "read", ids))
                answers.append(api(model, "read", ids, []))
            answers.append(api(model, "default_get", list(fields)))
            text = json.dumps(answers, default=str)
            for secret in secrets:
                assert secret not in text, (model, secret[:6])
            for name in ("password", "password_hash", "key_hash", "customer_secret", "connection_secret", "secret"):
                err = harness.fault_of(lambda: api(model, "read", ids[:1] or [1], [name]))
                assert err.faultCode == 1 and "$argon2" not in err.faultString, (model, name, err.faultString)
                err = harness.fault_of(lambda: api(model, "search", [[name, "=like", "$argon2%"]]))
                assert err.faultCode == 1, (model, name)


def test_repeated_wrong_keys_for_a_uid_are_throttled(bridge):
    """Object calls (test_credentials.py covers `common.authenticate`): after ten wrong keys for a uid,
    even the right key is refused for a while, and refused fast (no argon2 work for an attacker to cause)."""
    login = f"throttled{int(time.time() * 1000) % 1_000_000}"
    key = bridge.add_user(login, company="Throttle Inc")
    uid = xmlrpc.client.ServerProxy(f"{bridge.url}/xmlrpc/2/common").authenticate(bridge.db, login, key, {})
    models = xmlrpc.client.ServerProxy(f"{bridge.url}/xmlrpc/2/object")
    assert models.execute_kw(bridge.db, uid, key, "account.online.link", "search_count", [[]]) == 0
    for i in range(10):
        assert harness.fault_of(lambda: models.execute_kw(bridge.db, uid, f"guess-{i}", "account.online.link", "search", [[]])).faultCode == 3
    started = time.time()
    for _ in range(20):
        err = harness.fault_of(lambda: models.execute_kw(bridge.db, uid, key, "account.online.link", "search", [[]]))
        assert (err.faultCode, err.faultString) == (3, "Access Denied")
    assert time.time() - started < 5


# -- callbacks --------------------------------------------------------------------------------------

def test_callbacks_with_a_bad_signature_change_nothing(bridge, tmp_path):
    alice = Api(bridge, "alice")
    link, *_ = connect(alice, "callbacks@acme.test")
    fields = ("state", "connection_identifier", "error_message")
    before = settled(alice, link, fields=fields)
    assert before["state"] == "connected"
    customer = alice.link(link, "client_id")["client_id"]
    body = json.dumps({"data": {"connection_id": before["connection_identifier"], "customer_id": customer, "error_class": "InvalidCredentials", "error_message": "forged"}, "meta": {"version": "6", "time": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}}).encode()
    url = f"{bridge.url}/saltedge/callbacks/fail"
    other_key = tmp_path / "other.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(other_key), "2048"], check=True, capture_output=True)
    forged = {
        "signed by another key": (body, sign(f"{url}|".encode() + body, other_key)),
        "body changed after signing": (body.replace(b"forged", b"forgeD"), sign(f"{url}|".encode() + body)),
        "signed for another callback": (body, sign(f"{bridge.url}/saltedge/callbacks/notify|".encode() + body)),
        "signed for another host": (body, sign(f"http://evil.invalid/saltedge/callbacks/fail|".encode() + body)),
        "signature of the body alone": (body, sign(body)),
        "truncated signature": (body, sign(f"{url}|".encode() + body)[:-8]),
        "not base64": (body, "!!!!"),
        "empty": (body, ""),
    }
    for name, (payload, signature) in forged.items():
        assert post_callback(bridge, "fail", payload, signature) in (400, 401, 403), name
        assert alice.link(link, *fields) == before, name
    # The same body, correctly signed, is accepted and acted on: the checks above are not vacuous.
    assert post_callback(bridge, "fail", body, sign(f"{url}|".encode() + body)) == 200
    after = alice.link(link, *fields)
    assert after != before and after["state"] == "error", after
