"""`bankbridge backup PATH` (issue 24): a consistent copy of a SQLite database taken while the bridge serves
writes; the copy is private, checked, and a bridge started on it serves the same data with the same keys.
PostgreSQL gets the pg_dump call instead. Before: there was no backup command at all."""

import os
import sqlite3
import stat
import threading
import xmlrpc.client

import harness


def test_online_backup_of_sqlite_is_consistent_and_usable(tmp_path, servers):
    server = servers.bridge(users={"quinn": "Acme"})
    key = server.keys["quinn"]
    uid = xmlrpc.client.ServerProxy(f"{server.url}/xmlrpc/2/common").authenticate(server.db, "quinn", key, {})
    stop = threading.Event()
    created = []

    def writer():
        models = xmlrpc.client.ServerProxy(f"{server.url}/xmlrpc/2/object")
        while not stop.is_set():
            # A link and its account in one call, one transaction: a consistent copy has both or neither.
            link = models.execute_kw(server.db, uid, key, "account.online.link", "create", [{
                "name": f"backup-{len(created)}",
                "account_online_account_ids": [(0, 0, {"name": f"account-{len(created)}"})],
            }])
            created.append(link)

    thread = threading.Thread(target=writer)
    thread.start()
    copies = []
    try:
        harness.wait_for(lambda: len(created) >= 20, 30, "the first writes")
        for i in range(3):
            target = tmp_path / f"copy-{i}.db"
            out = server.cli("backup", str(target))
            assert "integrity checked" in out and str(target) in out, out
            copies.append(target)
    finally:
        stop.set()
        thread.join()
    for copy in copies:
        assert stat.S_IMODE(copy.stat().st_mode) == 0o600
        assert not os.path.exists(f"{copy}-wal"), "a self-contained file"
        with sqlite3.connect(copy) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            links = db.execute("SELECT count(*) FROM online_links WHERE name LIKE 'backup-%'").fetchone()[0]
            accounts = db.execute("SELECT count(*) FROM online_accounts a JOIN online_links l ON l.id = a.account_online_link_id WHERE l.name LIKE 'backup-%'").fetchone()[0]
        assert links >= 20 and links == accounts, (copy, links, accounts)
    server.stop()
    # A bridge on the last copy serves what it holds, with the same key.
    restored = servers.bridge(database=str(copies[-1]), keys={"quinn": key})
    quinn = harness.Api(restored, "quinn")
    assert quinn.uid == uid
    assert quinn("account.online.link", "search_count", [["name", "like", "backup-"]]) == links


def test_backup_never_overwrites_and_points_postgres_to_pg_dump(tmp_path):
    database = tmp_path / "bridge.db"
    env = dict(os.environ, DATABASE_URL=str(database))
    harness.run_cli("migrate", env=env, check=True)
    existing = tmp_path / "existing.db"
    existing.write_text("precious")
    out = harness.run_cli("backup", str(existing), env=env)
    assert out.returncode == 1 and "already exists" in out.stderr
    assert existing.read_text() == "precious"
    pg = dict(os.environ, DATABASE_URL="postgres://bridge:secret-pw@127.0.0.1:5/bankbridge")
    out = harness.run_cli("backup", str(tmp_path / "pg.dump"), env=pg)
    assert out.returncode == 1 and "pg_dump --format=custom" in out.stderr, out.stderr
    assert "secret-pw" not in out.stderr
    assert not (tmp_path / "pg.dump").exists()
