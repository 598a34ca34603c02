"""Processes of the suite and of the benchmarks: one `Process` class starts any server with its output in a
log file, waits until it is ready and stops it cleanly; `Bridge` and `Sandbox` are the two bankbridge servers
built on it; `Postgres` owns the PostgreSQL server databases are created on; `Servers` starts all of them for
one scope and stops them when the scope ends. Standard library only (the benchmarks run without pytest)."""

import http.client
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import urllib.request
import xmlrpc.client
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
LISTENING = r"listening on (http://\S+)"
# What a readiness probe may raise while a server is still starting (refused connection, reset, half-ready
# HTTP stack, an XML-RPC service not loaded yet): "not ready yet", not a failure.
NOT_READY = (OSError, http.client.HTTPException, xmlrpc.client.Error)


class ProcessError(RuntimeError):
    """A server exited early or did not become ready; the message carries the end of its log."""


def binary(path=None):
    """The bankbridge binary: `path` made absolute (servers run in their own work directory), or the one
    under test: $BANKBRIDGE_BIN, or target/debug/bankbridge."""
    if path:
        return str(Path(path).resolve())
    path = Path(os.environ.get("BANKBRIDGE_BIN", REPO / "target" / "debug" / "bankbridge"))
    if not path.is_absolute():
        path = REPO / path
    if not path.exists():
        raise RuntimeError(f"bankbridge binary not found at {path}: run `cargo build` first")
    return str(path)


def wait_for(predicate, timeout=30, what="a condition", interval=0.2):
    """Polls `predicate` until it returns something truthy, and returns that; fails after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def free_port():
    """A loopback port nobody listens on right now (for a server that cannot pick its own, or a dead address)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid):
    """Resident memory of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for process {pid}")


def run_cli(*args, env=None, cwd=None, stdin=None, timeout=60, check=False, binary_path=None):
    """`bankbridge ARGS` run to its end with its output captured as text (a CompletedProcess). With `check`,
    a non-zero exit raises with its standard error."""
    out = subprocess.run([binary(binary_path), *map(str, args)], env=env, cwd=cwd, input=stdin,
                         capture_output=True, text=True, timeout=timeout)
    if check and out.returncode != 0:
        raise RuntimeError(f"bankbridge {' '.join(map(str, args))} failed: {out.stderr.strip()}")
    return out


class Process:
    """One server process: its standard output and error go to a log file in `workdir` (appended to on a
    restart; kept after the run, so a failure can be read there), or, with `read_stdout`, its standard output
    is collected line by line in `printed` (for servers that print their address) and only standard error is
    logged. `own_group` runs it in a process group of its own, so that stop() also stops its children."""

    history = []  # every Process started by this Python process, for the logs shown with a failed test

    def __init__(self, name, args, workdir, env=None, cwd=None, read_stdout=False, own_group=False):
        self.name = name
        self.args = [str(a) for a in args]
        self.workdir = Path(workdir)
        self.env = dict(os.environ) if env is None else dict(env)
        self.cwd = cwd or self.workdir
        self.read_stdout = read_stdout
        self.own_group = own_group
        self.log_path = self.workdir / f"{name}-{secrets.token_hex(3)}.log"
        self.proc = None
        self.printed = []
        self._reader = None
        self.started_at = self.stopped_at = None

    def start(self, ready=lambda: True, timeout=60, what="ready"):
        """Starts the process and waits until `ready()` returns something truthy, which it returns. Fails
        with the end of the log if the process exits first or `timeout` s pass (and then stops it)."""
        if self.alive:
            raise ProcessError(f"{self.name} is already running")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.printed = []
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(
                self.args, env=self.env, cwd=self.cwd, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE if self.read_stdout else log,
                stderr=log if self.read_stdout else subprocess.STDOUT,
                text=True, start_new_session=self.own_group,
            )
        if self.read_stdout:
            self._reader = threading.Thread(target=self._collect, args=(self.proc.stdout, self.printed), daemon=True)
            self._reader.start()
        if self not in Process.history:
            Process.history.append(self)
            self.started_at = time.time()
        self.stopped_at = None
        deadline = time.monotonic() + timeout
        last_error = None
        while True:
            if self.proc.poll() is not None:
                raise ProcessError(f"{self.name} exited with status {self.proc.returncode} before it was {what}; "
                                   f"{self.describe_log()}")
            try:
                value = ready()
            except NOT_READY as e:
                value, last_error = None, e
            if value:
                return value
            if time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        self.stop()
        raise ProcessError(f"{self.name} was not {what} after {timeout} s (last probe: {last_error!r}); "
                           f"{self.describe_log()}")

    @staticmethod
    def _collect(stream, lines):
        for line in stream:
            lines.append(line.rstrip("\n"))

    def printed_match(self, pattern):
        """The first line printed on standard output (with `read_stdout`) that matches `pattern`, or None."""
        for line in list(self.printed):
            m = re.search(pattern, line)
            if m:
                return m
        return None

    def wait_printed(self, pattern, timeout=30):
        """Waits for a line matching `pattern` on standard output; returns its match."""

        def found():
            m = self.printed_match(pattern)
            if m is None and not self.alive and not (self._reader and self._reader.is_alive()):
                raise ProcessError(f"{self.name} exited without printing {pattern!r}; {self.describe_log()}")
            return m

        return wait_for(found, timeout, f"{self.name} to print {pattern!r}", interval=0.05)

    def _signal(self, sig):
        try:
            if self.own_group:
                os.killpg(self.proc.pid, sig)
            else:
                self.proc.send_signal(sig)
        except ProcessLookupError:
            pass

    def stop(self, timeout=15):
        """SIGTERM, then SIGKILL after `timeout` s; idempotent."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.proc.wait()
        if self.own_group:
            self._signal(signal.SIGKILL)  # what the group leader left behind (prefork workers, helpers)
        if self._reader:
            self._reader.join(timeout=5)
        if self.stopped_at is None:
            self.stopped_at = time.time()

    def kill(self):
        """SIGKILL, as a crash or the OOM killer would."""
        if self.proc is not None and self.proc.poll() is None:
            self._signal(signal.SIGKILL)
            self.proc.wait()
        self.stop()

    @property
    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid

    def log_text(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines=40):
        return "\n".join(self.log_text().splitlines()[-lines:])

    def describe_log(self):
        return f"log {self.log_path}:\n{self.log_tail()}"

    @classmethod
    def running_between(cls, start, stop):
        """The processes that ran at some moment between the two times (time.time())."""
        return [p for p in cls.history
                if p.started_at is not None and p.started_at <= stop and (p.stopped_at is None or p.stopped_at >= start)]


