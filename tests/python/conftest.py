"""The suite's fixtures, all built on harness.Servers (the harness package's docstring lists its API)."""

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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test shows the end of the log of every process that ran while it did (the whole logs stay
    under --basetemp)."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for process in harness.Process.running_between(call.start, call.stop):
            report.sections.append((f"log of {process.name}: {process.log_path}", process.log_tail()))


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def servers(tmp_path):
    """Bridges, sandboxes and processes for one test, stopped after it."""
    with harness.Servers(tmp_path) as scope:
        yield scope


@pytest.fixture(scope="module")
def module_servers(request, tmp_path_factory):
    """Bridges, sandboxes and processes for one test module."""
    with harness.Servers(tmp_path_factory.mktemp(request.module.__name__)) as scope:
        yield scope


@pytest.fixture(scope="module")
def backend_servers(request, backend, tmp_path_factory):
    """Bridges, sandboxes and processes for one test module on one backend (bridges default to it)."""
    with harness.Servers(tmp_path_factory.mktemp(f"{request.module.__name__}-{backend}"), backend) as scope:
        yield scope


@pytest.fixture(scope="module")
def bridge(backend_servers):
    """A running bridge with two users in two companies: alice (Acme) and bob (Globex)."""
    return backend_servers.bridge(users={"alice": "Acme", "bob": "Globex"}, passwords={"alice": "alice-password-1"})
