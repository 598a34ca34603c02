# Copyright 2025 bankbridge contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.exceptions import UserError
from odoo.tests import tagged

from ..bridge_client import BridgeAuthError, BridgeUnavailable, BridgeUserError
from ..models.bank_bridge_mixin import PARAM_API_KEY
from .common import ACT_URL, BankBridgeCase


@tagged("post_install", "-at_install")
class TestBankBridgeSettings(BankBridgeCase):
    def _settings(self):
        return self.env["res.config.settings"].create(
            {
                "bank_bridge_url": "http://127.0.0.1:8070",
                "bank_bridge_database": "bankbridge",
                "bank_bridge_login": "odoo",
                "bank_bridge_api_key": "form-key",
            }
        )

    def test_settings_are_stored_as_parameters(self):
        settings = self._settings()
        settings.execute()
        self.assertEqual(self.env["ir.config_parameter"].sudo().get_param(PARAM_API_KEY), "form-key")

    def test_test_connection_success(self):
        info = {"server_version": "17.0+bankbridge-0.1.0", "uid": 2, "url": "http://127.0.0.1:8070", "db": "bankbridge"}
        with self.bridge(test_connection=info) as mocks:
            action = self._settings().action_bank_bridge_test_connection()
        self.assertEqual(mocks["test_connection"].call_count, 1)
        self.assertEqual(action["tag"], "display_notification")
        self.assertEqual(action["params"]["type"], "success")
        self.assertNotIn("17.0+bankbridge-0.1.0", action["params"]["message"])
        self.assertIn("logs in as odoo", action["params"]["message"])

    def test_test_connection_uses_unsaved_form_values(self):
        settings = self._settings()
        settings.bank_bridge_login = "other"
        info = {"server_version": "x", "uid": 2, "url": "http://127.0.0.1:8070", "db": "bankbridge"}
        with self.bridge(test_connection=info) as mocks:
            settings.action_bank_bridge_test_connection()
        client = mocks["test_connection"].call_args.args[0]
        self.assertEqual(client.login, "other")
        self.assertEqual(client.url, "http://127.0.0.1:8070")

    def test_test_connection_bridge_down(self):
        down = BridgeUnavailable("The bank bridge at http://127.0.0.1:8070 refused the connection")
        with self.bridge(test_connection=down), self.assertRaises(UserError) as err:
            self._settings().action_bank_bridge_test_connection()
        self.assertIn("http://127.0.0.1:8070 refused the connection", err.exception.args[0])

    def test_test_connection_wrong_key(self):
        with self.bridge(test_connection=BridgeAuthError("refused login 'odoo'")), self.assertRaises(UserError) as err:
            self._settings().action_bank_bridge_test_connection()
        self.assertIn("refused login", err.exception.args[0])
        self.assertNotIn("form-key", err.exception.args[0])

    def test_not_configured(self):
        self.env["ir.config_parameter"].sudo().set_param(PARAM_API_KEY, False)
        with self.assertRaises(UserError):
            self.env["bank.bridge.mixin"]._bank_bridge_client()


