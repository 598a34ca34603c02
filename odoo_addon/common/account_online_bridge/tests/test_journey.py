# Copyright 2025 bankbridge contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""An accountant's first day, in a real browser, as the default admin of a
fresh Community database (no developer mode), against a real bridge and its
sandbox, by clicks alone (tests/browser/odoo_journey.mjs). While the browser
waits on the connection's form, the addon's background job runs here as
its scheduled action would. tests/odoo/run_addon_tests.sh starts the bridge
and sets:

* BANKBRIDGE_ODOO_TEST_BRIDGE_URL / _LOGIN / _KEY: the running bridge;
* BANKBRIDGE_ODOO_TEST_NODE_DIR: tests/browser (playwright-core);
* BANKBRIDGE_ODOO_TEST_OUTPUT: where the screenshots go.

Without them the test is skipped; the runner fails when it did not run."""
import contextlib
import json
import logging
import os
import re
import resource
import subprocess
import threading
import unittest

from odoo import SUPERUSER_ID
from odoo.tests import HttpCase, tagged
from odoo.tests import common as test_common

from ..bridge_client import BridgeClient
from ..jobs import PARAM_IMPORT_BATCH, run_jobs
from ..models.bank_bridge_mixin import SERIE

_logger = logging.getLogger(__name__)

ENV = {
    name: os.environ.get("BANKBRIDGE_ODOO_TEST_" + name)
    for name in ("BRIDGE_URL", "BRIDGE_LOGIN", "BRIDGE_KEY", "NODE_DIR", "OUTPUT")
}
# What an accountant must not read: aggregator error classes, record references, versions, the
# aggregator's or the bridge's internals, times in UTC beside Odoo's own dates, institution codes.
JARGON = re.compile(
    r"\b(?:Invalid\w*Credentials|ConnectionDuplicated|CredentialsNotMatch|ProviderAccessNotGranted"
    r"|\w+NotFound|account\.online\.\w+|Salt Edge|\d+\.0\+bankbridge|UTC|fakebank_\w+)\b"
)

WIZARD = re.compile(r"wizard|onboarding-add")


def _amount(text):
    """An amount as a list cell shows it, without its currency symbol."""
    return re.sub(r"[^\d.,-]", "", text)


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
        # Small batches: the form shows the import's progress more than once.
        self.env["ir.config_parameter"].sudo().set_param(PARAM_IMPORT_BATCH, 50)
        self.admin = self.env.ref("base.user_admin")

    def _background_job(self, stop, errors):
        """The addon's scheduled action, every half second, with the
        registry's cursors (the test's transaction, shared with the browser's
        requests one step at a time)."""
        while not stop.is_set():
            try:
                run_jobs(self.registry, SUPERUSER_ID, {}, budget=1)
            except Exception as err:  # pylint: disable=broad-except
                _logger.exception("background job failed")
                errors.append(repr(err))
            stop.wait(0.5)

    def _walk(self):
        # 19.0 serves a test's HTTP requests only inside allow_requests(), to a browser carrying the
        # test's cookie.
        allow = self.allow_requests() if hasattr(self, "allow_requests") else contextlib.nullcontext()
        with allow:
            cookie = getattr(self, "http_request_key", None)
            cookies = "%s=%s" % (test_common.TEST_CURSOR_COOKIE_NAME, cookie) if cookie else ""
            return self._walk_in_browser(cookies)

    def _walk_in_browser(self, cookies):
        stop, errors = threading.Event(), []
        worker = threading.Thread(target=self._background_job, args=(stop, errors), name="bank bridge job")
        worker.start()
        try:
            run = subprocess.run(
                [
                    "node",
                    os.path.join(ENV["NODE_DIR"], "odoo_journey.mjs"),
                    self.base_url(),
                    ENV["BRIDGE_URL"],
                    ENV["BRIDGE_LOGIN"],
                    ENV["BRIDGE_KEY"],
                    ENV["OUTPUT"],
                ],
                capture_output=True,
                text=True,
                env=dict(os.environ, BANKBRIDGE_ODOO_TEST_COOKIES=cookies),
                timeout=900,
                check=False,
                preexec_fn=_unlimited_memory,
            )
        finally:
            stop.set()
            worker.join()
        lines = run.stdout.strip().splitlines()
        self.assertTrue(lines, "the journey printed nothing; stderr:\n%s" % run.stderr)
        summary = json.loads(lines[-1])
        with open(os.path.join(ENV["OUTPUT"], "summary.json"), "w", encoding="utf-8") as handle:
            json.dump(summary, handle, indent=1)
        _logger.info("journey screenshots: %s", ", ".join(summary["steps"]))
        for label, millis in summary["timings"].items():
            _logger.info("journey timing: %s: %d ms", label, millis)
        self.assertNotIn("error", summary, json.dumps({k: summary.get(k) for k in ("error", "errorUrl", "errorPage")},
                                                      indent=1))
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertFalse(errors, errors)
        self.assertFalse(summary.get("pageErrors"), summary.get("pageErrors"))
        return summary

    def test_community_admin_journey(self):
        # The Community admin: billing administrator, without the hidden "full accounting" groups,
        # so without Odoo's Invoicing > Dashboard menu.
        self.assertTrue(self.admin.has_group("account.group_account_manager"))
        self.assertFalse(self.admin.has_group("account.group_account_user"))
        self.assertEqual(self.bank_journal.currency_id or self.env.company.currency_id, self.env.ref("base.USD"))
        self.env.flush_all()
        summary = self._walk()
        self.env.invalidate_all()
        checks = summary["checks"]

        # Clicks only: every page after the login came from a click, never in developer mode.
        for url in summary["urls"] + [summary["connectionUrl"], summary["existingUrl"]]:
            self.assertNotIn("debug", url)
        self.assertEqual(checks["dashboardMenu"], 0)  # Odoo's own dashboard menu is not there ...
        self.assertIn("04-bank-journals.png", summary["steps"])  # ... Invoicing > Bank > Bank Journals is
        # 2, 3. The onboarding's "Add a bank account" opens the wizard (it used to crash: no views);
        # 18.0 dropped the dashboard's onboarding and its bank account step.
        if SERIE < 18:
            self.assertEqual(checks["onboardingWizard"], "Add a Bank Account")
        else:
            self.assertEqual(checks["onboardingButton"], 0)
        # Settings: Test connection used the values on screen; Save tested them; no version shown.
        self.assertIn("Connection successful", summary["notifications"]["testConnection"])
        self.assertIn("not saved yet", summary["notifications"]["testConnection"])
        self.assertIn("saved and tested", summary["notifications"]["save"])
        # 11. The wizard: the result count above the list, the selected bank in bold.
        wizard = " ".join(summary["wizardText"].split())
        self.assertIn("Fake Bank Simple", wizard)
        self.assertIn("with the journal Bank .", wizard)
        self.assertTrue(checks["resultCountBelowSearch"] and checks["resultCountLeftOfList"])
        self.assertEqual(checks["selectedRowBold"], 1)

        link = self.env["bank.bridge.link"].search([("institution_code", "=", "fakebank_simple_xf")])
        self.assertEqual(len(link), 1, "the duplicate was deleted")
        # 1. Back from the bank, the form waited without a click: the bank answered, the import ran.
        self.assertTrue(any("Importing" in text or "bank is sending" in text for text in
                            summary["liveAfterConnect"] + summary["liveAfterJournal"] + summary["liveAfterFetch"]),
                        summary["liveAfterConnect"])
        # 10. The status bar reads like Odoo's: left to right, the current state highlighted.
        self.assertEqual(summary["statusBar"], {"order": ["Not Connected", "Connected"], "current": ["Connected"]})
        # 5. Connect on the USD Bank card, accounts in EUR: the (empty) Bank journal is fed, in EUR.
        self.assertEqual(self.bank_journal.currency_id.name, "EUR")
        checking = link.account_ids.filtered(lambda acc: acc.journal_id == self.bank_journal)
        self.assertEqual(len(checking), 1)
        # 6. The bank's page went back to Odoo by itself; the refused duplicate led to the existing
        # connection, without Update Credentials (no loop).
        self.assertTrue(summary["duplicateReturnedByItself"])
        self.assertIn("already connected in", summary["duplicateText"])
        self.assertEqual(checks["duplicateUpdateCredentialsHeader"], 0)
        self.assertRegex(summary["existingUrl"], r"(id=|/)%d(&|/|$)" % link.id)
        # 7. Create a journal on the connection opened after deleting another: no phantom record.
        after = summary["afterCreateJournal"]
        self.assertEqual((after["name"], after["dirty"], after["consentBanner"]), ("Fake Bank Simple", 0, 0))
        self.assertEqual(after["url"], after["urlBefore"])
        self.assertEqual(self.env["bank.bridge.link"].search_count([]), 1)
        # 9. Fetch Accounts says what it found; Update Credentials moves "Last synchronization".
        self.assertIn("2 bank account(s): Fake Bank Simple Checking account (EUR), Fake Bank Simple Credit card (EUR)",
                      summary["notifications"]["fetchAccounts"])
        self.assertGreater(summary["lastRefreshAfterUpdate"], summary["lastRefreshAfterConnect"])
        # 4. Each journal's balance is the bank's: after the first import and after later fetches.
        card = link.account_ids.filtered(lambda acc: "Credit card" in acc.name)
        self.assertEqual(card.journal_id.type, "credit" if SERIE >= 18 else "bank")
        for account in link.account_ids:
            journal = account.journal_id
            self.assertTrue(journal, account.name)
            self.assertEqual(journal.currency_id.name, account.currency_code)
            self.assertAlmostEqual(journal.current_statement_balance, account.balance, msg=journal.name)
            self.assertEqual(len(account.import_ids.filtered("opening_line_id")), 1, account.name)
            statements = self.env["account.bank.statement"].search([("journal_id", "=", journal.id)])
            self.assertLessEqual(len(statements), len(account.import_ids), "one statement per import at most")
            self.assertTrue(all(statements.mapped("is_valid")) and all(statements.mapped("is_complete")))
        for card in summary["cards"]:
            self.assertFalse(card["linkCut"], card)
            self.assertIn("Connected", card["text"])
            self.assertIn("Bank balance", card["text"])
        self.assertTrue(summary["transactionRows"])
        # 9. Revoke, then Remove: the banners and buttons follow the state; no spinner, no expiry.
        revoked, removed = summary["afterRevoke"], summary["afterRemove"]
        self.assertEqual(revoked["banners"], {"removed": 0, "revoked": 1, "error": 0, "live": 0, "unfed": 0})
        self.assertEqual((revoked["buttons"]["revoke"], revoked["buttons"]["fetch"], revoked["consentExpiry"]),
                         (0, 0, 0))
        self.assertEqual(removed["banners"], {"removed": 1, "revoked": 0, "error": 0, "live": 0, "unfed": 0})
        self.assertEqual((removed["buttons"]["remove"], removed["buttons"]["delete"]), (0, 1))
        self.assertTrue(link.account_ids.statement_line_ids, "the imported lines stay")
        # 8. An accountant's words on every screen and in every message.
        odoo_screens = {name: text for name, text in summary["texts"].items()
                        if not re.search(r"bank-page|consent-given|at-the-bank", name)}
        seen = dict(odoo_screens, **{"notification " + k: v for k, v in summary["notifications"].items()})
        # Add a Bank Account names the aggregator of each bank on purpose (the user chooses through whom).
        jargon = {
            name: [word for word in JARGON.findall(text) if not (word == "Salt Edge" and WIZARD.search(name))]
            for name, text in seen.items()
        }
        jargon = {name: words for name, words in jargon.items() if words}
        self.assertFalse(jargon, "jargon on the screens: %s" % jargon)

        # Issue 26: the same journey's core through Enable Banking, the other aggregator.
        self._check_enable_banking(summary)

    def _check_enable_banking(self, summary):
        eb = summary["enableBanking"]
        self.assertIn("Salt Edge", " ".join(summary["wizardText"].split()))  # the Salt Edge bank's aggregator
        self.assertEqual(eb["providerCell"], "Enable Banking", eb["wizardRow"])
        self.assertEqual(eb["connected"]["state"], "Connected", eb["connected"]["text"])
        self.assertEqual(eb["connected"]["banners"]["error"], 0, eb["connected"]["text"])
        self.assertTrue(eb["accounts"], "the bank's accounts are listed on the connection")
        self.assertRegex(eb["connectionUrl"], r"(id=|bank\.bridge\.link/)\d+")
        # Create a journal: fed and imported without a click, the journal at the bank's balance.
        self.assertEqual(len(eb["fedAccounts"]), 1, eb["fedAccounts"])
        fed = eb["fedAccounts"][0]
        self.assertGreater(int(re.sub(r"\D", "", fed["statement_line_count"])), 0, fed)
        # The same amount (Odoo's column carries the currency symbol, the bank's not).
        self.assertEqual(_amount(fed["journal_balance"]), _amount(fed["balance"]), fed)
        self.assertTrue(_amount(fed["balance"]), fed)
        # Fetch Accounts names the bank's accounts; Fetch Transactions reads the bank again and imports
        # nothing twice (the bank booked nothing new: the same lines, the same balance).
        self.assertIn("2 bank account(s): ", summary["notifications"]["enableBankingFetchAccounts"])
        self.assertIn("The bank is sending its new transactions.",
                      summary["notifications"]["enableBankingFetchTransactions"])
        self.assertEqual(eb["fedAfterFetch"], eb["fedAccounts"])
        # Update Credentials: the bank's page, back on the same connection, Connected, the same accounts
        # and lines (a new session at the bank, nothing imported twice).
        self.assertEqual(eb["urlAfterUpdate"].split("#")[0], eb["connectionUrl"].split("#")[0])
        self.assertEqual(eb["afterUpdate"]["state"], "Connected", eb["afterUpdate"]["text"])
        self.assertEqual(eb["afterUpdate"]["banners"]["error"], 0, eb["afterUpdate"]["text"])
        self.assertEqual(eb["fedAfterUpdate"], eb["fedAccounts"])
        # Revoke Consent: the revoked banner, no Revoke or Fetch button left.
        self.assertEqual(eb["revoked"]["banners"], {"removed": 0, "revoked": 1, "error": 0, "live": 0, "unfed": 0})
        self.assertEqual((eb["revoked"]["buttons"]["revoke"], eb["revoked"]["buttons"]["fetch"]), (0, 0))
        self.assertIn("Consent revoked", summary["notifications"]["enableBankingRevoke"])
        self.assertEqual(eb["removed"]["banners"]["removed"], 1, eb["removed"]["text"])
        self.assertEqual((eb["removed"]["buttons"]["remove"], eb["removed"]["buttons"]["delete"]), (0, 1))
        # Back on the list of connections: the Salt Edge one, not the deleted one.
        names = [row.split("\t")[0] for row in eb["listAfterDelete"]]
        self.assertEqual(names, ["Fake Bank Simple"], eb["listAfterDelete"])
        self.assertFalse(self.env["bank.bridge.link"].search([("institution_code", "like", "enablebanking:")]))
        # The journal keeps its lines, each of the bank's transactions once.
        journal = self.env["account.journal"].search([]).filtered(lambda j: j.display_name == fed["journal_id"])
        self.assertEqual(len(journal), 1, fed["journal_id"])
        lines = self.env["account.bank.statement.line"].search([("journal_id", "=", journal.id)])
        self.assertEqual(len(lines), int(re.sub(r"\D", "", fed["statement_line_count"])))
        identifiers = lines.filtered("bank_bridge_transaction_identifier").mapped("bank_bridge_transaction_identifier")
        self.assertEqual(len(identifiers), len(set(identifiers)), "a transaction imported twice")
        self.assertLessEqual(len(lines) - len(identifiers), 1, "lines other than the opening balance")
        # Deleted on the bridge too: it has no Enable Banking link left.
        client = BridgeClient(ENV["BRIDGE_URL"], "bankbridge", ENV["BRIDGE_LOGIN"], ENV["BRIDGE_KEY"])
        on_bridge = [link for link in client.search_links([]) if "enablebanking" in (link["provider_code"] or "")]
        self.assertFalse(on_bridge, on_bridge)
