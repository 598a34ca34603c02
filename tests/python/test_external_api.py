"""The Odoo 17 External API documentation's examples, adapted to the bridge's models, run with Python's
xmlrpc.client against the real binary (SQLite and PostgreSQL; with and without allow_none)."""

import xmlrpc.client

import pytest

import harness


@pytest.fixture(params=[False, True], ids=["allow_none=False", "allow_none=True"])
def api(request, bridge):
    api = harness.Api(bridge, "alice", allow_none=request.param)
    assert isinstance(api.uid, int) and api.uid > 0
    return api


def make_link(api, name, **extra):
    return api("account.online.link", "create", {"name": name, **extra})


def test_version(api):
    version = api.common.version()
    assert version["server_serie"] == "17.0"
    assert version["server_version_info"][:2] == [17, 0]
    assert version["protocol_version"] == 1


def test_authenticate_wrong_password_is_false_not_a_fault(bridge, api):
    assert api.common.authenticate(bridge.db, "alice", "wrong", {}) is False
    assert api.common.login(bridge.db, "nobody", "x") is False
    # A password works as well as an API key.
    assert api.common.authenticate(bridge.db, "alice", "alice-password-1", {}) == api.uid


def test_every_object_call_rechecks_credentials(bridge, api):
    with pytest.raises(xmlrpc.client.Fault) as err:
        api.models.execute_kw(bridge.db, api.uid, "not-the-key", "account.online.link", "search", [[]])
    assert err.value.faultCode == 3 and err.value.faultString == "Access Denied"


def test_check_access_rights(api):
    assert api("account.online.link", "check_access_rights", "read", raise_exception=False) is True
    assert api("account.online.institution", "check_access_rights", "write", raise_exception=False) is False
    with pytest.raises(xmlrpc.client.Fault) as err:
        api("account.online.institution", "check_access_rights", "write")
    assert err.value.faultCode == 4


def test_search_paging_and_count(api):
    tag = f"paging-{api.allow_none}"
    ids = [make_link(api, f"{tag} {i:02d}", auto_sync=(i % 2 == 0)) for i in range(12)]
    domain = [["name", "=like", f"{tag}%"]]
    found = api("account.online.link", "search", domain)
    assert found == ids
    assert api("account.online.link", "search", domain, offset=10, limit=5) == ids[10:]
    assert api("account.online.link", "search", domain, limit=3, order="name desc") == ids[::-1][:3]
    assert api("account.online.link", "search_count", domain) == 12
    assert api("account.online.link", "search_count", domain + [["auto_sync", "=", True]]) == 6
    assert api("account.online.link", "search_count", ["|", ["name", "=", f"{tag} 01"], ["name", "=", f"{tag} 02"]]) == 2
    assert api("account.online.link", "search_count", domain + ["!", ["auto_sync", "=", True]]) == 6


def test_read_with_fields_returns_odoo_wire_values(api):
    link = make_link(api, "Read me")
    account = api("account.online.account", "create", {"name": "Checking", "account_online_link_id": link})
    [record] = api("account.online.link", "read", [link], fields=["name", "company_id", "last_refresh", "account_online_account_ids", "state"])
    assert record == {
        "id": link,
        "name": "Read me",
        "company_id": [record["company_id"][0], "Acme"],
        "last_refresh": False,
        "account_online_account_ids": [account],
        "state": "disconnected",
    }
    [acc] = api("account.online.account", "read", [account], fields=["account_online_link_id", "balance", "last_sync"])
    assert acc["account_online_link_id"] == [link, "Read me"]
    assert acc["balance"] == 0.0 and acc["last_sync"] is False


def test_fields_get_with_attributes(api):
    fields = api("account.online.link", "fields_get", attributes=["string", "help", "type"])
    # As in Odoo, `help` is described only for fields that have one.
    assert fields["state"] == {"string": "State", "type": "selection"}
    assert fields["auto_sync"]["help"].startswith("If possible")
    assert fields["institution_id"]["type"] == "many2one"
    full = api("account.online.link", "fields_get", ["state", "account_online_account_ids", "institution_id"])
    assert full["state"]["selection"] == [["connected", "Connected"], ["fetching", "Synchronization running"], ["error", "Error"], ["disconnected", "Not Connected"]]
    assert full["state"]["readonly"] is True and full["state"]["required"] is True
    assert full["account_online_account_ids"]["relation"] == "account.online.account"
    assert full["account_online_account_ids"]["relation_field"] == "account_online_link_id"
    assert full["institution_id"]["relation"] == "account.online.institution"
    every = api("account.online.link", "fields_get")
    for secret in ("customer_secret", "connection_secret", "secret", "access_token", "refresh_token"):
        assert secret not in every


