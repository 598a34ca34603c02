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

    def action_bank_bridge_test_connection(self):
        """Check the values shown on the form (saved or not) against the
        bridge: common.version, then common.authenticate."""
        self.ensure_one()
        settings = {
            "url": self.bank_bridge_url,
            "db": self.bank_bridge_database,
            "login": self.bank_bridge_login,
            "api_key": self.bank_bridge_api_key,
            "timeout": self.bank_bridge_timeout,
        }
        client = self.env["bank.bridge.mixin"]._bank_bridge_client(settings)
        try:
            info = client.test_connection()
        except bridge_client.BridgeError as err:
            raise UserError(_("Connection test failed: %s", str(err))) from None
        return self.env["bank.bridge.mixin"]._bank_bridge_notification(
            _("Connection successful"),
            _(
                "Connected to bankbridge %(version)s at %(url)s, database "
                "%(db)s, as user id %(uid)s.",
                version=info["server_version"],
                url=info["url"],
                db=info["db"],
                uid=info["uid"],
            ),
            "success",
            reload_view=False,
        )
