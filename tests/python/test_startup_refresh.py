"""The institution refresh at start-up is safe beside other writers (issue 24, defect 5). Before, on
SQLite it read then wrote in a deferred transaction: whenever another writer (the scheduler's first cycle,
a client's write, another process) committed in between, SQLite refused the upgrade at once and the start
logged `WARN could not refresh institutions … Internal server error` without the cause (5 of 6 restarts
under writes here). Now it queues for the write lock and upserts each provider in one statement; should it
still fail, the warning carries the cause.

Found on the way: two replicas started together on an empty PostgreSQL database raced to create the
first user, and one exited at once ("duplicate key value violates unique constraint companies_name_key")."""

import sqlite3
import threading

import harness


def test_the_startup_refresh_succeeds_while_another_process_writes(servers):
    server = servers.bridge(users={"uma": "Acme"})
    server.stop()
    with sqlite3.connect(server.database_url) as db:
        db.executemany("INSERT INTO online_links (name, state, company_id, auto_sync, has_unlinked_accounts) VALUES (?, 'disconnected', 1, 1, 0)",
                       [(f"busy {i}",) for i in range(50)])
    stop = threading.Event()

    def writer():
        # Another process committing small writes back to back, as the scheduler's claims and clients do.
        db = sqlite3.connect(server.database_url, timeout=30, isolation_level=None)
        while not stop.is_set():
            db.execute("BEGIN IMMEDIATE")
            db.execute("UPDATE online_links SET name = name WHERE id <= 50")
            db.execute("COMMIT")
        db.close()

    outcomes = []
    for _ in range(4):
        stop.clear()
        thread = threading.Thread(target=writer)
        thread.start()
        try:
            server.start()
            harness.wait_for(lambda: "institutions refreshed" in server.log_text() or "could not refresh" in server.log_text(), 30, "the start-up refresh")
        finally:
            stop.set()
            thread.join()
            server.stop()
        log = server.log_text()
        outcomes.append("could not refresh institutions" not in log and "institutions refreshed from the aggregators" in log)
    assert all(outcomes), f"refresh failed in {outcomes.count(False)} of {len(outcomes)} starts:\n{server.log_text()}"


def test_replicas_starting_together_on_an_empty_postgres_database_all_start(servers):
    harness.require_postgres()
    for _ in range(3):
        database = harness.new_database_url("postgres", servers.workdir)
        replicas = [servers.bridge(database=database, start=False) for _ in range(2)]
        errors = []

        def start(bridge):
            try:
                bridge.start()
            except RuntimeError as e:
                errors.append(str(e))

        threads = [threading.Thread(target=start, args=(b,)) for b in replicas]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        try:
            assert not errors, errors
            harness.wait_for(lambda: all("institutions refreshed" in b.log_text() or "could not refresh" in b.log_text() for b in replicas), 30, "both refreshes")
            for b in replicas:
                assert "could not refresh" not in b.log_text(), b.log_text()
        finally:
            for b in replicas:
                b.stop()
