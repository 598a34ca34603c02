"""Odoo 19's External JSON-2 API on the real bridge (issue 25): real JSON-2 clients from PyPI (odoo-json2,
odoo-client-lib's `json2` protocol, odooly's JSON-2 connection) and curl; per-user API keys as bearer tokens,
revocation and disabling effective on the next call; the same limits as XML-RPC; another company's records
refused as Odoo refuses them; and nothing secret in the access log.
"""

import json
import shutil
import subprocess
from urllib.parse import urlparse

import odoolib
import odooly
import pytest
from odoo_json2 import JSON2Client
from odoo_json2.exceptions import OdooAuthError, OdooNotFoundError, OdooServerException, OdooValidationError

import harness

LINK = "account.online.link"


def post(bridge, path, body=None, key=None, raw=None, headers=None):
    """(status, parsed JSON or text) of a JSON POST to the bridge, with `key` as the bearer token."""
    reply = harness.json_request(bridge.url + path, body if body is not None else {}, key, raw=raw, headers=headers,
                                 timeout=30)
    try:
        return reply.status, reply.json()
    except ValueError:
        return reply.status, reply.data.decode()


def test_odoo_json2_client_reads_and_writes(bridge):
    client = JSON2Client(host=bridge.url, api_key=bridge.keys["alice"], database=bridge.db)
    assert client.version()["version_info"][:2] == [19, 0]
    links = client.env[LINK]
    [link_id] = links.create({"name": "JSON-2 Bank"})
    assert links.search([["id", "=", link_id]]) == [link_id]
    assert links.search_count([["name", "=", "JSON-2 Bank"]]) == 1
    assert links.write([link_id], {"name": "JSON-2 Bank renamed"}) is True
    [record] = links.read([link_id], ["name", "state", "company_id"])
    assert record["name"] == "JSON-2 Bank renamed" and record["state"] == "disconnected"
    assert record["company_id"][1] == "Acme"
    rows = client.search_read(LINK, [["name", "ilike", "json-2"]], fields=["name"], order="id")
    assert [r["id"] for r in rows] == [link_id]
    assert links.fields_get(attributes=["type"])["institution_id"] == {"type": "many2one"}
    assert links.unlink([link_id]) is True
    assert links.search([["id", "=", link_id]]) == []


def test_records_keep_odoos_member_order(bridge):
    """Odoo 19 writes read()'s dicts with json.dumps, unsorted: `id` first, then the fields as asked."""
    key = bridge.keys["alice"]
    status, _ = post(bridge, f"/json/2/{LINK}/create", {"vals_list": [{"name": "Ordered Bank"}]}, key=key)
    assert status == 200
    reply = harness.json_request(bridge.url + f"/json/2/{LINK}/search_read",
                                 {"domain": [["name", "=", "Ordered Bank"]], "fields": ["state", "name", "company_id"]},
                                 key=key)
    [record] = json.loads(reply.ok(), object_pairs_hook=list)
    assert [name for name, _ in record] == ["id", "state", "name", "company_id"]


def test_odoo_json2_client_errors_by_status(bridge):
    client = JSON2Client(host=bridge.url, api_key=bridge.keys["alice"], database=bridge.db)
    with pytest.raises(OdooAuthError):
        JSON2Client(host=bridge.url, api_key="0" * 40, database=bridge.db).env[LINK].search([])
    with pytest.raises(OdooNotFoundError):
        client.env["no.such.model"].search([])
    with pytest.raises(OdooValidationError) as missing_field:
        client.env["account.online.transaction"].create({"payment_ref": "no account, no date"})
    assert missing_field.value.raw_error["name"] == "odoo.exceptions.ValidationError"
    bob = JSON2Client(host=bridge.url, api_key=bridge.keys["bob"], database=bridge.db)
    [alice_link] = client.env[LINK].create({"name": "Acme only"})
    with pytest.raises(OdooServerException) as refused:
        bob.env[LINK].read([alice_link], ["name"])
    assert refused.value.status_code == 403
    assert refused.value.raw_error["name"] == "odoo.exceptions.AccessError"
    assert "doesn't have 'read' access to:\n- Bank Connection (account.online.link)" in refused.value.message
    assert bob.env[LINK].search([["id", "=", alice_link]]) == []


