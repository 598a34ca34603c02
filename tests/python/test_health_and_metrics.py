"""What an operator monitors (issue 24): `/health` answers while the process lives, `/health/ready` only
while the database answers, and `/metrics` (Prometheus text) counts requests by protocol, method and
outcome with latency histograms, the database pools' use, Salt Edge calls by outcome, synchronizations and
the rows they stored, and links by state. Before: `/health` checked the database (a database outage would
get every replica restarted), and there was no readiness route and no metrics (404)."""

import json
import re
import subprocess
import urllib.error
import urllib.request
import xmlrpc.client

import pytest

import harness
from harness import Api, connect, settled


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.headers.get("Content-Type"), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read().decode()


def sample(text, name, **labels):
    """The value of one series in Prometheus text, or None."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        metric, _, label_text = series.partition("{")
        found = dict(re.findall(r'(\w+)="([^"]*)"', label_text))
        if metric == name and all(found.get(k) == v for k, v in labels.items()):
            return float(value)
    return None


@pytest.fixture(scope="module")
def monitored(backend_servers):
    return backend_servers.bridge(users={"rita": "Acme"})


def test_metrics_count_what_the_bridge_did(monitored):
    b = monitored
    api = Api(b, "rita")
    link, *_ = connect(api, "rita@acme.test")
    assert settled(api, link)["state"] == "connected"
    api("account.online.link", "search_count", [])
    with pytest.raises(xmlrpc.client.Fault):
        api("account.online.link", "a_method_no_model_has", [])
    with pytest.raises(xmlrpc.client.Fault):
        xmlrpc.client.ServerProxy(f"{b.url}/xmlrpc/2/object").execute_kw(b.db, api.uid, "wrong", "account.online.link", "search", [[]])
    body = json.dumps({"jsonrpc": "2.0", "method": "call", "id": 1, "params": {
        "service": "object", "method": "execute_kw", "args": [b.db, api.uid, api.key, "account.online.account", "search_read", [[]], {"limit": 1}]}}).encode()
    urllib.request.urlopen(urllib.request.Request(f"{b.url}/jsonrpc", data=body, headers={"Content-Type": "application/json"}), timeout=30).read()

    status, content_type, text = get(f"{b.url}/metrics")
    assert status == 200 and content_type.startswith("text/plain; version=0.0.4"), (status, content_type)
    assert sample(text, "bankbridge_requests_total", protocol="xmlrpc", method="search_count", outcome="ok") >= 1
    assert sample(text, "bankbridge_requests_total", protocol="xmlrpc", method="other", outcome="error") >= 1
    assert sample(text, "bankbridge_requests_total", protocol="xmlrpc", method="search", outcome="access_denied") >= 1
    assert sample(text, "bankbridge_requests_total", protocol="jsonrpc", method="search_read", outcome="ok") >= 1
    assert sample(text, "bankbridge_requests_total", protocol="xmlrpc", method="action_new_synchronization", outcome="ok") == 1
    # A client's made-up method name never becomes a label.
    assert "a_method_no_model_has" not in text
    assert sample(text, "bankbridge_request_duration_seconds_count", protocol="xmlrpc", method="search_count") >= 1
    assert sample(text, "bankbridge_request_duration_seconds_bucket", protocol="xmlrpc", method="search_count", le="+Inf") >= 1
    assert sample(text, "bankbridge_db_connections", pool="blocking", state="max") >= 1
    assert sample(text, "bankbridge_db_wait_seconds_count") > 0
    assert sample(text, "bankbridge_saltedge_calls_total", resource="connections", outcome="ok") >= 1
    assert sample(text, "bankbridge_sync_runs_total", outcome="ok") >= 1
    assert sample(text, "bankbridge_sync_runs_total", outcome="error") is not None
    posted, pending = (api("account.online.transaction", "search_count", [["status", "=", s]]) for s in ("posted", "pending"))
    assert sample(text, "bankbridge_imported_transactions_total") >= posted + pending > 0
    assert sample(text, "bankbridge_links", state="connected") == 1
    assert sample(text, "bankbridge_links", state="fetching") == 0


def test_liveness_does_not_depend_on_the_database_and_readiness_does(monitored, tmp_path):
    b = monitored
    status, _, text = get(f"{b.url}/health")
    assert status == 200 and json.loads(text)["status"] == "ok"
    assert get(f"{b.url}/web/health")[:1] == (200,) and json.loads(get(f"{b.url}/web/health")[2]) == {"status": "pass"}
    status, _, text = get(f"{b.url}/health/ready")
    assert status == 200 and json.loads(text) == {"status": "ready", "database": "ok"}
    if b.backend != "postgres":
        pytest.skip("taking the database away is done on PostgreSQL")
    admin = harness.postgres_admin_url()
    name = b.database_url.rsplit("/", 1)[1]

    def psql(sql):
        subprocess.run(["psql", admin, "-q", "-c", sql], check=True, capture_output=True)

    psql(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
    psql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
    try:
        status, _, text = get(f"{b.url}/health/ready")
        assert status == 503 and json.loads(text)["database"] == "unavailable", (status, text)
        assert get(f"{b.url}/health")[0] == 200
    finally:
        psql(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
    harness.wait_for(lambda: get(f"{b.url}/health/ready")[0] == 200, 30, "readiness to come back")
