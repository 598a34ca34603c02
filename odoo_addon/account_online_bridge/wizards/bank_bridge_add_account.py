# Copyright 2025 bankbridge contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError

from .. import bridge_client

SEARCH_LIMIT = 80


class BankBridgeAddAccount(models.TransientModel):
    _name = "bank.bridge.add.account"
    _inherit = ["bank.bridge.mixin"]
    _description = "Add a Bank Account through the bank bridge"

    country_code = fields.Char(
        size=2,
        default=lambda self: self.env.company.country_id.code,
        help="Two-letter country code of the institutions to list "
        "(XF lists the bridge's fake sandbox banks).",
    )
    search_name = fields.Char(string="Institution name")
    line_ids = fields.One2many(
        comodel_name="bank.bridge.add.account.line",
        inverse_name="wizard_id",
        string="Institutions",
        readonly=True,
    )
    institution_line_id = fields.Many2one(
        comodel_name="bank.bridge.add.account.line",
        string="Institution",
        domain="[('wizard_id', '=', id)]",
    )
    email = fields.Char(
        default=lambda self: self.env.user.email,
        help="Contact email given to the aggregator for this connection.",
    )
    phone = fields.Char(default=lambda self: self.env.user.partner_id.phone)
    result_count = fields.Integer(readonly=True)
    error_message = fields.Text(readonly=True)

    @api.model
    def action_open(self):
        """Menu entry point: open the wizard with the institutions of the
        company's country already listed."""
        wizard = self.create({})
        wizard._search_institutions(raise_errors=False)
        return wizard._reopen()

    def _reopen(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Add a Bank Account"),
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
        }

    def _search_institutions(self, raise_errors=True):
        self.ensure_one()
        try:
            client = self._bank_bridge_client()
            found = client.search_institutions(
                country_code=self.country_code, name=self.search_name, limit=SEARCH_LIMIT
            )
        except (bridge_client.BridgeError, UserError) as err:
            if raise_errors:
                if isinstance(err, UserError):
                    raise
                raise UserError(str(err)) from None
            self.write({"error_message": str(err), "line_ids": [Command.clear()], "institution_line_id": False})
            return
        commands = [Command.clear()]
        for data in found:
            commands.append(
                Command.create(
                    {
                        "code": data.get("code"),
                        "name": data.get("name") or data.get("code"),
                        "country_code": data.get("country_code") or False,
                        "status": data.get("status") or False,
                        "mode": data.get("mode") or False,
                        "max_consent_days": data.get("max_consent_days") or 0,
                        "logo_url": data.get("logo_url") or False,
                    }
                )
            )
        self.write(
            {
                "line_ids": commands,
                "institution_line_id": False,
                "result_count": len(found),
                "error_message": False,
            }
        )
        if len(self.line_ids) == 1:
            self.institution_line_id = self.line_ids

    def action_search(self):
        self._search_institutions()
        return self._reopen()

    def action_connect(self):
        """Start the connection on the bridge and open the bank's consent
        page (one bridge call: action_new_synchronization)."""
        self.ensure_one()
        if not self.institution_line_id:
            raise UserError(_("Select the institution you want to synchronize."))
        if not self.email:
            raise UserError(_("An email address is required to create the connection."))
        institution = self.institution_line_id
        result = self._bank_bridge_call(
            "new_synchronization", institution.code, self.email.strip(), (self.phone or "").strip() or None
        )
        bridge_link_id = result.get("res_id")
        if bridge_link_id:
            link_model = self.env["bank.bridge.link"]
            link = link_model.search([("bridge_id", "=", bridge_link_id)], limit=1)
            vals = {
                "name": institution.name,
                "institution_code": institution.code,
                "institution_name": institution.name,
                "renewal_contact_email": self.email.strip(),
            }
            if link:
                link.write(vals)
            else:
                vals.update(
                    {
                        "bridge_id": bridge_link_id,
                        "company_id": self.env.company.id,
                        "state": "disconnected",
                    }
                )
                link_model.create(vals)
        return {
            "type": "ir.actions.act_url",
            "url": result["url"],
            "target": "self",
        }


class BankBridgeAddAccountLine(models.TransientModel):
    _name = "bank.bridge.add.account.line"
    _description = "Institution offered by the bank bridge"
    _order = "name, id"

    wizard_id = fields.Many2one(
        comodel_name="bank.bridge.add.account",
        required=True,
        ondelete="cascade",
    )
    code = fields.Char(required=True)
    name = fields.Char(required=True)
    country_code = fields.Char()
    status = fields.Char()
    mode = fields.Char()
    max_consent_days = fields.Integer()
    logo_url = fields.Char()

    def action_select(self):
        self.ensure_one()
        self.wizard_id.institution_line_id = self
        return self.wizard_id._reopen()
