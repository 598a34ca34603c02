"""Production as deploy/ ships it (issue 24): real nginx (Debian's package) with the site
deploy/nginx/bankbridge.conf, a certificate made here, in front of two replicas on one PostgreSQL, round
robin; a standalone sandbox (`bankbridge sandbox --enablebanking-port`) whose Salt Edge callbacks and
Enable Banking bank page come back through the public https URL; JSON-2 bearer keys through the proxy;
and the systemd unit deploy/systemd/bankbridge@.service checked by `systemd-analyze verify`. The deploy files are
used as shipped, with only the lines an operator edits replaced (marked EDIT there: the server name, the
certificate paths, the replicas' ports, the listen ports, the binary's path).

Before this issue: web sessions lived in one process (a call on the other replica answered "Odoo Session
Expired", a restart logged everyone out), every client behind nginx was nginx (one budget and one login
throttle for all, the access log naming only the proxy), and the throttle counted per process."""

import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import xmlrpc.client
from pathlib import Path

import pytest

import harness
from harness.enablebanking import MOCK_BANK, at_bank, query_param, start

REPO = harness.REPO
SITE = REPO / "deploy" / "nginx" / "bankbridge.conf"
UNIT = REPO / "deploy" / "systemd" / "bankbridge@.service"
PROVIDER = "musterbank_de"  # a real (non-fake) sandbox bank: a bridge with Salt Edge credentials lists no fake ones
EB_APP_ID = "3b0c6f7e-8d21-4a5b-9e63-0f4d2c7a1b58"  # the operator's own Enable Banking application
PER_CLIENT = 4  # --max-connections-per-client of the replicas here (default 256), so a test can reach it


def nginx_binary():
    path = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if not path:
        if os.environ.get("CI"):
            pytest.fail("nginx missing in CI (.ci/run installs Debian's nginx)")
        pytest.skip("nginx not installed (apt-get install nginx)")
    return path


def run(*args, **kw):
    return subprocess.run(list(args), check=True, capture_output=True, text=True, **kw)


def edited(text, replacements):
    """`text` with each (old, new) replaced, each `old` found exactly once: if the shipped file changes
    shape, this test says so instead of testing something else."""
    for old, new in replacements:
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in the shipped file"
        text = text.replace(old, new)
    return text


def listening(port):
    """Whether something accepts connections on the loopback port (a readiness probe for harness.Process)."""
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


def https_context(cluster):
    return ssl.create_default_context(cafile=str(cluster["cert"]))


class FromAddress(urllib.request.HTTPSHandler):
    """HTTPS from a chosen loopback source address (127.0.0.2, …): a client other than nginx's 127.0.0.1."""

    def __init__(self, source, context):
        super().__init__(context=context)
        self.source, self.ctx = source, context

    def https_open(self, req):
        return self.do_open(lambda host, **kw: http.client.HTTPSConnection(host, source_address=(self.source, 0), **{**kw, "context": self.ctx}), req)


class XmlRpcFrom(xmlrpc.client.SafeTransport):
    """XML-RPC over https from a chosen source address, with extra request headers."""

    def __init__(self, source, context, headers=()):
        super().__init__(context=context)
        self.source, self.headers = source, list(headers)

    def make_connection(self, host):
        if self._connection and host == self._connection[0]:
            return self._connection[1]
        chost, extra, _ = self.get_host_info(host)
        self._extra_headers = list(extra or []) + self.headers
        connection = http.client.HTTPSConnection(chost, source_address=(self.source, 0), context=self.context, timeout=60)
        self._connection = host, connection
        return connection


def xmlrpc_proxy(cluster, service, source="127.0.0.1", headers=()):
    transport = XmlRpcFrom(source, https_context(cluster), headers)
    return xmlrpc.client.ServerProxy(f"{cluster['url']}/xmlrpc/2/{service}", transport=transport)


