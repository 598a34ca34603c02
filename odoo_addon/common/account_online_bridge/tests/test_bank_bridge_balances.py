# Copyright 2025 bankbridge contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Issue 22, point 4: after the first import the journal's balance is the
bank's, statements are cut by date (one per import, late days joining the
statement of their day), and later imports keep the balances equal."""
from odoo.tests import tagged

from .common import BankBridgeCase, FakeBank, enter_test_mode, transaction


@tagged("post_install", "-at_install")
class TestBankBridgeBalances(BankBridgeCase):
    def setUp(self):
        super().setUp()
        enter_test_mode(self)
        self.link = self.create_link()
        self.account = self.link.account_ids
        self.feed(self.account)
        self.journal = self.bank_journal

    def _import(self, bank):
        self.account.with_context(bank_bridge_no_push=True).balance = bank.balance
        with self.bridge(**bank.methods()):
            self.account._bank_bridge_queue_import()
            self.run_job()
        return self.account.import_ids.sorted("id")[-1]

    def _card_balance(self):
        self.journal.invalidate_recordset(["current_statement_balance"])
        return self.journal.current_statement_balance

    def _statements(self):
        return self.env["account.bank.statement"].search(
            [("journal_id", "=", self.journal.id)], order="first_line_index"
        )

    def assertChained(self):
        """Every statement is complete and starts where the previous ends."""
        previous = None
        for statement in self._statements():
            statement.invalidate_recordset()
            self.assertTrue(statement.is_complete, statement.name)
            if previous:
                self.assertAlmostEqual(statement.balance_start, previous.balance_end_real, msg=statement.name)
            self.assertTrue(statement.is_valid, statement.name)
            previous = statement

    def test_first_import_opens_the_journal_at_the_bank_balance(self):
        # Ids not in date order, as a bank sends them: the statement is cut by date anyway.
        bank = FakeBank(
            [
                transaction(11, "a", -100.0, date="2024-05-03"),
                transaction(12, "b", 250.0, date="2024-05-01"),
                transaction(13, "c", -30.0, date="2024-05-02"),
            ],
            balance=4672.69,
        )
        run = self._import(bank)
        opening = run.opening_line_id
        self.assertTrue(opening)
        self.assertAlmostEqual(opening.amount, 4672.69 - 120.0)
        self.assertEqual(str(opening.date), "2024-04-30")  # the day before the oldest transaction
        self.assertAlmostEqual(self._card_balance(), 4672.69)
        self.assertAlmostEqual(run.bank_balance, run.journal_balance)
        self.assertEqual(len(self._statements()), 1)
        statement = self._statements()
        self.assertEqual(statement.line_ids, run.line_ids)
        self.assertAlmostEqual(statement.balance_start, 0.0)
        self.assertAlmostEqual(statement.balance_end_real, 4672.69)
        self.assertIn("to", statement.name)
        self.assertChained()
        self.assertTrue(self.account.balance_matches)
        self.assertFalse(self.link.import_problem)

    def test_later_imports_keep_the_balances_equal(self):
        bank = FakeBank([transaction(11, "a", 10.0, date="2024-05-01")], balance=1000.0)
        self._import(bank)
        bank.transactions += [
            transaction(12, "b", -25.0, date="2024-05-05"),
            transaction(13, "c", 40.0, date="2024-05-06"),
        ]
        bank.balance = 1015.0
        run = self._import(bank)
        self.assertFalse(run.opening_line_id)
        self.assertEqual(len(self._statements()), 2)
        self.assertAlmostEqual(self._card_balance(), 1015.0)
        self.assertChained()
        first, second = self._statements()
        self.assertLess(max(first.line_ids.mapped("date")), min(second.line_ids.mapped("date")))

    def test_a_late_transaction_joins_the_statement_of_its_day(self):
        """A transaction the bank posts late (dated inside an imported
        statement): that statement grows, the next ones move with it."""
        bank = FakeBank(
            [transaction(11, "a", 10.0, date="2024-05-01"), transaction(12, "b", 20.0, date="2024-05-03")],
            balance=30.0,
        )
        self._import(bank)
        bank.transactions.append(transaction(13, "c", 5.0, date="2024-05-08"))
        bank.balance = 35.0
        self._import(bank)
        bank.transactions += [
            transaction(14, "late", 7.0, date="2024-05-02"),
            transaction(15, "d", 1.0, date="2024-05-09"),
        ]
        bank.balance = 43.0
        self._import(bank)
        statements = self._statements()
        self.assertEqual(len(statements), 3)
        late = self.env["account.bank.statement.line"].search([("bank_bridge_transaction_identifier", "=", "late")])
        self.assertEqual(late.statement_id, statements[0])
        self.assertAlmostEqual(self._card_balance(), 43.0)
        self.assertChained()

    def test_an_existing_history_in_the_journal_is_kept(self):
        self.env["account.bank.statement.line"].create(
            {"journal_id": self.journal.id, "date": "2024-01-10", "amount": 500.0, "payment_ref": "by hand"}
        )
        run = self._import(FakeBank([transaction(11, "a", 10.0, date="2024-05-01")], balance=800.0))
        self.assertAlmostEqual(run.opening_line_id.amount, 290.0)
        self.assertAlmostEqual(self._card_balance(), 800.0)

    def test_no_opening_line_when_the_bank_balance_is_the_sum(self):
        run = self._import(FakeBank([transaction(11, "a", 10.0), transaction(12, "b", 5.0)], balance=15.0))
        self.assertFalse(run.opening_line_id)
        self.assertAlmostEqual(self._card_balance(), 15.0)
