"""The auto_sync scheduler fetches connected links by itself, skips links with auto_sync off, and respects
Salt Edge's next_refresh_possible_at (a link fetched by a button is not fetched again before its time)."""

import time

import harness
from harness import Api, connect, counts, sandbox_admin, settled

PER_ACCOUNT = 40


def test_scheduler_fetches_auto_sync_links_only(servers):
    server = servers.bridge(users={"alice": "Acme"}, env={"BANKBRIDGE_SANDBOX_TRANSACTIONS": str(PER_ACCOUNT), "BANKBRIDGE_SYNC_INTERVAL": "1"})
    api = Api(server, "alice")
    manual, connect_url, *_ = connect(api, "manual@acme.test")
    api("account.online.link", "write", [manual], {"auto_sync": False})
    automatic, *_ = connect(api, "auto@acme.test")
    # Both import their first transactions without a click.
    for link in (manual, automatic):
        settled(api, link)

    def posted(link):
        return counts(api, link)[1]

    assert posted(manual) == posted(automatic) == 2 * PER_ACCOUNT
    # An account opened at each bank: only the auto_sync link gets it, from the scheduler.
    for link in (manual, automatic):
        connection = api.link(link, "connection_identifier")["connection_identifier"]
        sandbox_admin(connect_url, f"connections/{connection}/accounts", {"name": "Opened later", "currency_code": "EUR", "transactions": PER_ACCOUNT})
    harness.wait_for(lambda: posted(automatic) == 3 * PER_ACCOUNT, what="the scheduled fetch")
    time.sleep(2.5)  # a few more cycles: still exactly once each, and nothing for the manual link
    assert posted(automatic) == 3 * PER_ACCOUNT
    assert posted(manual) == 2 * PER_ACCOUNT
    log = server.log_text()
    assert f"link={automatic}" in log and "scheduled fetch done" in log
    assert f"scheduled fetch done link={manual}" not in log
