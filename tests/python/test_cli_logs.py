"""`--log-format json` (or BANKBRIDGE_LOG_FORMAT=json): the real binary writes one JSON object per line
on standard error, for log shippers."""

import json
import urllib.request
import xmlrpc.client


def json_lines(text):
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines, "no log line"
    records = []
    for line in lines:
        record = json.loads(line)  # fails on any line that is not one JSON object
        assert isinstance(record, dict), line
        assert {"timestamp", "level", "fields"} <= record.keys(), record
        records.append(record)
    return records


def test_serve_with_log_format_json_writes_one_object_per_line(servers):
    bridge = servers.bridge(args=["--log-format", "json"])
    common = xmlrpc.client.ServerProxy(f"{bridge.url}/xmlrpc/2/common")
    assert common.version()["server_serie"] == "17.0"
    assert common.authenticate("bankbridge", "admin", "wrong key", {}) is False
    with urllib.request.urlopen(bridge.url + "/health", timeout=5) as r:
        assert r.status == 200
    bridge.stop()
    records = json_lines(bridge.log_text())
    messages = [r["fields"].get("message", "") for r in records]
    assert any("listening on" in m for m in messages), messages
    assert all(r["level"] in ("TRACE", "DEBUG", "INFO", "WARN", "ERROR") for r in records)
    assert "wrong key" not in bridge.log_text()


def test_the_environment_variable_selects_json_too(servers):
    bridge = servers.bridge(env={"BANKBRIDGE_LOG_FORMAT": "json"})
    bridge.stop()
    records = json_lines(bridge.log_text())
    assert any("stopped" in r["fields"].get("message", "") for r in records), records
