"""Credentials are checked on every call: a revoked key or a disabled user stops working at once on a
running bridge; repeated wrong logins are throttled; a second key works beside the first."""

import xmlrpc.client

import pytest

import harness


@pytest.fixture
def bridge(servers):
    return servers.bridge(users={"carol": "Acme", "dave": "Acme", "erin": "Acme"})


def object_call(bridge, login, key):
    api = harness.Api(bridge, login, key=key)
    return api.uid, lambda: api.models.execute_kw(bridge.db, api.uid or 1, key, "account.online.link", "search_count", [[]])


def test_revoked_key_stops_working_immediately(bridge):
    second = bridge.cli("user", "key", "carol").split()[-1]
    uid, call = object_call(bridge, "carol", bridge.keys["carol"])
    _, call_second = object_call(bridge, "carol", second)
    assert call() == 0 and call_second() == 0
    assert "deleted 2 API key(s)" in bridge.cli("user", "revoke", "carol")
    for attempt in (call, call_second):
        with pytest.raises(xmlrpc.client.Fault) as err:
            attempt()
        assert err.value.faultCode == 3
    assert xmlrpc.client.ServerProxy(f"{bridge.url}/xmlrpc/2/common").authenticate(bridge.db, "carol", second, {}) is False


def test_disabled_user_is_denied_immediately(bridge):
    uid, call = object_call(bridge, "dave", bridge.keys["dave"])
    assert uid and call() == 0
    bridge.cli("user", "disable", "dave")
    with pytest.raises(xmlrpc.client.Fault) as err:
        call()
    assert err.value.faultCode == 3


def test_repeated_wrong_logins_are_throttled(bridge):
    common = xmlrpc.client.ServerProxy(f"{bridge.url}/xmlrpc/2/common")
    for _ in range(10):
        assert common.authenticate(bridge.db, "erin", "wrong-password", {}) is False
    # Even the right key is refused while the login is throttled.
    assert common.authenticate(bridge.db, "erin", bridge.keys["erin"], {}) is False
    assert "too many recent failures" in bridge.log_text()


@pytest.fixture(params=["sqlite", "postgres"])
def pair(request, servers):
    """Two bridge processes on one database (the second started on the first's database)."""
    first = servers.bridge(request.param, users={"frank": "Acme", "gina": "Acme", "hank": "Acme"})
    return first, servers.bridge(database=first.database_url, keys=first.keys)


def denied(call):
    return harness.fault_of(call).faultCode == 3


def test_credential_changes_take_effect_on_the_next_call_in_every_process(pair):
    """The per-call check remembers verified secrets; any change of a user's credentials, made by the CLI
    or straight in the database by anyone, must still be seen by both processes on their very next call."""
    first, second = pair
    first.cli("user", "passwd", "frank", stdin="first-password\n")
    calls = {}
    for name, key in (("key", first.keys["frank"]), ("password", "first-password")):
        calls[name] = [object_call(bridge, "frank", key)[1] for bridge in pair]
    # Warm: each secret verified (and remembered) by both processes.
    for call in calls["key"] + calls["password"]:
        assert call() == 0 and call() == 0
    first.cli("user", "passwd", "frank", stdin="second-password\n")
    assert all(denied(call) for call in calls["password"])
    assert all(call() == 0 for call in calls["key"])
    assert all(object_call(bridge, "frank", "second-password")[1]() == 0 for bridge in pair)
    second.cli("user", "revoke", "frank")
    assert all(denied(call) for call in calls["key"])

    # A key deleted by hand in the database, not through the bridge.
    gina = [object_call(bridge, "gina", first.keys["gina"])[1] for bridge in pair]
    assert all(call() == 0 and call() == 0 for call in gina)
    assert first.execute_sql("DELETE FROM api_keys WHERE user_id = (SELECT id FROM users WHERE login = 'gina')") == 1
    assert all(denied(call) for call in gina)

    # A user disabled by one process's CLI is refused by both.
    hank = [object_call(bridge, "hank", first.keys["hank"])[1] for bridge in pair]
    assert all(call() == 0 and call() == 0 for call in hank)
    first.cli("user", "disable", "hank")
    assert all(denied(call) for call in hank)


@pytest.fixture(params=["sqlite", "postgres"])
def companies_pair(request, servers):
    """Two bridge processes on one database, with users in two companies."""
    first = servers.bridge(request.param, users={"jack": "Acme", "kate": "Globex"})
    return first, servers.bridge(database=first.database_url, keys=first.keys)


def test_a_read_that_returns_records_still_sees_every_change_of_its_caller(companies_pair):
    """On PostgreSQL a search_read by a caller verified before checks that caller (active, same company, same
    credentials) inside the read's own statement. Changes made behind the bridge's back, in the database,
    must still hold on the very next call of both processes: records of the company the user is in now, and
    nothing at all once the user is disabled."""
    first, second = companies_pair
    jack = harness.Api(first, "jack")
    jack("account.online.link", "create", {"name": "Acme bank"})
    harness.Api(first, "kate")("account.online.link", "create", {"name": "Globex bank"})
    reads = [harness.Api(bridge, "jack", uid=jack.uid) for bridge in companies_pair]

    def names(api):
        return [r["name"] for r in api("account.online.link", "search_read", [], fields=["name"])]

    # Warm: the key verified (and remembered) by both processes, each read carrying records.
    assert all(names(api) == ["Acme bank"] and names(api) == ["Acme bank"] for api in reads)
    moved = first.execute_sql("UPDATE users SET company_id = (SELECT company_id FROM users WHERE login = 'kate') "
                              "WHERE login = 'jack'")
    assert moved == 1
    assert all(names(api) == ["Globex bank"] for api in reads)
    assert first.execute_sql("UPDATE users SET active = FALSE WHERE login = 'jack'") == 1
    assert all(denied(lambda: names(api)) for api in reads)
