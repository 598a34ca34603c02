"""pylint with the pylint-odoo plugin must run clean on the Odoo addon of
each serie (17.0, 18.0, 19.0), with --valid-odoo-versions set to it.

Uses odoo_addon/.pylintrc: every pylint-odoo ("odoolint") check with its
default options, plus OCA's selection of general checks.
pylint-odoo is pinned in tests/python/requirements.txt. When it is not
installed the test is skipped, except under CI (env CI set), where it fails.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
ADDONS = REPO_ROOT / "odoo_addon"


def _require_pylint_odoo():
    try:
        import pylint_odoo  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
    except ImportError:
        message = "pylint-odoo is not installed: pip install -r tests/python/requirements.txt"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


SERIES = ("17.0", "18.0", "19.0")
# The serie's folder links these packages to the shared code: pylint is given them by name, as it does
# not walk into links by itself.
LINKED_PACKAGES = ("models", "wizards", "controllers", "tests")


def _pylint(serie, *paths):
    # From 18.0 on pylint-odoo prefers self.env._ to _: the code is shared with 17.0, whose Environment
    # has no _.
    extra = ["--disable=prefer-env-translation"] if serie != "17.0" else []
    return subprocess.run(
        [sys.executable, "-m", "pylint", "--rcfile=../.pylintrc", "--valid-odoo-versions=" + serie, *extra, *paths],
        cwd=ADDONS / serie, capture_output=True, text=True, timeout=600, check=False,
    )


@pytest.mark.parametrize("serie", SERIES)
def test_pylint_odoo_clean(serie):
    _require_pylint_odoo()
    proc = _pylint(serie, "account_online_bridge", *("account_online_bridge/" + pkg for pkg in LINKED_PACKAGES))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    checked = {line.split()[-1] for line in proc.stdout.splitlines() if line.startswith("*** ")}
    assert not proc.stdout.strip() or checked, proc.stdout


def test_pylint_odoo_really_checks():
    """The configuration is live: a known-bad snippet is reported."""
    _require_pylint_odoo()
    probe = ADDONS / "common" / "account_online_bridge" / "models" / "zz_lint_probe.py"
    probe.write_text(
        "from odoo import fields, models\n\n\n"
        "class Probe(models.Model):\n"
        "    _inherit = 'res.partner'\n\n"
        "    probe = fields.Char(string='Probe')\n\n"
        "    def action_probe(self):\n"
        "        self.env.cr.commit()\n"
        "        print('x')\n"
    )
    try:
        proc = _pylint("17.0", "account_online_bridge/models/zz_lint_probe.py")
    finally:
        probe.unlink()
    assert proc.returncode != 0
    for symbol in ("invalid-commit", "print-used", "attribute-string-redundant"):
        assert symbol in proc.stdout, proc.stdout
