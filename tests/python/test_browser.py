"""A real browser on the sandbox connect page: headless Chromium (Debian's package) driven by
playwright-core opens the URL returned by action_new_synchronization, is refused without consent, then
fills the credentials, ticks consent, submits and lands on the bridge's return page. Screenshots of each
step go to target/test-output/browser/."""

import harness
from harness import Api, browser


def test_connect_page_in_headless_chromium(bridge):
    api = Api(bridge, "alice")
    action = api("account.online.link", "action_new_synchronization", [], institution_code="fakebank_simple_xf", email=f"browser-{bridge.backend}@acme.test")
    out = harness.REPO / "target" / "test-output" / "browser" / bridge.backend
    summary = browser.run_journey("connect_flow.mjs", action["url"], out)
    assert "Fake Bank Simple" in summary["title"]
    assert "consent" in summary["refusedText"].lower()
    assert "/saltedge/return" in summary["finalUrl"] and summary["result"] == "Bank account connected"
    browser.assert_screenshots(out, "01-connect-page.png", "02-consent-missing.png", "03-filled-in.png", "04-returned.png")
    # The attempt ends at Salt Edge asynchronously: the link shows "fetching" until it is connected.
    harness.wait_for(lambda: api.link(action["res_id"])["state"] == "connected", timeout=60, what="the link connected")
