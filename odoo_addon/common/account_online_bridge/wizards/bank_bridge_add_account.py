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
    result_count = fields.Integer(string="Banks found", readonly=True)
    show_provider = fields.Boolean(readonly=True)
    error_message = fields.Text(readonly=True)
    hint = fields.Char(readonly=True)
    journal_id = fields.Many2one(
        comodel_name="account.journal",
        readonly=True,
        help="The bank journal whose Connect button opened this wizard.",
    )

    @api.model
    def action_open(self, journal=None):
        """Entry point (menu, onboarding, bank journal card): open the wizard
        with institutions listed: the company's country's, or every country's
        when the bridge has none there."""
        self.env["bank.bridge.link"]._bank_bridge_check_group("account.group_account_manager")
        wizard = self.create({"journal_id": journal.id if journal else False})
        wizard._search_institutions(raise_errors=False)
        if not wizard.error_message and not wizard.result_count and wizard.country_code:
            country = wizard.country_code
            wizard.country_code = False
            wizard._search_institutions(raise_errors=False)
            wizard.hint = _(
                "The bank bridge knows no institution in %(country)s: institutions of every country "
                "are listed. Type a name or a country code (XF: the sandbox's fake banks) and Search.",
                country=country,
            )
        return wizard._reopen()

    def action_manual(self):
        """Odoo's own form to create a bank account by hand."""
        return self.env["res.company"].with_context(bank_bridge_manual=True).setting_init_bank_account_action()

    def _reopen(self):
        self.ensure_one()
        return self._bank_bridge_window(
            _("Add a Bank Account"),
            self._name,
            [("account_online_bridge.bank_bridge_add_account_view_form", "form")],
            res_id=self.id,
            target="new",
        )

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
                        "provider": client.provider_name(data.get("provider")),
                        "max_consent_days": data.get("max_consent_days") or 0,
                        "logo_url": data.get("logo_url") or False,
                    }
                )
            )
        self.write(
            {
                "line_ids": commands,
                "institution_line_id": False,
                "show_provider": any(data.get("provider") for data in found),
                "result_count": len(found),
                "error_message": False,
                "hint": False
                if found
                else _("No institution matches: try another name, or the country code XF for the sandbox's banks."),
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
        self.env["bank.bridge.link"]._bank_bridge_check_group("account.group_account_manager")
        institution = self.institution_line_id
        link_model = self.env["bank.bridge.link"]
        vals = {
            "institution_code": institution.code,
            "institution_name": institution.name,
            "renewal_contact_email": self.email.strip(),
            "journal_id": self.journal_id.id,
        }
        # An earlier attempt at this bank whose consent page was abandoned is
        # resumed rather than left dangling next to a new one.
        link = link_model.search(
            [
                ("company_id", "=", self.env.company.id),
                ("institution_code", "=", institution.code),
                ("state", "=", "disconnected"),
                ("account_ids", "=", False),
                ("bridge_id", "!=", 0),
            ],
            limit=1,
        ).filtered(lambda link: link.banner == "consent_pending")
        if link:
            link.write(vals)
        else:
            vals.update(
                {
                    "name": link_model._bank_bridge_unique_name(institution.name, self.env.company),
                    "bridge_id": 0,
                    "company_id": self.env.company.id,
                    "state": "disconnected",
                }
            )
            link = link_model.create(vals)
        result = self._bank_bridge_call(
            "new_synchronization",
            institution.code,
            self.email.strip(),
            (self.phone or "").strip() or None,
            return_to=link._bank_bridge_return_url(),
            link_id=link.bridge_id or None,
        )
        bridge_link_id = result.get("res_id")
        if not bridge_link_id:
            raise UserError(_("The bank bridge did not say which connection it created."))
        link.bridge_id = bridge_link_id
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
    country_code = fields.Char(string="Country")
    provider = fields.Char(
        string="Through", help="The aggregator the bridge reaches this bank through."
    )
    max_consent_days = fields.Integer()
    logo_url = fields.Char()
    selected = fields.Boolean(compute="_compute_selected")

    @api.depends("wizard_id.institution_line_id")
    def _compute_selected(self):
        for line in self:
            line.selected = line.wizard_id.institution_line_id == line

    def action_select(self):
        self.ensure_one()
        self.wizard_id.institution_line_id = self
        return self.wizard_id._reopen()
