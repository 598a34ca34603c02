"""What a sysadmin meets at start-up and in the logs of the real binary: bad database settings fail fast
with one line saying what is wrong and what to do, a first start on a fresh SQLite file looks healthy, the
SQLite files are private, a writer waits for another's lock instead of failing."""

import os
import re
import sqlite3
import stat
import subprocess
import threading
import time
import xmlrpc.client

import pytest

import harness


def run_cli(args, env_extra=None, timeout=60):
    env = dict(os.environ, RUST_LOG="info")
    env.update(env_extra or {})
    started = time.monotonic()
    out = subprocess.run([harness.binary(), *args], env=env, capture_output=True, text=True, timeout=timeout)
    return out, time.monotonic() - started


def test_sqlite_in_a_missing_directory_fails_at_once_naming_it(tmp_path):
    missing = tmp_path / "no" / "such" / "dir"
    out, elapsed = run_cli(["--database", str(missing / "bridge.db"), "migrate"])
    assert out.returncode != 0
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, out.stderr
    assert str(missing) in lines[0] and "does not exist" in lines[0] and "mkdir -p" in lines[0]
    assert "r2d2" not in out.stderr
    # One attempt, not a pool retrying until its 15 s timeout.
    assert elapsed < 10, elapsed


def test_postgres_server_down_fails_at_once_naming_it():
    port = harness.free_port()
    out, elapsed = run_cli(["--database", f"postgres://bridge:secret-pw@127.0.0.1:{port}/bankbridge", "migrate"])
    assert out.returncode != 0
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, out.stderr
    assert f"PostgreSQL server at 127.0.0.1:{port} refused" in lines[0] and "start it" in lines[0]
    assert "secret-pw" not in out.stderr and "r2d2" not in out.stderr
    assert elapsed < 10, elapsed


def test_first_start_on_a_fresh_sqlite_file_logs_no_error(tmp_path):
    server = harness.Bridge(str(tmp_path / "fresh.db"), tmp_path)
    server.start()
    try:
        models = xmlrpc.client.ServerProxy(f"{server.url}/xmlrpc/2/common")
        assert models.version()["server_serie"] == "17.0"
    finally:
        server.stop()
    log = server.log_text()
    assert "ERROR" not in log and "database is locked" not in log, log


def test_sqlite_files_are_private(tmp_path):
    os.umask(0o022)
    path = tmp_path / "private.db"
    server = harness.Bridge(str(path), tmp_path)
    server.add_user("frank", company="Acme")
    server.start()
    try:
        common = xmlrpc.client.ServerProxy(f"{server.url}/xmlrpc/2/common")
        models = xmlrpc.client.ServerProxy(f"{server.url}/xmlrpc/2/object")
        uid = common.authenticate(server.db, "frank", server.keys["frank"], {})
        models.execute_kw(server.db, uid, server.keys["frank"], "account.online.link", "create", [{"name": "x"}])
        files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
        for f in files:
            assert f.exists(), f
            mode = stat.S_IMODE(f.stat().st_mode)
            assert mode == 0o600, f"{f.name} is {oct(mode)}"
    finally:
        server.stop()


def test_sqlite_writer_waits_for_a_lock_held_twelve_seconds(tmp_path):
    """Another writer holds SQLite's write lock for 12 s (longer than the former 10 s busy timeout): a
    create waits for it and succeeds instead of failing with "database is locked"."""
    path = tmp_path / "busy.db"
    server = harness.Bridge(str(path), tmp_path)
    server.add_user("gina", company="Acme")
    server.start()
    try:
        common = xmlrpc.client.ServerProxy(f"{server.url}/xmlrpc/2/common")
        models = xmlrpc.client.ServerProxy(f"{server.url}/xmlrpc/2/object")
        key = server.keys["gina"]
        uid = common.authenticate(server.db, "gina", key, {})
        holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN IMMEDIATE")
        release = threading.Timer(12, lambda: holder.execute("COMMIT"))
        release.start()
        try:
            link = models.execute_kw(server.db, uid, key, "account.online.link", "create", [{"name": "waited"}])
        finally:
            release.join()
            holder.close()
        assert isinstance(link, int)
        assert models.execute_kw(server.db, uid, key, "account.online.link", "search_count", [[("id", "=", link)]]) == 1
    finally:
        server.stop()
    assert "database is locked" not in server.log_text()