class Bridge(Process):
    """`bankbridge serve` on a free loopback port (--port 0: it prints the address it bound) on one database;
    ready when GET /health answers 200. Users are created with the CLI (`add_user`), their API keys kept in
    `keys` by login. `database_url` None: no DATABASE_URL at all, as a newcomer starts it (a file in `cwd`)."""

    db = "bankbridge"

    def __init__(self, database_url, workdir, env=None, args=(), binary_path=None, bind="127.0.0.1", name="bridge"):
        full_env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "info"))
        for name_ in ("DATABASE_URL", "BANKBRIDGE_DATABASE"):
            full_env.pop(name_, None)
        if database_url is not None:
            full_env["DATABASE_URL"] = str(database_url)
        full_env.update(env or {})
        self.binary = binary(binary_path)
        address = ["--bind", bind] if bind else []
        super().__init__(name, [self.binary, "serve", *address, "--port", "0", *args], workdir, env=full_env,
                         read_stdout=True)
        self.database_url = None if database_url is None else str(database_url)
        self.url = None
        self.keys = {}

    @property
    def backend(self):
        return "postgres" if self.database_url and self.database_url.startswith("postgres") else "sqlite"

    def run_cli(self, *args, stdin=None, timeout=60, check=False):
        """A bankbridge command on this bridge's database and environment (a CompletedProcess)."""
        return run_cli(*args, env=self.env, cwd=self.cwd, stdin=stdin, timeout=timeout, check=check,
                       binary_path=self.binary)

    def cli(self, *args, stdin=None):
        """A bankbridge command that must succeed; returns its standard output."""
        return self.run_cli(*args, stdin=stdin, check=True).stdout

    def add_user(self, login, company="My Company", password=None):
        args = ["user", "add", login, "--company", company]
        if password is not None:
            args.append("--password-stdin")
        out = self.cli(*args, stdin=(password + "\n") if password is not None else None)
        key = out.split()[-1]
        self.keys[login] = key
        return key

    def start(self, timeout=30):
        def ready():
            m = self.printed_match(LISTENING)
            self.url = m.group(1) if m else None
            return self.url and self.healthy()

        super().start(ready, timeout, what="healthy")
        return self

    def healthy(self):
        try:
            with urllib.request.urlopen(self.url + "/health", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def assert_alive(self):
        """The process runs and still answers XML-RPC."""
        assert self.alive, f"the bridge died; {self.describe_log()}"
        assert xmlrpc.client.ServerProxy(f"{self.url}/xmlrpc/2/common").version()["server_serie"] == "17.0"

    def execute_sql(self, statement):
        """Runs one statement on the bridge's database directly, as another tool would; returns the row count."""
        return execute_sql(self.database_url, statement)

    def query_sql(self, query):
        """The rows of a query on the bridge's database, read directly."""
        return query_sql(self.database_url, query)


class Sandbox(Process):
    """`bankbridge sandbox`: a Salt Edge stand-in that sends no callbacks (a bridge reaches it only as a
    client, and follows attempts by polling), on a free loopback port; ready when its admin hook answers."""

    app_id, secret = "sandbox-app-id", "sandbox-secret"

    def __init__(self, workdir, env=None, name="sandbox", binary_path=None):
        self.port = free_port()
        super().__init__(name, [binary(binary_path), "sandbox", "--port", str(self.port)], workdir,
                         env=dict(os.environ, **(env or {})))
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self, timeout=30):
        super().start(lambda: self.faults(mode="none") is not None, timeout, what="answering")
        return self

    def admin(self, path, body=None):
        from .flows import sandbox_admin

        return sandbox_admin(self.url, path, body)

    def faults(self, **config):
        """Sandbox fault injection (`mode`: none, rate_limit, server_error, drop, slow, malformed…)."""
        return self.admin("faults", config)

    def bridge_env(self, api_path="api/v6/", sync_interval=0):
        """What a bridge needs to use this sandbox as its Salt Edge."""
        return {
            "BANKBRIDGE_SALTEDGE_URL": f"{self.url}/{api_path}",
            "BANKBRIDGE_SALTEDGE_APP_ID": self.app_id,
            "BANKBRIDGE_SALTEDGE_SECRET": self.secret,
            "BANKBRIDGE_SYNC_INTERVAL": str(sync_interval),
        }


