# Copyright 2025 bankbridge contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.exceptions import UserError
from odoo.tests import tagged

from ..bridge_client import BridgeUnavailable
from .common import BankBridgeCase, account_data, link_data, transaction

REMOTE = [
    transaction(11, "tx-1", -12.5, date="2024-05-01"),
    transaction(12, "tx-2", 100.0, date="2024-05-02"),
    transaction(13, "tx-2", 100.0, date="2024-05-02"),  # same identifier: imported once
    transaction(14, "tx-3", -40.0, status="pending"),  # defensive: never imported
    transaction(15, "tx-4", 7.25, date="2024-05-03"),
]


def fake_fetch(transactions):
    calls = []

    def fetch(account_id, after_id=0, limit=500):
        assert account_id == 101
        calls.append(after_id)
        rows = [tx for tx in transactions if tx["id"] > (after_id or 0)]
        return rows[:limit] if limit else rows

    fetch.calls = calls
    return fetch


@tagged("post_install", "-at_install")
class TestBankBridgeImport(BankBridgeCase):
    def setUp(self):
        super().setUp()
        self.link = self.create_link()
        self.account = self.link.account_ids
        self.account.with_context(bank_bridge_no_push=True).journal_id = self.bank_journal

    def _lines(self):
        return self.env["account.bank.statement.line"].search(
            [("bank_bridge_account_id", "=", self.account.id)], order="bank_bridge_transaction_identifier"
        )

    def test_import_posted_deduplicated(self):
        fetch = fake_fetch(REMOTE)
        with self.bridge(fetch_posted_transactions=fetch):
            action = self.account.action_import_transactions()
        lines = self._lines()
        self.assertEqual(lines.mapped("bank_bridge_transaction_identifier"), ["tx-1", "tx-2", "tx-4"])
        self.assertEqual(lines.mapped("amount"), [-12.5, 100.0, 7.25])
        self.assertEqual(lines.journal_id, self.bank_journal)
        self.assertEqual(lines[0].payment_ref, "Payment tx-1")
        self.assertEqual(lines[0].partner_name, "Partner tx-1")
        self.assertEqual(str(lines[0].date), "2024-05-01")
        self.assertIn("3 new", action["params"]["message"])
        self.assertEqual(self.account.last_imported_bridge_id, 15)
        self.assertEqual(self.account.last_imported_identifier, "tx-4")

    def test_import_again_starts_after_the_last_one_and_adds_nothing(self):
        fetch = fake_fetch(REMOTE)
        with self.bridge(fetch_posted_transactions=fetch):
            self.account.action_import_transactions()
            self.account.action_import_transactions()
        self.assertEqual(len(self._lines()), 3)
        self.assertEqual(fetch.calls[-1], 15)
        # a new transaction on the bridge is imported from the cursor on
        fetch = fake_fetch(REMOTE + [transaction(16, "tx-5", 1.0)])
        with self.bridge(fetch_posted_transactions=fetch):
            self.account.action_import_transactions()
        self.assertEqual(fetch.calls[0], 15)
        self.assertEqual(len(self._lines()), 4)

    def test_reset_cursor_does_not_duplicate(self):
        with self.bridge(fetch_posted_transactions=fake_fetch(REMOTE)):
            self.account.action_import_transactions()
            self.account.with_context(bank_bridge_no_push=True).last_imported_bridge_id = 0
            self.account.action_import_transactions()
        self.assertEqual(len(self._lines()), 3)

    def test_paging(self):
        many = [transaction(100 + i, "p-%s" % i, float(i + 1)) for i in range(7)]
        fetch = fake_fetch(many)
        with self.bridge(fetch_posted_transactions=fetch):
            count = self.account._import_bridge_transactions(batch_size=3)
        self.assertEqual(count, 7)
        self.assertEqual(fetch.calls, [0, 102, 105])

    def test_inverse_sign(self):
        self.account.with_context(bank_bridge_no_push=True).inverse_transaction_sign = True
        with self.bridge(fetch_posted_transactions=fake_fetch(REMOTE[:1])):
            self.account.action_import_transactions()
        self.assertEqual(self._lines().amount, 12.5)

    def test_needs_a_journal(self):
        self.account.with_context(bank_bridge_no_push=True).journal_id = False
        with self.bridge(), self.assertRaises(UserError):
            self.account.action_import_transactions()

    def test_link_button_imports_all_linked_accounts(self):
        with self.bridge(fetch_posted_transactions=fake_fetch(REMOTE)):
            self.link.action_import_transactions()
        self.assertEqual(len(self._lines()), 3)

    def test_cron_refreshes_and_imports_and_survives_errors(self):
        data = link_data(accounts=(101,))
        account = account_data(101, journal_id=self.bank_journal.id)
        with self.bridge(read_link=data, read_accounts=[account], fetch_posted_transactions=fake_fetch(REMOTE)):
            self.env["bank.bridge.link"]._cron_refresh_and_import()
        self.assertEqual(len(self._lines()), 3)
        self.assertEqual(self.account.journal_id, self.bank_journal)
        down = BridgeUnavailable("The bank bridge at http://127.0.0.1:8070 refused the connection")
        with self.bridge(read_link=down, fetch_posted_transactions=down):
            self.env["bank.bridge.link"]._cron_refresh_and_import()
        self.assertIn("refused the connection", self.account.last_import_error)
