# Copyright 2025 bankbridge contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What an accountant's first day relies on (issue 22), one rule per test:
reading never writes, entry points in the menus, every window action opens,
the journal started from is fed, no dead ends, an accountant's words."""
from datetime import datetime

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from ..models.bank_bridge_mixin import FEED_JOURNAL_TYPES, LIST, SERIE
from .common import (
    ACT_URL,
    NOTIFICATION,
    BankBridgeCase,
    FakeBank,
    account_data,
    enter_test_mode,
    link_data,
    transaction,
)

INSTITUTIONS = [
    {"id": 1, "code": "fakebank_simple_xf", "name": "Fake Bank Simple", "country_code": "XF",
     "status": "active", "mode": "web", "max_consent_days": 90, "logo_url": False},
    {"id": 2, "code": "fakebank_interactive_xf", "name": "Fake Bank Interactive", "country_code": "XF",
     "status": "active", "mode": "web", "max_consent_days": 90, "logo_url": False},
]
# Every field the connection's form shows.
FORM_SPEC = {
    name: {} for name in (
        "name", "state", "banner", "live_status", "import_problem", "journal_unfed_reason", "unfed_account_count",
        "error_message", "has_bank_connection", "last_refresh", "next_refresh", "expiring_synchronization_date",
        "institution_name", "renewal_contact_email", "auto_sync", "journal_id", "import_count", "sibling_id",
    )
}
FORM_SPEC["account_ids"] = {"fields": {"name": {}, "journal_id": {}, "balance": {}, "journal_balance": {},
                                       "statement_line_count": {}, "currency_code": {}}}
FORM_SPEC["import_ids"] = {"fields": {"state": {}, "done": {}}}


def assert_opens(case, action, what):
    """A window action the web client opens: it names its views."""
    case.assertIsInstance(action, dict, what)
    if action.get("type") == "ir.actions.act_window":
        case.assertTrue(action.get("views"), "%s: window action without views: %s" % (what, action))
        for view_id, view_type in action["views"]:
            case.assertIn(view_type, (LIST, "form", "kanban", "search"), what)
            if view_id:
                view = case.env["ir.ui.view"].browse(view_id)
                case.assertEqual(view.model, action["res_model"], what)