def psql(url, sql, check=True):
    """Runs SQL with psql on a PostgreSQL database; returns its unaligned output (`|` between columns)."""
    out = subprocess.run(["psql", url, "-At", "-F", "|", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         check=check, capture_output=True, text=True)
    return out.stdout.strip()


def execute_sql(database_url, statement):
    """One statement on a bridge database of either backend, outside the bridge; returns the rows it changed."""
    if database_url.startswith("postgres"):
        tag = psql(database_url, statement).splitlines()
        m = re.match(r"^(?:INSERT \d+|UPDATE|DELETE) (\d+)$", tag[-1]) if tag else None
        return int(m.group(1)) if m else 0
    with sqlite3.connect(database_url) as conn:
        return conn.execute(statement).rowcount


def query_sql(database_url, query):
    """The rows of a query on a bridge database of either backend, outside the bridge (tuples; PostgreSQL's
    values as text)."""
    if database_url.startswith("postgres"):
        return [tuple(line.split("|")) for line in psql(database_url, query).splitlines() if line]
    with sqlite3.connect(database_url) as conn:
        return conn.execute(query).fetchall()


def postgres_admin_url():
    """The PostgreSQL server the suite may create databases on (tests/run.sh starts one)."""
    return os.environ.get("BANKBRIDGE_TEST_POSTGRES_URL")


def require_postgres():
    """The suite's PostgreSQL admin URL; without one the test is skipped (and fails under CI)."""
    url = postgres_admin_url()
    if url:
        return url
    import pytest

    if os.environ.get("CI"):
        pytest.fail("CI must test PostgreSQL too: set BANKBRIDGE_TEST_POSTGRES_URL (tests/run.sh does)")
    pytest.skip("no PostgreSQL server: set BANKBRIDGE_TEST_POSTGRES_URL or use tests/run.sh")


class Postgres:
    """A PostgreSQL server to create throwaway databases on: the one at `admin_url` if given, otherwise a
    cluster of its own (tests/postgres.sh, on $BANKBRIDGE_TEST_PGPORT or a free port) that stop() deletes."""

    def __init__(self, admin_url=None):
        self.data_dir = None
        self.admin_url = admin_url
        if not admin_url:
            self.data_dir = Path(tempfile.mkdtemp(prefix="bankbridge-pg-"))
            os.chmod(self.data_dir, 0o755)  # the cluster runs as the `postgres` user when we are root
            env = dict(os.environ, BANKBRIDGE_TEST_PGPORT=os.environ.get("BANKBRIDGE_TEST_PGPORT") or str(free_port()))
            out = subprocess.run([str(REPO / "tests" / "postgres.sh"), "start", str(self.data_dir / "data")], env=env,
                                 capture_output=True, text=True)
            if out.returncode != 0:
                shutil.rmtree(self.data_dir, ignore_errors=True)
                raise ProcessError(f"could not start PostgreSQL: {out.stderr.strip()}")
            self.admin_url = out.stdout.strip()

    def create_database(self, prefix="bb_test"):
        """A new empty database; returns its URL."""
        name = f"{prefix}_{secrets.token_hex(6)}"
        psql(self.admin_url, f"CREATE DATABASE {name}")
        return self.admin_url.rsplit("/", 1)[0] + "/" + name

    def drop_database(self, url):
        psql(self.admin_url, f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]}", check=False)

    def stop(self):
        if self.data_dir:
            subprocess.run([str(REPO / "tests" / "postgres.sh"), "stop", str(self.data_dir / "data")],
                           capture_output=True)
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None