class Replica(harness.Process):
    """One `bankbridge serve` of the cluster on its own port, ready when its /health answers 200; a restart
    appends to the same log, so a test reads what the replica logged before and after."""

    def __init__(self, cluster, port):
        env = dict(os.environ, **cluster["bridge_env"], RUST_LOG="info")
        args = [harness.binary(), "serve", "--bind", "127.0.0.1", "--port", str(port)]
        super().__init__(f"replica-{port}", args, cluster["workdir"], env=env)
        self.port = port

    def start(self):
        url = f"http://127.0.0.1:{self.port}/health"

        def healthy():
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.status == 200

        super().start(ready=healthy, timeout=60, what="answering /health")
        return self


def nginx_config(workdir, https_port, http_port, replica_ports, cert, key):
    site = edited(SITE.read_text(), [
        ("    server 127.0.0.1:8070 max_fails=1 fail_timeout=5s;  # EDIT: one line per replica (bankbridge@PORT)\n",
         "".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;\n" for p in replica_ports)),
        ("    listen 80;\n", f"    listen 127.0.0.1:{http_port};\n"),
        ("    listen 443 ssl http2;\n", f"    listen 127.0.0.1:{https_port} ssl http2;\n"),
        ("    ssl_certificate /etc/letsencrypt/live/bridge.example.com/fullchain.pem;  # EDIT\n", f"    ssl_certificate {cert};\n"),
        ("    ssl_certificate_key /etc/letsencrypt/live/bridge.example.com/privkey.pem;  # EDIT\n", f"    ssl_certificate_key {key};\n"),
    ])
    site = site.replace("server_name bridge.example.com;  # EDIT", "server_name localhost;")
    (workdir / "sites-enabled").mkdir()
    (workdir / "sites-enabled" / "bankbridge").write_text(site)
    for temp in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (workdir / "nginx-temp" / temp).mkdir(parents=True)
    # The main configuration is the test's own (Debian's nginx.conf writes to /var/log and /run); the site
    # is included as Debian's nginx.conf includes sites-enabled/*.
    user = "user root;\n" if os.geteuid() == 0 else ""
    main = f"""{user}daemon off;
worker_processes 2;
pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log info;
events {{ worker_connections 4096; }}
http {{
    include /etc/nginx/mime.types;
    access_log {workdir}/nginx-access.log;
    client_body_temp_path {workdir}/nginx-temp/body;
    proxy_temp_path {workdir}/nginx-temp/proxy;
    fastcgi_temp_path {workdir}/nginx-temp/fastcgi;
    uwsgi_temp_path {workdir}/nginx-temp/uwsgi;
    scgi_temp_path {workdir}/nginx-temp/scgi;
    include {workdir}/sites-enabled/*;
}}
"""
    path = workdir / "nginx.conf"
    path.write_text(main)
    return path


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    nginx = nginx_binary()
    if not harness.postgres_admin_url():
        if os.environ.get("CI"):
            pytest.fail("CI must provide BANKBRIDGE_TEST_POSTGRES_URL")
        pytest.skip("no PostgreSQL server")
    workdir = tmp_path_factory.mktemp("production")
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    # Self-signed, for a server (not a CA: a certificate verifier refuses a CA certificate as a server's).
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
        "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        "-addext", "basicConstraints=critical,CA:FALSE", "-addext", "keyUsage=critical,digitalSignature,keyEncipherment",
        "-addext", "extendedKeyUsage=serverAuth")
    # The sandbox signs callbacks with a key made here; the replicas verify them with its public half.
    signing, verifying = workdir / "callbacks.pem", workdir / "callbacks-public.pem"
    run("openssl", "genrsa", "-out", str(signing), "2048")
    run("openssl", "rsa", "-in", str(signing), "-pubout", "-out", str(verifying))
    # The Enable Banking application's key pair: the replicas sign with the private half, the sandbox
    # (like Enable Banking) knows the public half the application registered.
    eb_private, eb_public = workdir / "enablebanking-app.pem", workdir / "enablebanking-app-public.pem"
    run("openssl", "genrsa", "-out", str(eb_private), "2048")
    run("openssl", "rsa", "-in", str(eb_private), "-pubout", "-out", str(eb_public))
    https_port, http_port, sandbox_port = harness.free_port(), harness.free_port(), harness.free_port()
    eb_port = harness.free_port()
    replica_ports = [harness.free_port(), harness.free_port()]
    public_url = f"https://localhost:{https_port}"
    database = harness.new_database_url("postgres", workdir)
    sandbox = harness.Process("sandbox", [harness.binary(), "sandbox", "--port", str(sandbox_port), "--enablebanking-port",
                                          str(eb_port), "--enablebanking-app-key", str(eb_public), "--enablebanking-app-id",
                                          EB_APP_ID], workdir, env=dict(
        os.environ,
        BANKBRIDGE_SANDBOX_CALLBACK_URL=public_url,
        BANKBRIDGE_SANDBOX_SIGNING_KEY=str(signing),
        BANKBRIDGE_SANDBOX_ATTEMPT_DELAY_MS="1000",
        BANKBRIDGE_SANDBOX_TRANSACTIONS="50",
        # The sandbox (like Salt Edge) posts callbacks over https and verifies the certificate.
        SSL_CERT_FILE=str(cert),
    ))
    sandbox.start(ready=lambda: listening(sandbox_port) and listening(eb_port), what="listening on both ports")
    bridge_env = {
        "DATABASE_URL": database,
        "BANKBRIDGE_PUBLIC_URL": public_url,
        "BANKBRIDGE_TRUSTED_PROXIES": "127.0.0.1",
        "BANKBRIDGE_MAX_CONNECTIONS_PER_CLIENT": str(PER_CLIENT),
        "BANKBRIDGE_SALTEDGE_URL": f"http://127.0.0.1:{sandbox_port}/api/v6/",
        "BANKBRIDGE_SALTEDGE_APP_ID": "sandbox-app-id",
        "BANKBRIDGE_SALTEDGE_SECRET": "sandbox-secret",
        "BANKBRIDGE_SALTEDGE_CALLBACK_KEY": str(verifying),
        "BANKBRIDGE_ENABLEBANKING_URL": f"http://127.0.0.1:{eb_port}/",
        "BANKBRIDGE_ENABLEBANKING_APP_ID": EB_APP_ID,
        "BANKBRIDGE_ENABLEBANKING_PRIVATE_KEY": str(eb_private),
        "BANKBRIDGE_SYNC_INTERVAL": "0",
        "BANKBRIDGE_WORKERS": "2",
        "BANKBRIDGE_POOL_SIZE": "8",
    }
    cli_env = dict(os.environ, **bridge_env)
    keys = {}
    for login in ("alice", "bob", "dave", "erin"):
        keys[login] = run(harness.binary(), "user", "add", login, "--company", "Acme", env=cli_env).stdout.split()[-1]
    run(harness.binary(), "user", "add", "carol", "--company", "Acme", "--password-stdin", env=cli_env, input="carol-password-1\n")
    cluster = {"workdir": workdir, "cert": cert, "url": public_url, "bridge_env": bridge_env, "keys": keys,
               "database": database, "sandbox": sandbox}
    replicas = [Replica(cluster, port).start() for port in replica_ports]
    config = nginx_config(workdir, https_port, http_port, replica_ports, cert, key)
    check = subprocess.run([nginx, "-t", "-c", str(config), "-p", str(workdir)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    proxy = harness.Process("nginx", [nginx, "-c", str(config), "-p", str(workdir)], workdir)

    def proxy_up():
        with urllib.request.urlopen(f"{public_url}/health", timeout=2, context=https_context(cluster)) as r:
            return r.status == 200

    proxy.start(ready=proxy_up, timeout=30, what="answering over https")
    cluster.update(replicas=replicas, nginx=proxy)
    yield cluster
    proxy.stop()
    for replica in cluster["replicas"]:
        replica.stop()
    sandbox.stop()


def access_lines(cluster, marker):
    return [line for r in cluster["replicas"] for line in r.log_text().splitlines() if "bankbridge::access" in line and marker in line]


def alice_through_the_proxy(cluster):
    """alice's `execute_kw` over XML-RPC through nginx."""
    common, models = xmlrpc_proxy(cluster, "common"), xmlrpc_proxy(cluster, "object")
    key = cluster["keys"]["alice"]
    uid = common.authenticate("bankbridge", "alice", key, {})

    def call(model, method, *args, **kw):
        return models.execute_kw("bankbridge", uid, key, model, method, list(args), kw)

    return call


def wait_connected(call, link):
    """The link's record once it is connected with its accounts."""

    def connected():
        record = call("account.online.link", "read", [link], ["state", "account_online_account_ids"])[0]
        return record if record["state"] == "connected" and record["account_online_account_ids"] else None

    return harness.wait_for(connected, 90, "the link to be connected")


def restart_both(cluster):
    for replica in cluster["replicas"]:
        replica.stop()
    for replica in cluster["replicas"]:
        replica.start()


def test_odoorpc_and_odooly_sessions_work_across_replicas_and_restarts(cluster):
    import odoorpc
    import odooly

    ctx = https_context(cluster)
    port = int(cluster["url"].rsplit(":", 1)[1])
    # OdooRPC (0.10, for Odoo 10 and later: common.login, then execute_kw with the password over /jsonrpc)
    # from 127.0.0.2, so the replicas can tell it from nginx (127.0.0.1).
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(), FromAddress("127.0.0.2", ctx))
    odoo = odoorpc.ODOO("localhost", protocol="jsonrpc+ssl", port=port, opener=opener)
    odoo.login("bankbridge", "alice", cluster["keys"]["alice"])
    Link = odoo.env["account.online.link"]
    link = Link.create({"name": "Across replicas"})
    # Round robin: consecutive calls land on both replicas, with the one session; each name written is
    # read back, whichever replica answers. (Writes and reads alternate, so round robin may well send
    # every write to one replica and every read to the other: what counts is that both served the session.)
    for i in range(6):
        Link.write([link], {"name": f"Across replicas {i}"})
        assert Link.browse(link).name == f"Across replicas {i}"
    calls = ("account.online.link.write uid=", "account.online.link.read uid=")
    served = [r.name for r in cluster["replicas"] if any(call in r.log_text() for call in calls)]
    assert len(served) == 2, served
    lines = access_lines(cluster, calls[0]) + access_lines(cluster, calls[1])
    assert lines and all("peer=127.0.0.2 via 127.0.0.1:" in line and "fault=0" in line for line in lines), lines[:3]

    # odooly, on the web API: /web/session/authenticate once, then /web/dataset/call_kw with the session
    # cookie, whichever replica answers.
    # odooly builds its own HTTP client with the default trust store: urllib's (SSL_CERT_FILE), or
    # requests' (REQUESTS_CA_BUNDLE) when requests is installed.
    trust = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
    previous = {name: os.environ.get(name) for name in trust}
    os.environ.update({name: str(cluster["cert"]) for name in trust})
    try:
        client = odooly.Client(cluster["url"], "bankbridge", "bob", cluster["keys"]["bob"])
        assert client.env.uid > 0
        Bob = client.env["account.online.link"]
        for _ in range(4):
            assert [r["id"] for r in Bob.search_read([("id", "=", link)], ["name"])] == [link]
        served = [r.name for r in cluster["replicas"] if "call=web account.online.link.search_read" in r.log_text()]
        assert len(served) == 2, served

        restart_both(cluster)
        # Both replicas restarted: the same sessions go on, without logging in again.
        Link.write([link], {"name": "After the restart"})
        assert Link.browse(link).name == "After the restart"
        for _ in range(4):
            assert Bob.search_read([("id", "=", link)], ["name"])[0]["name"] == "After the restart"
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    # The session cookie is Secure (the public URL is https).
    body = json.dumps({"jsonrpc": "2.0", "method": "call", "id": 1, "params": {"db": "bankbridge", "login": "alice", "password": cluster["keys"]["alice"]}}).encode()
    request = urllib.request.Request(f"{cluster['url']}/web/session/authenticate", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30, context=ctx) as r:
        cookie = r.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie, cookie


def test_a_revoked_key_ends_its_web_sessions_on_every_replica(cluster):
    ctx = https_context(cluster)

    def post(path, params, cookie=None):
        body = json.dumps({"jsonrpc": "2.0", "method": "call", "id": 1, "params": params}).encode()
        headers = {"Content-Type": "application/json", **({"Cookie": cookie} if cookie else {})}
        request = urllib.request.Request(f"{cluster['url']}{path}", data=body, headers=headers)
        with urllib.request.urlopen(request, timeout=30, context=ctx) as r:
            return json.loads(r.read()), r.headers.get("Set-Cookie")

    _, cookie = post("/web/session/authenticate", {"db": "bankbridge", "login": "dave", "password": cluster["keys"]["dave"]})
    sid = cookie.split(";")[0]
    call = {"model": "account.online.link", "method": "search_count", "args": [[]], "kwargs": {}}
    for _ in range(4):  # both replicas, round robin
        assert post("/web/dataset/call_kw", call, sid)[0]["result"] >= 0
    run(harness.binary(), "user", "revoke", "dave", env=dict(os.environ, **cluster["bridge_env"]))
    for _ in range(4):
        assert post("/web/dataset/call_kw", call, sid)[0]["error"]["code"] == 100


def test_the_connect_flow_runs_through_the_proxy_with_callbacks_to_the_public_url(cluster):
    call = alice_through_the_proxy(cluster)
    harness.wait_for(lambda: call("account.online.institution", "search_count", [["code", "=", PROVIDER]]), 60, "the institutions")
    action = call("account.online.link", "action_new_synchronization", [], institution_code=PROVIDER, email="proxy@acme.test")
    link = action["res_id"]
    # The user's browser: the bank's (sandbox's) page, then back to the bridge's public https URL.
    page = urllib.request.urlopen(action["url"], timeout=30).read().decode()
    form = {"login": "proxyuser", "password": "secret", "consent": "yes"}
    provider = re.search(r'name="provider_code" value="([^"]+)"', page)
    if provider:
        form["provider_code"] = provider.group(1)
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=https_context(cluster)))
    with opener.open(urllib.request.Request(action["url"], data=urllib.parse.urlencode(form).encode()), timeout=60) as r:
        final_url, body = r.geturl(), r.read().decode()
    assert final_url.startswith(f"{cluster['url']}/saltedge/return?state="), final_url
    assert "Bank account connected" in body, body[:500]

    record = wait_connected(call, link)
    posted = call("account.online.transaction", "search_count", [["online_account_id", "in", record["account_online_account_ids"]], ["status", "=", "posted"]])
    assert posted >= 50, posted
    # Salt Edge's (the sandbox's) callbacks came in through nginx over https and were verified.
    nginx_log = (cluster["workdir"] / "nginx-access.log").read_text()
    callbacks = [line for line in nginx_log.splitlines() if "POST /saltedge/callbacks/" in line]
    assert any(" 200 " in line for line in callbacks), callbacks[-5:]
    logs = "".join(r.log_text() for r in cluster["replicas"])
    assert "Salt Edge callback" in logs
    assert "refused a callback" not in logs
    identifiers = call("account.online.transaction", "search_read", [["online_account_id", "in", record["account_online_account_ids"]]], fields=["online_transaction_identifier"])
    ids = [r["online_transaction_identifier"] for r in identifiers]
    assert len(ids) == len(set(ids)), "a transaction imported twice"