def test_odoo_client_lib_json2_protocol(bridge):
    port = urlparse(bridge.url).port
    conn = odoolib.get_connection(hostname="127.0.0.1", protocol="json2", port=port, database=bridge.db,
                                  password=bridge.keys["alice"])
    assert conn.check_login() is True
    assert conn.get_user_context()["uid"] > 0
    links = conn.get_model(LINK)
    # Positional arguments become named ones through the bridge's /doc-bearer listing.
    [link_id] = links.create({"name": "client-lib Bank"})
    assert link_id in links.search([["name", "=", "client-lib Bank"]])
    assert links.read([link_id], ["name"])["name"] == "client-lib Bank"
    assert links.write([link_id], {"auto_sync": False}) is True
    assert links.search_read([["id", "=", link_id]], ["auto_sync"]) == [{"id": link_id, "auto_sync": False}]
    assert links.unlink([link_id]) is True
    wrong = odoolib.get_connection(hostname="127.0.0.1", protocol="json2", port=port, database=bridge.db,
                                   password="f" * 40)
    assert wrong.check_login() is False


def test_odooly_json2_connection(bridge):
    # odooly's Client picks JSON-2 when the server's web client says Odoo 19 or later; the bridge's web routes
    # answer as Odoo 17 (its XML-RPC and JSON-RPC API), so the JSON-2 connection is made directly.
    client = odooly.Client(bridge.url, db=bridge.db)
    api = odooly.Json2(client, bridge.db, bridge.keys["alice"])
    assert api._check() is api
    [link_id] = api(LINK, "create", ([{"name": "odooly Bank"}],))
    assert api(LINK, "search", ([["id", "=", link_id]],)) == [link_id]
    assert api(LINK, "read", (odooly.Ids([link_id]),), {"fields": ["name"]})[0]["name"] == "odooly Bank"
    # A button on records: the link is not connected yet, Odoo's user error (422) with its message.
    with pytest.raises(odooly.ServerError) as refused:
        api(LINK, "action_fetch_accounts", (odooly.Ids([link_id]),))
    error = refused.value.args[0]
    assert error["code"] == 422 and error["data"]["name"] == "odoo.exceptions.UserError", error
    assert "is not connected to a bank yet" in error["data"]["message"]
    doc = api.doc(LINK)
    assert "model" in doc["methods"]["search"]["api"] and "model" not in doc["methods"]["write"].get("api", [])
    assert api(LINK, "unlink", (odooly.Ids([link_id]),)) is True


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl(bridge):
    out = subprocess.run(
        ["curl", "-s", "-X", "POST", f"{bridge.url}/json/2/res.company/search_read",
         "-H", f"Authorization: bearer {bridge.keys['bob']}", "-H", f"X-Odoo-Database: {bridge.db}",
         "-H", "Content-Type: application/json", "-d", '{"domain": [], "fields": ["name"]}'],
        capture_output=True, text=True, timeout=30, check=True)
    assert [row["name"] for row in json.loads(out.stdout)] == ["Globex"]


def test_revoked_keys_and_disabled_users_stop_on_the_next_call(backend, servers):
    bridge = servers.bridge(backend, users={"carol": "Initech", "dave": "Initech"})
    carol, dave = bridge.keys["carol"], bridge.keys["dave"]
    second = bridge.cli("user", "key", "carol").split()[-1]
    for key in (carol, second, dave):
        assert post(bridge, "/json/2/res.company/search_count", {"domain": []}, key) == (200, 1)
    bridge.cli("user", "revoke", "carol")
    for key in (carol, second):
        status, body = post(bridge, "/json/2/res.company/search_count", {"domain": []}, key)
        assert (status, body["message"]) == (401, "Invalid apikey")
    bridge.cli("user", "disable", "dave")
    assert post(bridge, "/json/2/res.company/search_count", {"domain": []}, dave)[0] == 401
    bridge.stop()
    log = bridge.log_text()
    for key in (carol, second, dave):
        assert key not in log
    assert "json2 res.company.search_count" in log


def test_a_password_is_no_bearer_key(bridge):
    status, body = post(bridge, "/json/2/res.company/search_count", {"domain": []}, "alice-password-1")
    assert (status, body["name"]) == (401, "werkzeug.exceptions.Unauthorized")


