# Copyright 2025 bankbridge contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What the journey relies on, one rule per test: groups, currencies, the
way back from the bank, bank errors, abandoned connections, texts."""
from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from ..bridge_client import BridgeClient
from .common import ACT_URL, NOTIFICATION, BankBridgeCase, account_data, link_data, transaction
from .test_bank_bridge_import import fake_fetch
from .test_bank_bridge_settings import TestBankBridgeAddAccount

INSTITUTIONS = TestBankBridgeAddAccount.INSTITUTIONS


@tagged("post_install", "-at_install")
class TestBankBridgeJourneyRules(BankBridgeCase):
    # -- groups ------------------------------------------------------------
    def test_billing_user_may_fetch_transactions(self):
        link = self.create_link()
        link.account_ids.with_context(bank_bridge_no_push=True).journal_id = self.bank_journal
        user = self.billing_user()
        fetch = fake_fetch([transaction(11, "tx-1", 5.0)])
        with self.bridge(link_button=NOTIFICATION, read_link=link_data(), read_accounts=[account_data()],
                         fetch_posted_transactions=fetch, count_transactions=1):
            action = link.with_user(user).action_fetch_transactions()
        self.assertEqual(action["params"]["type"], "success")
        self.assertIn("1 new bank statement line(s) imported", action["params"]["message"])
        self.assertEqual(len(link.account_ids.statement_line_ids), 1)

    def test_billing_user_may_not_change_the_connection(self):
        link = self.create_link()
        user = self.billing_user()
        for method in ("action_update_credentials", "action_fetch_accounts", "action_revoke_consent",
                       "action_remove_connection"):
            with self.bridge(), self.assertRaises(AccessError):
                getattr(link.with_user(user), method)()
        with self.bridge(), self.assertRaises(AccessError):
            self.env["bank.bridge.add.account"].with_user(user).action_open()
        with self.assertRaises(AccessError):
            link.account_ids.with_user(user).write({"journal_id": self.bank_journal.id})

    # -- currencies --------------------------------------------------------
    def test_account_in_another_currency_cannot_feed_the_journal(self):
        link = self.create_link(currency="EUR")
        with self.assertRaises(ValidationError) as err:
            link.account_ids.with_context(bank_bridge_no_push=True).journal_id = self.bank_journal
        self.assertIn("is in EUR but the journal", err.exception.args[0])

    def test_transactions_in_another_currency_are_refused(self):
        link = self.create_link()
        account = link.account_ids
        account.with_context(bank_bridge_no_push=True).journal_id = self.bank_journal
        fetch = fake_fetch([transaction(11, "tx-1", 5.0, currency="EUR")])
        with self.bridge(fetch_posted_transactions=fetch), self.assertRaises(UserError) as err:
            account.action_import_transactions()
        self.assertIn("are in EUR but the journal", err.exception.args[0])
        self.assertFalse(account.statement_line_ids)

    def test_create_a_journal_in_the_account_currency(self):
        link = self.create_link(currency="EUR")
        with self.bridge(write_account=True) as mocks:
            link.account_ids.action_create_journal()
        journal = link.account_ids.journal_id
        self.assertEqual(journal.type, "bank")
        self.assertEqual(journal.currency_id.name, "EUR")
        self.assertTrue(journal.currency_id.active)
        self.assertEqual(mocks["write_account"].call_args.args[1:], (101, {"journal_id": journal.id,
                                                                          "inverse_transaction_sign": False}))

    def test_connect_from_a_journal_feeds_it_with_an_account_in_its_currency(self):
        link = self.create_link(with_account=False)
        link.journal_id = self.bank_journal
        accounts = [account_data(101, currency="EUR"), account_data(102, currency="USD")]
        with self.bridge(read_link=link_data(accounts=(101, 102)), read_accounts=accounts, write_account=True):
            link.action_refresh_from_bridge()
        fed = link.account_ids.filtered("journal_id")
        self.assertEqual(fed.mapped("bridge_id"), [102])
        self.assertEqual(fed.journal_id, self.bank_journal)

    # -- import ------------------------------------------------------------
    def test_import_groups_the_lines_in_one_statement(self):
        link = self.create_link()
        account = link.account_ids
        account.with_context(bank_bridge_no_push=True).journal_id = self.bank_journal
        fetch = fake_fetch([transaction(10 + n, "tx-%d" % n, n + 1.0) for n in range(5)])
        with self.bridge(fetch_posted_transactions=fetch):
            account.action_import_transactions()
        self.assertEqual(len(account.statement_line_ids), 5)
        self.assertEqual(len(account.statement_line_ids.statement_id), 1)
        self.assertEqual(account.statement_line_ids.statement_id.journal_id, self.bank_journal)
        # The journal card shows the last statement's ending balance.
        self.assertEqual(account.statement_line_ids.statement_id.balance_end_real, 15.0)

    def test_many_transactions_are_imported_in_the_background_with_progress(self):
        link = self.create_link()
        account = link.account_ids
        account.with_context(bank_bridge_no_push=True).journal_id = self.bank_journal
        remote = [transaction(10 + n, "tx-%d" % n, n + 1.0) for n in range(45)]
        fetch = fake_fetch(remote)
        with self.bridge(link_button=NOTIFICATION, read_link=link_data(), write_account=True,
                         read_accounts=[account_data(journal_id=self.bank_journal.id)],
                         count_transactions=45) as mocks:
            action = link.action_fetch_transactions()
        self.assertEqual(mocks["count_transactions"].call_args.kwargs, {"status": "posted", "after_id": 0})
        self.assertIn("45 transaction(s) are being imported", action["params"]["message"])
        self.assertFalse(account.statement_line_ids)  # the click did not wait for the import
        self.assertTrue(link.import_queued)
        self.assertEqual(link.import_progress, "0 of 45 new transactions imported")
        with self.bridge(fetch_posted_transactions=fetch):
            self.env["bank.bridge.account"]._cron_import_queued(commit_each_batch=False, batch_size=20)
        self.assertEqual(len(account.statement_line_ids), 45)
        self.assertEqual(len(account.statement_line_ids.statement_id), 3)  # batches of 20, 20, 5
        self.assertEqual((account.import_done, account.import_total), (45, 45))
        self.assertFalse(link.import_queued)

    def test_a_synchronization_ending_at_the_bank_queues_the_import(self):
        link = self.create_link()
        link.account_ids.with_context(bank_bridge_no_push=True).journal_id = self.bank_journal
        link.state = "fetching"
        data = [account_data(journal_id=self.bank_journal.id)]
        with self.bridge(read_link=link_data(), read_accounts=data, count_transactions=12):
            link.action_refresh_from_bridge()
        self.assertEqual(link.state, "connected")
        self.assertTrue(link.account_ids.import_queued)
        self.assertEqual(link.import_progress, "0 of 12 new transactions imported")

    # -- way in, way back --------------------------------------------------
    def test_dashboard_connect_opens_the_wizard_for_the_journal(self):
        with self.bridge(search_institutions=INSTITUTIONS):
            action = self.bank_journal.action_configure_bank_journal()
        wizard = self.env["bank.bridge.add.account"].browse(action["res_id"])
        self.assertEqual(action["res_model"], "bank.bridge.add.account")
        self.assertEqual(wizard.journal_id, self.bank_journal)
        self.assertEqual(len(wizard.line_ids), 2)

    def test_add_a_bank_account_entry_points_open_the_wizard(self):
        with self.bridge(search_institutions=INSTITUTIONS):
            action = self.env["res.company"].setting_init_bank_account_action()
        self.assertEqual(action["res_model"], "bank.bridge.add.account")
        manual = self.env["bank.bridge.add.account"].browse(action["res_id"]).action_manual()
        self.assertEqual(manual["res_model"], "account.setup.bank.manual.config")

    def test_wizard_without_institutions_in_the_country_lists_all_with_a_hint(self):
        self.env.company.country_id = self.env.ref("base.us")

        def search(country_code=None, **_kwargs):
            return [] if country_code else INSTITUTIONS

        with self.bridge(search_institutions=search):
            action = self.env["bank.bridge.add.account"].action_open()
        wizard = self.env["bank.bridge.add.account"].browse(action["res_id"])
        self.assertEqual(len(wizard.line_ids), 2)
        self.assertFalse(wizard.country_code)
        self.assertIn("knows no institution in US", wizard.hint)

    def _wizard(self):
        wizard = self.env["bank.bridge.add.account"].create({"country_code": "XF", "email": "a@example.com"})
        with self.bridge(search_institutions=INSTITUTIONS[:1]):
            wizard.action_search()
        return wizard

    def test_connect_sends_the_connection_form_as_return_to(self):
        wizard = self._wizard()
        with self.bridge(new_synchronization=ACT_URL) as mocks:
            wizard.action_connect()
        link = self.env["bank.bridge.link"].search([("bridge_id", "=", 7)])
        return_to = mocks["new_synchronization"].call_args.kwargs["return_to"]
        base = self.env["ir.config_parameter"].sudo().get_param("web.base.url")
        action = self.env.ref("account_online_bridge.action_bank_bridge_link")
        self.assertEqual(
            return_to, "%s/web#id=%d&model=bank.bridge.link&view_type=form&action=%d" % (base, link.id, action.id)
        )
        self.assertIsNone(mocks["new_synchronization"].call_args.kwargs["link_id"])

    def test_update_credentials_comes_back_to_the_connection(self):
        link = self.create_link()
        with self.bridge(link_button=ACT_URL) as mocks:
            link.action_update_credentials()
        self.assertEqual(mocks["link_button"].call_args.kwargs, {"return_to": link._bank_bridge_form_url()})
        self.assertIn("model=bank.bridge.link", link._bank_bridge_form_url())

    def test_abandoned_connection_is_resumed_not_duplicated(self):
        wizard = self._wizard()
        with self.bridge(new_synchronization=ACT_URL):
            wizard.action_connect()
        link = self.env["bank.bridge.link"].search([("bridge_id", "=", 7)])
        self.assertTrue(link.consent_pending)
        wizard = self._wizard()
        with self.bridge(new_synchronization=ACT_URL) as mocks:
            wizard.action_connect()
        self.assertEqual(mocks["new_synchronization"].call_args.kwargs["link_id"], 7)
        links = self.env["bank.bridge.link"].search([("institution_code", "=", "fakebank_simple_xf")])
        self.assertEqual(links, link)

    def test_abandoned_connections_are_deleted_after_a_week(self):
        old = self.create_link(bridge_id=8, with_account=False)
        old.state = "disconnected"
        recent = self.create_link(bridge_id=9, with_account=False)
        recent.state = "disconnected"
        self.env.cr.execute(
            "UPDATE bank_bridge_link SET create_date = %s WHERE id = %s",
            (fields.Datetime.now() - timedelta(days=8), old.id),
        )
        old.invalidate_recordset(["create_date"])
        with self.bridge(unlink_link=True) as mocks:
            self.env["bank.bridge.link"]._cron_delete_abandoned()
        self.assertFalse(old.exists())
        self.assertTrue(recent.exists())
        self.assertEqual(mocks["unlink_link"].call_args.args[1:], (8,))

    def test_opening_a_connection_refreshes_it(self):
        link = self.create_link(with_account=False)
        link.state = "disconnected"
        with self.bridge(read_link=link_data(), read_accounts=[account_data()]) as mocks:
            result = link.web_read({"state": {}})
        mocks["read_link"].assert_called_once()
        self.assertEqual(result[0]["state"], "connected")

    # -- bank errors, texts --------------------------------------------------
    def test_bank_error_is_shown_on_the_connection_with_readable_dates(self):
        link = self.create_link()
        data = dict(link_data(state="error"),
                    error_message="The consent expired on 2024-05-16T13:25:40Z: click Update Credentials.")
        with self.bridge(read_link=data, read_accounts=[account_data()]):
            link.action_refresh_from_bridge()
        self.assertEqual(link.state, "error")
        self.assertNotIn("T13:25:40Z", link.error_message)
        self.assertNotIn("2024-05-16", link.error_message)
        self.assertIn("May 16, 2024", link.error_message)
        self.assertIn("click Update Credentials", link.error_message)

    def test_not_configured_message_names_invoicing(self):
        self.env["ir.config_parameter"].sudo().set_param("account_online_bridge.url", False)
        with self.assertRaises(UserError) as err:
            self.env["bank.bridge.mixin"]._bank_bridge_client()
        self.assertIn("Go to Invoicing > Configuration > Settings", err.exception.args[0])

    # -- settings ------------------------------------------------------------
    def test_save_tests_the_new_settings(self):
        settings = self.env["res.config.settings"].create({"bank_bridge_api_key": "new-key"})
        info = {"server_version": "x", "uid": 2, "url": "http://127.0.0.1:8070", "db": "bankbridge"}
        with patch.object(BridgeClient, "test_connection", autospec=True, return_value=info) as test:
            action = settings.execute()
        self.assertEqual(test.call_args.args[0]._api_key, "new-key")
        self.assertEqual(action["params"]["title"], "Bank bridge settings saved and tested")
        self.assertEqual(action["params"]["next"]["tag"], "soft_reload")
