# Copyright 2025 bankbridge contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, fields, models
from odoo.exceptions import UserError

from .. import bridge_client
from .bank_bridge_mixin import (
    PARAM_API_KEY,
    PARAM_DATABASE,
    PARAM_LOGIN,
    PARAM_TIMEOUT,
    PARAM_URL,
    USER_GROUPS,
)


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    bank_bridge_url = fields.Char(
        string="Bank Bridge URL",
        config_parameter=PARAM_URL,
        help="Base URL of the bankbridge server, e.g. http://127.0.0.1:8070",
    )
    bank_bridge_database = fields.Char(
        config_parameter=PARAM_DATABASE,
        default=bridge_client.DEFAULT_DATABASE,
    )
    bank_bridge_login = fields.Char(
        config_parameter=PARAM_LOGIN,
    )
    bank_bridge_api_key = fields.Char(
        string="Bank Bridge API Key",
        config_parameter=PARAM_API_KEY,
        help="Printed by 'bankbridge user add LOGIN'.",
    )
    bank_bridge_timeout = fields.Integer(
        string="Bank Bridge Timeout (s)",
        config_parameter=PARAM_TIMEOUT,
        default=30,
    )

    def _bank_bridge_form_settings(self):
        return {
            "url": self.bank_bridge_url,
            "db": self.bank_bridge_database,
            "login": self.bank_bridge_login,
            "api_key": self.bank_bridge_api_key,
            "timeout": self.bank_bridge_timeout,
        }

    def _bank_bridge_test(self, settings):
        """(ok, message) of a connection test with ``settings``."""
        mixin = self.env["bank.bridge.mixin"]
        try:
            client = mixin._bank_bridge_client(settings)
            info = client.test_connection()
        except UserError as err:
            return False, str(err.args[0])
        except bridge_client.BridgeError as err:
            return False, str(err)
        return True, _(
            "Odoo reaches the bank bridge at %(url)s (database %(db)s) and logs in as %(login)s.",
            url=info["url"],
            db=info["db"],
            login=client.login,
        )

    def action_bank_bridge_test_connection(self):
        """Check the values shown on the form (saved or not) against the
        bridge: common.version, then common.authenticate."""
        self.ensure_one()
        settings = self._bank_bridge_form_settings()
        ok, message = self._bank_bridge_test(settings)
        if not ok:
            raise UserError(_("Connection test failed (values on this form): %s", message))
        saved = self.env["bank.bridge.mixin"]._bank_bridge_settings()
        if any(str(saved[key] or "") != str(settings[key] or "") for key in ("url", "db", "login", "api_key")):
            message += " " + _("These values are not saved yet: click Save to use them.")
        return self.env["bank.bridge.mixin"]._bank_bridge_notification(
            _("Connection successful"), message, "success", then=None
        )

    def execute(self):
        """Saving new bridge settings tests them and says how it went."""
        mixin = self.env["bank.bridge.mixin"]
        before = mixin._bank_bridge_settings()
        modules = self.env["ir.module.module"].sudo()
        installed = modules.search_count([("state", "=", "installed")])
        groups = self.env.user[USER_GROUPS]
        result = super().execute()
        after = mixin._bank_bridge_settings()
        keys = ("url", "db", "login", "api_key", "timeout")
        if all(str(before[key] or "") == str(after[key] or "") for key in keys) or not after["url"]:
            return result
        ok, message = self._bank_bridge_test(after)
        notification = mixin._bank_bridge_notification(
            _("Bank bridge settings saved and tested") if ok else _("Bank bridge settings saved: test failed"),
            message,
            "success" if ok else "danger",
            sticky=not ok,
            # The settings are shown again as saved.
            then={"type": "ir.actions.client", "tag": "soft_reload"},
        )
        # Odoo reloads the whole page after Save (which would hide the
        # notification) for new groups or modules only: keep that reload then.
        if self.env.user[USER_GROUPS] != groups or modules.search_count([("state", "=", "installed")]) != installed:
            return result
        return notification