def test_search_read(api):
    link = make_link(api, "Search read bank", renewal_contact_email="cfo@example.com")
    rows = api("account.online.link", "search_read", [["renewal_contact_email", "=", "cfo@example.com"]], fields=["name", "state"], limit=5)
    assert {"id": link, "name": "Search read bank", "state": "disconnected"} in rows


def test_create_write_unlink_then_read_faults(api):
    new_id = api("account.online.link", "create", {"name": "New Bank"})
    assert isinstance(new_id, int)
    assert api("account.online.link", "write", [new_id], {"name": "Newer Bank"}) is True
    assert api("account.online.link", "read", [new_id], ["display_name"]) == [{"id": new_id, "display_name": "Newer Bank"}]
    assert api("account.online.link", "unlink", [new_id]) is True
    assert api("account.online.link", "search", [["id", "=", new_id]]) == []
    # As in Odoo (its multi-company rule reads each record's company first): a record that is gone is left
    # out of read's answer, and writing to it or deleting it again is a missing error (fault 2).
    assert api("account.online.link", "read", [new_id]) == []
    for method, args in (("write", ([new_id], {"name": "Ghost"})), ("unlink", ([new_id],))):
        with pytest.raises(xmlrpc.client.Fault) as err:
            api("account.online.link", method, *args)
        assert err.value.faultCode == 2, method
        assert err.value.faultString.startswith("Record does not exist or has been deleted."), err.value.faultString
    assert api("account.online.link", "search", [["name", "=", "Ghost"]]) == []


def test_batch_create_and_x2many_commands(api):
    ids = api("account.online.link", "create", [{"name": "Batch A"}, {"name": "Batch B"}])
    assert len(ids) == 2
    link = ids[0]
    api("account.online.link", "write", [link], {"account_online_account_ids": [[0, 0, {"name": "Savings"}], [0, 0, {"name": "Card"}]]})
    [rec] = api("account.online.link", "read", [link], ["account_online_account_ids"])
    savings, card = rec["account_online_account_ids"]
    api("account.online.link", "write", [link], {"account_online_account_ids": [[1, savings, {"name": "Savings EUR"}], [2, card]]})
    rows = api("account.online.account", "search_read", [["account_online_link_id", "=", link]], fields=["name"])
    assert rows == [{"id": savings, "name": "Savings EUR"}]
    api("account.online.link", "write", [link], {"account_online_account_ids": [[5]]})
    assert api("account.online.account", "search_count", [["account_online_link_id", "=", link]]) == 0
    # (4, id) moves an account here; (6, 0, ids) keeps exactly those.
    other = ids[1]
    a, b = api("account.online.account", "create", [{"name": "A", "account_online_link_id": other}, {"name": "B", "account_online_link_id": other}])
    api("account.online.link", "write", [link], {"account_online_account_ids": [[4, a]]})
    assert api("account.online.account", "search", [["account_online_link_id", "=", link]]) == [a]
    c = api("account.online.account", "create", {"name": "C", "account_online_link_id": link})
    api("account.online.link", "write", [link], {"account_online_account_ids": [[6, 0, [c, b]]]})
    assert api("account.online.account", "search", [["account_online_link_id", "=", link]], order="id") == [b, c]
    assert api("account.online.account", "search_count", [["id", "=", a]]) == 0
    # As in Odoo, a command it does not know is ignored, and a value that is no list of commands is fault 1.
    assert api("account.online.link", "write", [link], {"account_online_account_ids": [[9, 1]]}) is True
    assert api("account.online.account", "search", [["account_online_link_id", "=", link]], order="id") == [b, c]
    with pytest.raises(xmlrpc.client.Fault) as err:
        api("account.online.link", "write", [link], {"account_online_account_ids": "not a list"})
    assert err.value.faultCode == 1 and "Wrong value" in err.value.faultString


