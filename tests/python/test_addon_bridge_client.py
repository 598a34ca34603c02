"""The addon's plain-Python bridge module against a real bankbridge server.

The bridge binary (env BANKBRIDGE_BIN, default target/debug/bankbridge) is
started on loopback with a fresh database by the harness (``module_servers``). When
the binary is missing the live tests are skipped, except under CI (env CI
set), where they fail.
"""

import http.server
import importlib.util
import secrets
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import xmlrpc.client
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import harness  # noqa: E402  pylint: disable=wrong-import-position

CLIENT_PATH = harness.REPO / "odoo_addon" / "common" / "account_online_bridge" / "bridge_client.py"


def _load_client_module():
    spec = importlib.util.spec_from_file_location("bankbridge_addon_bridge_client", CLIENT_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bc = _load_client_module()

SANDBOX_COUNTRY = "XF"
SANDBOX_INSTITUTION = "fakebank_simple_xf"
SANDBOX_LOGIN = "username"
SANDBOX_PASSWORD = "secret"


# ----------------------------------------------------------------------
# Fixtures
# ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def bridge(module_servers):
    """A bridge on SQLite with the user the addon logs in as (the addon does not care about the backend)."""
    server = module_servers.bridge(users={"odoo": "Test Company"})
    server.login = "odoo"
    server.api_key = server.keys["odoo"]
    server.log = server.log_text
    return server


@pytest.fixture()
def client(bridge):
    return bc.BridgeClient(bridge.url, bridge.db, bridge.login, bridge.api_key, timeout=30, uid_cache={})


def raw_execute_kw(bridge, model, method, args, kwargs=None):
    """The same call with the bare standard library, to compare faults."""
    api = harness.Api(bridge, bridge.login)
    return api.models.execute_kw(bridge.db, api.uid, api.key, model, method, args, kwargs or {})


def raw_fault(bridge, model, method, args, kwargs=None):
    return harness.fault_of(lambda: raw_execute_kw(bridge, model, method, args, kwargs))


def assert_notification(result):
    assert bc.is_notification(result), result
    params = result["params"]
    assert isinstance(params.get("message"), str) and params["message"]
    assert "type" in params


def assert_act_url(result):
    assert bc.is_act_url(result), result
    assert urllib.parse.urlsplit(result["url"]).scheme in ("http", "https"), result


def assert_no_key(bridge, err):
    assert bridge.api_key not in str(err)
    assert bridge.api_key not in repr(err)
    assert bridge.api_key not in str(err.fault_string or "")


# ----------------------------------------------------------------------
# The sandbox's consent page, filled in as a person would (harness.submit_connect)
# ----------------------------------------------------------------------
def complete_sandbox_consent(connect_url):
    """Gives consent on the sandbox's connect page under a login of its own (one company is one Salt Edge
    customer: the same login at the same bank twice is a duplicate connection)."""
    login = "%s-%s" % (SANDBOX_LOGIN, secrets.token_hex(4))
    status, _, body = harness.submit_connect(connect_url, login=login, password=SANDBOX_PASSWORD)
    assert status == 200, body


def _settled(client, link_id, timeout=60):
    """The link once its first synchronization is over: Salt Edge runs the attempt after the consent
    page (the link is `disconnected`, then `fetching`, then `connected` or `error`)."""
    def finished():
        link = client.read_link(link_id)
        return link if link["state"] in ("connected", "error") else None

    return harness.wait_for(finished, timeout, "link %s to finish fetching" % link_id)


# ----------------------------------------------------------------------
# Tiny loopback servers for the error paths
# ----------------------------------------------------------------------
class _Silent(threading.Thread):
    """Accepts connections and never answers."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.stopped = False

    def run(self):
        self.sock.settimeout(0.2)
        while not self.stopped:
            try:
                conn, _addr = self.sock.accept()
                self.conns.append(conn)
            except OSError:
                continue

    def stop(self):
        self.stopped = True
        for conn in self.conns:
            conn.close()
        self.sock.close()


def _http_server(status, body, content_type="text/html"):
    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self):
            payload = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _answer

        def log_message(self, *args):  # quiet
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# ----------------------------------------------------------------------
# Offline tests (no bridge needed)
# ----------------------------------------------------------------------
def test_module_imports_nothing_from_odoo():
    source = CLIENT_PATH.read_text()
    assert "import odoo" not in source and "from odoo" not in source
    assert "odoo" not in sys.modules


@pytest.mark.parametrize("url", ["", "   ", "ftp://example.org", "127.0.0.1:8070", "http://"])
def test_bad_url_is_a_config_error(url):
    with pytest.raises(bc.BridgeConfigError):
        bc.BridgeClient(url, "bankbridge", "odoo", "k")


def test_url_normalisation_and_public_url():
    client = bc.BridgeClient("http://user:pw@127.0.0.1:8070/xmlrpc/2/object/", "bankbridge", "odoo", "k")
    assert client.url == "http://user:pw@127.0.0.1:8070"
    assert client.public_url == "http://127.0.0.1:8070"
    assert "pw" not in repr(client)


def test_missing_credentials_is_a_config_error():
    client = bc.BridgeClient("http://127.0.0.1:1", "bankbridge", "odoo", "", uid_cache={})
    with pytest.raises(bc.BridgeConfigError):
        client.authenticate()


def test_bridge_down_is_unavailable_and_names_the_url():
    port = harness.free_port()
    secret = "key-that-must-not-leak-123"
    client = bc.BridgeClient("http://127.0.0.1:%d" % port, "bankbridge", "odoo", secret, timeout=5, uid_cache={})
    started = time.monotonic()
    for call in (client.version, client.authenticate, lambda: client.search_institutions("XF")):
        with pytest.raises(bc.BridgeUnavailable) as info:
            call()
        assert "http://127.0.0.1:%d" % port in str(info.value)
        assert "refused" in str(info.value)
        assert secret not in str(info.value)
    assert time.monotonic() - started < 5


def test_timeout_is_unavailable():
    silent = _Silent()
    silent.start()
    try:
        client = bc.BridgeClient("http://127.0.0.1:%d" % silent.port, "bankbridge", "odoo", "k",
                                 timeout=1, uid_cache={})
        started = time.monotonic()
        with pytest.raises(bc.BridgeUnavailable) as info:
            client.version()
        assert time.monotonic() - started < 10
        assert "did not answer within 1 seconds" in str(info.value)
        assert "http://127.0.0.1:%d" % silent.port in str(info.value)
    finally:
        silent.stop()


def test_not_an_xmlrpc_server_is_a_protocol_error():
    server = _http_server(200, "<html><body>Welcome to nginx</body></html>")
    try:
        client = bc.BridgeClient("http://127.0.0.1:%d" % server.server_port, "bankbridge", "odoo", "k",
                                 timeout=5, uid_cache={})
        with pytest.raises(bc.BridgeProtocolError) as info:
            client.version()
        assert "did not answer with XML-RPC" in str(info.value)
    finally:
        server.shutdown()


def test_http_404_is_a_protocol_error_and_502_unavailable():
    for status, exc in ((404, bc.BridgeProtocolError), (502, bc.BridgeUnavailable)):
        server = _http_server(status, "nope", "text/plain")
        try:
            client = bc.BridgeClient("http://127.0.0.1:%d" % server.server_port, "bankbridge", "odoo", "k",
                                     timeout=5, uid_cache={})
            with pytest.raises(exc) as info:
                client.version()
            assert "HTTP %d" % status in str(info.value)
        finally:
            server.shutdown()


def test_fault_mapping_keeps_messages():
    client = bc.BridgeClient("http://127.0.0.1:1", "bankbridge", "odoo", "sekrit-key", uid_cache={})
    message = "Please reconnect your online account.\n\nSecond line with ünïcode."
    err = client._error_from_fault(xmlrpc.client.Fault(2, message))  # pylint: disable=protected-access
    assert isinstance(err, bc.BridgeUserError) and str(err) == message and err.fault_code == 2
    err = client._error_from_fault(xmlrpc.client.Fault(3, "Access Denied"))  # pylint: disable=protected-access
    assert isinstance(err, bc.BridgeAuthError) and "Access Denied" in str(err)
    err = client._error_from_fault(xmlrpc.client.Fault(4, "no rights"))  # pylint: disable=protected-access
    assert isinstance(err, bc.BridgeAccessError) and str(err) == "no rights"
    err = client._error_from_fault(xmlrpc.client.Fault(1, "boom sekrit-key"))  # pylint: disable=protected-access
    assert isinstance(err, bc.BridgeServerError) and "boom" in str(err) and "sekrit-key" not in str(err)
    err = client._error_from_fault(  # pylint: disable=protected-access
        xmlrpc.client.Fault("warning -- UserError\n\nlegacy message", ""))
    assert isinstance(err, bc.BridgeUserError) and str(err) == "legacy message"


# ----------------------------------------------------------------------
# Live tests: common service
# ----------------------------------------------------------------------
def test_version(client):
    version = client.version()
    assert version["protocol_version"] == 1
    assert isinstance(version["server_version"], str) and version["server_version"]


def test_authenticate_and_test_connection(client, bridge):
    uid = client.authenticate()
    assert isinstance(uid, int) and uid > 0
    info = client.test_connection()
    assert info["uid"] == uid
    assert info["url"] == bridge.url
    assert info["db"] == bridge.db


def test_wrong_key_is_an_auth_error(bridge):
    wrong = bridge.api_key[:-4] + "zzzz"
    client = bc.BridgeClient(bridge.url, bridge.db, bridge.login, wrong, uid_cache={})
    with pytest.raises(bc.BridgeAuthError) as info:
        client.authenticate()
    assert bridge.url in str(info.value)
    assert repr(bridge.login) in str(info.value)
    assert wrong not in str(info.value)
    assert_no_key(bridge, info.value)
    with pytest.raises(bc.BridgeAuthError):
        client.search_institutions(SANDBOX_COUNTRY)


def test_wrong_login_is_an_auth_error(bridge):
    client = bc.BridgeClient(bridge.url, bridge.db, "nobody-here", bridge.api_key, uid_cache={})
    with pytest.raises(bc.BridgeAuthError) as info:
        client.test_connection()
    assert_no_key(bridge, info.value)


def test_wrong_key_on_object_is_fault_3(bridge, client):
    uid = client.authenticate()
    wrong = bc.BridgeClient(bridge.url, bridge.db, bridge.login, "not-the-key", uid_cache={})
    wrong.uid = uid  # skip authenticate: the object service must refuse by itself
    with pytest.raises(bc.BridgeAuthError) as info:
        wrong.search_institutions(SANDBOX_COUNTRY)
    assert info.value.fault_code == 3
    assert "not-the-key" not in str(info.value)


def test_uid_cache_saves_the_authenticate_call(bridge):
    cache = {}
    first = bc.BridgeClient(bridge.url, bridge.db, bridge.login, bridge.api_key, uid_cache=cache)
    first.search_institutions(SANDBOX_COUNTRY, limit=1)
    assert len(cache) == 1
    assert bridge.api_key not in repr(cache)
    second = bc.BridgeClient(bridge.url, bridge.db, bridge.login, bridge.api_key, uid_cache=cache)
    calls = []
    original = second._call  # pylint: disable=protected-access

    def counting(service, method, *params):
        calls.append((service, method))
        return original(service, method, *params)

    second._call = counting  # pylint: disable=protected-access
    second.count_institutions(SANDBOX_COUNTRY)
    assert calls == [("object", "execute_kw")]


def test_stale_cached_uid_is_retried(bridge):
    cache = {}
    client = bc.BridgeClient(bridge.url, bridge.db, bridge.login, bridge.api_key, uid_cache=cache)
    uid = client.authenticate()
    cache[client._cache_key()] = uid + 100000  # pylint: disable=protected-access
    again = bc.BridgeClient(bridge.url, bridge.db, bridge.login, bridge.api_key, uid_cache=cache)
    assert isinstance(again.count_institutions(SANDBOX_COUNTRY), int)
    assert cache[client._cache_key()] == uid  # pylint: disable=protected-access


# ----------------------------------------------------------------------
# Live tests: object service, as the addon uses it
# ----------------------------------------------------------------------
def test_search_institutions_by_country_and_name(client):
    found = client.search_institutions(SANDBOX_COUNTRY)
    codes = {rec["code"] for rec in found}
    assert SANDBOX_INSTITUTION in codes
    for rec in found:
        assert rec["country_code"] == SANDBOX_COUNTRY
        for field in bc.INSTITUTION_FIELDS + ["id"]:
            assert field in rec
    simple = next(rec for rec in found if rec["code"] == SANDBOX_INSTITUTION)
    part = simple["name"].split()[-1].swapcase()  # ilike: case-insensitive
    by_name = client.search_institutions(SANDBOX_COUNTRY, name=part)
    assert SANDBOX_INSTITUTION in {rec["code"] for rec in by_name}
    assert all(part.lower() in rec["name"].lower() for rec in by_name)
    every = client.search_institutions(SANDBOX_COUNTRY, limit=0)
    assert len(found) == len(every) < 80  # the sandbox's country fits in one page
    assert client.count_institutions(SANDBOX_COUNTRY) == len(every)
    assert client.search_institutions(SANDBOX_COUNTRY, name="no bank has this name 9f8e7d") == []
    assert client.search_institutions("ZZ") == []


def test_institution_fields_are_the_bridge_s(client):
    """The optional fields (a provider per bank) are read only when the bridge has them: asking for a
    field the bridge lacks would fail the whole search."""
    fields = client.institution_fields()
    known = client.execute_kw(bc.INSTITUTION_MODEL, "fields_get", [], {"attributes": ["type"]})
    assert fields[: len(bc.INSTITUTION_FIELDS)] == bc.INSTITUTION_FIELDS
    for name in bc.OPTIONAL_INSTITUTION_FIELDS:
        assert (name in fields) == (name in known), name
    assert client.institution_fields() == fields  # asked once per client


def test_each_bank_names_its_aggregator_in_words(client):
    """Add a Bank Account shows which aggregator a bank goes through: both sandboxes' banks are listed,
    each with the aggregator's name as the bridge's selection gives it."""
    finnish = client.search_institutions("FI")
    fake = client.search_institutions(SANDBOX_COUNTRY)
    providers = {bank["code"]: client.provider_name(bank["provider"]) for bank in finnish + fake}
    assert providers["enablebanking:FI:Mock Bank"] == "Enable Banking"
    assert providers[SANDBOX_INSTITUTION] == "Salt Edge"
    assert client.provider_name(False) is False


def test_unknown_model_fault_2_passes_through_intact(bridge, client):
    raw = raw_fault(bridge, "account.online.nothing", "search", [[]])
    assert raw.faultCode == 2
    with pytest.raises(bc.BridgeUserError) as info:
        client.execute_kw("account.online.nothing", "search", [[]])
    assert str(info.value) == raw.faultString
    assert info.value.fault_code == 2


def _new_link(client):
    result = client.new_synchronization(SANDBOX_INSTITUTION, "accountant@example.com", "+32 470 00 00 00")
    assert_act_url(result)
    assert isinstance(result.get("res_id"), int) and result["res_id"] > 0
    return result


def test_new_synchronization_and_read_link(client):
    result = _new_link(client)
    link = client.read_link(result["res_id"])
    assert link is not None and link["id"] == result["res_id"]
    for field in bc.LINK_FIELDS:
        assert field in link, field
    assert link["state"] == "disconnected"  # consent page not completed yet
    assert not link["connection_identifier"]  # the bank holds no connection yet
    assert link["provider_code"] == SANDBOX_INSTITUTION
    assert link["id"] in {rec["id"] for rec in client.search_links([])}
    # without a phone
    assert_act_url(client.new_synchronization(SANDBOX_INSTITUTION, "other@example.com"))


def test_new_synchronization_unknown_institution_fault_2(bridge, client):
    kwargs = {"institution_code": "no_such_bank_xf", "email": "a@example.com"}
    raw = raw_fault(bridge, bc.LINK_MODEL, "action_new_synchronization", [[]], kwargs)
    with pytest.raises(bc.BridgeUserError) as info:
        client.new_synchronization("no_such_bank_xf", "a@example.com")
    assert raw.faultCode == 2
    assert str(info.value) == raw.faultString


def test_buttons_on_a_link_not_yet_connected(bridge, client):
    link_id = _new_link(client)["res_id"]
    # Update Credentials reopens the consent page that was not completed.
    assert_act_url(client.update_credentials(link_id))
    # The others refuse with fault 2, the bridge's message passed through intact.
    for method in ("action_fetch_accounts", "action_fetch_transactions", "action_revoke_consent"):
        with pytest.raises(bc.BridgeUserError) as info:
            client.link_button(method, link_id)
        raw = raw_fault(bridge, bc.LINK_MODEL, method, [[link_id]])
        assert raw.faultCode == 2
        assert str(info.value) == raw.faultString
        assert "is not connected to a bank yet" in raw.faultString


def test_unlink_of_a_never_connected_link_is_allowed(client):
    link_id = _new_link(client)["res_id"]
    assert client.unlink_link(link_id) is True
    assert client.read_link(link_id) is None


def test_unlink_refused_until_connection_removed(bridge, client):
    result = client.new_synchronization(SANDBOX_INSTITUTION, "unlink-test@example.com")
    complete_sandbox_consent(result["url"])
    link_id = result["res_id"]
    assert _settled(client, link_id)["state"] == "connected"
    with pytest.raises(bc.BridgeUserError) as info:
        client.unlink_link(link_id)
    raw = raw_fault(bridge, bc.LINK_MODEL, "unlink", [[link_id]])
    assert raw.faultCode == 2
    assert str(info.value) == raw.faultString
    assert client.read_link(link_id) is not None
    assert_notification(client.remove_connection(link_id))
    # removing twice is harmless
    assert_notification(client.remove_connection(link_id))
    assert client.unlink_link(link_id) is True
    assert client.read_link(link_id) is None


def test_a_link_and_account_already_gone_on_the_bridge_are_already_deleted(bridge, client):
    # The bridge answers unlink of a record that is gone with Odoo's MissingError (fault 2); Odoo's
    # Remove must not be refused because the bridge deleted the link first (another Odoo, the CLI).
    result = client.new_synchronization(SANDBOX_INSTITUTION, "gone-test@example.com")
    complete_sandbox_consent(result["url"])
    link_id = result["res_id"]
    assert _settled(client, link_id)["state"] == "connected"
    account_id = client.read_accounts(link_id)[0]["id"]
    assert_notification(client.remove_connection(link_id))
    assert client.unlink_link(link_id) is True
    raw = raw_fault(bridge, bc.LINK_MODEL, "unlink", [[link_id]])
    assert raw.faultCode == 2
    assert raw.faultString.startswith(bc.MISSING_RECORD_MESSAGE), raw.faultString
    assert client.unlink_link(link_id) is True
    # The bridge leaves a gone record out of a read (no fault); either way the client says None.
    assert raw_execute_kw(bridge, bc.ACCOUNT_MODEL, "read", [[account_id]], {"fields": ["name"]}) == []
    assert client.read_account(account_id) is None
    assert client.read_link(link_id) is None


def test_missing_link_buttons_are_user_errors(bridge, client):
    missing = 987654
    with pytest.raises(bc.BridgeUserError) as info:
        client.update_credentials(missing)
    raw = raw_fault(bridge, bc.LINK_MODEL, "action_update_credentials", [[missing]])
    assert str(info.value) == raw.faultString


@pytest.fixture(scope="module")
def connected_link(bridge):
    """A link that went through the sandbox consent page, with accounts."""
    client = bc.BridgeClient(bridge.url, bridge.db, bridge.login, bridge.api_key, uid_cache={})
    result = client.new_synchronization(SANDBOX_INSTITUTION, "accountant@example.com")
    complete_sandbox_consent(result["url"])
    link_id = result["res_id"]
    _settled(client, link_id)
    deadline = time.monotonic() + 60
    accounts = []
    while time.monotonic() < deadline:
        answer = client.fetch_accounts(link_id)
        if bc.is_act_url(answer):
            complete_sandbox_consent(answer["url"])
        accounts = client.read_accounts(link_id)
        if accounts:
            break
        time.sleep(0.5)
    assert accounts, "no account after the sandbox consent flow; link: %r\nlog:\n%s" % (
        client.read_link(link_id), bridge.log()[-3000:])
    _settled(client, link_id)
    return {"link_id": link_id, "accounts": accounts}


def test_connected_link_has_accounts(client, connected_link):
    link = client.read_link(connected_link["link_id"])
    assert link["state"] == "connected", link
    assert set(link["account_online_account_ids"]) == {acc["id"] for acc in connected_link["accounts"]}
    for account in connected_link["accounts"]:
        for field in bc.ACCOUNT_FIELDS:
            assert field in account, field
        assert bc.many2one_id(account["account_online_link_id"]) == connected_link["link_id"]
        assert account["online_identifier"]


def test_fetch_accounts_twice_adds_no_duplicate(client, connected_link):
    link_id = connected_link["link_id"]
    before = [(acc["id"], acc["online_identifier"]) for acc in connected_link["accounts"]]
    for _attempt in range(2):
        # Just connected: the bank allows no refresh yet and has no new account.
        answer = client.fetch_accounts(link_id)
        assert_notification(answer)
        assert answer["params"]["title"] == "Accounts up to date"
        assert answer["params"]["counts"]["accounts_added"] == 0
        after = [(acc["id"], acc["online_identifier"]) for acc in client.read_accounts(link_id)]
        assert after == before


def test_set_account_journal_and_sign(client, connected_link):
    account_id = connected_link["accounts"][0]["id"]
    assert client.set_account_journal(account_id, 42) is True
    assert bc.many2one_id(client.read_account(account_id)["journal_id"]) == 42
    assert client.write_account(account_id, {"inverse_transaction_sign": True}) is True
    assert client.read_account(account_id)["inverse_transaction_sign"] is True
    client.write_account(account_id, {"inverse_transaction_sign": False})
    assert client.set_account_journal(account_id, False) is True
    assert client.read_account(account_id)["journal_id"] == 0  # an integer on the bridge: 0 is none


def test_fetch_transactions_and_read_posted_ones(client, connected_link):
    link_id = connected_link["link_id"]
    assert_notification(client.fetch_transactions(link_id))
    total_posted = 0
    for account in connected_link["accounts"]:
        all_posted = client.fetch_posted_transactions(account["id"], limit=0)
        total_posted += len(all_posted)
        assert all(tx["status"] == "posted" for tx in all_posted)
        for tx in all_posted:
            for field in bc.TRANSACTION_FIELDS:
                assert field in tx, field
            assert bc.many2one_id(tx["online_account_id"]) == account["id"]
            assert len(tx["date"]) == 10 and tx["date"][4] == "-"
        ids = [tx["id"] for tx in all_posted]
        assert ids == sorted(ids)
        identifiers = [tx["online_transaction_identifier"] for tx in all_posted]
        assert len(identifiers) == len(set(identifiers))
        assert client.count_transactions(account["id"], "posted") == len(all_posted)
        # paging from the last imported one gives the same rows, once
        paged, cursor = [], 0
        while True:
            page = client.fetch_posted_transactions(account["id"], after_id=cursor, limit=3)
            if not page:
                break
            paged.extend(page)
            cursor = page[-1]["id"]
        assert [tx["id"] for tx in paged] == ids
        pending = client.count_transactions(account["id"], "pending")
        assert client.count_transactions(account["id"]) == len(all_posted) + pending
    assert total_posted > 0
    # idempotent: fetching again adds no duplicate
    client.fetch_transactions(link_id)
    for account in connected_link["accounts"]:
        again = client.fetch_posted_transactions(account["id"], limit=0)
        identifiers = [tx["online_transaction_identifier"] for tx in again]
        assert len(identifiers) == len(set(identifiers))


def test_update_credentials_on_connected_link(client, connected_link):
    assert_act_url(client.update_credentials(connected_link["link_id"]))


def test_revoke_then_remove_connected_link(bridge, client, connected_link):
    # runs last in this module (pytest keeps file order)
    link_id = connected_link["link_id"]
    assert_notification(client.revoke_consent(link_id))
    with pytest.raises(bc.BridgeUserError) as info:
        client.unlink_link(link_id)
    raw = raw_fault(bridge, bc.LINK_MODEL, "unlink", [[link_id]])
    assert str(info.value) == raw.faultString
    assert_notification(client.remove_connection(link_id))
    assert client.unlink_link(link_id) is True
