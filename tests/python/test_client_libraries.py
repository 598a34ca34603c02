"""Real Odoo client libraries from PyPI against the running bridge: login, search_read and write.
odoo-client-lib and erppeek speak XML-RPC on the legacy /xmlrpc endpoints; OdooRPC speaks JSON-RPC."""

import importlib
import json
import os
from urllib.parse import urlparse

import pytest

import harness


def client_library(module):
    """The library, or a skip outside CI; under CI (env CI set, tests/run.sh installs requirements.txt) a
    missing library is a failure, so the suite cannot pass without testing it."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        if os.environ.get("CI"):
            pytest.fail(f"client library {module} missing in CI: {e}")
        pytest.skip(f"client library {module} not installed: {e}")


def host_port(bridge):
    parsed = urlparse(bridge.url)
    return parsed.hostname, parsed.port


@pytest.fixture
def link_id(bridge):
    return harness.Api(bridge, "alice")("account.online.link", "create", {"name": "Client lib bank"})


def test_odoo_client_lib(bridge, link_id):
    odoolib = client_library("odoolib")
    host, port = host_port(bridge)
    conn = odoolib.get_connection(hostname=host, port=port, database=bridge.db, login="alice", password=bridge.keys["alice"], protocol="xmlrpc")
    conn.check_login()
    links = conn.get_model("account.online.link")
    rows = links.search_read([("id", "=", link_id)], ["name", "state"])
    assert rows == [{"id": link_id, "name": "Client lib bank", "state": "disconnected"}]
    assert links.write([link_id], {"renewal_contact_email": "odoolib@example.com"}) is True
    assert links.read([link_id], ["renewal_contact_email"])[0]["renewal_contact_email"] == "odoolib@example.com"
    # A user error arrives the way odoolib reports Odoo's own (legacy string fault code).
    with pytest.raises(Exception) as err:
        conn.get_model("account.online.nope").search([])
    assert "doesn't exist" in str(err.value)


def test_erppeek(bridge, link_id):
    erppeek = client_library("erppeek")
    client = erppeek.Client(bridge.url, db=bridge.db, user="alice", password=bridge.keys["alice"], verbose=False)
    assert client.major_version == "17.0"
    rows = client.execute("account.online.link", "search_read", [("id", "=", link_id)], ["name"])
    assert rows == [{"id": link_id, "name": "Client lib bank"}]
    assert client.write("account.online.link", [link_id], {"name": "Renamed by erppeek"}) is True
    assert client.read("account.online.link", [link_id], ["name"])[0]["name"] == "Renamed by erppeek"
    assert client.count("account.online.link", [("name", "=", "Renamed by erppeek")]) >= 1


def test_odoorpc_over_jsonrpc(bridge, link_id):
    odoorpc = client_library("odoorpc")
    host, port = host_port(bridge)
    odoo = odoorpc.ODOO(host, protocol="jsonrpc", port=port)
    assert odoo.version.startswith("17.0")
    assert bridge.db in odoo.db.list()
    odoo.login(bridge.db, "alice", bridge.keys["alice"])
    assert odoo.env.uid > 0
    Link = odoo.env["account.online.link"]
    rows = Link.search_read([("id", "=", link_id)], ["name", "state"])
    assert rows[0]["state"] == "disconnected"
    Link.write([link_id], {"name": "Renamed by OdooRPC"})
    assert Link.browse(link_id).name == "Renamed by OdooRPC"
    # As in Odoo (with its multi-company rule), a write to an id that does not exist is a missing error; so
    # is a bad field.
    with pytest.raises(odoorpc.error.RPCError) as err:
        odoo.execute("account.online.link", "write", [10**9], {"name": "x"})
    assert "Record does not exist or has been deleted." in str(err.value)
    with pytest.raises(odoorpc.error.RPCError) as err:
        odoo.execute("account.online.link", "write", [link_id], {"nope": "x"})
    assert "Invalid field 'nope'" in str(err.value)


def jsonrpc_with_cookie(url, params, cookie=None):
    """The answer and the Set-Cookie header of a JSON-RPC call made with `cookie`."""
    reply = harness.post(url, harness.jsonrpc_body(params, 7), "application/json", {"Cookie": cookie} if cookie else {},
                         timeout=10)
    return json.loads(reply.ok()), reply.headers.get("Set-Cookie")


def test_jsonrpc_errors_and_web_session(bridge, link_id):
    reply, _ = jsonrpc_with_cookie(f"{bridge.url}/jsonrpc", {"service": "object", "method": "execute_kw", "args": [bridge.db, 1, "bad", "account.online.link", "search", [[]]]})
    assert reply["error"]["data"]["name"] == "odoo.exceptions.AccessDenied"
    reply, cookie = jsonrpc_with_cookie(f"{bridge.url}/web/session/authenticate", {"db": bridge.db, "login": "alice", "password": bridge.keys["alice"]})
    assert reply["result"]["uid"] > 0 and cookie
    sid = cookie.split(";")[0]
    reply, _ = jsonrpc_with_cookie(f"{bridge.url}/web/dataset/call_kw/account.online.link/read", {"model": "account.online.link", "method": "read", "args": [[link_id], ["state"]], "kwargs": {}}, sid)
    assert reply["result"] == [{"id": link_id, "state": "disconnected"}]
    reply, _ = jsonrpc_with_cookie(f"{bridge.url}/web/dataset/call_kw", {"model": "account.online.link", "method": "read", "args": [[link_id]], "kwargs": {}})
    assert reply["error"]["code"] == 100


def test_odooly(bridge, link_id):
    odooly = client_library("odooly")
    client = odooly.Client(bridge.url, bridge.db, "alice", bridge.keys["alice"])
    assert client.env.uid > 0
    Link = client.env["account.online.link"]
    assert Link.search_read([("id", "=", link_id)], ["name"])[0]["id"] == link_id
    Link.browse(link_id).write({"renewal_contact_email": "odooly@example.com"})
    assert Link.browse(link_id).renewal_contact_email == "odooly@example.com"
