"""A real browser on the sandbox connect page: headless Chromium (Debian's package) driven by
playwright-core opens the URL returned by action_new_synchronization, is refused without consent, then
fills the credentials, ticks consent, submits and lands on the bridge's return page. Screenshots of each
step go to target/test-output/browser/."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import harness
from harness import Api

BROWSER_DIR = harness.REPO / "tests" / "browser"


def test_connect_page_in_headless_chromium(bridge):
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    missing = [what for what, ok in [
        ("chromium", Path(chromium).exists()),
        ("node", shutil.which("node")),
        ("playwright-core", (BROWSER_DIR / "node_modules" / "playwright-core").exists()),
    ] if not ok]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"browser test prerequisites missing in CI: {missing}")
        pytest.skip(f"missing {missing}: apt-get install chromium; cd tests/browser && npm ci")
    api = Api(bridge, "alice")
    action = api("account.online.link", "action_new_synchronization", [], institution_code="fakebank_simple_xf", email=f"browser-{bridge.backend}@acme.test")
    out = harness.REPO / "target" / "test-output" / "browser" / bridge.backend
    run = subprocess.run(["node", str(BROWSER_DIR / "connect_flow.mjs"), action["url"], str(out)], capture_output=True, text=True, timeout=120, env=dict(os.environ, CHROMIUM=chromium))
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert "Fake Bank Simple" in summary["title"]
    assert "consent" in summary["refusedText"].lower()
    assert "/saltedge/return" in summary["finalUrl"] and summary["result"] == "Bank account connected"
    for shot in ["01-connect-page.png", "02-consent-missing.png", "03-filled-in.png", "04-returned.png"]:
        assert (out / shot).stat().st_size > 1000
    # The attempt ends at Salt Edge asynchronously: the link shows "fetching" until it is connected.
    harness.wait_for(lambda: api.link(action["res_id"])["state"] == "connected", timeout=60, what="the link connected")
