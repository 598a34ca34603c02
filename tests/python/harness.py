"""Starts the real bankbridge binary for tests: a fresh database (SQLite file or PostgreSQL database), a
free loopback port (the server is started with --port 0 and prints the address it bound), users created
with the CLI, and a clean stop."""

import os
import re
import secrets
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def binary():
    path = Path(os.environ.get("BANKBRIDGE_BIN", REPO / "target" / "debug" / "bankbridge"))
    if not path.is_absolute():
        path = REPO / path
    if not path.exists():
        raise RuntimeError(f"bankbridge binary not found at {path}: run `cargo build` first")
    return str(path)


def wait_for(predicate, timeout=30, what="a condition"):
    """Polls `predicate` until it returns something truthy, and returns that; fails after `timeout` s."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def free_port():
    """A loopback port nobody listens on (for tests that need a dead address)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_admin_url():
    """The PostgreSQL server the suite may create databases on (tests/run.sh starts one)."""
    return os.environ.get("BANKBRIDGE_TEST_POSTGRES_URL")


def new_database_url(backend, tmpdir):
    if backend == "sqlite":
        return str(Path(tmpdir) / f"bridge-{secrets.token_hex(4)}.db")
    admin = postgres_admin_url()
    name = f"bb_test_{secrets.token_hex(6)}"
    subprocess.run(["psql", admin, "-q", "-c", f"CREATE DATABASE {name}"], check=True, capture_output=True)
    return admin.rsplit("/", 1)[0] + "/" + name


class Bridge:
    """One running bridge process."""

    def __init__(self, database_url, workdir, extra_env=None, extra_args=()):
        self.database_url = database_url
        self.workdir = Path(workdir)
        self.db = "bankbridge"
        self.env = dict(os.environ, DATABASE_URL=database_url, RUST_LOG=os.environ.get("RUST_LOG", "info"))
        self.env.update(extra_env or {})
        self.extra_args = list(extra_args)
        self.proc = None
        self.url = None
        self.log_path = self.workdir / f"bridge-{secrets.token_hex(3)}.log"
        self.keys = {}
        self.uids = {}

    def cli(self, *args, stdin=None):
        out = subprocess.run(
            [binary(), *args], env=self.env, cwd=self.workdir, input=stdin, capture_output=True, text=True, timeout=60
        )
        if out.returncode != 0:
            raise RuntimeError(f"bankbridge {' '.join(args)} failed: {out.stderr.strip()}")
        return out.stdout

    def add_user(self, login, company="My Company", password=None):
        args = ["user", "add", login, "--company", company]
        if password is not None:
            args.append("--password-stdin")
        out = self.cli(*args, stdin=(password + "\n") if password is not None else None)
        key = out.split()[-1]
        self.keys[login] = key
        return key

    def start(self, timeout=30):
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [binary(), "serve", "--bind", "127.0.0.1", "--port", "0", *self.extra_args],
            env=self.env,
            cwd=self.workdir,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        found = {}

        def read_address():
            for line in self.proc.stdout:
                m = re.match(r"listening on (http://\S+)", line)
                if m and "url" not in found:
                    found["url"] = m.group(1)

        threading.Thread(target=read_address, daemon=True).start()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bankbridge exited early; log:\n{self.log_path.read_text()}")
            if "url" in found:
                self.url = found["url"]
                if self.healthy():
                    return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"bankbridge did not become healthy; log:\n{self.log_path.read_text()}")

    def healthy(self):
        try:
            with urllib.request.urlopen(self.url + "/health", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "log", None):
            self.log.close()

    def log_text(self):
        return self.log_path.read_text() if self.log_path.exists() else ""


def started_bridge(backend, workdir, users, extra_env=None):
    """A running bridge on a fresh database of `backend` with `users` ({login: company}) created."""
    import pytest

    if backend == "postgres" and not postgres_admin_url():
        pytest.skip("no PostgreSQL server")
    server = Bridge(new_database_url(backend, workdir), workdir, extra_env=extra_env)
    for login, company in users.items():
        server.add_user(login, company=company)
    server.start()
    server.backend = backend
    return server
