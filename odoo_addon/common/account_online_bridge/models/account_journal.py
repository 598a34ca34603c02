# Copyright 2025 bankbridge contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, api, fields, models
from odoo.tools.misc import formatLang

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
        help="The connection feeding this journal, or the one started from its card.",
    )
    bank_bridge_link_state = fields.Selection(
        selection=LINK_STATES,
        compute="_compute_bank_bridge_link_id",
        string="Online connection state",
    )
    bank_bridge_fed = fields.Boolean(compute="_compute_bank_bridge_link_id")
    bank_bridge_link_name = fields.Char(compute="_compute_bank_bridge_link_id")
    bank_bridge_balance_text = fields.Char(
        string="Bank balance (online)",
        compute="_compute_bank_bridge_link_id",
        help="The balance the bank reports for the account feeding this journal.",
    )

    @api.depends("bank_bridge_account_ids.link_id.state", "bank_bridge_account_ids.balance")
    def _compute_bank_bridge_link_id(self):
        started = self.env["bank.bridge.link"].search(
            [("journal_id", "in", self.ids), ("state", "!=", "disconnected")], order="id desc"
        ) if self.ids else self.env["bank.bridge.link"]
        for journal in self:
            account = journal.bank_bridge_account_ids[:1]
            link = account.link_id or started.filtered(lambda link, j=journal: link.journal_id == j)[:1]
            journal.bank_bridge_link_id = link
            journal.bank_bridge_link_name = link.name
            journal.bank_bridge_link_state = link.state
            journal.bank_bridge_fed = bool(account)
            currency = journal.currency_id or journal.company_id.currency_id
            journal.bank_bridge_balance_text = (
                formatLang(self.env, account.balance, currency_obj=currency) if account else False
            )

    def action_configure_bank_journal(self):
        """The bank journal card's Connect button: add the bank account
        online through the bridge, for this journal."""
        self.ensure_one()
        return self.env["bank.bridge.add.account"].with_company(self.company_id).action_open(journal=self)

    def action_bank_bridge_open_connection(self):
        self.ensure_one()
        return self.bank_bridge_link_id.action_open_form()

    def action_bank_bridge_fetch_transactions(self):
        self.ensure_one()
        return self.bank_bridge_link_id.action_fetch_transactions()

    def action_bank_bridge_open_statement_lines(self):
        self.ensure_one()
        return self.env["bank.bridge.mixin"]._bank_bridge_transactions_window(
            _("Transactions: %s", self.name),
            [("journal_id", "=", self.id)],
            {"search_default_bank_bridge_imported": 1},
        )
