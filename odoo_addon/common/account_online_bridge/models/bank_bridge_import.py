# Copyright 2025 bankbridge contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""One import of an online account's new posted transactions into its
journal, run by the background job (see ``bank_bridge_job``).

The job is the only writer of an import and of the statement lines it
creates; the connection and account rows are written only by explicit
actions and by the job's refresh of a watched connection. Reading a record
never writes anything."""
import logging
from datetime import timedelta

from psycopg2 import OperationalError, errorcodes

from odoo import Command, _, api, fields, models
from odoo.tools import float_is_zero
from odoo.tools.misc import format_date

from ..jobs import run_jobs
from .bank_bridge_mixin import GOING_STATES

_logger = logging.getLogger(__name__)

IMPORT_STATES = [
    ("queued", "Queued"),
    ("running", "Running"),
    ("done", "Done"),
    ("failed", "Failed"),
    ("cancelled", "Cancelled"),
]
ENDED_STATES = ("done", "failed", "cancelled")


class BankBridgeImport(models.Model):
    _name = "bank.bridge.import"
    _inherit = ["bank.bridge.mixin"]
    _description = "Import of online bank transactions (bankbridge)"
    _order = "id desc"
    _check_company_auto = True

    account_id = fields.Many2one(
        comodel_name="bank.bridge.account",
        string="Bank account",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
    )
    link_id = fields.Many2one(
        comodel_name="bank.bridge.link",
        string="Connection",
        related="account_id.link_id",
        store=True,
        index=True,
    )
    company_id = fields.Many2one(comodel_name="res.company", related="account_id.company_id", store=True)
    journal_id = fields.Many2one(
        comodel_name="account.journal", required=True, readonly=True, check_company=True, ondelete="cascade"
    )
    currency_id = fields.Many2one(comodel_name="res.currency", compute="_compute_currency_id")
    state = fields.Selection(selection=IMPORT_STATES, required=True, readonly=True, default="queued", index=True)
    total = fields.Integer(string="Transactions to import", readonly=True)
    done = fields.Integer(string="Transactions imported", readonly=True)
    start_after_id = fields.Integer(readonly=True, help="Bridge id of the last transaction imported before.")
    last_bridge_id = fields.Integer(readonly=True, help="Bridge id of the last transaction imported so far.")
    date_started = fields.Datetime(readonly=True)
    date_done = fields.Datetime(string="Finished", readonly=True)
    error = fields.Text(readonly=True)
    statement_id = fields.Many2one(
        comodel_name="account.bank.statement",
        readonly=True,
        help="The statement of the days this import is the first to bring.",
    )
    stated_until = fields.Date(
        readonly=True,
        help="The last day of the journal's statements when the import started: lines of later days "
        "go in this import's statement, earlier ones in the statement of their day.",
    )
    line_ids = fields.One2many(
        comodel_name="account.bank.statement.line",
        inverse_name="bank_bridge_import_id",
        string="Statement lines",
        readonly=True,
    )
    opening_line_id = fields.Many2one(
        comodel_name="account.bank.statement.line", string="Opening balance line", readonly=True
    )
    bank_balance = fields.Monetary(
        string="Bank balance", readonly=True, help="The balance the bank reported when the import ended."
    )
    journal_balance = fields.Monetary(
        string="Balance in Odoo", readonly=True, help="The journal's balance when the import ended."
    )

    @api.depends("journal_id")
    def _compute_currency_id(self):
        for run in self:
            run.currency_id = run.journal_id.currency_id or run.journal_id.company_id.currency_id

    def _compute_display_name(self):
        for run in self:
            run.display_name = _(
                "%(account)s: %(done)s transaction(s), %(when)s",
                account=run.account_id.name,
                done=run.done,
                when=self._bank_bridge_format_datetime(run.date_done or run.create_date),
            )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            vals.setdefault("last_bridge_id", vals.get("start_after_id") or 0)
        return super().create(vals_list)

    def write(self, vals):
        # However an import ends (done, failed, cancelled by its job or by a
        # button), the lines it brought get their statement.
        ending = self.browse()
        if vals.get("state") in ENDED_STATES:
            ending = self.filtered(lambda run: run.state in GOING_STATES)
        result = super().write(vals)
        for run in ending:
            run._bank_bridge_make_statement()
        return result

    @api.model
    def _bank_bridge_run_forever(self, cron_ids):
        crons = self.env["ir.cron"].browse(cron_ids)
        if "numbercall" in crons._fields:
            crons.write({"numbercall": -1})

    @api.model
    def _bank_bridge_trigger_job(self):
        """Run the background job as soon as a scheduler thread is free."""
        self.env.ref("account_online_bridge.ir_cron_bank_bridge_job").sudo()._trigger()

    # ------------------------------------------------------------------
    # The job's steps: each runs in its own short transaction
    # ------------------------------------------------------------------
    @api.model
    def _bank_bridge_ready_ids(self):
        """Imports the job may run now: not waiting for a synchronization
        still running at the bank (one statement per fetch)."""
        runs = self.search([("state", "in", GOING_STATES)], order="id")
        now = fields.Datetime.now()
        return [
            run.id for run in runs
            if run.link_id.state != "fetching" or not run.link_id.watch_until or run.link_id.watch_until < now
        ]

    def _bank_bridge_lock(self):
        """Lock this import for the current transaction; False when another
        worker holds it (it is running it)."""
        self.ensure_one()
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    "SELECT id FROM bank_bridge_import WHERE id = %s FOR NO KEY UPDATE NOWAIT", [self.id]
                )
        except OperationalError as err:
            if err.pgcode == errorcodes.LOCK_NOT_AVAILABLE:
                _logger.info("bank bridge job: import %s is being run by another worker", self.id)
                return False
            raise
        self.invalidate_recordset()
        return True

    def _bank_bridge_start(self):
        """Start (or resume) this import; returns what the job needs to read
        the bridge, or None when there is nothing to do."""
        self.ensure_one()
        if not self._bank_bridge_lock() or self.state not in GOING_STATES:
            return None
        account = self.account_id
        if account.journal_id != self.journal_id or account.link_id.state in ("disconnected",):
            self.write({"state": "cancelled", "date_done": fields.Datetime.now()})
            return None
        if self.state == "queued":
            self.write(
                {
                    "state": "running",
                    "date_started": fields.Datetime.now(),
                    "stated_until": self._bank_bridge_stated_until(),
                }
            )
        return {
            "account_bridge_id": account.bridge_id,
            "after_id": self.last_bridge_id,
            "counted": bool(self.total),
        }

    def _bank_bridge_stated_until(self):
        last = self.env["account.bank.statement.line"].search(
            [("journal_id", "=", self.journal_id.id), ("statement_id", "!=", False)],
            order="internal_index desc",
            limit=1,
        )
        return last.date or False

    def _bank_bridge_set_total(self, count):
        self.ensure_one()
        if self._bank_bridge_lock():
            self.total = self.done + count

    def _bank_bridge_import_batch(self, transactions):
        """Create the statement lines of one batch of transactions (one
        ``create``); returns the bridge id to continue after, or None when
        the import stopped or another worker runs it."""
        self.ensure_one()
        if not self._bank_bridge_lock() or self.state != "running":
            _logger.info("bank bridge job: import %s stops (%s)", self.id, self.state)
            return None
        fresh = [tx for tx in transactions if tx["id"] > self.last_bridge_id]
        if not fresh:
            return self.last_bridge_id
        account = self.account_id
        vals_list = account._prepare_statement_line_vals(fresh)
        for vals in vals_list:
            vals["bank_bridge_import_id"] = self.id
        lines = self._bank_bridge_create_lines(vals_list)
        last = max(fresh, key=lambda tx: tx["id"])
        self.write(
            {
                "done": self.done + len(lines),
                "total": max(self.total, self.done + len(lines)),
                "last_bridge_id": last["id"],
            }
        )
        return last["id"]

    def _bank_bridge_create_lines(self, vals_list):
        """Create statement lines: the ones of days the journal's statements
        already cover join the statement of their day at once; the others
        wait outside any statement for this import's own, made when it ends
        (``_bank_bridge_make_statement``). Adding them to a statement batch
        by batch had Odoo recompute the whole statement (all its lines) at
        every batch: an import's time grew with the square of its size."""
        Line = self.env["account.bank.statement.line"].sudo().with_context(tracking_disable=True)
        if not vals_list:
            return Line.browse()
        late = [vals for vals in vals_list if self.stated_until and vals["date"] <= self.stated_until]
        new = [vals for vals in vals_list if not (self.stated_until and vals["date"] <= self.stated_until)]
        lines = Line.browse()
        if late:
            lines |= self._bank_bridge_place_late(Line, late)
        if new:
            lines |= Line.create(new)
        return lines

    def _bank_bridge_make_statement(self):
        """Put this import's lines that are in no statement yet (the days it
        is the first to bring) in its statement, named after their days and
        ending at their balance: one statement per import, made when it
        ends (see ``write``)."""
        self.ensure_one()
        waiting = self.line_ids.filtered(lambda line: not line.statement_id)
        if not waiting:
            return
        if self.statement_id:
            # Started by a version that added the lines batch by batch.
            statement = self.statement_id.sudo()
            waiting.sudo().statement_id = statement
            statement.name = self._bank_bridge_statement_name(statement.line_ids)
        else:
            statement = self.env["account.bank.statement"].sudo().create(
                {
                    "name": self._bank_bridge_statement_name(waiting),
                    "reference": "bankbridge-import-%d" % self.id,
                    "journal_id": self.journal_id.id,
                    "line_ids": [Command.set(waiting.ids)],
                }
            )
            self.statement_id = statement
        statement.flush_recordset()
        statement.balance_end_real = statement.balance_end

    def _bank_bridge_place_late(self, Line, vals_list):
        """Lines dated on or before the journal's last stated day join the
        statement of their day; the statements after it move by their
        amount, so that every statement still starts where the one before
        it ends."""
        Statement = self.env["account.bank.statement"].sudo()
        statements = Statement.search([("journal_id", "=", self.journal_id.id)], order="first_line_index")
        created = Line.browse()
        for vals in sorted(vals_list, key=lambda v: v["date"]):
            covering = statements.filtered(
                lambda st, day=vals["date"]: st.line_ids and min(st.line_ids.mapped("date")) <= day
            )[-1:] or statements[:1]
            if covering:
                vals["statement_id"] = covering.id
            line = Line.create([vals])
            created |= line
            if covering:
                later = statements.filtered(lambda st, first=covering: st.first_line_index > first.first_line_index)
                covering.flush_recordset()
                covering.balance_end_real = covering.balance_end
                for statement in later:
                    statement.balance_start += line.amount
                    statement.flush_recordset()
                    statement.balance_end_real = statement.balance_end
        return created

    def _bank_bridge_statement_name(self, lines):
        dates = lines.mapped("date")
        return _(
            "%(journal)s %(first)s to %(last)s",
            journal=self.journal_id.name,
            first=format_date(self.env, min(dates)),
            last=format_date(self.env, max(dates)),
        )

    def _bank_bridge_finish(self, bank_balance):
        """End this import: give the journal its opening balance on the
        account's first import, make its statement (``write``), and record
        the bank's and the journal's balances."""
        self.ensure_one()
        if not self._bank_bridge_lock() or self.state != "running":
            return False
        journal = self.journal_id
        self.env.flush_all()
        currency = self.currency_id
        previous = self.search(
            [("account_id", "=", self.account_id.id), ("journal_id", "=", journal.id), ("state", "=", "done")],
            limit=1,
        )
        journal.invalidate_recordset(["current_statement_balance"])
        journal_balance = journal.current_statement_balance
        opening = currency.round(bank_balance - journal_balance)
        if not previous and not float_is_zero(opening, precision_rounding=currency.rounding):
            first_day = min(self.line_ids.mapped("date") or [fields.Date.context_today(self)])
            vals = {
                "journal_id": journal.id,
                "date": first_day - timedelta(days=1),
                "amount": opening,
                "payment_ref": _("Opening balance: first synchronization of %s", self.account_id.name),
                "bank_bridge_account_id": self.account_id.id,
                "bank_bridge_import_id": self.id,
            }
            self.opening_line_id = self._bank_bridge_create_lines([vals])
        self.write({"state": "done", "date_done": fields.Datetime.now(), "bank_balance": bank_balance, "error": False})
        self.env.flush_all()
        journal.invalidate_recordset(["current_statement_balance"])
        self.journal_balance = journal.current_statement_balance
        return True

    def _bank_bridge_note(self, message):
        """A passing problem (bridge unreachable): shown, the import goes on later."""
        self.ensure_one()
        if self._bank_bridge_lock() and self.state in GOING_STATES:
            self.error = message

    def _bank_bridge_fail(self, message):
        self.ensure_one()
        if self.state in GOING_STATES:
            self.write({"state": "failed", "error": message, "date_done": fields.Datetime.now()})

    # ------------------------------------------------------------------
    # The scheduled action
    # ------------------------------------------------------------------
    @api.model
    def _cron_run_jobs(self):
        """Every minute (and at once when triggered): follow the
        connections an action is waiting for, and run the queued imports,
        resuming any that stopped half-way."""
        run_jobs(self.env.registry, self.env.uid, dict(self.env.context))

    # ------------------------------------------------------------------
    # Buttons
    # ------------------------------------------------------------------
    def action_open_lines(self):
        self.ensure_one()
        return self._bank_bridge_transactions_window(self.display_name, [("bank_bridge_import_id", "=", self.id)])

