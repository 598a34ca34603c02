"""Credentials are checked on every call: a revoked key or a disabled user stops working at once on a
running bridge; repeated wrong logins are throttled; a second key works beside the first."""

import xmlrpc.client

import pytest

import harness


@pytest.fixture
def bridge(tmp_path):
    server = harness.started_bridge("sqlite", tmp_path, {"carol": "Acme", "dave": "Acme", "erin": "Acme"})
    yield server
    server.stop()


def object_call(bridge, login, key):
    common = xmlrpc.client.ServerProxy(f"{bridge.url}/xmlrpc/2/common")
    models = xmlrpc.client.ServerProxy(f"{bridge.url}/xmlrpc/2/object")
    uid = common.authenticate(bridge.db, login, key, {})
    return uid, lambda: models.execute_kw(bridge.db, uid or 1, key, "account.online.link", "search_count", [[]])


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
