"""What a sysadmin meets at start-up and in the logs of the real binary: bad database settings fail fast
with one line saying what is wrong and what to do, a first start on a fresh SQLite file looks healthy, the
SQLite files are private, a writer waits for another's lock instead of failing, an unknown `db` name is
refused, and every call leaves one escaped access line."""

import os
import re
import sqlite3
import stat
import threading
import time
import xmlrpc.client

import pytest

import harness


def run_cli(*args):
    """A bankbridge command and how long it took."""
    started = time.monotonic()
    out = harness.run_cli(*args, env=dict(os.environ, RUST_LOG="info"))
    return out, time.monotonic() - started


def test_sqlite_in_a_missing_directory_fails_at_once_naming_it(tmp_path):
    missing = tmp_path / "no" / "such" / "dir"
    out, elapsed = run_cli("--database", str(missing / "bridge.db"), "migrate")
    assert out.returncode != 0
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, out.stderr
    assert str(missing) in lines[0] and "does not exist" in lines[0] and "mkdir -p" in lines[0]
    assert "r2d2" not in out.stderr
    # One attempt, not a pool retrying until its 15 s timeout.
    assert elapsed < 10, elapsed


def test_postgres_server_down_fails_at_once_naming_it():
    port = harness.free_port()
    out, elapsed = run_cli("--database", f"postgres://bridge:secret-pw@127.0.0.1:{port}/bankbridge", "migrate")
    assert out.returncode != 0
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, out.stderr
    assert f"PostgreSQL server at 127.0.0.1:{port} refused" in lines[0] and "start it" in lines[0]
    assert "secret-pw" not in out.stderr and "r2d2" not in out.stderr
    assert elapsed < 10, elapsed


def test_first_start_on_a_fresh_sqlite_file_logs_no_error(servers):
    server = servers.bridge()
    models = xmlrpc.client.ServerProxy(f"{server.url}/xmlrpc/2/common")
    assert models.version()["server_serie"] == "17.0"
    server.stop()
    log = server.log_text()
    assert "ERROR" not in log and "database is locked" not in log, log


def test_sqlite_files_are_private(servers, tmp_path):
    path = tmp_path / "private.db"
    previous_umask = os.umask(0o022)  # the usual umask, which made the files 0644
    try:
        server = servers.bridge(database=path, users={"frank": "Acme"})
    finally:
        os.umask(previous_umask)
    harness.Api(server, "frank")("account.online.link", "create", {"name": "x"})
    files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    for f in files:
        assert f.exists(), f
        mode = stat.S_IMODE(f.stat().st_mode)
        assert mode == 0o600, f"{f.name} is {oct(mode)}"


def test_sqlite_writer_waits_for_a_lock_held_twelve_seconds(servers, tmp_path):
    """Another writer holds SQLite's write lock for 12 s (longer than the former 10 s busy timeout): a
    create waits for it and succeeds instead of failing with "database is locked"."""
    path = tmp_path / "busy.db"
    server = servers.bridge(database=path, users={"gina": "Acme"})
    gina = harness.Api(server, "gina")
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(12, lambda: holder.execute("COMMIT"))
    release.start()
    try:
        link = gina("account.online.link", "create", {"name": "waited"})
    finally:
        release.join()
        holder.close()
    assert isinstance(link, int)
    assert gina("account.online.link", "search_count", [("id", "=", link)]) == 1
    server.stop()
    assert "database is locked" not in server.log_text()


@pytest.fixture(scope="module")
def logged_bridge(backend_servers):
    return backend_servers.bridge(users={"hana": "Acme"}, env={"RUST_LOG": "debug"})