def new_database_url(backend, workdir):
    """A fresh database of `backend`: a new SQLite file in `workdir`, or a new database on the suite's
    PostgreSQL server (skipped without one)."""
    if backend == "sqlite":
        return str(Path(workdir) / f"bridge-{secrets.token_hex(4)}.db")
    if backend != "postgres":
        raise ValueError(f"unknown backend {backend!r}")
    return Postgres(require_postgres()).create_database()


class Servers:
    """Starts bridges, sandboxes and other processes for one scope (a test, a module, a benchmark run), in
    one work directory, and stops them all, newest first, at close() (or at the end of a `with` block)."""

    def __init__(self, workdir, backend="sqlite"):
        self.workdir = Path(workdir)
        self.backend = backend
        self.processes = []

    def bridge(self, backend=None, users=None, passwords=None, env=None, args=(), database=None, keys=None,
               start=True, **options):
        """A bridge on `database` (default: a fresh database of `backend`, default this scope's backend), with
        `users` ({login: company}, `passwords` {login: password}) created and, with `keys`, the keys of users
        created earlier on that database; started unless `start` is False. `options` go to Bridge
        (binary_path, bind, name)."""
        if database is None:
            database = new_database_url(backend or self.backend, self.workdir)
        server = Bridge(database, self.workdir, env=env, args=args, **options)
        server.keys.update(keys or {})
        self.processes.append(server)
        for login, company in (users or {}).items():
            server.add_user(login, company=company, password=(passwords or {}).get(login))
        return server.start() if start else server

    def sandbox(self, env=None, start=True, binary_path=None):
        """A standalone Salt Edge sandbox; `env`: its BANKBRIDGE_SANDBOX_* settings; `binary_path`: another
        bankbridge binary than the one under test (the benchmarks' release build)."""
        server = Sandbox(self.workdir, env=env, binary_path=binary_path)
        self.processes.append(server)
        return server.start() if start else server

    def process(self, name, args, ready=lambda: True, timeout=60, what="ready", **options):
        """Any other process (`options` go to Process), started and waited for with `ready`."""
        process = Process(name, args, self.workdir, **options)
        self.processes.append(process)
        process.start(ready, timeout, what)
        return process

    def listener(self, name, args, timeout=60, **options):
        """A process that prints `listening on http://ADDR` when it is ready; its address is `.url`."""
        process = Process(name, args, self.workdir, read_stdout=True, **options)
        self.processes.append(process)
        process.url = process.start(lambda: (m := process.printed_match(LISTENING)) and m.group(1), timeout,
                                    what="listening")
        return process

    def adopt(self, process):
        """Stops `process` (started elsewhere) with this scope."""
        self.processes.append(process)
        return process

    def close(self):
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
