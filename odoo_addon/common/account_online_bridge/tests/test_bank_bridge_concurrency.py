# Copyright 2025 bankbridge contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Issue 22, point 1, in real PostgreSQL transactions: the background
import runs while another cursor reads the connection every second (as the
form does) and a user clicks Refresh on it, and the import finishes.

Everything here is committed through cursors of their own (the test's own
transaction cannot be shared between threads) and deleted at the end."""
import threading
import time
from unittest.mock import patch

from odoo import SUPERUSER_ID, api, sql_db
from odoo.tests import TransactionCase, tagged

from .. import jobs
from ..bridge_client import BridgeClient
from ..models.bank_bridge_mixin import PARAM_API_KEY, PARAM_DATABASE, PARAM_LOGIN, PARAM_URL
from .common import FakeBank, account_data, link_data, transaction

TRANSACTIONS = 300


@tagged("post_install", "-at_install")
class TestBankBridgeConcurrency(TransactionCase):
    def _env(self, cr):
        """An environment on a cursor of its own. Its transaction names this registry: looking the
        registry up by name waits for the lock the test runner holds (19.0) in another thread."""
        cr.transaction = type(self.env.transaction)(self.registry)
        return api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})

    def _committed(self, work):
        with sql_db.db_connect(self.env.cr.dbname).cursor() as cr:
            env = self._env(cr)
            result = work(env)
            env.flush_all()
            return result

    def setUp(self):
        super().setUp()
        self.bank = FakeBank(
            [transaction(1000 + n, "cc-%d" % n, 1.0 + n % 7, date="2024-05-%02d" % (1 + n % 28))
             for n in range(TRANSACTIONS)],
            balance=9999.0,
        )
        self.ids = self._committed(self._create_data)
        self.addCleanup(self._committed, self._delete_data)

    def _create_data(self, env):
        params = env["ir.config_parameter"]
        saved = {key: params.get_param(key) for key in (PARAM_URL, PARAM_DATABASE, PARAM_LOGIN, PARAM_API_KEY)}
        params.set_param(PARAM_URL, "http://127.0.0.1:8070")
        params.set_param(PARAM_DATABASE, "bankbridge")
        params.set_param(PARAM_LOGIN, "odoo")
        params.set_param(PARAM_API_KEY, "test-api-key")
        company = env.ref("base.main_company")
        if not company.chart_template:
            env["account.chart.template"].try_loading("generic_coa", company=company, install_demo=False)
        journal = env["account.journal"].create(
            {"name": "Concurrency Bank", "code": "CCBK", "type": "bank", "company_id": company.id}
        )
        link = env["bank.bridge.link"].create(
            {"name": "Concurrency Bank", "bridge_id": 7, "state": "connected", "has_bank_connection": True,
             "company_id": company.id}
        )
        account = env["bank.bridge.account"].with_context(bank_bridge_no_push=True).create(
            {"name": "Checking 101", "bridge_id": 101, "link_id": link.id, "currency_code": journal.currency_id.name
             or company.currency_id.name, "journal_id": journal.id}
        )
        return {"journal": journal.id, "link": link.id, "account": account.id, "params": saved}

    def _delete_data(self, env):
        journal = env["account.journal"].browse(self.ids["journal"])
        # Statements first: 19.0 refuses to delete a line of a valid statement.
        env["account.bank.statement"].search([("journal_id", "=", journal.id)]).unlink()
        env["account.bank.statement.line"].search([("journal_id", "=", journal.id)]).unlink()
        # The bridge is not running here: the connection goes without asking it (its accounts and
        # imports cascade).
        env.cr.execute("DELETE FROM bank_bridge_link WHERE id = %s", [self.ids["link"]])
        accounts = journal.default_account_id | journal.suspense_account_id.filtered(
            lambda acc: acc != journal.company_id.account_journal_suspense_account_id
        )
        journal.unlink()
        accounts.exists().unlink()
        for key, value in self.ids["params"].items():
            env["ir.config_parameter"].set_param(key, value or False)

    def test_import_finishes_while_the_connection_is_read_and_refreshed(self):
        currency = self._committed(lambda env: env["bank.bridge.account"].browse(self.ids["account"]).currency_code)
        remote_link = link_data(accounts=(101,))
        clicks = []

        def remote_accounts():
            # Each Refresh brings a new bank balance: the click writes the account row too.
            clicks.append(1)
            return [account_data(101, journal_id=self.ids["journal"], currency=currency, balance=9000.0 + len(clicks))]

        patches = [
            patch.object(BridgeClient, name, autospec=True, side_effect=lambda _self, *a, _f=f, **k: _f(*a, **k))
            for name, f in self.bank.methods().items()
        ] + [
            patch.object(BridgeClient, "read_link", autospec=True, return_value=remote_link),
            patch.object(BridgeClient, "read_accounts", autospec=True, side_effect=lambda *_a, **_k: remote_accounts()),
            patch.object(BridgeClient, "write_account", autospec=True, return_value=True),
            patch.object(BridgeClient, "_call", autospec=True, side_effect=AssertionError("unexpected bridge call")),
            patch.object(jobs, "IMPORT_BATCH", 50),
        ]
        for patcher in patches:
            patcher.start()
            self.addCleanup(patcher.stop)
        self._committed(lambda env: env["bank.bridge.account"].browse(self.ids["account"])._bank_bridge_queue_import())

        done = threading.Event()
        failures = []
        reads = []

        def reader():
            # What the connection's form does while it polls: web_read of the connection and its accounts.
            spec = {
                "state": {}, "live_status": {}, "banner": {}, "import_problem": {}, "name": {},
                "account_ids": {"fields": {"name": {}, "journal_id": {"fields": {"display_name": {}}},
                                           "balance": {}, "journal_balance": {}, "statement_line_count": {}}},
                "import_ids": {"fields": {"state": {}, "done": {}}},
            }
            while not done.is_set():
                try:
                    with sql_db.db_connect(self.env.cr.dbname).cursor() as cr:
                        env = self._env(cr)
                        reads.append(env["bank.bridge.link"].browse(self.ids["link"]).web_read(spec)[0]["live_status"])
                except Exception as err:  # pylint: disable=broad-except
                    failures.append("read: %r" % err)
                time.sleep(0.2)

        def clicker():
            # A user clicking Refresh on the connection: writes the connection and its accounts.
            while not done.is_set():
                try:
                    with sql_db.db_connect(self.env.cr.dbname).cursor() as cr:
                        env = self._env(cr)
                        env["bank.bridge.link"].browse(self.ids["link"]).action_refresh_from_bridge()
                        env.flush_all()
                except Exception as err:  # pylint: disable=broad-except
                    if getattr(err, "pgcode", None) not in jobs.RETRIED_ERRORS:
                        failures.append("click: %r" % err)
                time.sleep(0.5)

        threads = [threading.Thread(target=reader, daemon=True), threading.Thread(target=clicker, daemon=True)]
        for thread in threads:
            thread.start()
        try:
            started = time.monotonic()
            jobs.run_jobs(self.registry, SUPERUSER_ID, {}, budget=120)
            elapsed = time.monotonic() - started
        finally:
            done.set()
            for thread in threads:
                thread.join(timeout=60)
        self.assertFalse([thread for thread in threads if thread.is_alive()], "a reading thread hangs")
        self.assertFalse(failures, failures[:5])
        state = self._committed(
            lambda env: [(run.state, run.done, run.error) for run in env["bank.bridge.import"].search(
                [("account_id", "=", self.ids["account"])])]
        )
        self.assertEqual(state, [("done", TRANSACTIONS, False)], "after %.1fs" % elapsed)
        self.assertGreater(len(reads), 2)
        self.assertGreater(len(clicks), 1)
        self.assertTrue(any(text and "Importing" in text for text in reads), reads[:5])
        balance = self._committed(
            lambda env: env["account.journal"].browse(self.ids["journal"]).current_statement_balance
        )
        self.assertAlmostEqual(balance, 9999.0)