def test_unknown_database_name_is_refused_on_every_route(logged_bridge):
    b = logged_bridge
    hana = harness.Api(b, "hana")
    common, models, uid, key = hana.common, hana.models, hana.uid, hana.key
    assert uid
    expected = 'database "odoo" does not exist (this bridge serves the database "bankbridge")'
    for call in (
        lambda: common.authenticate("odoo", "hana", key, {}),
        lambda: common.login("odoo", "hana", key),
        lambda: models.execute_kw("odoo", uid, key, "account.online.link", "create", [{"name": "lost"}]),
        lambda: models.execute("odoo", uid, key, "account.online.link", "search", []),
    ):
        err = harness.fault_of(call)
        assert err.faultCode == 1 and expected in err.faultString, err
    legacy = xmlrpc.client.ServerProxy(f"{b.url}/xmlrpc/object")
    err = harness.fault_of(lambda: legacy.execute_kw("odoo", uid, key, "account.online.link", "search", [[]]))
    assert expected in err.faultCode
    # Nothing was created in the database the caller did not name.
    assert models.execute_kw(b.db, uid, key, "account.online.link", "search_count", [[("name", "=", "lost")]]) == 0

    answer = harness.jsonrpc(b.url + "/jsonrpc", {"service": "object", "method": "execute_kw",
                                                  "args": ["odoo", uid, key, "account.online.link", "search", [[]]]})
    assert expected in answer["error"]["data"]["message"]
    answer = harness.jsonrpc(b.url + "/jsonrpc", {"service": "common", "method": "authenticate",
                                                  "args": ["odoo", "hana", key, {}]})
    assert expected in answer["error"]["data"]["message"]
    answer = harness.jsonrpc(b.url + "/web/session/authenticate", {"db": "odoo", "login": "hana", "password": key})
    assert answer["error"]["data"]["name"] == "odoo.exceptions.AccessError"
    assert answer["error"]["data"]["message"] == 'Database not found: "odoo" (this bridge serves the database "bankbridge").'


def access_lines(log, marker):
    return [line for line in log.splitlines() if "bankbridge::access" in line and marker in line]


def test_one_access_line_per_call_with_who_where_and_outcome(logged_bridge):
    b = logged_bridge
    hana = harness.Api(b, "hana")
    common, models, uid, key = hana.common, hana.models, hana.uid, hana.key
    start = len(b.log_text())
    company = models.execute_kw(b.db, uid, key, "res.users", "read", [[uid]], {"fields": ["company_id"]})[0]["company_id"]
    company_id = company[0] if isinstance(company, list) else company
    models.execute_kw(b.db, uid, key, "account.online.link", "search_count", [[]], {"context": {"marker": 1}})
    harness.fault_of(lambda: models.execute_kw(b.db, uid, key, "account.online.link", "no_such_method_xyz", [[]]))
    harness.jsonrpc(f"{b.url}/jsonrpc", {"service": "object", "method": "execute_kw",
                                         "args": [b.db, uid, key, "account.online.account", "search_read", [[]], {"limit": 1}]})
    assert common.authenticate(b.db, "intruder\nINFO forged", "wrong", {}) is False
    harness.fault_of(lambda: models.execute_kw(b.db, uid, "wrong-key", "account.online.link", "search", [[]]))
    time.sleep(0.5)
    log = b.log_text()[start:]
    ok = access_lines(log, "account.online.link.search_count")
    assert len(ok) == 1, ok
    assert f"uid={uid}" in ok[0] and f"company={company_id}" in ok[0] and "peer=127.0.0.1:" in ok[0]
    assert "fault=0" in ok[0] and re.search(r"ms=\d+", ok[0]) and "protocol=\"xmlrpc\"" in ok[0]
    failed = access_lines(log, "no_such_method_xyz")
    assert len(failed) == 1 and "fault=1" in failed[0], failed
    json_line = access_lines(log, "account.online.account.search_read")
    assert len(json_line) == 1 and 'protocol="jsonrpc"' in json_line[0] and f"uid={uid}" in json_line[0], json_line
    denied = [line for line in access_lines(log, "access denied") if "common.authenticate" in line]
    assert len(denied) == 1 and 'login=intruder\\nINFO forged' in denied[0] and "peer=127.0.0.1:" in denied[0], denied
    assert not any(line.startswith("INFO forged") for line in log.splitlines())
    wrong_key = [line for line in access_lines(log, "access denied") if "account.online.link.search " in line + " "]
    assert len(wrong_key) == 1 and "fault=3" in wrong_key[0] and f"uid={uid}" in wrong_key[0], wrong_key
