"""Real Odoo Community as a peer: the differential test compares the bridge's answers with Odoo's, the load
benchmark compares their speed. tests/odoo/env.sh unpacks the serie with its venv (cached under
target/odoo<serie>); each server is a harness Process on free loopback ports."""

import os
import re
import secrets
import subprocess
import xmlrpc.client
from pathlib import Path

from .processes import REPO, Process, ProcessError, free_port, psql


def odoo_dir(serie=17):
    """Real Odoo `serie` unpacked with its venv: DIR/src/odoo-bin, DIR/venv/bin/python."""
    out = subprocess.run([str(REPO / "tests" / "odoo" / "env.sh"), "setup", str(serie)], capture_output=True, text=True)
    if out.returncode != 0:
        raise ProcessError(f"tests/odoo/env.sh setup {serie} failed: {out.stderr.strip()}")
    return Path(out.stdout.strip().splitlines()[-1])


def dotted_name_shim(python, workdir):
    """gevent (Odoo's prefork mode) resolves its requirements through pkg_resources, which looks for
    `zope.interface` and `zope.event` under those dotted names, while pip's recent dist-info folders are
    named `zope_interface`/`zope_event` (/work/shared/odoo17/README.md). A metadata-only dist-info with
    the dotted name, on PYTHONPATH, makes the installed packages visible; nothing is installed."""
    shim = Path(workdir) / "odoo-dist-shim"
    for dist in ("zope.interface", "zope.event"):
        version = subprocess.run([python, "-c", f"import importlib.metadata as m; print(m.version({dist!r}))"],
                                 capture_output=True, text=True, check=True).stdout.strip()
        info = shim / f"{dist}-{version}.dist-info"
        info.mkdir(parents=True, exist_ok=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    return shim


class Odoo:
    """Odoo `serie` on a throwaway database `db` of the PostgreSQL server at `postgres_url` (as the superuser
    role `odoo`, which Odoo needs instead of `postgres`), with `addons` folders beside its own. Log in as
    admin/admin (`keys`, for harness.Api). stop() stops every server and drops the database."""

    def __init__(self, postgres_url, workdir, addons=(), serie=17, db=None):
        m = re.match(r"postgres(?:ql)?://[^@]*@([^:/]+):(\d+)/", postgres_url)
        if not m:
            raise ValueError(f"unexpected PostgreSQL URL form: {postgres_url}")
        self.postgres_url, self.workdir, self.serie = postgres_url, Path(workdir), serie
        self.db = db or f"bb_odoo_{secrets.token_hex(4)}"
        self.keys = {"admin": "admin"}
        self.url = None
        self.servers = []
        home = odoo_dir(serie)
        self.python = str(home / "venv" / "bin" / "python")
        subprocess.run([str(REPO / "tests" / "odoo" / "env.sh"), "role", postgres_url], check=True, capture_output=True)
        addons_path = ",".join([str(home / "src" / "addons"), *map(str, addons)])
        self.base_args = [
            self.python, str(home / "src" / "odoo-bin"), "-d", self.db, "--db-filter", f"^{self.db}$",
            "--db_host", m.group(1), "--db_port", m.group(2), "--db_user", "odoo", f"--addons-path={addons_path}",
            "--max-cron-threads", "0", "--data-dir", str(self.workdir / "data"),
            # Odoo 19 has no demo data by default, and warns on every call of its deprecated XML-RPC.
            *(["--without-demo=all"] if serie < 19 else ["--log-handler", "odoo.addons.rpc.controllers.xmlrpc:ERROR"]),
        ]

    def install(self, *modules):
        """Installs `modules` in a process of its own that stops when done."""
        out = subprocess.run([*self.base_args, "-i", ",".join(modules), "--stop-after-init", "--log-level=warn"],
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise ProcessError(f"Odoo could not install {', '.join(modules)}:\n{out.stderr[-3000:]}")

    def serve(self, workers=0, install=(), args=(), timeout=240):
        """Starts a server (`workers` 0: threaded; more: prefork, in its own process group with its workers),
        installing `install` first in the same process (that needs the default log level: readiness waits
        for "Modules loaded."); ready when XML-RPC answers its version. Returns the Process (`.url`)."""
        port = free_port()
        env = None
        if workers:
            env = dict(os.environ, PYTHONPATH=str(dotted_name_shim(self.python, self.workdir)))
        installing = ["-i", ",".join(install)] if install else []
        process = Process(f"odoo{self.serie}-workers-{workers}",
                          [*self.base_args, "--http-interface", "127.0.0.1", "--http-port", str(port),
                           "--gevent-port", str(free_port()), "--workers", str(workers), *installing, *args],
                          self.workdir, env=env, own_group=True)
        self.servers.append(process)
        process.url = f"http://127.0.0.1:{port}"

        def ready():
            if install and "Modules loaded." not in process.log_text():
                return False
            version = xmlrpc.client.ServerProxy(f"{process.url}/xmlrpc/2/common").version()
            return version["server_serie"] == f"{self.serie}.0"

        process.start(ready, timeout, what="answering XML-RPC")
        self.url = self.url or process.url
        return process

    def stop(self):
        for process in reversed(self.servers):
            process.stop(timeout=30)
        psql(self.postgres_url, f"DROP DATABASE IF EXISTS {self.db}", check=False)