def test_dotted_paths_and_operators(api):
    name = f"Dotted Bank {api.allow_none}"
    link = make_link(api, name)
    api("account.online.account", "create", [
        {"name": "Main EUR", "account_online_link_id": link, "currency_code": "EUR", "account_number": "DE89"},
        {"name": "Side USD", "account_online_link_id": link, "currency_code": "USD"},
    ])
    mine = ["account_online_link_id.name", "=", name]
    by_link = api("account.online.account", "search_read", [["account_online_link_id.name", "ilike", name.lower()]], fields=["name"], order="name")
    assert [r["name"] for r in by_link] == ["Main EUR", "Side USD"]
    assert api("account.online.account", "search_count", [mine, ["account_number", "=", False]]) == 1
    assert api("account.online.account", "search_count", [mine, ["currency_code", "in", ["EUR", "GBP"]]]) == 1
    assert api("account.online.account", "search_count", [mine, ["currency_code", "not in", ["EUR"]]]) == 1
    assert api("account.online.account", "search_count", [mine, ["name", "like", "EUR"]]) == 1
    assert api("account.online.account", "search_count", [mine, ["name", "like", "eur"]]) == 0
    assert api("account.online.account", "search_count", [mine, ["name", "not ilike", "eur"]]) == 1
    assert api("account.online.account", "search_count", [mine, "|", ["currency_code", "=", "USD"], ["account_number", "!=", False]]) == 2
    assert api("account.online.link", "search", [["account_online_account_ids.currency_code", "=", "USD"], ["name", "=", name]]) == [link]
    assert api("account.online.link", "search", [["account_online_account_ids", "!=", False], ["name", "=", name]]) == [link]
    assert api("account.online.account", "search_count", [mine, ["account_online_link_id.company_id.name", "=", "Acme"]]) == 2
    assert api("account.online.account", "search_count", [mine, ["account_online_link_id", "any", [["auto_sync", "=", True]]]]) == 2


def test_name_search_and_default_get(api):
    link = make_link(api, "Zebra Savings Bank")
    assert [link, "Zebra Savings Bank"] in api("account.online.link", "name_search", "zebra")
    defaults = api("account.online.link", "default_get", ["state", "auto_sync", "company_id"])
    assert defaults["state"] == "disconnected" and defaults["auto_sync"] is True
    assert isinstance(defaults["company_id"], int)


def test_faults_for_every_error_path(api):
    cases = [
        (("account.online.lnk", "search", []), 2, "Object account.online.lnk doesn't exist"),
        (("account.online.link", "_private", []), 4, "Private methods (such as _private) cannot be called remotely."),
        (("account.online.link", "no_such_method", []), 1, "The method 'no_such_method' does not exist"),
        (("account.online.link", "search", [["bogus", "=", 1]]), 1, "Invalid field"),
        (("account.online.link", "search", [["name", "~~", 1]]), 1, "Invalid leaf ('name', '~~', 1)"),
        (("account.online.link", "create", {"nope": 1}), 1, "Invalid field 'nope'"),
        (("account.online.link", "create", {"state": "connected"}), 2, "read-only"),
        (("account.online.link", "create", {"auto_sync": True, "institution_id": 987654}), 2, "another model requires the record"),
        (("account.online.account", "create", {"name": "no link"}), 2, "a mandatory field is not set"),
        (("account.online.transaction", "create", {"online_transaction_identifier": "x", "date": "2024-13-45", "amount": 1, "online_account_id": 1}), 1, "type date"),
        (("account.online.institution", "create", {"name": "x", "code": "y"}), 4, "not allowed"),
    ]
    for args, code, text in cases:
        with pytest.raises(xmlrpc.client.Fault) as err:
            api(*args)
        assert err.value.faultCode == code, (args, err.value.faultString)
        assert text in err.value.faultString, (args, err.value.faultString)
    with pytest.raises(xmlrpc.client.Fault) as err:
        api("account.online.link", "search_read", [], fields=["name; DROP TABLE online_links"])
    assert "Invalid field" in err.value.faultString
    with pytest.raises(xmlrpc.client.Fault) as err:
        api("account.online.link", "search", [], order="name; DROP TABLE online_links")
    assert err.value.faultCode == 2 and 'Invalid "order" specified' in err.value.faultString
    with pytest.raises(xmlrpc.client.Fault) as err:
        api("account.online.link", "search", [], limit=-1)
    assert (err.value.faultCode, err.value.faultString) == (1, "LIMIT must not be negative")
    assert api("account.online.link", "search_count", []) > 0  # the table is still there


