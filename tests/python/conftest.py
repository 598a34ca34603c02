import os

import pytest

import harness

BACKENDS = ["sqlite", "postgres"]


def pytest_collection_modifyitems(config, items):
    if harness.postgres_admin_url():
        return
    if os.environ.get("CI"):
        raise pytest.UsageError("CI must test PostgreSQL too: set BANKBRIDGE_TEST_POSTGRES_URL (tests/run.sh does)")
    skip = pytest.mark.skip(reason="no PostgreSQL server: set BANKBRIDGE_TEST_POSTGRES_URL or use tests/run.sh")
    for item in items:
        if "postgres" in item.keywords or "[postgres" in item.nodeid:
            item.add_marker(skip)


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture(scope="module")
def bridge(backend, tmp_path_factory):
    """A running bridge with two users in two companies: alice (Acme) and bob (Globex)."""
    if backend == "postgres" and not harness.postgres_admin_url():
        pytest.skip("no PostgreSQL server")
    workdir = tmp_path_factory.mktemp(f"bridge-{backend}")
    server = harness.Bridge(harness.new_database_url(backend, workdir), workdir)
    server.add_user("alice", company="Acme", password="alice-password-1")
    server.add_user("bob", company="Globex")
    server.start()
    server.backend = backend
    yield server
    server.stop()
