"""The README as a newcomer follows it: the prerequisites it states match the build, every sandbox bank
is listed, and its own Python blocks (the session and the offline flow) run as written against a real
`serve`, with only the URL and the printed key filled in."""

import ast
import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import xmlrpc.client

import pytest

import harness

README = (harness.REPO / "README.md").read_text()


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README, re.S)


def test_the_stated_minimum_rust_is_cargo_toml_rust_version():
    version = re.search(r'^rust-version = "([\d.]+)"', (harness.REPO / "Cargo.toml").read_text(), re.M).group(1)
    assert f"Rust {version} or newer" in README


def test_build_and_test_prerequisites_are_stated():
    for needed in ("build-essential", "pkg-config", "libssl-dev", "python3-venv", "postgresql"):
        assert needed in README, needed


def test_every_sandbox_bank_is_listed():
    catalogue = (harness.REPO / "src" / "sandbox" / "data.rs").read_text()
    codes = re.findall(r'provider\(\s*\d+,\s*"([a-z0-9_]+)"', catalogue)
    assert len(codes) >= 5, codes
    missing = [code for code in codes if f"`{code}`" not in README]
    assert not missing, missing


def test_the_offline_flow_defines_key_before_using_it():
    offline = next(block for block in python_blocks() if "action_new_synchronization" in block)
    defined = re.search(r"^KEY = ", offline, re.M)
    used = offline.find("KEY", offline.find("KEY =") + 1 if defined else 0)
    assert defined and defined.start() < used, offline


@pytest.mark.skipif(not shutil.which("ldd"), reason="no ldd")
def test_the_binary_needs_no_system_libpq():
    linked = subprocess.run(["ldd", harness.binary()], capture_output=True, text=True, check=True).stdout
    assert "libpq" not in linked, linked



README_URL = "http://127.0.0.1:8070"
README_KEY = '"<the printed API key>"'


def run_block(block, namespace):
    """Runs one README block as a reader pastes it into Python; returns what it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, "README.md", "exec"), namespace)
    return out.getvalue()


def as_pasted(block, url, key):
    """The block with only the URL and the printed key replaced, as the reader does."""
    assert README_URL in block, block
    return block.replace(README_URL, url).replace(README_KEY, repr(key))


def newcomer_serve(servers):
    """`bankbridge serve` in an empty directory, as the README's `cargo run -- serve` (no database named, the
    default address, a free port instead of 8070); returns it and the first user's key, read from what it
    prints."""
    serve = servers.bridge(database=None, bind=None, env={"BANKBRIDGE_SYNC_INTERVAL": "0"})
    return serve, serve.wait_printed(r"API key \(shown once\): (\S+)").group(1)


def test_the_python_session_and_the_offline_flow_run_as_written(servers):
    serve, key = newcomer_serve(servers)
    session, offline_start, offline_fetch = python_blocks()[:3]
    printed = run_block(as_pasted(session, serve.url, key), {}).splitlines()
    assert printed[0] == "17.0", printed
    assert "'name': 'My bank'" in printed[1] and "'state': 'disconnected'" in printed[1], printed
    assert printed[2] == "1", printed

    namespace = {}
    printed = run_block(as_pasted(offline_start, serve.url, key), namespace)
    assert "'code': 'fakebank_simple_xf'" in printed, printed
    consent_url = re.search(r"open in a browser: (\S+)", printed).group(1)

    # Step 3, with the credentials the README gives, over plain HTTP.
    login, password = re.search(r"log in with `(\w+)` / `(\w+)`", README).groups()
    status, _, page = harness.submit_connect(consent_url, login=login, password=password)
    assert status == 200 and "Bank account connected" in page, page

    # Step 4 waits as a user would: it polls the link until its accounts are there.
    assert "time.sleep" in offline_fetch and "account_online_account_ids" in offline_fetch
    printed = run_block(offline_fetch, namespace).splitlines()
    record = namespace["record"]
    assert record["state"] == "connected" and record["account_online_account_ids"], printed
    assert printed[1].strip(), printed  # the button's message (its wording belongs to the sync engine)
    rows = ast.literal_eval(printed[2])
    assert len(rows) == 5 and all(r["date"] and r["payment_ref"] for r in rows), rows

    # "Or fetch from the command line": `cargo run -- sync` next to the running serve.
    out = serve.run_cli("sync", timeout=120)
    assert out.returncode == 0, out.stderr
    assert "synced 1 link(s)" in out.stdout, out.stdout


def sh_blocks():
    return re.findall(r"```sh\n(.*?)```", README, re.S)


@pytest.mark.skipif(not shutil.which("curl"), reason="curl is not installed")
def test_the_json2_examples_run_as_written(servers):
    """The JSON-2 section's curl and Python blocks, pasted with the URL and the printed key."""
    import json

    serve, key = newcomer_serve(servers)
    curl = next(block for block in sh_blocks() if "/json/2/" in block)
    out = subprocess.run(["bash", "-c", as_pasted(curl, serve.url, key)], capture_output=True, text=True,
                         timeout=60, check=True)
    assert json.loads(out.stdout) == [{"id": 1, "name": "My Company"}], out.stdout
    assert '[{"id": 1, "name": "My Company"}]' in README

    block = next(block for block in python_blocks() if "/json/2/" in block)
    printed = run_block(as_pasted(block, serve.url, key), {}).splitlines()
    assert printed[0] == "[19, 0]", printed
    assert "'name': 'My JSON-2 bank'" in printed[1] and "'state': 'disconnected'" in printed[1], printed
    assert printed[2] == "1", printed


