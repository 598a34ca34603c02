# Copyright 2025 bankbridge contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from contextlib import contextmanager
from unittest.mock import patch

from odoo import SUPERUSER_ID
from odoo.addons.account.tests.common import AccountTestInvoicingCommon

from ..bridge_client import BridgeClient
from ..jobs import run_jobs
from ..models.bank_bridge_mixin import PARAM_API_KEY, PARAM_DATABASE, PARAM_LOGIN, PARAM_URL, USER_GROUPS

NOTIFICATION = {
    "type": "ir.actions.client",
    "tag": "display_notification",
    "params": {"title": "Bridge", "message": "Done on the bridge.", "type": "success", "sticky": False},
}
ACT_URL = {
    "type": "ir.actions.act_url",
    "url": "http://127.0.0.1:8070/connect/abc",
    "target": "self",
    "res_model": "account.online.link",
    "res_id": 7,
}


def link_data(link_id=7, state="connected", accounts=(101,), connected=True, **extra):
    data = {
        "id": link_id,
        "name": "Fake Bank Simple",
        "institution_id": [3, "Fake Bank Simple"],
        "provider_code": "fakebank_simple_xf",
        "state": state,
        "auto_sync": True,
        "last_refresh": "2024-05-16 10:20:30",
        "next_refresh": False,
        "expiring_synchronization_date": "2024-08-14",
        "account_online_account_ids": list(accounts),
        "error_message": False,
        "has_unlinked_accounts": True,
        "renewal_contact_email": "accountant@example.com",
        "company_id": [1, "My Company"],
        "connection_identifier": "conn-%s" % link_id if connected else False,
    }
    data.update(extra)
    return data


def account_data(account_id=101, link_id=7, journal_id=False, currency="USD", balance=1234.5, name=None):
    return {
        "id": account_id,
        "name": name or "Checking %s" % account_id,
        "account_number": "XF00 0000 %s" % account_id,
        "balance": balance,
        "currency_code": currency,
        "online_identifier": "acc-%s" % account_id,
        "account_online_link_id": [link_id, "Fake Bank Simple"],
        "journal_id": journal_id,
        "last_sync": "2024-05-16",
        "fetching_status": "done",
        "inverse_transaction_sign": False,
    }


def transaction(tx_id, identifier, amount, status="posted", date="2024-05-10", currency="USD"):
    return {
        "id": tx_id,
        "online_transaction_identifier": identifier,
        "date": date,
        "amount": amount,
        "currency_code": currency,
        "payment_ref": "Payment %s" % identifier,
        "partner_name": "Partner %s" % identifier,
        "account_number": "BE00 1111",
        "status": status,
        "online_account_id": [101, "Checking 101"],
    }


class FakeBank:
    """What the bridge holds for one account: its posted transactions
    (bridge id order) and its balance; serves the client's calls."""

    def __init__(self, transactions=(), balance=0.0, account_id=101):
        self.transactions = list(transactions)
        self.balance = balance
        self.account_id = account_id
        self.fetches = []

    def posted(self, account_id, after_id):
        assert account_id == self.account_id, account_id
        return [tx for tx in self.transactions if tx["id"] > (after_id or 0) and tx["status"] == "posted"]

    def fetch(self, account_id, after_id=0, limit=500):
        self.fetches.append(after_id)
        rows = self.posted(account_id, after_id)
        return rows[:limit] if limit else rows

    def count(self, account_id, status="posted", after_id=0):
        assert status == "posted", status
        return len(self.posted(account_id, after_id))

    def read_account(self, account_id):
        return {"id": account_id, "balance": self.balance}

    def methods(self):
        return {
            "fetch_posted_transactions": self.fetch,
            "count_transactions": self.count,
            "read_account": self.read_account,
        }


def enter_test_mode(case):
    """New cursors of the registry (the background job's) wrap the test's
    transaction, as in an HttpCase."""
    if hasattr(case, "registry_enter_test_mode"):
        case.registry_enter_test_mode()
    else:
        case.registry.enter_test_mode(case.cr)
        case.addCleanup(case.registry.leave_test_mode)


class BankBridgeCase(AccountTestInvoicingCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        params = cls.env["ir.config_parameter"].sudo()
        params.set_param(PARAM_URL, "http://127.0.0.1:8070")
        params.set_param(PARAM_DATABASE, "bankbridge")
        params.set_param(PARAM_LOGIN, "odoo")
        params.set_param(PARAM_API_KEY, "test-api-key")
        cls.bank_journal = cls.company_data["default_journal_bank"]

    @contextmanager
    def bridge(self, **methods):
        """Patch BridgeClient methods: ``name=value`` returns value, a
        callable is used as side effect (without self), an exception
        instance is raised. Yields {name: mock}."""
        patchers = {}
        mocks = {}
        for name, value in methods.items():
            if isinstance(value, BaseException):
                patcher = patch.object(BridgeClient, name, autospec=True, side_effect=value)
            elif callable(value):
                patcher = patch.object(
                    BridgeClient, name, autospec=True, side_effect=lambda _self, *a, _f=value, **k: _f(*a, **k)
                )
            else:
                patcher = patch.object(BridgeClient, name, autospec=True, return_value=value)
            patchers[name] = patcher
        # No real network: any call not patched fails loudly.
        guard = patch.object(
            BridgeClient, "_call", autospec=True, side_effect=AssertionError("unexpected bridge call")
        )
        try:
            guard.start()
            for name, patcher in patchers.items():
                mocks[name] = patcher.start()
            yield mocks
        finally:
            for patcher in patchers.values():
                patcher.stop()
            guard.stop()

    def run_job(self):
        """The background job, as its scheduled action runs it: its own
        transactions (test cursors here), then this test sees the result."""
        self.env.flush_all()
        run_jobs(self.registry, SUPERUSER_ID, {}, budget=0)
        self.env.invalidate_all()

    def create_link(self, bridge_id=7, with_account=True, currency="USD", balance=1234.5):
        link = self.env["bank.bridge.link"].create(
            {"name": "Fake Bank Simple", "bridge_id": bridge_id, "state": "connected", "has_bank_connection": True,
             "institution_code": "fakebank_simple_xf", "institution_name": "Fake Bank Simple"}
        )
        if with_account:
            self.env["bank.bridge.account"].with_context(bank_bridge_no_push=True).create(
                {"name": "Checking 101", "bridge_id": 101, "link_id": link.id, "currency_code": currency,
                 "balance": balance}
            )
        return link

    def feed(self, account, journal=None):
        account.with_context(bank_bridge_no_push=True).journal_id = journal or self.bank_journal

    def billing_user(self):
        """A billing user: Invoicing's "Billing" group, not administrator."""
        return self.env["res.users"].create(
            {
                "name": "Billing User",
                "login": "billing-user",
                "company_id": self.env.company.id,
                "company_ids": [(6, 0, self.env.company.ids)],
                USER_GROUPS: [(6, 0, [self.env.ref("account.group_account_invoice").id])],
            }
        )