def test_an_enable_banking_authorization_returns_through_the_proxy_to_either_replica(cluster):
    """Enable Banking sends the browser back to the redirect URL the application registered, the public
    https URL: through nginx to whichever replica, which opens the session with the code and imports. The
    one-time state is shared: the same return URL again, on the other replica, changes nothing."""
    call = alice_through_the_proxy(cluster)
    harness.wait_for(lambda: call("account.online.institution", "search_count", [["code", "=", MOCK_BANK]]), 60, "Enable Banking's banks")
    link, bank_url = start(call, MOCK_BANK, email="eb-proxy@acme.test")
    status, location, body = at_bank(bank_url, username="eb-proxy", follow=False)
    assert status in (302, 303), (status, body[:300])
    assert location.startswith(f"{cluster['url']}/enablebanking/return?"), location
    assert query_param(location, "code") and query_param(location, "state"), location
    opener = urllib.request.build_opener(FromAddress("127.0.0.2", https_context(cluster)))
    with opener.open(location, timeout=60) as r:
        assert r.status == 200
        page = r.read().decode()
    assert "Bank account connected" in page, page[:500]

    record = wait_connected(call, link)
    accounts = record["account_online_account_ids"]
    rows = call("account.online.transaction", "search_read", [["online_account_id", "in", accounts]], fields=["online_transaction_identifier"])
    identifiers = [r["online_transaction_identifier"] for r in rows]
    assert identifiers and len(identifiers) == len(set(identifiers)), "nothing imported, or a row imported twice"
    # The same return URL again (a reload, or a replay), twice: round robin sends one of them to the other
    # replica. The state was used once, in the shared database.
    for _ in range(2):
        with opener.open(location, timeout=60) as r:
            assert "This link is no longer valid" in r.read().decode()
    assert call("account.online.link", "read", [link], ["state"])[0]["state"] == "connected"
    returns = [line for line in (cluster["workdir"] / "nginx-access.log").read_text().splitlines() if "GET /enablebanking/return?" in line]
    assert len(returns) == 3 and all(" 200 " in line for line in returns), returns
    # Each replica's /metrics counts its Enable Banking calls: the session opened with the code, and the reads.
    opened = 0
    for replica in cluster["replicas"]:
        with urllib.request.urlopen(f"http://127.0.0.1:{replica.port}/metrics", timeout=30) as r:
            text = r.read().decode()
        opened += sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                      if line.startswith('bankbridge_enablebanking_calls_total{resource="sessions",outcome="ok"}'))
        assert 'bankbridge_enablebanking_calls_total{resource="aspsps",outcome="ok"}' in text, replica.name
    assert opened >= 1, "no Enable Banking session call counted"
    # At start-up each replica found the public https return URL among the application's redirect URLs.
    for replica in cluster["replicas"]:
        assert "Enable Banking application checked" in replica.log_text(), replica.name
        assert "does not list the bridge's redirect URL" not in replica.log_text(), replica.name


