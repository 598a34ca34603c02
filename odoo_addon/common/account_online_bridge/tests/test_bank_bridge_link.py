# Copyright 2025 bankbridge contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import xmlrpc.client
from unittest.mock import patch

from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..bridge_client import BridgeClient, BridgeUnavailable, BridgeUserError
from .common import ACT_URL, NOTIFICATION, BankBridgeCase, account_data, link_data

BUTTONS = (
    "action_update_credentials",
    "action_fetch_accounts",
    "action_fetch_transactions",
    "action_revoke_consent",
    "action_remove_connection",
)


@tagged("post_install", "-at_install")
class TestBankBridgeLink(BankBridgeCase):
    def test_each_button_makes_one_bridge_call_then_reads_the_connection(self):
        link = self.create_link()
        for method in BUTTONS:
            with self.bridge(link_button=NOTIFICATION, read_link=link_data(), read_accounts=[account_data()]) as mocks:
                action = getattr(link, method)()
            mocks["link_button"].assert_called_once()
            self.assertEqual(mocks["link_button"].call_args.args[1:], (method, 7))
            self.assertEqual(mocks["read_link"].call_count, 1, method)
            self.assertEqual(action["tag"], "display_notification")
            self.assertNotIn("Done on the bridge", action["params"]["message"])
            if method == "action_fetch_transactions":
                # No journal fed yet: the user is told what to do.
                self.assertIn("Pick a journal", action["params"]["message"])
                self.assertEqual(action["params"]["type"], "warning")

    def test_act_url_is_opened_without_extra_calls(self):
        link = self.create_link()
        with self.bridge(link_button=ACT_URL) as mocks:
            action = link.action_update_credentials()
        self.assertEqual(action, {"type": "ir.actions.act_url", "url": ACT_URL["url"], "target": "self"})
        self.assertEqual(list(mocks), ["link_button"])
        self.assertEqual(mocks["link_button"].call_args.kwargs, {"return_to": link._bank_bridge_return_url()})

    def test_fetch_accounts_shows_the_new_accounts(self):
        link = self.create_link(with_account=False)
        accounts = [account_data(101), account_data(102)]
        with self.bridge(link_button=NOTIFICATION, read_link=link_data(accounts=(101, 102)), read_accounts=accounts):
            link.action_fetch_accounts()
        self.assertEqual(sorted(link.account_ids.mapped("bridge_id")), [101, 102])
        self.assertEqual(link.state, "connected")
        self.assertEqual(str(link.expiring_synchronization_date), "2024-08-14")
        self.assertEqual(link.institution_code, "fakebank_simple_xf")
        # a second refresh neither duplicates nor keeps accounts gone on the bridge
        with self.bridge(read_link=link_data(accounts=(102,)), read_accounts=[account_data(102)]):
            link.action_refresh_from_bridge()
        self.assertEqual(link.account_ids.mapped("bridge_id"), [102])

    def test_fault_message_reaches_the_user(self):
        link = self.create_link()
        message = "The consent for this connection has expired.\nClick Update Credentials to renew it."
        with self.bridge(link_button=BridgeUserError(message)), self.assertRaises(UserError) as err:
            link.action_fetch_transactions()
        self.assertEqual(err.exception.args[0], message)

    def test_bridge_down_is_a_clear_error(self):
        link = self.create_link()
        down = BridgeUnavailable(
            "The bank bridge at http://127.0.0.1:8070 refused the connection: is bankbridge running"
        )
        with self.bridge(link_button=down), self.assertRaises(UserError) as err:
            link.action_fetch_accounts()
        self.assertIn("http://127.0.0.1:8070", err.exception.args[0])

    def test_failed_refresh_does_not_hide_the_result(self):
        link = self.create_link()
        down = BridgeUnavailable("down")
        with self.bridge(link_button=NOTIFICATION, read_link=down):
            action = link.action_revoke_consent()
        self.assertEqual(action["tag"], "display_notification")
        self.assertEqual(action["params"]["title"], "Consent revoked")

    def test_link_removed_on_bridge(self):
        link = self.create_link()
        with self.bridge(read_link=None):
            link.action_refresh_from_bridge()
        self.assertEqual(link.state, "disconnected")
        self.assertTrue(link.error_message)

    def test_sync_links_from_bridge(self):
        self.create_link(bridge_id=7, with_account=False)
        remote = [link_data(7), dict(link_data(8, state="error"), name="Other Bank")]
        with self.bridge(search_links=remote, read_accounts=[]):
            action = self.env["bank.bridge.link"].action_sync_links_from_bridge()
        links = self.env["bank.bridge.link"].search([("bridge_id", "in", (7, 8))])
        self.assertEqual(len(links), 2)
        self.assertEqual(links.filtered(lambda link: link.bridge_id == 8).state, "error")
        self.assertEqual(links.filtered(lambda link: link.bridge_id == 8).name, "Other Bank")
        self.assertIn("1 new", action["params"]["message"])

    def test_unlink_is_refused_while_the_connection_exists(self):
        link = self.create_link()
        message = (
            "The consent was revoked, but the connection still exists at Salt Edge: "
            "click Remove Connection first."
        )
        with self.bridge(unlink_link=BridgeUserError(message)), self.assertRaises(UserError) as err:
            link.unlink()
        self.assertEqual(err.exception.args[0], message)
        self.assertTrue(link.exists())
        with self.bridge(unlink_link=True) as mocks:
            link.unlink()
        self.assertEqual(mocks["unlink_link"].call_args.args[1:], (7,))
        self.assertFalse(link.exists())

    def test_unlink_of_a_connection_the_bridge_no_longer_has(self):
        # The bridge answers unlink of a link it has already deleted (another Odoo, its CLI) with Odoo's
        # MissingError, fault 2: deleting it in Odoo goes on, as the record is gone where it matters.
        link = self.create_link()
        calls = []

        class GoneOnTheBridge:
            def execute_kw(self, *params):
                calls.append(params[3:5])
                raise xmlrpc.client.Fault(
                    2, "Record does not exist or has been deleted.\n(Record: account.online.link(7,), User: 2)"
                )

        with patch.object(BridgeClient, "authenticate", autospec=True, return_value=2), patch.object(
            BridgeClient, "_proxy", autospec=True, return_value=GoneOnTheBridge()
        ):
            link.unlink()
        self.assertEqual(calls, [("account.online.link", "unlink")])
        self.assertFalse(link.exists())

    def test_linking_a_journal_is_written_to_the_bridge(self):
        link = self.create_link()
        account = link.account_ids
        with self.bridge(write_account=True) as mocks:
            account.journal_id = self.bank_journal
        mocks["write_account"].assert_called_once()
        self.assertEqual(
            mocks["write_account"].call_args.args[1:],
            (101, {"journal_id": self.bank_journal.id, "inverse_transaction_sign": False}),
        )
        # the bridge refusing keeps Odoo unchanged (the transaction is rolled back)
        with self.bridge(write_account=BridgeUserError("no")), self.assertRaises(UserError):
            account.journal_id = False

    def test_one_account_per_journal(self):
        link = self.create_link()
        other = self.env["bank.bridge.account"].with_context(bank_bridge_no_push=True).create(
            {"name": "Savings", "bridge_id": 102, "link_id": link.id}
        )
        with self.bridge(write_account=True):
            link.account_ids.filtered(lambda acc: acc.bridge_id == 101).journal_id = self.bank_journal
            with self.assertRaises(Exception), self.cr.savepoint(), mute_logger("odoo.sql_db"):
                other.journal_id = self.bank_journal
                other.flush_recordset()
