# Copyright 2025 bankbridge contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from .. import bridge_client
from .bank_bridge_mixin import FEED_JOURNAL_TYPES, GOING_STATES, check_read_access, sql_constraints, to_date

_logger = logging.getLogger(__name__)

# Fields whose changes made in Odoo are written to the bridge too.
PUSHED_FIELDS = ("journal_id", "inverse_transaction_sign")
# The journals a bank account may feed: bank journals of its company, in its
# currency, not fed by another account (evaluated by the web client).
JOURNAL_DOMAIN = (
    "[('type', 'in', %s), ('company_id', '=', company_id), "
    "'|', ('bank_bridge_account_ids', '=', False), ('id', '=', journal_id), "
    "'|', ('currency_id.name', '=', currency_code), "
    "'&', ('currency_id', '=', False), ('company_id.currency_id.name', '=', currency_code)]"
)


class BankBridgeAccount(models.Model):
    _name = "bank.bridge.account"
    _inherit = ["bank.bridge.mixin"]
    _description = "Online Bank Account (bankbridge)"
    _order = "link_id, bridge_id, id"
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
    balance = fields.Float(string="Bank balance", readonly=True, help="The balance the bank reports.")
    currency_code = fields.Char(string="Currency", readonly=True)
    currency_id = fields.Many2one(
        comodel_name="res.currency",
        compute="_compute_currency_id",
        string="Odoo currency",
        help="The Odoo currency of the account's currency code (may be inactive).",
    )
    online_identifier = fields.Char(readonly=True)
    journal_id = fields.Many2one(
        comodel_name="account.journal",
        domain=JOURNAL_DOMAIN % FEED_JOURNAL_TYPES,
        check_company=True,
        ondelete="set null",
        help="The Odoo journal whose statement lines this account feeds (in the account's currency).",
    )
    journal_balance = fields.Monetary(
        string="Balance in Odoo",
        compute="_compute_journal_balance",
        currency_field="currency_id",
        help="The journal's balance, as its card on the dashboard shows it.",
    )
    balance_matches = fields.Boolean(compute="_compute_journal_balance")
    last_sync = fields.Date(string="Last synchronization", readonly=True)
    inverse_transaction_sign = fields.Boolean(
        help="Import amounts with the opposite sign (some banks report "
        "credit card debits as positive amounts).",
    )
    import_ids = fields.One2many(
        comodel_name="bank.bridge.import",
        inverse_name="account_id",
        string="Imports",
        readonly=True,
    )
    last_import_id = fields.Many2one(
        comodel_name="bank.bridge.import",
        string="Last import",
        compute="_compute_last_import_id",
    )
    statement_line_ids = fields.One2many(
        comodel_name="account.bank.statement.line",
        inverse_name="bank_bridge_account_id",
        string="Imported statement lines",
        readonly=True,
    )
    statement_line_count = fields.Integer(string="Lines imported", compute="_compute_statement_line_count")

    sql_constraints(
        locals(),
        [
            ("bridge_id_unique", "unique(bridge_id)", "This bridge bank account is already registered in Odoo."),
            ("journal_id_unique", "unique(journal_id)", "A journal can be fed by one online bank account only."),
        ],
    )

    @api.depends("currency_code")
    def _compute_currency_id(self):
        codes = set(self.mapped("currency_code")) - {False}
        found = self.env["res.currency"].with_context(active_test=False).search([("name", "in", list(codes))])
        currencies = {currency.name: currency for currency in found}
        for account in self:
            account.currency_id = currencies.get(account.currency_code, False)

    @api.depends("journal_id", "balance", "import_ids.state")
    def _compute_journal_balance(self):
        for account in self:
            journal = account.journal_id
            account.journal_balance = journal.current_statement_balance if journal else 0.0
            currency = account.currency_id or self.env.company.currency_id
            account.balance_matches = bool(journal) and currency.compare_amounts(
                account.journal_balance, account.balance
            ) == 0

    @api.depends("import_ids")
    def _compute_last_import_id(self):
        for account in self:
            account.last_import_id = account.import_ids.sorted("id")[-1:]

    @api.depends("statement_line_ids")
    def _compute_statement_line_count(self):
        counts = dict(
            self.env["account.bank.statement.line"]._read_group(
                [("bank_bridge_account_id", "in", self.ids)], ["bank_bridge_account_id"], ["__count"]
            )
        ) if self.ids else {}
        for account in self:
            account.statement_line_count = counts.get(account._origin, 0)

    @api.model
    def _bank_bridge_journal_currency(self, journal):
        return journal.currency_id or journal.company_id.currency_id

    @api.constrains("journal_id", "currency_code")
    def _check_journal_currency(self):
        for account in self.filtered(lambda acc: acc.journal_id and acc.currency_code):
            journal_currency = self._bank_bridge_journal_currency(account.journal_id)
            if journal_currency.name != account.currency_code:
                raise ValidationError(
                    _(
                        "The bank account %(account)s is in %(currency)s but the journal %(journal)s "
                        "is in %(journal_currency)s: its transactions would be booked in the wrong "
                        "currency. Pick a journal in %(currency)s, or click \"Create a journal\" on the "
                        "bank account to get one in its own currency.",
                        account=account.name,
                        currency=account.currency_code,
                        journal=account.journal_id.name,
                        journal_currency=journal_currency.name,
                    )
                )

    def _bank_bridge_activate_currency(self):
        self.ensure_one()
        if not self.currency_id:
            raise UserError(
                _("Odoo has no currency %(code)s: the bank account %(account)s cannot be booked.",
                  code=self.currency_code or "?", account=self.name)
            )
        if not self.currency_id.active:
            self.currency_id.sudo().active = True

    def _bank_bridge_new_journal_type(self):
        """A credit card account gets a credit card journal where Odoo has them (18.0 on)."""
        self.ensure_one()
        is_card = "card" in (self.name or "").lower() and "debit" not in (self.name or "").lower()
        return "credit" if is_card and "credit" in FEED_JOURNAL_TYPES else "bank"

    def action_create_journal(self):
        """A new bank journal in the account's own currency, fed by it."""
        self.ensure_one()
        self.env["bank.bridge.link"]._bank_bridge_check_group("account.group_account_manager")
        if self.journal_id:
            raise UserError(
                _("%(account)s already feeds %(journal)s.", account=self.name, journal=self.journal_id.name)
            )
        self._bank_bridge_activate_currency()
        currency = self.currency_id
        company = self.company_id
        institution = self.link_id.institution_name or self.link_id.name
        journal_model = self.env["account.journal"].with_company(company)
        journal_type = self._bank_bridge_new_journal_type()
        next_code = getattr(journal_model, "get_next_bank_cash_default_code", None) or getattr(
            journal_model, "_get_next_journal_default_code"
        )  # renamed in 19.0
        values = {
            "name": self.name if institution in self.name else "%s %s" % (institution, self.name),
            "code": next_code(journal_type, company),
            "type": journal_type,
            "company_id": company.id,
        }
        if currency != company.currency_id:
            values["currency_id"] = currency.id
        self.journal_id = journal_model.create(values)
        if self.link_id.state == "connected":
            self._bank_bridge_queue_import()
        return self._bank_bridge_notification(
            _("Journal created"),
            _("%(account)s now feeds the new journal %(journal)s (%(currency)s).",
              account=self.name, journal=self.journal_id.name, currency=currency.name),
            "success",
        )

    # ------------------------------------------------------------------
    # The bridge's accounts, written by explicit actions and the job only
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
                changed = {
                    key: value for key, value in vals.items()
                    if account._fields[key].convert_to_write(account[key], account) != value
                }
                if changed:
                    account.with_context(bank_bridge_no_push=True).write(changed)
            else:
                vals.update({"bridge_id": data["id"], "link_id": link.id})
                journal_id = bridge_client.many2one_id(data.get("journal_id"))
                journal = self.env["account.journal"].browse(journal_id).exists() if journal_id else False
                if journal and not self.search_count([("journal_id", "=", journal.id)]):
                    vals["journal_id"] = journal.id
                no_push.create(vals)
        gone = link.account_ids.filtered(lambda acc: acc.bridge_id not in seen)
        if gone:
            gone.unlink()

    # ------------------------------------------------------------------
    # Journal link: written to the bridge as well
    # ------------------------------------------------------------------
    def write(self, vals):
        res = super().write(vals)
        if not self.env.context.get("bank_bridge_no_push") and any(f in vals for f in PUSHED_FIELDS):
            self._bank_bridge_push_journal()
        return res

    def _bank_bridge_push_journal(self):
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
                raise UserError(self._bank_bridge_humanize(str(err))) from None

    # ------------------------------------------------------------------
    # Import
    # ------------------------------------------------------------------
    def _bank_bridge_queue_import(self):
        """Queue an import of each account's new posted transactions for the
        background job (no bridge call here); returns the queued imports."""
        self.env["bank.bridge.link"]._bank_bridge_check_group("account.group_account_invoice")
        check_read_access(self)
        Import = self.env["bank.bridge.import"].sudo()
        queued = Import
        for account in self.sudo().filtered("journal_id"):
            account._check_journal_currency()
            pending = account.import_ids.filtered(lambda run: run.state in GOING_STATES)
            if pending:
                queued |= pending
                continue
            queued |= Import.create(
                {
                    "account_id": account.id,
                    "journal_id": account.journal_id.id,
                    "start_after_id": account._bank_bridge_imported_until(),
                }
            )
        if queued:
            Import._bank_bridge_trigger_job()
        return queued

    @api.model
    def _bank_bridge_transaction_identifier(self, transaction):
        return str(transaction.get("online_transaction_identifier") or "bridge-%s" % transaction["id"])

    def _prepare_statement_line_vals(self, transactions):
        """Statement line values of the posted transactions among
        ``transactions`` (bridge dicts) not imported yet: one query for the
        identifiers already there, then a set lookup per transaction."""
        self.ensure_one()
        posted = [tx for tx in transactions if tx.get("status", "posted") == "posted"]
        journal_currency = self._bank_bridge_journal_currency(self.journal_id).name
        foreign = [tx for tx in posted if tx.get("currency_code") and tx["currency_code"] != journal_currency]
        if foreign:
            raise UserError(
                _(
                    "%(count)s transaction(s) of %(account)s are in %(currency)s but the journal %(journal)s "
                    "is in %(journal_currency)s: nothing was imported.",
                    count=len(foreign),
                    account=self.name,
                    currency=foreign[0]["currency_code"],
                    journal=self.journal_id.name,
                    journal_currency=journal_currency,
                )
            )
        identifiers = [self._bank_bridge_transaction_identifier(tx) for tx in posted]
        self.env["account.bank.statement.line"].flush_model(
            ["bank_bridge_account_id", "bank_bridge_transaction_identifier"]
        )
        self.env.cr.execute(
            """SELECT bank_bridge_transaction_identifier FROM account_bank_statement_line
                WHERE bank_bridge_account_id = %s AND bank_bridge_transaction_identifier = ANY(%s)""",
            [self.id, identifiers],
        )
        known = {row[0] for row in self.env.cr.fetchall()}
        sign = -1.0 if self.inverse_transaction_sign else 1.0
        today = fields.Date.context_today(self)
        vals_list = []
        for tx, identifier in zip(posted, identifiers):
            if identifier in known:
                continue
            known.add(identifier)
            vals_list.append(
                {
                    "journal_id": self.journal_id.id,
                    "date": to_date(tx.get("date")) or today,
                    "amount": sign * float(tx.get("amount") or 0.0),
                    "payment_ref": tx.get("payment_ref") or identifier,
                    "partner_name": tx.get("partner_name") or False,
                    "account_number": tx.get("account_number") or False,
                    "bank_bridge_account_id": self.id,
                    "bank_bridge_transaction_identifier": identifier,
                }
            )
        return vals_list

    def _bank_bridge_imported_until(self):
        """The bridge id of the last transaction imported (the next import
        starts after it)."""
        self.ensure_one()
        return max(self.import_ids.mapped("last_bridge_id") or [0])

    def action_open_statement_lines(self):
        self.ensure_one()
        return self._bank_bridge_transactions_window(
            _("Transactions of %s", self.name), [("bank_bridge_account_id", "=", self.id)]
        )

    def action_open_form(self):
        self.ensure_one()
        return self._bank_bridge_window(
            self.name, self._name, [("account_online_bridge.bank_bridge_account_view_form", "form")], res_id=self.id
        )