def test_json2_bearer_keys_are_throttled_per_client_across_replicas(cluster):
    """JSON-2 (`Authorization: bearer`): an attacker at 127.0.0.3 tries keys with erin's key prefix through
    nginx, round robin over both replicas, claiming to be 127.0.0.2 in X-Forwarded-For. Ten wrong keys
    throttle the attacker everywhere, even with erin's right key; erin, calling from 127.0.0.2, is not
    throttled. (Before, /json/2 counted wrong keys per uid in each process: erin was locked out by the
    attacker, and two replicas allowed the attacker twice the guesses.)"""
    port = int(cluster["url"].rsplit(":", 1)[1])
    erin = cluster["keys"]["erin"]

    def json2(source, bearer, spoof=None):
        conn = http.client.HTTPSConnection("localhost", port, source_address=(source, 0), context=https_context(cluster), timeout=60)
        headers = {"Content-Type": "application/json", "Authorization": f"bearer {bearer}"}
        if spoof:
            headers["X-Forwarded-For"] = spoof
        conn.request("POST", "/json/2/res.company/search_count", body=json.dumps({"domain": []}), headers=headers)
        response = conn.getresponse()
        return response.status, response.read()

    for i in range(10):
        wrong = erin[:8] + f"{i:x}" * (len(erin) - 8)
        assert json2("127.0.0.3", wrong, spoof="127.0.0.2")[0] == 401
    guessed_on = {r.name for r in cluster["replicas"] if "/json/2" in r.log_text() or "json2" in r.log_text()}
    assert len(guessed_on) == 2, "round robin spreads the guesses over both replicas"
    for _ in range(2):
        assert json2("127.0.0.3", erin, spoof="127.0.0.2")[0] == 401, "the attacker is throttled on both replicas"
    for _ in range(2):
        assert json2("127.0.0.2", erin) == (200, b"1")
    time.sleep(0.5)
    denied = [line for line in access_lines(cluster, "access denied") if "json2" in line]
    assert len(denied) >= 12 and all("peer=127.0.0.3 via 127.0.0.1:" in line for line in denied), denied[:3]


