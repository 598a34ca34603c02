"""The bridge against its Enable Banking sandbox with faults injected: an expired session, Enable Banking's
own 429, the bank's daily limit, 5xx answers, a paging that never ends and a body that never ends. Each
leaves the link in a state that says what happened, in the accountant's words, and the bridge answering."""

import datetime

import pytest

from harness import Api, counts, sandbox_admin, settled
from harness.enablebanking import link_bank


@pytest.fixture(scope="module")
def bridge(backend_servers):
    return backend_servers.bridge(users={"alice": "Acme"}, env={"BANKBRIDGE_SYNC_INTERVAL": "0"})


@pytest.fixture
def api(bridge):
    return Api(bridge, "alice")


@pytest.fixture
def linked(api, request):
    """A freshly linked Mock Bank user of its own (its own accounts and daily read budget at the bank)."""
    link, bank_url, _, _ = link_bank(api, username=f"faults-{request.node.name}"[:90])
    assert settled(api, link)["state"] == "connected"
    yield link, bank_url
    sandbox_admin(bank_url, "faults", {"mode": "none"})


FIELDS = ("state", "error_message", "next_refresh", "connection_identifier")


def fetch(api, link):
    answer = api("account.online.link", "action_fetch_transactions", [link])
    return answer, settled(api, link, fields=FIELDS)


def test_an_expired_session_asks_the_user_to_renew_the_consent(api, linked):
    link, bank_url = linked
    session = api.link(link, "connection_identifier")["connection_identifier"]
    sandbox_admin(bank_url, f"sessions/{session}/expire")
    _, record = fetch(api, link)
    assert record["state"] == "error", record
    assert "EXPIRED_SESSION" in record["error_message"] and "Update Credentials" in record["error_message"], record


def test_enable_bankings_own_429_is_waited_out(api, linked):
    link, bank_url = linked
    before = counts(api, link)
    sandbox_admin(bank_url, "faults", {"mode": "throttle", "times": 2, "retry_after_secs": 1, "path_contains": "transactions"})
    _, record = fetch(api, link)
    assert record["state"] == "connected" and record["error_message"] is False, record
    assert counts(api, link) == before


def test_the_banks_daily_limit_is_respected_until_the_next_day(api, linked):
    link, bank_url = linked
    sandbox_admin(bank_url, "faults", {"mode": "aspsp_rate_limit", "times": 1, "path_contains": "transactions"})
    _, record = fetch(api, link)
    assert record["state"] == "connected", record
    assert "refuses more reads" in record["error_message"] and "ASPSP_RATE_LIMIT_EXCEEDED" in record["error_message"]
    tomorrow = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) + datetime.timedelta(hours=23)
    assert datetime.datetime.fromisoformat(record["next_refresh"]) > tomorrow, record
    # The user's click before then reads nothing: the bridge says when the bank allows it.
    again = api("account.online.link", "action_fetch_transactions", [link])
    assert again["params"]["type"] == "warning" and "the next one on" in again["params"]["message"], again
    assert api.link(link, "state")["state"] == "connected"


def test_server_errors_are_retried_then_reported(api, linked):
    link, bank_url = linked
    before = counts(api, link)
    sandbox_admin(bank_url, "faults", {"mode": "server_error", "status": 503, "times": 3, "path_contains": "transactions"})
    _, record = fetch(api, link)
    assert record["state"] == "connected" and record["error_message"] is False, record
    assert counts(api, link) == before
    sandbox_admin(bank_url, "faults", {"mode": "server_error", "status": 502, "path_contains": "transactions"})
    _, record = fetch(api, link)
    assert record["state"] == "connected", record
    assert "cannot serve" in record["error_message"] and "HTTP 502" not in record["error_message"], record


def test_a_paging_that_never_ends_and_a_body_that_never_ends_are_cut(bridge, api, linked):
    link, bank_url = linked
    before = counts(api, link)
    sandbox_admin(bank_url, "faults", {"mode": "repeat_page", "path_contains": "transactions"})
    _, record = fetch(api, link)
    assert record["state"] == "connected" and "did not advance" in record["error_message"], record
    assert counts(api, link) == before, "rows of a paging that does not advance are stored once"
    sandbox_admin(bank_url, "faults", {"mode": "endless_body", "path_contains": "transactions", "times": 1})
    _, record = fetch(api, link)
    assert record["state"] == "connected" and "MiB" in record["error_message"], record
    # The bridge still answers.
    assert api("account.online.link", "search_count", [["id", "=", link]]) == 1