@tagged("post_install", "-at_install")
class TestBankBridgeJourneyRules(BankBridgeCase):
    def setUp(self):
        super().setUp()
        enter_test_mode(self)

    # -- 1. reading never writes ---------------------------------------------
    def test_reading_a_connection_neither_calls_the_bridge_nor_writes(self):
        link = self.create_link()
        link.state = "disconnected"  # what used to trigger a refresh on open
        link.flush_recordset()
        self.env.cr.execute("SELECT write_date FROM bank_bridge_link WHERE id = %s", [link.id])
        before = self.env.cr.fetchone()[0]
        with self.bridge():  # any bridge call fails
            link.invalidate_recordset()
            result = link.web_read(FORM_SPEC)
            link.read(list(FORM_SPEC))
            self.bank_journal.invalidate_recordset()
            self.bank_journal.read(["kanban_dashboard", "bank_bridge_link_id", "bank_bridge_balance_text"])
        self.assertEqual(result[0]["state"], "disconnected")
        self.env.flush_all()
        self.env.cr.execute("SELECT write_date FROM bank_bridge_link WHERE id = %s", [link.id])
        self.assertEqual(self.env.cr.fetchone()[0], before)

    # -- 2, 3. entry points, every action opens -------------------------------
    def test_every_menu_of_the_tour_is_visible_without_developer_mode_and_opens(self):
        admin = self.env.ref("base.user_admin")
        visible = self.env["ir.ui.menu"].with_user(admin)._visible_menu_ids(debug=False)
        for xmlid in ("menu_bank_bridge_root", "menu_bank_bridge_journals", "menu_bank_bridge_statement_lines",
                      "menu_bank_bridge_links", "menu_bank_bridge_add_account_bank", "menu_bank_bridge_add_account",
                      "menu_bank_bridge_link"):
            menu = self.env.ref("account_online_bridge." + xmlid)
            self.assertIn(menu.id, visible, xmlid)
            if not menu.action:
                continue
            action = menu.action
            with self.bridge(search_institutions=INSTITUTIONS):
                if action._name == "ir.actions.server":
                    result = action.with_user(admin).with_context(active_model=action.model_id.model).run()
                else:
                    result = self.env["ir.actions.actions"]._for_xml_id(action.get_external_id()[action.id])
            assert_opens(self, result, xmlid)

    def test_the_bank_journals_menu_shows_the_cards_with_the_onboarding(self):
        action = self.env.ref("account_online_bridge.action_bank_bridge_journals")
        view = action.view_id
        self.assertEqual(view, self.env.ref("account.account_journal_dashboard_kanban_view"))
        arch = self.env["account.journal"].get_view(view.id, "kanban")["arch"]
        if SERIE < 18:  # 18.0 dropped the dashboard's onboarding banner (and its bank account step)
            self.assertIn("banner_route", arch)
        self.assertIn("action_bank_bridge_open_connection", arch)
        self.assertIn('name="action_configure_bank_journal"', arch)
        journals = self.env["account.journal"].search(action._get_eval_domain() if hasattr(
            action, "_get_eval_domain") else [("type", "in", ("bank", "credit"))])
        self.assertIn(self.bank_journal, journals)

    def test_odoo_add_a_bank_account_actions_open_the_wizard_with_views(self):
        with self.bridge(search_institutions=INSTITUTIONS):
            for what, action in (
                ("onboarding", self.env["onboarding.onboarding.step"].action_open_step_bank_account()),
                ("company", self.env["res.company"].setting_init_bank_account_action()),
                ("journal card", self.bank_journal.action_configure_bank_journal()),
            ):
                assert_opens(self, action, what)
                self.assertEqual(action["res_model"], "bank.bridge.add.account", what)
            wizard = self.env["bank.bridge.add.account"].browse(action["res_id"])
            assert_opens(self, wizard.action_search(), "Search")
            assert_opens(self, wizard.line_ids[0].action_select(), "Select")
            assert_opens(self, wizard.action_manual(), "Enter it manually")

    def test_every_button_of_the_tour_returns_an_action_that_opens(self):
        link = self.create_link()
        account = link.account_ids
        fetch = FakeBank([transaction(11, "tx-1", 5.0)], balance=5.0)
        with self.bridge(link_button=NOTIFICATION, read_link=link_data(), read_accounts=[account_data()],
                         write_account=True, unlink_link=True, **fetch.methods()):
            for name, action in (
                ("Create a journal", account.action_create_journal()),
                ("Fetch Accounts", link.action_fetch_accounts()),
                ("Fetch Transactions", link.action_fetch_transactions()),
                ("Transactions (account)", account.action_open_statement_lines()),
                ("Transactions (card)", account.journal_id.action_bank_bridge_open_statement_lines()),
                ("Connection (card)", account.journal_id.action_bank_bridge_open_connection()),
                ("Fetch Transactions (card)", account.journal_id.action_bank_bridge_fetch_transactions()),
                ("Imports", link.action_open_imports()),
                ("Refresh", link.action_refresh_from_bridge()),
                ("Bank Connections", link.action_open_list()),
                ("Open account", account.action_open_form()),
            ):
                if isinstance(action, dict):
                    assert_opens(self, action, name)
                    if action.get("tag") == "display_notification":
                        # The form reloads its own record: never a soft reload (the phantom record).
                        self.assertEqual(action["params"]["next"], {"type": "ir.actions.act_window_close"}, name)
            self.run_job()
            run = account.import_ids[:1]
            assert_opens(self, run.action_open_lines(), "Import lines")
            link.state = "disconnected"
            link.has_bank_connection = False
            link.account_ids.unlink()
            assert_opens(self, link.action_delete_connection(), "Delete Connection")

    # -- 5. the journal a user started from --------------------------------------
    def test_connect_from_a_journal_feeds_it_with_an_account_in_its_currency(self):
        link = self.create_link(with_account=False)
        link.journal_id = self.bank_journal
        accounts = [account_data(101, currency="EUR"), account_data(102, currency="USD")]
        with self.bridge(read_link=link_data(accounts=(101, 102)), read_accounts=accounts, write_account=True) as mocks:
            link.action_refresh_from_bridge()
        fed = link.account_ids.filtered("journal_id")
        self.assertEqual(fed.mapped("bridge_id"), [102])
        self.assertEqual(fed.journal_id, self.bank_journal)
        self.assertEqual(mocks["write_account"].call_args.args[1:],
                         (102, {"journal_id": self.bank_journal.id, "inverse_transaction_sign": False}))
        self.assertFalse(link.journal_unfed_reason)
        self.assertEqual(self.bank_journal.bank_bridge_link_id, link)

    def test_an_empty_journal_started_from_takes_the_currency_of_the_bank_account(self):
        """The sandbox's accounts are in EUR, the company's Bank journal in
        USD and still empty: Connect on its card feeds it, in EUR."""
        journal = self.env["account.journal"].create({"name": "Empty Bank", "code": "EBNK", "type": "bank"})
        link = self.create_link(with_account=False)
        link.journal_id = journal
        accounts = [account_data(101, currency="EUR"), account_data(102, currency="EUR", name="Credit card")]
        with self.bridge(read_link=link_data(accounts=(101, 102)), read_accounts=accounts, write_account=True):
            link.action_refresh_from_bridge()
        self.assertEqual(journal.currency_id.name, "EUR")
        self.assertEqual(journal.default_account_id.currency_id.name, "EUR")
        self.assertEqual(link.account_ids.filtered("journal_id").journal_id, journal)
        self.assertEqual(journal.bank_bridge_link_state, "connected")
        self.assertTrue(journal.bank_bridge_fed)
        self.assertEqual(link.unfed_account_count, 1)

    def test_a_journal_with_entries_in_another_currency_is_explained(self):
        self.env["account.bank.statement.line"].create(
            {"journal_id": self.bank_journal.id, "date": "2024-01-10", "amount": 5.0, "payment_ref": "x"}
        )
        link = self.create_link(with_account=False)
        link.journal_id = self.bank_journal
        with self.bridge(read_link=link_data(), read_accounts=[account_data(101, currency="EUR")]):
            link.action_refresh_from_bridge()
        self.assertFalse(link.account_ids.journal_id)
        self.assertIn("None of the bank accounts of this connection is in USD", link.journal_unfed_reason)
        self.assertIn("create a journal", link.journal_unfed_reason)

    def test_the_journal_choice_offers_only_journals_in_the_account_currency(self):
        link = self.create_link(currency="EUR")
        account = link.account_ids
        domain = account._fields["journal_id"].domain
        eur = self.env["account.journal"].create({"name": "EUR Bank", "code": "EURB", "type": "bank",
                                                  "currency_id": self.env.ref("base.EUR").id})
        from odoo.tools.safe_eval import safe_eval  # pylint: disable=import-outside-toplevel
        offered = self.env["account.journal"].search(safe_eval(domain, {
            "company_id": account.company_id.id, "journal_id": False, "currency_code": "EUR"}))
        self.assertIn(eur, offered)
        self.assertNotIn(self.bank_journal, offered)
        with self.assertRaises(ValidationError) as err:
            account.with_context(bank_bridge_no_push=True).journal_id = self.bank_journal
        self.assertIn("is in EUR but the journal", err.exception.args[0])

    def test_a_credit_card_account_gets_a_credit_card_journal_where_odoo_has_them(self):
        link = self.create_link(currency="EUR")
        account = link.account_ids
        account.name = "Fake Bank Simple Credit card"
        with self.bridge(write_account=True):
            account.action_create_journal()
        self.assertEqual(account.journal_id.type, "credit" if SERIE >= 18 else "bank")
        self.assertIn(account.journal_id.type, FEED_JOURNAL_TYPES)

    def test_create_a_journal_in_the_account_currency(self):
        link = self.create_link(currency="EUR")
        with self.bridge(write_account=True) as mocks:
            action = link.account_ids.action_create_journal()
        journal = link.account_ids.journal_id
        self.assertEqual((journal.type, journal.currency_id.name), ("bank", "EUR"))
        self.assertTrue(journal.currency_id.active)
        self.assertEqual(mocks["write_account"].call_args.args[1:], (101, {"journal_id": journal.id,
                                                                          "inverse_transaction_sign": False}))
        self.assertIn("now feeds the new journal", action["params"]["message"])
        self.assertTrue(link.account_ids.import_ids, "a connected account starts importing at once")

    # -- 6. the duplicate, 7. no phantom, 9. banners that agree ----------------
    def test_a_refused_duplicate_leads_to_the_existing_connection(self):
        existing = self.create_link(bridge_id=7)
        duplicate = self.env["bank.bridge.link"].create({
            "name": self.env["bank.bridge.link"]._bank_bridge_unique_name("Fake Bank Simple", self.env.company),
            "bridge_id": 8, "institution_code": "fakebank_simple_xf"})
        self.assertEqual(duplicate.name, "Fake Bank Simple (2)")
        message = 'You have already synchronized this bank account in "Fake Bank Simple". Open it and click ' \
                  'Update Credentials instead of adding it again.'
        data = link_data(8, state="error", accounts=(), connected=False, error_message=message)
        with self.bridge(read_link=data, read_accounts=[]):
            duplicate.action_refresh_from_bridge()
        self.assertEqual(duplicate.banner, "failed_first")
        self.assertEqual(duplicate.sibling_id, existing)
        action = duplicate.action_open_sibling()
        assert_opens(self, action, "Open the existing connection")
        self.assertEqual(action["res_id"], existing.id)
        self.assertNotIn("account.online.link", duplicate.error_message)

    def test_banners_agree_with_the_state(self):
        link = self.create_link()
        self.feed(link.account_ids)
        with self.bridge(link_button=NOTIFICATION, read_link=link_data(), read_accounts=[account_data()]):
            link.action_fetch_transactions()
        self.assertTrue(link.import_running)
        self.assertIn("Importing", link.live_status)
        # Revoke: the import stops, the consent banner is the only one, Revoke is gone.
        revoked = link_data(state="disconnected", error_message="Consent revoked on 6 Dec 2026 at 00:00 UTC.")
        with self.bridge(link_button=NOTIFICATION, read_link=revoked, read_accounts=[account_data()]):
            link.action_revoke_consent()
        self.assertEqual(link.banner, "revoked")
        self.assertFalse(link.import_running)
        self.assertFalse(link.live_status)
        # Removed at the bank: no consent banner any more, the record may be deleted.
        removed = link_data(state="disconnected", connected=False, error_message="The connection was removed.")
        with self.bridge(link_button=NOTIFICATION, read_link=removed, read_accounts=[account_data()]):
            action = link.action_remove_connection()
        self.assertEqual(link.banner, "removed")
        self.assertFalse(link.has_bank_connection)
        self.assertIn("you can delete this connection now", action["params"]["message"])
        self.assertFalse(link.unfed_account_count and link.state == "connected")

    def test_no_unfed_banner_over_an_empty_account_table(self):
        link = self.create_link(with_account=False)
        self.assertEqual(link.unfed_account_count, 0)

    def test_fetch_accounts_says_what_it_found(self):
        link = self.create_link()
        accounts = [account_data(101, currency="EUR"), account_data(102, currency="EUR", name="Credit card")]
        info = dict(NOTIFICATION, params=dict(NOTIFICATION["params"], title="Accounts up to date", type="info"))
        with self.bridge(link_button=info, read_link=link_data(accounts=(101, 102)), read_accounts=accounts):
            action = link.action_fetch_accounts()
        message = action["params"]["message"]
        self.assertIn("1 new bank account(s): Credit card", message)
        self.assertIn("Checking 101 (EUR), Credit card (EUR)", message)
        with self.bridge(link_button=info, read_link=link_data(accounts=(101, 102)), read_accounts=accounts):
            action = link.action_fetch_accounts()
        self.assertIn("No new bank account: Fake Bank Simple shares 2 bank account(s)", action["params"]["message"])

    # -- 8. an accountant's words -----------------------------------------------
    def test_bridge_dates_are_written_in_the_user_format(self):
        link = self.create_link()
        data = link_data(state="error",
                         error_message="The consent expired on 2024-05-16T13:25:40Z; the bank allows the next "
                                       "refresh on 6 Dec 2026 at 00:00 UTC.")
        with self.bridge(read_link=data, read_accounts=[account_data()]):
            link.action_refresh_from_bridge()
        self.assertNotIn("T13:25:40Z", link.error_message)
        self.assertNotIn("UTC", link.error_message)
        # As Odoo writes a time for this user (language, time zone): "May 16, 2024, 1:25:40 PM" in
        # 17.0 and 18.0, "05/16/2024 01:25:40 PM" in 19.0.
        user_format = link._bank_bridge_format_datetime
        self.assertIn(user_format(datetime(2024, 5, 16, 13, 25, 40)), link.error_message)
        self.assertIn(user_format(datetime(2026, 12, 6, 0, 0)), link.error_message)

    def test_too_early_is_said_with_the_next_date(self):
        link = self.create_link()
        self.feed(link.account_ids)
        refused = dict(NOTIFICATION, params=dict(NOTIFICATION["params"], type="warning",
                                                 message="Salt Edge allows the next refresh on 6 Dec 2026..."))
        with self.bridge(link_button=refused, read_link=link_data(next_refresh="2026-12-06 00:00:00"),
                         read_accounts=[account_data()]):
            action = link.action_fetch_transactions()
        message = action["params"]["message"]
        self.assertNotIn("Salt Edge", message)
        self.assertNotIn("bridge", message)
        self.assertIn("next synchronization on %s." % link._bank_bridge_format_datetime(datetime(2026, 12, 6)), message)

    def test_no_code_or_version_on_the_screens(self):
        link = self.create_link()
        form = self.env["bank.bridge.link"].get_view(self.env.ref(
            "account_online_bridge.bank_bridge_link_view_form").id, "form")["arch"]
        self.assertNotIn('name="institution_code"', form)
        self.assertIn('widget="statusbar"', form)
        states = dict(link._fields["state"]._description_selection(self.env))
        self.assertEqual(list(states), ["disconnected", "fetching", "connected", "error"])
        wizard = self.env["bank.bridge.add.account"].get_view(self.env.ref(
            "account_online_bridge.bank_bridge_add_account_view_form").id, "form")["arch"]
        self.assertNotIn('name="status"', wizard)

    # -- groups ------------------------------------------------------------------
    def test_billing_user_may_fetch_transactions(self):
        link = self.create_link()
        self.feed(link.account_ids)
        user = self.billing_user()
        with self.bridge(link_button=NOTIFICATION, read_link=link_data(), read_accounts=[account_data()]):
            action = link.with_user(user).action_fetch_transactions()
        self.assertIn("in the background", action["params"]["message"])
        self.assertTrue(link.account_ids.import_ids)

    def test_billing_user_may_not_change_the_connection(self):
        link = self.create_link()
        user = self.billing_user()
        for method in ("action_update_credentials", "action_fetch_accounts", "action_revoke_consent",
                       "action_remove_connection", "action_delete_connection"):
            with self.bridge(), self.assertRaises(AccessError):
                getattr(link.with_user(user), method)()
        with self.bridge(), self.assertRaises(AccessError):
            self.env["bank.bridge.add.account"].with_user(user).action_open()
        with self.assertRaises(AccessError):
            link.account_ids.with_user(user).write({"journal_id": self.bank_journal.id})

    # -- the way to the bank and back --------------------------------------------
    def test_connect_gives_the_return_route(self):
        wizard = self.env["bank.bridge.add.account"].create({"country_code": "XF", "email": "a@example.com"})
        with self.bridge(search_institutions=INSTITUTIONS[:1]):
            wizard.action_search()
        with self.bridge(new_synchronization=ACT_URL) as mocks:
            action = wizard.action_connect()
        self.assertEqual(action, {"type": "ir.actions.act_url", "url": ACT_URL["url"], "target": "self"})
        link = self.env["bank.bridge.link"].search([("bridge_id", "=", 7)])
        return_to = mocks["new_synchronization"].call_args.kwargs["return_to"]
        self.assertEqual(return_to, "%s/bank_bridge/return/%d" % (link.get_base_url(), link.id))
        self.assertIsNone(mocks["new_synchronization"].call_args.kwargs["link_id"])
        self.assertEqual(link.banner, "consent_pending")

    def test_coming_back_from_the_bank_reads_once_and_the_job_follows(self):
        link = self.create_link(with_account=False)
        link.write({"state": "disconnected", "has_bank_connection": False})
        fetching = link_data(state="fetching", accounts=())
        with self.bridge(read_link=fetching, read_accounts=[]) as mocks:
            link._bank_bridge_came_back()
        self.assertEqual(mocks["read_link"].call_count, 1)
        self.assertEqual(link.state, "fetching")
        self.assertEqual(link.live_status, "The bank is sending the accounts and transactions.")
        self.assertGreater(link.watch_until, fields.Datetime.now())
        # The job (not the form) sees it connected, with its accounts, and stops following it.
        with self.bridge(read_link=link_data(), read_accounts=[account_data()]):
            self.run_job()
        self.assertEqual(link.state, "connected")
        self.assertEqual(len(link.account_ids), 1)
        self.assertFalse(link.watch_until)
        self.assertFalse(link.live_status)

    def test_a_synchronization_ending_at_the_bank_imports_without_a_click(self):
        link = self.create_link(balance=12.0)
        self.feed(link.account_ids)
        link.write({"state": "fetching", "watch_until": fields.Datetime.add(fields.Datetime.now(), minutes=5)})
        bank = FakeBank([transaction(11, "tx-1", 12.0)], balance=12.0)
        with self.bridge(read_link=link_data(), read_accounts=[account_data(balance=12.0)], **bank.methods()):
            self.run_job()
        self.assertEqual(link.state, "connected")
        self.assertEqual(link.account_ids.import_ids.state, "done")
        self.assertEqual(len(link.account_ids.statement_line_ids), 1)

    def test_abandoned_connection_is_resumed_not_duplicated(self):
        wizard = self.env["bank.bridge.add.account"].create({"country_code": "XF", "email": "a@example.com"})
        with self.bridge(search_institutions=INSTITUTIONS[:1]):
            wizard.action_search()
        with self.bridge(new_synchronization=ACT_URL):
            wizard.action_connect()
        link = self.env["bank.bridge.link"].search([("bridge_id", "=", 7)])
        wizard = self.env["bank.bridge.add.account"].create({"country_code": "XF", "email": "a@example.com"})
        with self.bridge(search_institutions=INSTITUTIONS[:1]):
            wizard.action_search()
        with self.bridge(new_synchronization=ACT_URL) as mocks:
            wizard.action_connect()
        self.assertEqual(mocks["new_synchronization"].call_args.kwargs["link_id"], 7)
        self.assertEqual(self.env["bank.bridge.link"].search([("institution_code", "=", "fakebank_simple_xf")]), link)

    def test_abandoned_connections_are_deleted_after_a_week(self):
        old = self.create_link(bridge_id=8, with_account=False)
        old.write({"state": "disconnected", "has_bank_connection": False})
        recent = self.create_link(bridge_id=9, with_account=False)
        recent.write({"state": "disconnected", "has_bank_connection": False})
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE bank_bridge_link SET create_date = %s WHERE id = %s",
            (fields.Datetime.subtract(fields.Datetime.now(), days=8), old.id),
        )
        old.invalidate_recordset(["create_date"])
        with self.bridge(unlink_link=True) as mocks:
            self.env["bank.bridge.link"]._cron_delete_abandoned()
        self.assertFalse(old.exists())
        self.assertTrue(recent.exists())
        self.assertEqual(mocks["unlink_link"].call_args.args[1:], (8,))

    def test_not_configured_message_names_invoicing(self):
        self.env["ir.config_parameter"].sudo().set_param("account_online_bridge.url", False)
        with self.assertRaises(UserError) as err:
            self.env["bank.bridge.mixin"]._bank_bridge_client()
        self.assertIn("Go to Invoicing > Configuration > Settings", err.exception.args[0])


    # -- 11. the module's description page ---------------------------------------
    def test_the_module_description_renders_without_docutils_messages(self):
        module = self.env["ir.module.module"].search([("name", "=", "account_online_bridge")])
        module.invalidate_recordset(["description_html"])
        with self.assertNoLogs("odoo.addons.base.models.ir_module", "WARNING"):
            html = module.description_html
        self.assertIn("Configuration", html)
        self.assertIn("<li>", html)