@tagged("post_install", "-at_install")
class TestBankBridgeAddAccount(BankBridgeCase):
    INSTITUTIONS = [
        {"id": 1, "code": "fakebank_simple_xf", "name": "Fake Bank Simple", "country_code": "XF",
         "status": "active", "mode": "web", "max_consent_days": 90, "logo_url": False},
        {"id": 2, "code": "fakebank_interactive_xf", "name": "Fake Bank Interactive", "country_code": "XF",
         "status": "active", "mode": "web", "max_consent_days": 90, "logo_url": False},
    ]

    def test_open_lists_institutions_of_company_country(self):
        self.env.company.country_id = self.env.ref("base.be")
        with self.bridge(search_institutions=self.INSTITUTIONS) as mocks:
            action = self.env["bank.bridge.add.account"].action_open()
        wizard = self.env["bank.bridge.add.account"].browse(action["res_id"])
        self.assertEqual(action["target"], "new")
        self.assertEqual(mocks["search_institutions"].call_args.kwargs["country_code"], "BE")
        self.assertEqual(len(wizard.line_ids), 2)
        self.assertFalse(wizard.institution_line_id)

    def test_search_by_name_selects_single_result(self):
        wizard = self.env["bank.bridge.add.account"].create({"country_code": "XF", "search_name": "simple"})
        with self.bridge(search_institutions=self.INSTITUTIONS[:1]) as mocks:
            wizard.action_search()
        self.assertEqual(mocks["search_institutions"].call_args.kwargs["name"], "simple")
        self.assertEqual(wizard.institution_line_id.code, "fakebank_simple_xf")

    def test_open_with_bridge_down_shows_the_error(self):
        down = BridgeUnavailable("The bank bridge at http://127.0.0.1:8070 refused the connection")
        with self.bridge(search_institutions=down):
            action = self.env["bank.bridge.add.account"].action_open()
        wizard = self.env["bank.bridge.add.account"].browse(action["res_id"])
        self.assertIn("refused the connection", wizard.error_message)

    def test_select_and_connect(self):
        wizard = self.env["bank.bridge.add.account"].create({"country_code": "XF"})
        with self.bridge(search_institutions=self.INSTITUTIONS):
            wizard.action_search()
        line = wizard.line_ids.filtered(lambda line: line.code == "fakebank_simple_xf")
        line.action_select()
        self.assertEqual(wizard.institution_line_id, line)
        wizard.write({"email": "accountant@example.com", "phone": "+32 470 00 00 00"})
        with self.bridge(new_synchronization=ACT_URL) as mocks:
            action = wizard.action_connect()
        mocks["new_synchronization"].assert_called_once()
        args = mocks["new_synchronization"].call_args.args
        self.assertEqual(args[1:], ("fakebank_simple_xf", "accountant@example.com", "+32 470 00 00 00"))
        self.assertEqual(action, {"type": "ir.actions.act_url", "url": ACT_URL["url"], "target": "self"})
        self.assertTrue(line.selected)
        link = self.env["bank.bridge.link"].search([("bridge_id", "=", 7)])
        self.assertEqual(link.institution_code, "fakebank_simple_xf")
        self.assertEqual(link.state, "disconnected")

    def test_connect_passes_bridge_message_intact(self):
        wizard = self.env["bank.bridge.add.account"].create({"country_code": "XF", "email": "a@example.com"})
        with self.bridge(search_institutions=self.INSTITUTIONS[:1]):
            wizard.action_search()
        message = "The bank refused the connection."
        with self.bridge(new_synchronization=BridgeUserError(message)), self.assertRaises(UserError) as err:
            wizard.action_connect()
        self.assertEqual(err.exception.args[0], message)

    def test_connect_needs_an_institution(self):
        wizard = self.env["bank.bridge.add.account"].create({"country_code": "XF", "email": "a@example.com"})
        with self.bridge(), self.assertRaises(UserError):
            wizard.action_connect()

    def test_the_provider_column_shows_when_the_bridge_names_providers(self):
        wizard = self.env["bank.bridge.add.account"].create({"country_code": "XF"})
        with self.bridge(search_institutions=self.INSTITUTIONS):
            wizard.action_search()
        self.assertFalse(wizard.show_provider)
        with_provider = [dict(self.INSTITUTIONS[0], provider="enablebanking")]
        names = {"enablebanking": "Enable Banking", "saltedge": "Salt Edge"}
        with self.bridge(search_institutions=with_provider, provider_name=lambda code: names.get(code, False)):
            wizard.action_search()
        self.assertTrue(wizard.show_provider)
        # The aggregator's name as the bridge words it, not its code.
        self.assertEqual(wizard.line_ids.provider, "Enable Banking")