def test_wrong_argument_types_fault_cleanly(bridge, api):
    models = api.models
    for args in [
        (bridge.db, api.uid, api.key, "account.online.link", "search", "not a list"),
        (bridge.db, api.uid, api.key, "account.online.link", "search", [[]], "not a dict"),
        (bridge.db, api.uid, api.key, 42, "search", [[]]),
        (bridge.db, api.uid, api.key, "account.online.link", "read", [["a"]]),
        (bridge.db, api.uid, api.key, "account.online.link", "search", [[]], {"unknown_kw": 1}),
        (bridge.db, api.uid, api.key, "account.online.link"),
    ]:
        with pytest.raises(xmlrpc.client.Fault) as err:
            models.execute_kw(*args)
        assert err.value.faultCode in (1, 2), args
        assert api.key not in err.value.faultString


def test_nil_in_requests_is_accepted_when_the_client_sends_it(bridge):
    common = xmlrpc.client.ServerProxy(f"{bridge.url}/xmlrpc/2/common", allow_none=True)
    models = xmlrpc.client.ServerProxy(f"{bridge.url}/xmlrpc/2/object", allow_none=True)
    key = bridge.keys["alice"]
    uid = common.authenticate(bridge.db, "alice", key, None)
    ids = models.execute_kw(bridge.db, uid, key, "account.online.link", "search", [[]], {"limit": None, "order": None})
    assert isinstance(ids, list)
    link = models.execute_kw(bridge.db, uid, key, "account.online.link", "create", [{"name": "Nil Bank", "renewal_contact_email": None}])
    [rec] = models.execute_kw(bridge.db, uid, key, "account.online.link", "read", [[link], ["renewal_contact_email"]])
    assert rec["renewal_contact_email"] is False


def test_company_isolation(bridge, api):
    as_bob = harness.Api(bridge, "bob")
    secret_link = make_link(api, "Acme private bank")
    assert secret_link not in as_bob("account.online.link", "search", [])
    assert as_bob("account.online.link", "search_count", [["name", "=", "Acme private bank"]]) == 0
    # Odoo's access error (fault 4) naming the user, the operation and the model; nothing changes.
    for method, args, operation in (("read", ([secret_link],), "read"),
                                    ("write", ([secret_link], {"name": "pwned"}), "write"),
                                    ("unlink", ([secret_link],), "unlink")):
        with pytest.raises(xmlrpc.client.Fault) as err:
            as_bob("account.online.link", method, *args)
        assert err.value.faultCode == 4, method
        assert (f"Sorry, bob (id={as_bob.uid}) doesn't have '{operation}' access to:\n- Bank Connection "
                "(account.online.link)") in err.value.faultString, err.value.faultString
    with pytest.raises(xmlrpc.client.Fault):
        as_bob("account.online.account", "create", {"name": "hijack", "account_online_link_id": secret_link})
    with pytest.raises(xmlrpc.client.Fault) as err:
        as_bob("account.online.link", "create", {"name": "x", "company_id": api("account.online.link", "read", [secret_link], ["company_id"])[0]["company_id"][0]})
    assert err.value.faultCode == 4
    assert api("account.online.link", "read", [secret_link], ["name"])[0]["name"] == "Acme private bank"


def test_legacy_endpoints_use_string_fault_codes(bridge, api):
    common = xmlrpc.client.ServerProxy(f"{bridge.url}/xmlrpc/common")
    models = xmlrpc.client.ServerProxy(f"{bridge.url}/xmlrpc/object")
    uid = common.login(bridge.db, "alice", api.key)
    assert uid == api.uid
    assert xmlrpc.client.ServerProxy(f"{bridge.url}/xmlrpc/db").server_version().startswith("17.0")
    with pytest.raises(xmlrpc.client.Fault) as err:
        models.execute_kw(bridge.db, uid, api.key, "account.online.lnk", "search", [[]])
    assert err.value.faultCode == "warning -- UserError\n\nObject account.online.lnk doesn't exist"
    with pytest.raises(xmlrpc.client.Fault) as err:
        models.execute_kw(bridge.db, uid, "bad", "account.online.link", "search", [[]])
    assert err.value.faultCode == "AccessDenied"
    visible = api("account.online.link", "search", [])
    assert models.execute(bridge.db, uid, api.key, "account.online.link", "search_count", []) == len(visible)


def test_db_service(bridge):
    db = xmlrpc.client.ServerProxy(f"{bridge.url}/xmlrpc/2/db")
    assert db.list() == [bridge.db]
    with pytest.raises(xmlrpc.client.Fault) as err:
        db.drop("admin", bridge.db)
    assert err.value.faultCode == 3