def test_spoofed_forwarding_headers_are_ignored(cluster):
    spoofed = {"X-Forwarded-For": "203.0.113.9", "Forwarded": "for=203.0.113.77;proto=https", "X-Forwarded-Proto": "https"}
    body = xmlrpc.client.dumps(("bankbridge", "spoofer", "wrong", {}), "authenticate").encode()
    # Straight to a replica from 127.0.0.2, which is not a trusted proxy: the headers are not read.
    replica = cluster["replicas"][0]
    conn = http.client.HTTPConnection("127.0.0.1", replica.port, source_address=("127.0.0.2", 0), timeout=30)
    conn.request("POST", "/xmlrpc/2/common", body=body, headers={"Content-Type": "text/xml", **spoofed})
    assert conn.getresponse().status == 200
    # Through nginx from 127.0.0.3: nginx appends the address it saw and drops Forwarded.
    conn = http.client.HTTPSConnection("localhost", int(cluster["url"].rsplit(":", 1)[1]), source_address=("127.0.0.3", 0), context=https_context(cluster), timeout=30)
    conn.request("POST", "/xmlrpc/2/common", body=body, headers={"Content-Type": "text/xml", **spoofed})
    assert conn.getresponse().status == 200
    time.sleep(0.5)
    lines = access_lines(cluster, 'login=spoofer')
    assert len(lines) == 2, lines
    assert any("peer=127.0.0.2:" in line and " via " not in line for line in lines), lines
    assert any("peer=127.0.0.3 via 127.0.0.1:" in line for line in lines), lines
    assert not any("203.0.113" in line for line in lines), lines


