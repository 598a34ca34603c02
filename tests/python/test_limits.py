"""Request limits and hostile input at the HTTP/XML-RPC layer: each gets a fault or a 4xx, quickly, the
server stays up, and nothing secret reaches the log."""

import http.client
import signal
import socket
import time
import xmlrpc.client
from urllib.parse import urlparse

import harness


def test_oversized_body_is_refused_without_reading_it(bridge):
    parsed = urlparse(bridge.url)
    sock = socket.create_connection((parsed.hostname, parsed.port), timeout=10)
    started = time.time()
    sock.sendall(b"POST /xmlrpc/2/object HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: 104857600\r\n\r\n<methodCall>")
    reply = sock.recv(4096)
    sock.close()
    assert reply.startswith(b"HTTP/1.1 413"), reply[:100]
    assert time.time() - started < 5
    assert harness.post(bridge.url + "/xmlrpc/2/object", b"<methodCall>" + b" " * (5 * 1024 * 1024)).status == 413
    bridge.assert_alive()


def test_malformed_requests_get_faults(bridge):
    key = bridge.keys["alice"]
    bodies = {
        "doctype": b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]><methodCall><methodName>version</methodName><params><param><value>&x;</value></param></params></methodCall>',
        "billion laughs": b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><methodCall><methodName>version</methodName><params><param><value>&b;</value></param></params></methodCall>',
        "deep nesting": b"<methodCall><methodName>version</methodName><params><param><value>" + b"<array><data><value>" * 90000 + b"</value></data></array>" * 90000 + b"</value></param></params></methodCall>",
        "invalid utf-8": b"<methodCall><methodName>version\xff\xfe</methodName></methodCall>",
        "not xml": b"{\"this\": \"is json\"}",
        "truncated": b"<methodCall><methodName>execute_kw</methodName><params><param><value><string>bankbridge",
        "empty": b"",
        "secret in a broken body": f"<methodCall><methodName>execute_kw</methodName><params><param><value><string>{key}</string></value></param><param><value><int>2147483648</int></value></param></params></methodCall>".encode(),
    }
    for name, body in bodies.items():
        status, _, data = harness.post(bridge.url + "/xmlrpc/2/common", body, timeout=30)
        assert status == 200, name
        fault = harness.response_fault(data)
        assert fault.faultCode == 1, name
        assert key not in fault.faultString and "passwd" not in fault.faultString, name
    bridge.assert_alive()


def test_unknown_service_and_get_requests(bridge):
    reply = harness.post(bridge.url + "/xmlrpc/2/report", xmlrpc.client.dumps((), "render").encode())
    assert harness.response_fault(reply.data).faultCode == 1
    parsed = urlparse(bridge.url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
    conn.request("GET", "/xmlrpc/2/common")
    assert conn.getresponse().status in (404, 405)
    bridge.assert_alive()


def test_log_never_contains_secrets(bridge):
    common = xmlrpc.client.ServerProxy(f"{bridge.url}/xmlrpc/2/common")
    models = xmlrpc.client.ServerProxy(f"{bridge.url}/xmlrpc/2/object")
    for key in bridge.keys.values():
        uid = common.authenticate(bridge.db, "alice", key, {})
        try:
            models.execute_kw(bridge.db, uid or 1, key, "account.online.nope", "search", [[]])
        except xmlrpc.client.Fault:
            pass
    models_bad = xmlrpc.client.ServerProxy(f"{bridge.url}/xmlrpc/2/object")
    try:
        models_bad.execute_kw(bridge.db, 1, "alice-password-1", "account.online.link", "search", [[]])
    except xmlrpc.client.Fault:
        pass
    log = bridge.log_text()
    for secret in [*bridge.keys.values(), "alice-password-1"]:
        assert secret not in log


def test_sigterm_stops_gracefully(servers):
    server = servers.bridge()
    server.assert_alive()
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=20) == 0
    server.stop()
    assert "stopped" in server.log_text()