def test_same_limits_as_xmlrpc(bridge):
    key = bridge.keys["alice"]
    status, _ = post(bridge, f"/json/2/{LINK}/search", raw=b'{"domain": [' + b" " * (5 * 1024 * 1024) + b"]}",
                     key=key)
    assert status == 413
    deep = "[" * 65 + "]" * 65
    status, body = post(bridge, f"/json/2/{LINK}/search", raw=f'{{"domain": {deep}}}'.encode(), key=key)
    assert (status, body["name"]) == (400, "werkzeug.exceptions.BadRequest"), body
    status, body = post(bridge, f"/json/2/{LINK}/search", raw=b"[" * 200_000, key=key)
    assert status == 400
    # Still serving.
    assert post(bridge, "/json/2/res.company/search_count", {"domain": []}, key) == (200, 1)


def test_a_dripped_body_is_cut_off_at_the_xmlrpc_deadline(servers):
    """The body deadline of every route (server.rs, 20 s) holds for /json/2: a body dripped a byte a second is
    cut off, not waited for. One backend: the deadline is the HTTP layer's."""
    import socket
    import time

    bridge = servers.bridge(users={"drip": "Acme"})
    host, port = urlparse(bridge.url).hostname, urlparse(bridge.url).port
    sock = socket.create_connection((host, port), timeout=2)
    sock.sendall((f"POST /json/2/res.company/search_count HTTP/1.1\r\nHost: {host}:{port}\r\n"
                  f"Authorization: bearer {bridge.keys['drip']}\r\nContent-Type: application/json\r\n"
                  "Content-Length: 1000\r\n\r\n{").encode())
    started, answer = time.monotonic(), b""
    while time.monotonic() - started < 40:
        try:
            sock.sendall(b" ")
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
            if b"\r\n\r\n" in answer:
                break
        except socket.timeout:
            continue
        except OSError:
            break
    elapsed = time.monotonic() - started
    sock.close()
    assert 15 < elapsed < 35, elapsed
    assert answer == b"" or answer.split(b" ", 2)[1] in (b"400", b"408"), answer[:200]
    # Still serving.
    assert post(bridge, "/json/2/res.company/search_count", {"domain": []}, bridge.keys["drip"]) == (200, 1)


def test_another_companys_record_is_the_same_access_error_on_every_wire(bridge):
    """The ORM decides the access error once; each wire carries it in its own form: fault 4 over XML-RPC,
    Odoo's JSON-RPC error object over /jsonrpc, 403 with Odoo's JSON error over /json/2."""
    import xmlrpc.client

    alice = JSON2Client(host=bridge.url, api_key=bridge.keys["alice"], database=bridge.db)
    [link] = alice.env[LINK].create({"name": "Acme's own"})
    bob_uid = harness.Api(bridge, "bob").uid
    expected = (f"Sorry, bob (id={bob_uid}) doesn't have 'write' access to:\n- Bank Connection (account.online.link)")
    models = xmlrpc.client.ServerProxy(f"{bridge.url}/xmlrpc/2/object")
    with pytest.raises(xmlrpc.client.Fault) as fault:
        models.execute_kw(bridge.db, bob_uid, bridge.keys["bob"], LINK, "write", [[link], {"name": "x"}])
    assert fault.value.faultCode == 4 and expected in fault.value.faultString
    status, answer = post(bridge, "/jsonrpc", {"jsonrpc": "2.0", "id": 7, "method": "call", "params": {
        "service": "object", "method": "execute_kw",
        "args": [bridge.db, bob_uid, bridge.keys["bob"], LINK, "write", [[link], {"name": "x"}]]}})
    assert status == 200 and answer["id"] == 7
    assert answer["error"]["data"]["name"] == "odoo.exceptions.AccessError"
    assert expected in answer["error"]["data"]["message"]
    status, answer = post(bridge, f"/json/2/{LINK}/write", {"ids": [link], "vals": {"name": "x"}}, bridge.keys["bob"])
    assert status == 403 and answer["name"] == "odoo.exceptions.AccessError" and expected in answer["message"]
    assert alice.env[LINK].read([link], ["name"])[0]["name"] == "Acme's own"