def test_the_login_throttle_holds_across_replicas_and_only_for_the_client_that_failed(cluster):
    """An attacker at 127.0.0.3 guesses carol's password through nginx, claiming to be 127.0.0.2 in
    X-Forwarded-For; round robin spreads the guesses over both replicas. Ten failures throttle the attacker
    (a per-process count would have allowed ten per replica), never carol at 127.0.0.2."""
    attacker = xmlrpc_proxy(cluster, "common", "127.0.0.3", headers=[("X-Forwarded-For", "127.0.0.2")])
    for i in range(10):
        assert attacker.authenticate("bankbridge", "carol", f"guess-{i}", {}) is False
    guessed_on = {r.name for r in cluster["replicas"] if "login=carol" in r.log_text()}
    assert len(guessed_on) == 2, "round robin spreads the guesses over both replicas"
    # Throttled now, on both replicas, even with the right password.
    for _ in range(2):
        assert attacker.authenticate("bankbridge", "carol", "carol-password-1", {}) is False
    assert "too many recent failures" in "".join(r.log_text() for r in cluster["replicas"])
    # carol herself, from her own address, logs in at once, on either replica.
    victim = xmlrpc_proxy(cluster, "common", "127.0.0.2")
    for _ in range(2):
        assert victim.authenticate("bankbridge", "carol", "carol-password-1", {}) > 0


