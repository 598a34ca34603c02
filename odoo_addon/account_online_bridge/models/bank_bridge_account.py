# Copyright 2025 bankbridge contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools.misc import format_date

from .. import bridge_client
from .bank_bridge_mixin import to_date

_logger = logging.getLogger(__name__)

# Statement lines created per batch by the background import: each batch is
# committed, so the connection shows the progress while it runs.
IMPORT_BATCH = 100
# Up to this many new transactions are imported during the click; more go
# to the background job (Odoo creates a journal entry per statement line).
IMPORT_INLINE_MAX = 40

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
    currency_id = fields.Many2one(
        comodel_name="res.currency",
        compute="_compute_currency_id",
        string="Odoo currency",
        help="The Odoo currency of the account's currency code (may be inactive).",
    )
    journal_currency_mismatch = fields.Boolean(compute="_compute_currency_id")
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
    import_queued = fields.Boolean(
        string="Import running", readonly=True, copy=False,
        help="New transactions are being imported in the background.",
    )
    import_total = fields.Integer(string="Lines to import", readonly=True, copy=False)
    import_done = fields.Integer(string="Lines imported so far", readonly=True, copy=False)
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

    @api.depends("currency_code", "journal_id")
    def _compute_currency_id(self):
        currencies = self.env["res.currency"].with_context(active_test=False)
        for account in self:
            account.currency_id = (
                currencies.search([("name", "=", account.currency_code)], limit=1) if account.currency_code else False
            )
            account.journal_currency_mismatch = bool(
                account.currency_code
                and account.journal_id
                and account._bank_bridge_journal_currency(account.journal_id).name != account.currency_code
            )

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

    def action_create_journal(self):
        """A new bank journal in the account's own currency, fed by it."""
        self.ensure_one()
        self.env["bank.bridge.link"]._bank_bridge_check_group("account.group_account_manager")
        if self.journal_id:
            raise UserError(
                _("%(account)s already feeds %(journal)s.", account=self.name, journal=self.journal_id.name)
            )
        currency = self.currency_id
        if not currency:
            raise UserError(
                _("Odoo has no currency %(code)s: the bank account %(account)s cannot be booked.",
                  code=self.currency_code or "?", account=self.name)
            )
        if not currency.active:
            currency.sudo().active = True
        company = self.company_id
        institution = self.link_id.institution_name or self.link_id.name
        journal_model = self.env["account.journal"].with_company(company)
        code = journal_model.get_next_bank_cash_default_code("bank", company)
        values = {
            "name": self.name if institution in self.name else "%s %s" % (institution, self.name),
            "code": code,
            "type": "bank",
            "company_id": company.id,
            "bank_statements_source": "undefined",
        }
        if currency != company.currency_id:
            values["currency_id"] = currency.id
        self.journal_id = journal_model.create(values)
        return self._bank_bridge_notification(
            _("Journal created"),
            _("%(account)s now feeds the new journal %(journal)s (%(currency)s).",
              account=self.name, journal=self.journal_id.name, currency=currency.name),
            "success",
        )

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

    def _import_bridge_transactions(self, client=None, batch_size=500, commit_each_batch=False):
        """Import the posted transactions of each account, from the last
        imported one; returns the number of statement lines created. Each
        batch becomes one bank statement; ``commit_each_batch`` (background
        import) commits it so that its progress shows at once."""
        client = client or self._bank_bridge_client()
        self.env["bank.bridge.link"]._bank_bridge_check_group("account.group_account_invoice")
        self.check_access_rights("read")
        self.check_access_rule("read")
        # Billing users may import but neither write statement lines (Odoo
        # keeps that to accountants) nor edit online accounts: once the group
        # and the user's access to these accounts are checked above, the lines
        # and the import cursor are written as superuser.
        line_model = self.env["account.bank.statement.line"].sudo()
        total = 0
        for account in self.sudo().filtered("journal_id"):
            account._check_journal_currency()
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
                    created = line_model.with_context(tracking_disable=True).create(vals_list)
                    account._bank_bridge_make_statement(created)
                    total += len(vals_list)
                last = max(transactions, key=lambda tx: tx["id"])
                cursor = last["id"]
                account.with_context(bank_bridge_no_push=True).write(
                    {
                        "last_imported_bridge_id": cursor,
                        "last_imported_identifier": self._bank_bridge_transaction_identifier(last),
                        "import_done": account.import_done + len(vals_list),
                    }
                )
                if commit_each_batch:
                    self.env.cr.commit()  # pylint: disable=invalid-commit
                if len(transactions) < batch_size:
                    break
            account.with_context(bank_bridge_no_push=True).write(
                {"last_import_date": fields.Datetime.now(), "last_import_error": False, "import_queued": False}
            )
        return total

    def _bank_bridge_queue_import(self, client=None):
        """Queue the import of the accounts' new posted transactions for the
        background job; returns how many are waiting."""
        client = client or self._bank_bridge_client()
        self.env["bank.bridge.link"]._bank_bridge_check_group("account.group_account_invoice")
        self.check_access_rights("read")
        self.check_access_rule("read")
        waiting = 0
        for account in self.sudo().filtered("journal_id"):
            account._check_journal_currency()
            try:
                count = client.count_transactions(
                    account.bridge_id, status="posted", after_id=account.last_imported_bridge_id
                )
            except bridge_client.BridgeError as err:
                raise UserError(str(err)) from None
            if count:
                account.with_context(bank_bridge_no_push=True).write(
                    {"import_queued": True, "import_total": count, "import_done": 0}
                )
                waiting += count
        if waiting:
            self.env.ref("account_online_bridge.ir_cron_bank_bridge_import_queued").sudo()._trigger()
        return waiting

    @api.model
    def _cron_import_queued(self, commit_each_batch=True, batch_size=IMPORT_BATCH):
        """Background import of the queued accounts, batch by batch."""
        accounts = self.search([("import_queued", "=", True), ("journal_id", "!=", False)])
        if not accounts:
            return
        client = self._bank_bridge_client()
        for account in accounts:
            try:
                account._import_bridge_transactions(
                    client, batch_size=batch_size, commit_each_batch=commit_each_batch
                )
            except UserError as err:
                _logger.warning("bank bridge: background import of account %s failed: %s", account.bridge_id, err)
                account.with_context(bank_bridge_no_push=True).write(
                    {"last_import_error": str(err), "import_queued": False}
                )

    def _bank_bridge_make_statement(self, lines):
        """Group the lines of one import in a bank statement: the bank
        journal's dashboard card lists them under Bank Statements."""
        self.ensure_one()
        dates = lines.mapped("date")
        statement = self.env["account.bank.statement"].sudo().create(
            {
                "name": _(
                    "%(account)s %(first)s to %(last)s",
                    account=self.name,
                    first=format_date(self.env, min(dates)),
                    last=format_date(self.env, max(dates)),
                ),
                "journal_id": self.journal_id.id,
                "line_ids": [Command.set(lines.ids)],
            }
        )
        # The journal card's balance is the last statement's ending balance.
        statement.balance_end_real = statement.balance_end

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
            "views": [(self.env.ref("account_online_bridge.bank_bridge_statement_line_view_tree").id, "tree"),
                      (False, "form")],
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
