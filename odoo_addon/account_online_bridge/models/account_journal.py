# Copyright 2025 bankbridge contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, api, fields, models

from .bank_bridge_mixin import LINK_STATES


class AccountJournal(models.Model):
    _inherit = "account.journal"

    bank_bridge_account_ids = fields.One2many(
        comodel_name="bank.bridge.account",
        inverse_name="journal_id",
        string="Online bank accounts (bankbridge)",
        readonly=True,
    )
    bank_bridge_link_id = fields.Many2one(
        comodel_name="bank.bridge.link",
        compute="_compute_bank_bridge_link_id",
        string="Online connection (bankbridge)",
    )
    bank_bridge_link_state = fields.Selection(
        selection=LINK_STATES,
        compute="_compute_bank_bridge_link_id",
        string="Online connection state",
    )

    @api.depends("bank_bridge_account_ids.link_id.state")
    def _compute_bank_bridge_link_id(self):
        for journal in self:
            link = journal.bank_bridge_account_ids[:1].link_id
            journal.bank_bridge_link_id = link
            journal.bank_bridge_link_state = link.state

    def action_configure_bank_journal(self):
        """The bank journal card's Connect button: add the bank account
        online through the bridge, for this journal."""
        self.ensure_one()
        return self.env["bank.bridge.add.account"].with_company(self.company_id).action_open(journal=self)

    def action_bank_bridge_open_connection(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Online Synchronization"),
            "res_model": "bank.bridge.link",
            "res_id": self.bank_bridge_link_id.id,
            "view_mode": "form",
            "views": [(False, "form")],
        }

    def action_bank_bridge_fetch_transactions(self):
        self.ensure_one()
        return self.bank_bridge_link_id.action_fetch_transactions()

    def action_bank_bridge_open_statement_lines(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Imported statement lines: %s", self.name),
            "res_model": "account.bank.statement.line",
            "view_mode": "tree,form",
            "views": [(self.env.ref("account_online_bridge.bank_bridge_statement_line_view_tree").id, "tree"),
                      (False, "form")],
            "domain": [("journal_id", "=", self.id), ("bank_bridge_account_id", "!=", False)],
            "context": {"default_journal_id": self.id},
        }
