# Copyright 2025 bankbridge contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from .. import bridge_client
from .bank_bridge_mixin import to_date

_logger = logging.getLogger(__name__)

# Fields whose changes made in Odoo are written to the bridge too.
PUSHED_FIELDS = ("journal_id", "inverse_transaction_sign")


class BankBridgeAccount(models.Model):
    _name = "bank.bridge.account"
    _inherit = ["bank.bridge.mixin"]
    _description = "Online Bank Account (bankbridge)"
    _order = "link_id, name, id"
    _check_company_auto = True

    name = fields.Char(string="Account Name", required=True, readonly=True)
    bridge_id = fields.Integer(
        string="Bridge ID",
        required=True,
        readonly=True,
        index=True,
        copy=False,
        help="Id of the account.online.account record on the bank bridge.",
    )
    link_id = fields.Many2one(
        comodel_name="bank.bridge.link",
        string="Connection",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one(
        comodel_name="res.company",
        related="link_id.company_id",
        store=True,
        readonly=True,
    )
    account_number = fields.Char(readonly=True)
    balance = fields.Float(readonly=True)
    currency_code = fields.Char(string="Currency", readonly=True)
    online_identifier = fields.Char(readonly=True)
    journal_id = fields.Many2one(
        comodel_name="account.journal",
        domain="[('type', '=', 'bank'), ('company_id', '=', company_id)]",
        check_company=True,
        ondelete="set null",
        help="The Odoo bank journal whose statement lines this account feeds.",
    )
    last_sync = fields.Date(string="Last synchronization", readonly=True)
    fetching_status = fields.Char(readonly=True)
    inverse_transaction_sign = fields.Boolean(
        help="Import amounts with the opposite sign (some banks report "
        "credit card debits as positive amounts).",
    )
    last_imported_bridge_id = fields.Integer(
        string="Last imported transaction (bridge id)",
        readonly=True,
        copy=False,
        help="Transactions are imported from the one after this bridge id.",
    )
    last_imported_identifier = fields.Char(
        string="Last imported transaction",
        readonly=True,
        copy=False,
    )
    last_import_date = fields.Datetime(readonly=True, copy=False)
    last_import_error = fields.Text(readonly=True, copy=False)
    statement_line_ids = fields.One2many(
        comodel_name="account.bank.statement.line",
        inverse_name="bank_bridge_account_id",
        string="Imported statement lines",
        readonly=True,
    )
    statement_line_count = fields.Integer(compute="_compute_statement_line_count")

    _sql_constraints = [
        (
            "bridge_id_unique",
            "unique(bridge_id)",
            "This bridge bank account is already registered in Odoo.",
        ),
        (
            "journal_id_unique",
            "unique(journal_id)",
            "A journal can be fed by one online bank account only.",
        ),
    ]

    @api.depends("statement_line_ids")
    def _compute_statement_line_count(self):
        for account in self:
            account.statement_line_count = len(account.statement_line_ids)

    # ------------------------------------------------------------------
    # Cache refresh
    # ------------------------------------------------------------------
    @api.model
    def _bank_bridge_account_vals(self, data):
        return {
            "name": data.get("name") or data.get("account_number") or _("Bank account"),
            "account_number": data.get("account_number") or False,
            "balance": data.get("balance") or 0.0,
            "currency_code": data.get("currency_code") or False,
            "online_identifier": data.get("online_identifier") or False,
            "last_sync": to_date(data.get("last_sync")),
            "fetching_status": data.get("fetching_status") or False,
            "inverse_transaction_sign": bool(data.get("inverse_transaction_sign")),
        }

    @api.model
    def _bank_bridge_sync_accounts(self, link, accounts):
        """Create/update the accounts of ``link`` from the bridge's list and
        delete the ones the bridge no longer has."""
        existing = {acc.bridge_id: acc for acc in link.account_ids}
        seen = set()
        no_push = self.with_context(bank_bridge_no_push=True)
        for data in accounts:
            vals = self._bank_bridge_account_vals(data)
            seen.add(data["id"])
            account = existing.get(data["id"])
            if account:
                account.with_context(bank_bridge_no_push=True).write(vals)
            else:
                vals.update({"bridge_id": data["id"], "link_id": link.id})
                journal_id = bridge_client.many2one_id(data.get("journal_id"))
                if journal_id and self.env["account.journal"].browse(journal_id).exists():
                    vals["journal_id"] = journal_id
                no_push.create(vals)
        gone = link.account_ids.filtered(lambda acc: acc.bridge_id not in seen)
        if gone:
            gone.unlink()

    # ------------------------------------------------------------------
    # Journal link: written to the bridge as well
    # ------------------------------------------------------------------
    def write(self, vals):
        res = super().write(vals)
        if self.env.context.get("bank_bridge_no_push") or not any(f in vals for f in PUSHED_FIELDS):
            return res
        client = self._bank_bridge_client()
        for account in self:
            try:
                client.write_account(
                    account.bridge_id,
                    {
                        "journal_id": account.journal_id.id or False,
                        "inverse_transaction_sign": account.inverse_transaction_sign,
                    },
                )
            except bridge_client.BridgeError as err:
                raise UserError(str(err)) from None
        return res

    # ------------------------------------------------------------------
    # Transaction import
    # ------------------------------------------------------------------
    def _prepare_statement_line_vals(self, transactions):
        """Statement line values of the posted, not yet imported
        transactions among ``transactions`` (bridge dicts)."""
        self.ensure_one()
        line_model = self.env["account.bank.statement.line"]
        posted = [tx for tx in transactions if tx.get("status") == "posted"]
        identifiers = [self._bank_bridge_transaction_identifier(tx) for tx in posted]
        already = set(
            line_model.search(
                [
                    ("bank_bridge_account_id", "=", self.id),
                    ("bank_bridge_transaction_identifier", "in", identifiers),
                ]
            ).mapped("bank_bridge_transaction_identifier")
        )
        has_unique_import_id = "unique_import_id" in line_model._fields
        sign = -1.0 if self.inverse_transaction_sign else 1.0
        vals_list = []
        for tx, identifier in zip(posted, identifiers):
            if identifier in already:
                continue
            already.add(identifier)
            vals = {
                "journal_id": self.journal_id.id,
                "date": to_date(tx.get("date")) or fields.Date.context_today(self),
                "amount": sign * float(tx.get("amount") or 0.0),
                "payment_ref": tx.get("payment_ref") or identifier,
                "partner_name": tx.get("partner_name") or False,
                "account_number": tx.get("account_number") or False,
                "bank_bridge_account_id": self.id,
                "bank_bridge_transaction_identifier": identifier,
            }
            if has_unique_import_id:
                vals["unique_import_id"] = "bankbridge-%s-%s" % (self.bridge_id, identifier)
            vals_list.append(vals)
        return vals_list

    @api.model
    def _bank_bridge_transaction_identifier(self, transaction):
        return str(transaction.get("online_transaction_identifier") or "bridge-%s" % transaction["id"])

    def _import_bridge_transactions(self, client=None, batch_size=500):
        """Import the posted transactions of each account, from the last
        imported one; returns the number of statement lines created."""
        client = client or self._bank_bridge_client()
        line_model = self.env["account.bank.statement.line"]
        total = 0
        for account in self.filtered("journal_id"):
            cursor = account.last_imported_bridge_id or 0
            while True:
                try:
                    transactions = client.fetch_posted_transactions(
                        account.bridge_id, after_id=cursor, limit=batch_size
                    )
                except bridge_client.BridgeError as err:
                    raise UserError(str(err)) from None
                if not transactions:
                    break
                vals_list = account._prepare_statement_line_vals(transactions)
                if vals_list:
                    line_model.create(vals_list)
                    total += len(vals_list)
                last = max(transactions, key=lambda tx: tx["id"])
                cursor = last["id"]
                account.with_context(bank_bridge_no_push=True).write(
                    {
                        "last_imported_bridge_id": cursor,
                        "last_imported_identifier": self._bank_bridge_transaction_identifier(last),
                    }
                )
                if len(transactions) < batch_size:
                    break
            account.with_context(bank_bridge_no_push=True).write(
                {"last_import_date": fields.Datetime.now(), "last_import_error": False}
            )
        return total

    def action_import_transactions(self):
        if not self.filtered("journal_id"):
            raise UserError(_("Link the bank account to an Odoo bank journal first."))
        count = self._import_bridge_transactions()
        return self._bank_bridge_notification(
            _("Import Transactions"),
            _("%(count)s new bank statement line(s) imported.", count=count),
            "success" if count else "info",
        )

    def action_open_statement_lines(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Imported statement lines"),
            "res_model": "account.bank.statement.line",
            "view_mode": "tree,form",
            "domain": [("bank_bridge_account_id", "=", self.id)],
            "context": {"default_journal_id": self.journal_id.id},
        }

    @api.model
    def _cron_import_transactions(self, client=None):
        accounts = self.search([("journal_id", "!=", False), ("link_id.state", "!=", "disconnected")])
        if not accounts:
            return
        client = client or self._bank_bridge_client()
        for account in accounts:
            try:
                with self.env.cr.savepoint():
                    account._import_bridge_transactions(client)
            except UserError as err:
                _logger.warning("bank bridge: importing account %s failed: %s", account.bridge_id, err)
                account.with_context(bank_bridge_no_push=True).write({"last_import_error": str(err)})
