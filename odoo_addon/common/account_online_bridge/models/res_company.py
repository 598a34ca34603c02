# Copyright 2025 bankbridge contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models


class ResCompany(models.Model):
    _inherit = "res.company"

    @api.model
    def setting_init_bank_account_action(self):
        """Odoo's "Add a bank account" (onboarding, Configuration menu):
        online through the bridge; the wizard offers the manual form too."""
        if self.env.context.get("bank_bridge_manual"):
            return super().setting_init_bank_account_action()
        return self.env["bank.bridge.add.account"].action_open()
