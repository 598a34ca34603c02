# Copyright 2025 bankbridge contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The background import: batches, deduplication, statements cut by date,
the opening balance, and an import that resumes after a stop."""
from unittest.mock import patch

from odoo import SUPERUSER_ID
from odoo.tests import tagged

from .. import jobs
from ..bridge_client import BridgeUnavailable
from .common import BankBridgeCase, FakeBank, enter_test_mode, transaction


@tagged("post_install", "-at_install")
class TestBankBridgeImport(BankBridgeCase):
    def setUp(self):
        super().setUp()
        enter_test_mode(self)
        self.link = self.create_link(balance=0.0)
        self.account = self.link.account_ids
        self.feed(self.account)

    def _lines(self):
        return self.env["account.bank.statement.line"].search(
            [("bank_bridge_account_id", "=", self.account.id), ("bank_bridge_transaction_identifier", "!=", False)],
            order="bank_bridge_transaction_identifier",
        )

    def _import(self, bank):
        with self.bridge(**bank.methods()):
            self.account._bank_bridge_queue_import()
            self.run_job()
        return self.account.import_ids.sorted("id")[-1]

    def test_posted_transactions_are_imported_once(self):
        bank = FakeBank(
            [
                transaction(11, "tx-1", -12.5, date="2024-05-01"),
                transaction(12, "tx-2", 100.0, date="2024-05-02"),
                transaction(13, "tx-2", 100.0, date="2024-05-02"),  # same identifier: imported once
                transaction(14, "tx-3", -40.0, status="pending"),  # never imported
                transaction(15, "tx-4", 7.25, date="2024-05-03"),
            ],
            balance=94.75,
        )
        run = self._import(bank)
        lines = self._lines()
        self.assertEqual(lines.mapped("bank_bridge_transaction_identifier"), ["tx-1", "tx-2", "tx-4"])
        self.assertEqual(lines.mapped("amount"), [-12.5, 100.0, 7.25])
        self.assertEqual(lines.journal_id, self.bank_journal)
        self.assertEqual((lines[0].payment_ref, lines[0].partner_name), ("Payment tx-1", "Partner tx-1"))
        self.assertEqual((run.state, run.done, run.last_bridge_id), ("done", 3, 15))
        # Again: starts after the last one and adds nothing.
        run = self._import(bank)
        self.assertEqual(bank.fetches[-1], 15)
        self.assertEqual((run.state, run.done), ("done", 0))
        self.assertEqual(len(self._lines()), 3)

    def test_an_import_creates_lines_in_batches_of_one_create_each(self):
        bank = FakeBank([transaction(100 + n, "p-%d" % n, 1.0, date="2024-05-01") for n in range(7)], balance=7.0)
        Line = type(self.env["account.bank.statement.line"])
        sizes = []
        original = Line.create

        def counting_create(records, vals_list):
            sizes.append(len(vals_list) if isinstance(vals_list, list) else 1)
            return original(records, vals_list)

        with patch.object(jobs, "IMPORT_BATCH", 3), patch.object(Line, "create", counting_create):
            run = self._import(bank)
        self.assertEqual(run.done, 7)
        self.assertEqual(bank.fetches[:4], [0, 102, 105, 106])
        self.assertEqual(sizes, [3, 3, 1])  # one create per batch, no opening line (balances match)

    def test_the_statement_is_made_once_when_the_import_ends(self):
        """Lines joined the import's statement batch by batch, and Odoo
        recomputed the whole statement (every line of it) at each batch: an
        import's time grew with the square of its size. The lines now wait
        outside any statement and the statement is made once, at the end."""
        bank = FakeBank([transaction(100 + n, "m-%d" % n, 1.0, date="2024-05-01") for n in range(7)], balance=7.0)
        Statement = type(self.env["account.bank.statement"])
        Import = type(self.env["bank.bridge.import"])
        recomputed, finishing = [], []
        compute_balance_end, finish = Statement._compute_balance_end, Import._bank_bridge_finish

        def counting_compute(statements):
            recomputed.append(bool(finishing))
            return compute_balance_end(statements)

        def marking_finish(run, bank_balance):
            finishing.append(True)
            return finish(run, bank_balance)

        with patch.object(jobs, "IMPORT_BATCH", 3), patch.object(
            Statement, "_compute_balance_end", counting_compute
        ), patch.object(Import, "_bank_bridge_finish", marking_finish):
            run = self._import(bank)
        self.assertEqual((run.state, run.done), ("done", 7))
        self.assertEqual(recomputed.count(False), 0, "a batch recomputed the statement")
        self.assertTrue(recomputed)
        lines = self._lines()
        self.assertEqual(len(lines), 7)
        self.assertEqual(lines.statement_id, run.statement_id)
        self.assertEqual(run.statement_id.line_ids, lines)
        self.assertAlmostEqual(run.statement_id.balance_end_real, 7.0)

    def test_a_cancelled_import_puts_its_lines_in_its_statement(self):
        bank = FakeBank([transaction(100 + n, "c-%d" % n, 1.0, date="2024-05-01") for n in range(4)], balance=4.0)
        with patch.object(jobs, "IMPORT_BATCH", 2), self.bridge(**bank.methods()):
            run = self.account._bank_bridge_queue_import()
            self.env.flush_all()
            step = jobs.Steps(self.registry, SUPERUSER_ID, {})  # as the job runs
            step(lambda env: env["bank.bridge.import"].browse(run.id)._bank_bridge_start())
            step(lambda env: env["bank.bridge.import"].browse(run.id)._bank_bridge_import_batch(bank.fetch(101, 0, 2)))
        self.env.invalidate_all()
        self.assertEqual((run.state, run.done), ("running", 2))
        self.assertFalse(self._lines().statement_id, "lines wait outside statements while the import runs")
        self.link._bank_bridge_stop_imports()
        self.assertEqual(run.state, "cancelled")
        self.assertEqual(len(self._lines()), 2)
        self.assertEqual(self._lines().statement_id, run.statement_id)
        self.assertTrue(run.statement_id)

    def test_reset_cursor_does_not_duplicate(self):
        bank = FakeBank([transaction(11, "tx-1", 5.0)], balance=5.0)
        self._import(bank)
        with self.bridge(**bank.methods()):
            run = self.env["bank.bridge.import"].sudo().create(
                {"account_id": self.account.id, "journal_id": self.bank_journal.id, "start_after_id": 0}
            )
            self.run_job()
        self.assertEqual((run.state, run.done), ("done", 0))
        self.assertEqual(len(self._lines()), 1)

    def test_inverse_sign(self):
        self.account.with_context(bank_bridge_no_push=True).inverse_transaction_sign = True
        self._import(FakeBank([transaction(11, "tx-1", 12.5)], balance=-12.5))
        self.assertEqual(self._lines().amount, -12.5)

    def test_transactions_in_another_currency_fail_the_import_with_a_message(self):
        run = self._import(FakeBank([transaction(11, "tx-1", 5.0, currency="EUR")]))
        self.assertEqual(run.state, "failed")
        self.assertIn("are in EUR but the journal", run.error)
        self.assertFalse(self._lines())
        self.assertIn("stopped", self.link.import_problem)

    def test_a_stopped_import_resumes_from_its_last_batch(self):
        """The worker dies half-way: the next run of the job (every minute)
        goes on from the last committed batch."""
        bank = FakeBank([transaction(100 + n, "s-%d" % n, 1.0) for n in range(5)], balance=5.0)
        calls = []

        def dying_fetch(account_id, after_id=0, limit=500):
            calls.append(after_id)
            if len(calls) == 2:
                raise KeyboardInterrupt("worker killed")
            return bank.fetch(account_id, after_id, limit)

        with patch.object(jobs, "IMPORT_BATCH", 2), self.bridge(
            fetch_posted_transactions=dying_fetch, count_transactions=bank.count, read_account=bank.read_account
        ):
            self.account._bank_bridge_queue_import()
            # Not assertRaises: Odoo's rolls the transaction back to before the block.
            died = False
            try:
                self.run_job()
            except KeyboardInterrupt:
                died = True
            self.assertTrue(died, "the worker did not die")
        self.env.invalidate_all()
        run = self.account.import_ids
        self.assertEqual((run.state, run.done, run.last_bridge_id), ("running", 2, 101))
        self.assertEqual(self.link.live_status, "Importing the bank's transactions: 2 of 5 imported.")
        cron = self.env.ref("account_online_bridge.ir_cron_bank_bridge_job")
        self.assertTrue(cron.active)
        self.assertEqual((cron.interval_number, cron.interval_type), (1, "minutes"))
        if "numbercall" in cron._fields:  # until 17.0: how many runs before the cron stops
            self.assertEqual(cron.numbercall, -1)
        self.assertEqual(len(self._lines()), 2)
        self.assertFalse(self._lines().statement_id, "lines wait outside statements while the import runs")
        with patch.object(jobs, "IMPORT_BATCH", 2), self.bridge(**bank.methods()):
            self.run_job()
        self.assertEqual((run.state, run.done), ("done", 5))
        self.assertEqual(len(self._lines()), 5)
        self.assertEqual(self._lines().statement_id, run.statement_id, "one statement, made at the end")
        self.assertEqual(len(run.statement_id), 1)

    def test_bridge_down_keeps_the_import_for_the_next_run(self):
        bank = FakeBank([transaction(11, "tx-1", 5.0)], balance=5.0)
        down = BridgeUnavailable("The bank bridge at http://127.0.0.1:8070 refused the connection")
        with self.bridge(fetch_posted_transactions=down, count_transactions=down):
            self.account._bank_bridge_queue_import()
            self.run_job()
        run = self.account.import_ids
        self.assertEqual(run.state, "running")
        self.assertIn("refused the connection", self.link.import_problem)
        with self.bridge(**bank.methods()):
            self.run_job()
        self.assertEqual((run.state, run.done), ("done", 1))
