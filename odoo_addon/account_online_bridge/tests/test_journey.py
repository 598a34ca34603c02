# Copyright 2025 bankbridge contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The whole journey in a real browser, as the default admin of a fresh
Community database (no developer mode), against a real bridge and its
sandbox. tests/odoo/run_addon_tests.sh starts the bridge and sets:

* BANKBRIDGE_ODOO_TEST_BRIDGE_URL / _LOGIN / _KEY: the running bridge;
* BANKBRIDGE_ODOO_TEST_NODE_DIR: tests/browser (playwright-core);
* BANKBRIDGE_ODOO_TEST_OUTPUT: where the screenshots go.

Without them the test is skipped; the runner fails when it did not run."""
import json
import logging
import os
import resource
import subprocess
import time
import unittest

from odoo.tests import HttpCase, tagged

_logger = logging.getLogger(__name__)

ENV = {
    name: os.environ.get("BANKBRIDGE_ODOO_TEST_" + name)
    for name in ("BRIDGE_URL", "BRIDGE_LOGIN", "BRIDGE_KEY", "NODE_DIR", "OUTPUT")
}


def _unlimited_memory():
    # Odoo caps its own address space (limit_memory_hard); Chromium and
    # node's WebAssembly need more than that cap, as Odoo's own browser tests do.
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))


@tagged("post_install", "-at_install")
@unittest.skipUnless(all(ENV.values()), "needs a running bridge: run tests/odoo/run_addon_tests.sh")
class TestJourney(HttpCase):
    def setUp(self):
        super().setUp()
        company = self.env.company
        if not company.chart_template:
            self.env["account.chart.template"].try_loading("generic_coa", company=company, install_demo=False)
        self.bank_journal = self.env["account.journal"].search(
            [("type", "=", "bank"), ("company_id", "=", company.id)], limit=1
        )
        self.admin = self.env.ref("base.user_admin")

    def _walk(self, session, phase):
        run = subprocess.run(
            [
                "node",
                os.path.join(ENV["NODE_DIR"], "odoo_journey.mjs"),
                self.base_url(),
                session.sid,
                ENV["BRIDGE_URL"],
                ENV["BRIDGE_LOGIN"],
                ENV["BRIDGE_KEY"],
                ENV["OUTPUT"],
                phase,
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            preexec_fn=_unlimited_memory,
        )
        lines = run.stdout.strip().splitlines()
        self.assertTrue(lines, "the journey printed nothing; stderr:\n%s" % run.stderr)
        summary = json.loads(lines[-1])
        _logger.info("journey screenshots (%s): %s", phase, ", ".join(summary["steps"]))
        for label, millis in summary["timings"].items():
            _logger.info("journey timing: %s: %d ms", label, millis)
        self.assertNotIn("error", summary, json.dumps(summary, indent=1))
        self.assertEqual(run.returncode, 0, run.stderr)
        return summary

    def test_community_admin_journey(self):
        # The Community admin: billing administrator, without the hidden
        # "full accounting" groups.
        self.assertTrue(self.admin.has_group("account.group_account_manager"))
        self.assertFalse(self.admin.has_group("account.group_account_user"))
        self.assertEqual(self.bank_journal.currency_id or self.env.company.currency_id, self.env.ref("base.USD"))
        self.env.flush_all()
        session = self.authenticate("admin", "admin")
        summary = self._walk(session, "connect")
        # The background import, as its scheduled action runs it (without
        # the per-batch commits a test transaction does not allow).
        self.env.invalidate_all()
        queued = self.env["bank.bridge.account"].search([("import_queued", "=", True)])
        self.assertEqual(len(queued), 1)
        waiting = queued.import_total
        started = time.monotonic()
        self.env["bank.bridge.account"]._cron_import_queued(commit_each_batch=False)
        self.env.flush_all()
        _logger.info(
            "journey timing: background import of %d lines: %d ms",
            queued.import_done,
            (time.monotonic() - started) * 1000,
        )
        self.assertFalse(queued.import_queued)
        # All that waited, and what the bridge fetched since (it synchronizes on its own).
        self.assertGreaterEqual(queued.import_done, waiting)
        summary.update(self._walk(session, "imported"), notifications=summary["notifications"])

        # Settings: Test connection used the values on screen; Save tested them.
        self.assertIn("Connection successful", summary["notifications"]["testConnection"])
        self.assertIn("not saved yet", summary["notifications"]["testConnection"])
        self.assertIn("saved and tested", summary["notifications"]["save"])
        # The wizard opened from the card with institutions and a hint.
        self.assertIn("Fake Bank Simple", summary["wizardText"])
        self.assertIn("for the journal", summary["wizardText"])
        # Back on the connection form, connected, without a manual refresh.
        self.assertIn("model=bank.bridge.link", summary["returnUrl"])
        # Never in developer mode.
        self.assertNotIn("debug", summary["settingsUrl"] + summary["returnUrl"])
        self.assertEqual(summary["stateAfterReturn"], "Connected")
        self.assertEqual(summary["stateAfterUpdate"], "Connected")
        self.assertIn("now feeds the new journal", summary["notifications"]["createJournal"])
        # Fetch Accounts: nothing new yet; the bridge's date is written for people.
        self.assertIn("Accounts up to date", summary["notifications"]["fetchAccounts"])
        self.assertNotRegex(summary["notifications"]["fetchAccounts"], r"\d{4}-\d{2}-\d{2}T\d{2}:")

        link = self.env["bank.bridge.link"].search([("institution_code", "=", "fakebank_simple_xf")])
        self.assertEqual(len(link), 1)
        self.assertEqual(link.state, "connected")
        self.assertEqual(link.journal_id, self.bank_journal)
        fed = link.account_ids.filtered("journal_id")
        self.assertEqual(len(fed), 1)
        self.assertEqual(fed.journal_id.currency_id.name, fed.currency_code)
        self.assertNotEqual(fed.journal_id, self.bank_journal)
        lines = self.env["account.bank.statement.line"].search([("bank_bridge_account_id", "=", fed.id)])
        self.assertTrue(lines)
        self.assertEqual(lines.journal_id, fed.journal_id)
        self.assertEqual(lines.currency_id.name, fed.currency_code)
        self.assertEqual(len(lines.statement_id), -(-len(lines) // 100))  # one statement per batch of 100
        self.assertEqual(len(lines), queued.import_done)
        queued_text = "%d transaction(s) are being imported" % waiting
        self.assertIn(queued_text, summary["notifications"]["fetchTransactions"])
        self.assertIn("0 of %d new transactions imported" % waiting, summary["progressText"])
        self.assertEqual(summary["progressAfterImport"], 0)
        self.assertIn("Fetch Transactions", summary["onlineCardText"])
        # The card's balance is the imported lines' (one statement after another).
        self.assertIn("{:,.2f}".format(sum(lines.mapped("amount"))), summary["onlineCardText"])
        self.assertEqual(summary["statementLineRows"], min(len(lines), 80))
