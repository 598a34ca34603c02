"""A real browser: headless Chromium (Debian's package) driven by playwright-core through one of the scripted
journeys in tests/browser (each takes a URL and a screenshot folder and prints a JSON summary as its last line)."""

import json
import os
import shutil
import subprocess
from pathlib import Path

from .processes import REPO

BROWSER_DIR = REPO / "tests" / "browser"


def chromium_path():
    """The Chromium to drive; without it, node or playwright-core the test is skipped (and fails under CI)."""
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    missing = [what for what, ok in [
        ("chromium", Path(chromium).exists()),
        ("node", shutil.which("node")),
        ("playwright-core", (BROWSER_DIR / "node_modules" / "playwright-core").exists()),
    ] if not ok]
    if missing:
        import pytest

        if os.environ.get("CI"):
            pytest.fail(f"browser test prerequisites missing in CI: {missing}")
        pytest.skip(f"missing {missing}: apt-get install chromium; cd tests/browser && npm ci")
    return chromium


def run_journey(script, url, out, timeout=120):
    """The summary `tests/browser/SCRIPT` prints after driving Chromium from `url`; screenshots go to `out`."""
    chromium = chromium_path()
    run = subprocess.run(["node", str(BROWSER_DIR / script), url, str(out)], capture_output=True, text=True,
                         timeout=timeout, env=dict(os.environ, CHROMIUM=chromium))
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


def assert_screenshots(out, *names):
    """Each named screenshot was written and is not empty."""
    for name in names:
        assert (Path(out) / name).stat().st_size > 1000, name