def production_section():
    return README[README.index("## Running in production"):README.index("\n## ", README.index("## Running in production") + 1)]


def test_the_production_section_runs_as_written(tmp_path, servers):
    """"Running in production", as far as it runs without root: the configuration file names only
    settings `bankbridge serve` reads; the migrate and user lines, the readiness check and the SQLite
    backup run as written (with /etc/bankbridge and /var/lib/bankbridge in a scratch directory, and the
    SQLite database the section offers a smaller site); every metric it says to alert on is served."""
    section = production_section()
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    settings = next(block for block in blocks if block.startswith("DATABASE_URL="))
    names = re.findall(r"^(?:# )?([A-Z][A-Z0-9_]+)=", settings, re.M)
    served = subprocess.run([harness.binary(), "serve", "--help"], capture_output=True, text=True, check=True).stdout
    # `[env: NAME=value]`, or `[env: NAME]` for a secret whose value help never shows.
    unknown = [name for name in names if not re.search(rf"\[env: {name}[=\]]", served) and name != "DATABASE_URL"]
    assert len(names) >= 8 and not unknown, unknown

    etc, var = tmp_path / "etc", tmp_path / "var"
    etc.mkdir(), var.mkdir()
    smaller_site = re.search(r"`(DATABASE_URL=/var/lib/bankbridge/bankbridge\.db)`", section).group(1)
    # The aggregators' lines need real credentials: a bridge with none uses its built-in sandboxes.
    kept = [line for line in settings.splitlines() if line and not line.startswith(("#", "DATABASE_URL=", "BANKBRIDGE_SALTEDGE_"))]
    (etc / "bankbridge.env").write_text("\n".join([smaller_site, *kept]).replace("/var/lib/bankbridge", str(var)) + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BANKBRIDGE_DATABASE")}
    env["PATH"] = f"{os.path.dirname(harness.binary())}:{env['PATH']}"

    def pasted(line):
        line = line.replace("sudo -u bankbridge ", "").replace("/etc/bankbridge", str(etc)).replace("/var/lib/bankbridge", str(var))
        return subprocess.run(["bash", "-c", line], capture_output=True, text=True, env=env, timeout=120)

    postgres = next(block for block in blocks if "bankbridge migrate" in block)
    for line in [line for line in postgres.splitlines() if line.startswith("sudo -u bankbridge sh -c")]:
        out = pasted(line)
        assert out.returncode == 0, (line, out.stderr)
    assert "API key (shown once)" in out.stdout, out.stdout

    port = harness.free_port()
    servers.process("serve", ["bash", "-c", f"set -a; . {etc}/bankbridge.env; exec bankbridge serve --bind 127.0.0.1 --port {port}"],
                    env=dict(env, BANKBRIDGE_SYNC_INTERVAL="0"))
    replicas = next(block for block in blocks if "health/ready" in block)
    ready = next(line for line in replicas.splitlines() if "health/ready" in line).split(";")[0]
    harness.wait_for(lambda: pasted(ready.replace(":8070", f":{port}")).returncode == 0, 60, "the readiness check")
    assert json.loads(pasted(ready.replace(":8070", f":{port}")).stdout) == {"database": "ok", "status": "ready"}
    # One RPC call, so the request series exist.
    xmlrpc.client.ServerProxy(f"http://127.0.0.1:{port}/xmlrpc/2/common").version()
    alerts = set(re.findall(r"\b(bankbridge_[a-z_]+)", section[section.index("Worth an alert"):]))

    def missing():
        # The aggregators' series appear with the start-up's first calls to the built-in sandboxes.
        metrics = pasted(f"curl -fsS http://127.0.0.1:{port}/metrics").stdout
        return sorted(name for name in alerts if f"\n{name}" not in metrics)

    harness.wait_for(lambda: not missing(), 60, "the metrics the section names")
    assert len(alerts) >= 8, alerts

    backup = next(block for block in blocks if "bankbridge backup" in block)
    out = pasted(backup.replace("\\\n", " ").strip())
    assert out.returncode == 0 and "integrity checked" in out.stdout, out.stderr
    copies = list(var.glob("backup-*.db"))
    assert len(copies) == 1 and copies[0].stat().st_mode & 0o777 == 0o600, copies