def test_one_client_over_its_limits_does_not_lock_out_another(cluster):
    """Client A (127.0.0.2) sends 24 calls at once that wait on a table held locked; each replica lets a
    client run PER_CLIENT calls and answers the rest 503, so client B (127.0.0.3), behind the same nginx,
    still gets database connections and its answers at once. Before, every client behind nginx was nginx:
    A's calls took every connection of the pool and B waited for the lock with them."""
    key = cluster["keys"]["alice"]
    uid = xmlrpc_proxy(cluster, "common", "127.0.0.2").authenticate("bankbridge", "alice", key, {})
    locker = subprocess.Popen(["psql", cluster["database"], "-qAt", "-v", "ON_ERROR_STOP=1"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    locker.stdin.write("BEGIN;\nLOCK TABLE online_links IN ACCESS EXCLUSIVE MODE;\nSELECT 'locked';\n")
    locker.stdin.flush()
    assert locker.stdout.readline().strip() == "locked"
    outcomes = []

    def a_call():
        try:
            outcomes.append(xmlrpc_proxy(cluster, "object", "127.0.0.2").execute_kw("bankbridge", uid, key, "account.online.link", "search_count", [[]]))
        except xmlrpc.client.ProtocolError as e:
            outcomes.append(e.errcode)

    threads = [threading.Thread(target=a_call) for _ in range(24)]
    try:
        for t in threads:
            t.start()
        harness.wait_for(lambda: outcomes.count(503) >= 24 - 2 * PER_CLIENT, 30, "client A's calls over its limit to be refused")
        started = time.monotonic()
        b_uid = xmlrpc_proxy(cluster, "common", "127.0.0.3").authenticate("bankbridge", "bob", cluster["keys"]["bob"], {})
        b_models = xmlrpc_proxy(cluster, "object", "127.0.0.3")
        for _ in range(4):
            assert b_models.execute_kw("bankbridge", b_uid, cluster["keys"]["bob"], "account.online.institution", "search_count", [[]]) > 0
        b_seconds = time.monotonic() - started
        assert len(outcomes) == 24 - 2 * PER_CLIENT, "A's admitted calls still wait for the lock"
    finally:
        locker.stdin.write("COMMIT;\n\\q\n")
        locker.stdin.flush()
        locker.wait(timeout=30)
        for t in threads:
            t.join()
    print(f"client B answered in {b_seconds:.2f} s while A held its limit")
    assert outcomes.count(503) == 24 - 2 * PER_CLIENT and all(isinstance(o, int) for o in outcomes), outcomes
    assert len([o for o in outcomes if o != 503]) == 2 * PER_CLIENT


def test_the_systemd_unit_verifies(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        if os.environ.get("CI"):
            pytest.fail("systemd-analyze missing in CI (.ci/run installs systemd)")
        pytest.skip("systemd-analyze not installed")
    unit = tmp_path / UNIT.name
    unit.write_text(edited(UNIT.read_text(), [
        ("ExecStart=/usr/local/bin/bankbridge serve", f"ExecStart={harness.binary()} serve"),
    ]))
    out = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and not out.stdout.strip() and not out.stderr.strip(), out.stdout + out.stderr
    # The hardening the unit promises is what systemd reads.
    security = subprocess.run([analyze, "security", "--offline=true", str(unit)], capture_output=True, text=True, timeout=60)
    for promised in ("NoNewPrivileges=", "ProtectSystem=", "User=/DynamicUser=", "CapabilityBoundingSet=~CAP_SYS_ADMIN"):
        assert any(line.startswith("✓ " + promised) for line in security.stdout.splitlines()), (promised, security.stdout)
