# Copyright 2025 bankbridge contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools.misc import formatLang

from .. import bridge_client
from .bank_bridge_mixin import GOING_STATES, LINK_STATES, LIST, to_date, to_datetime

_logger = logging.getLogger(__name__)

# Buttons that change what the bank shares: billing administrators only.
# Fetching transactions is open to billing users too.
GROUP_ADMIN = "account.group_account_manager"
GROUP_BILLING = "account.group_account_invoice"

# How long the background job follows a connection after an explicit action
# (back from the bank's page, Fetch Transactions) until its state settles.
WATCH_AFTER_RETURN = timedelta(minutes=10)
WATCH_AFTER_FETCH = timedelta(minutes=30)
# Connections whose consent page was never completed are deleted after this.
ABANDONED_AFTER = timedelta(days=7)

BANNERS = [
    ("removed", "Removed at the bank"),
    ("revoked", "Consent revoked"),
    ("failed_first", "Connection refused by the bank"),
    ("error", "Needs attention"),
    ("consent_pending", "Consent page not completed"),
    ("connecting", "Connecting"),
]


class BankBridgeLink(models.Model):
    _name = "bank.bridge.link"
    _inherit = ["bank.bridge.mixin"]
    _description = "Bank Connection (bankbridge)"
    _order = "name, id"

    name = fields.Char(required=True, readonly=True, default=lambda self: _("New connection"))
    bridge_id = fields.Integer(
        string="Bridge ID",
        readonly=True,
        index=True,
        copy=False,
        help="Id of the account.online.link record on the bank bridge "
        "(0 while the bridge has not answered yet).",
    )
    institution_code = fields.Char(readonly=True)
    institution_name = fields.Char(string="Bank", readonly=True)
    state = fields.Selection(
        selection=LINK_STATES,
        required=True,
        readonly=True,
        default="disconnected",
    )
    has_bank_connection = fields.Boolean(
        readonly=True,
        help="The bank holds a connection for it (consent given, not removed).",
    )
    auto_sync = fields.Boolean(string="Automatic synchronization", readonly=True)
    last_refresh = fields.Datetime(string="Last synchronization with the bank", readonly=True)
    next_refresh = fields.Datetime(string="Next synchronization", readonly=True)
    expiring_synchronization_date = fields.Date(
        string="Consent expiry",
        readonly=True,
        help="Date when the consent for this connection expires.",
    )
    error_message = fields.Text(readonly=True)
    renewal_contact_email = fields.Char(readonly=True)
    company_id = fields.Many2one(
        comodel_name="res.company",
        required=True,
        default=lambda self: self.env.company,
    )
    account_ids = fields.One2many(
        comodel_name="bank.bridge.account",
        inverse_name="link_id",
        string="Bank Accounts",
    )
    account_count = fields.Integer(compute="_compute_account_summary")
    unfed_account_count = fields.Integer(
        string="Bank accounts without journal", compute="_compute_account_summary"
    )
    journal_id = fields.Many2one(
        comodel_name="account.journal",
        string="Journal to feed",
        readonly=True,
        check_company=True,
        ondelete="set null",
        help="The journal whose Connect button started this connection.",
    )
    journal_unfed_reason = fields.Char(compute="_compute_account_summary")
    watch_until = fields.Datetime(
        readonly=True,
        copy=False,
        help="Until then the background job follows the connection at the bank (after "
        "coming back from the bank's page, or after Fetch Transactions).",
    )
    last_bridge_read = fields.Datetime(
        string="Checked with the bridge",
        readonly=True,
        help="When this connection was last read from the bank bridge.",
    )
    import_ids = fields.One2many(
        comodel_name="bank.bridge.import",
        inverse_name="link_id",
        string="Imports",
        readonly=True,
    )
    import_count = fields.Integer(compute="_compute_live_status")
    import_running = fields.Boolean(compute="_compute_live_status")
    import_problem = fields.Char(
        compute="_compute_live_status",
        help="The last import failed, waits for the bridge, or left the journal's balance away from the bank's.",
    )
    live_status = fields.Char(
        compute="_compute_live_status",
        help="What is happening at the bank or in the background right now.",
    )
    banner = fields.Selection(selection=BANNERS, compute="_compute_banner")
    sibling_id = fields.Many2one(
        comodel_name="bank.bridge.link",
        string="Already connected as",
        compute="_compute_banner",
        help="A connected connection to the same bank, which a refused first connection may duplicate.",
    )

    @api.constrains("bridge_id")
    def _check_bridge_id_unique(self):
        for link in self.filtered("bridge_id"):
            if self.search_count([("bridge_id", "=", link.bridge_id), ("id", "!=", link.id)]):
                raise ValidationError(_("This bridge connection is already registered in Odoo."))

    # ------------------------------------------------------------------
    # What the form shows: computed from the records, never from the bridge
    # ------------------------------------------------------------------
    @api.depends("account_ids.journal_id", "account_ids.currency_code", "journal_id", "state")
    def _compute_account_summary(self):
        for link in self:
            link.account_count = len(link.account_ids)
            link.unfed_account_count = len(link.account_ids.filtered(lambda acc: not acc.journal_id))
            link.journal_unfed_reason = link._bank_bridge_journal_unfed_reason()

    def _bank_bridge_journal_unfed_reason(self):
        """Why the journal the connection was started from is not fed, in
        the accountant's words; False when it is fed or nothing is known yet."""
        self.ensure_one()
        journal = self.journal_id
        if not journal or not self.account_ids or journal in self.account_ids.journal_id:
            return False
        currency = self.env["bank.bridge.account"]._bank_bridge_journal_currency(journal)
        other = self.env["bank.bridge.account"].search([("journal_id", "=", journal.id)], limit=1)
        if other:
            return _(
                "The journal %(journal)s is already fed by %(account)s.",
                journal=journal.name,
                account=other.display_name,
            )
        return _(
            "None of the bank accounts of this connection is in %(currency)s, the currency of the "
            "journal %(journal)s, which already has entries: create a journal for each account below.",
            currency=currency.name,
            journal=journal.name,
        )

    @api.depends(
        "import_ids.state", "import_ids.done", "import_ids.total", "import_ids.error", "state", "watch_until"
    )
    def _compute_live_status(self):
        now = fields.Datetime.now()
        for link in self:
            running = link.import_ids.filtered(lambda run: run.state in GOING_STATES)
            link.import_count = len(link.import_ids)
            link.import_running = bool(running)
            link.import_problem = link._bank_bridge_import_problem()
            total = sum(max(run.total, run.done) for run in running)
            if running and total:
                link.live_status = _(
                    "Importing the bank's transactions: %(done)s of %(total)s imported.",
                    done=sum(running.mapped("done")),
                    total=total,
                )
            elif running:
                link.live_status = _("Importing the bank's transactions.")
            elif link.state == "fetching":
                link.live_status = _("The bank is sending the accounts and transactions.")
            elif link.watch_until and link.watch_until > now and link.state == "disconnected":
                link.live_status = _("Waiting for the bank to confirm the connection.")
            else:
                link.live_status = False

    def _bank_bridge_import_problem(self):
        """The last import's problem, in the accountant's words, or False."""
        self.ensure_one()
        if self.state not in ("connected", "fetching"):
            return False
        problems = []
        for account in self.account_ids.filtered("journal_id"):
            run = account.last_import_id
            if not run:
                continue
            if run.state == "failed":
                problems.append(_(
                    "The last import of %(account)s stopped: %(error)s Fetch Transactions tries again.",
                    account=account.name, error=run.error,
                ))
            elif run.state in GOING_STATES and run.error:
                problems.append(_(
                    "The import of %(account)s waits: %(error)s Odoo tries again every minute.",
                    account=account.name, error=run.error,
                ))
            elif run.state == "done" and run.currency_id.compare_amounts(run.bank_balance, run.journal_balance):
                problems.append(_(
                    "After the last import the journal %(journal)s shows %(journal_balance)s while the bank "
                    "reported %(bank_balance)s.",
                    journal=run.journal_id.name,
                    journal_balance=formatLang(self.env, run.journal_balance, currency_obj=run.currency_id),
                    bank_balance=formatLang(self.env, run.bank_balance, currency_obj=run.currency_id),
                ))
        return " ".join(problems) or False

    @api.depends("state", "has_bank_connection", "account_ids", "error_message", "institution_code", "watch_until")
    def _compute_banner(self):
        now = fields.Datetime.now()
        for link in self:
            link.sibling_id = False
            connecting = link.watch_until and link.watch_until > now
            if link.state == "disconnected" and not link.has_bank_connection and link.account_ids:
                banner = "removed"
            elif link.state == "disconnected" and link.has_bank_connection:
                banner = "revoked"
            elif link.state == "error" and not link.has_bank_connection and not link.account_ids:
                banner = "failed_first"
                link.sibling_id = link._bank_bridge_connected_sibling()
            elif link.state == "error":
                banner = "error"
            elif link.state == "disconnected" and not link.account_ids and not connecting:
                banner = "consent_pending"
            elif link.state in ("disconnected", "fetching") and connecting:
                banner = "connecting"
            else:
                banner = False
            link.banner = banner

    def _bank_bridge_connected_sibling(self):
        self.ensure_one()
        if not self.institution_code:
            return self.browse()
        return self.search(
            [
                ("id", "!=", self._origin.id or 0),
                ("company_id", "=", self.company_id.id),
                ("institution_code", "=", self.institution_code),
                ("has_bank_connection", "=", True),
            ],
            limit=1,
        )

    def _compute_display_name(self):
        states = dict(self._fields["state"]._description_selection(self.env))
        for link in self:
            link.display_name = "%s (%s)" % (link.name, states.get(link.state, link.state))

    @api.model
    def _bank_bridge_check_group(self, group):
        if self.env.is_superuser():
            return
        if not self.env.user.has_group(group):
            group_name = self.env.ref(group).display_name
            raise AccessError(_("Only users of the group %(group)s may do this.", group=group_name))

    @api.model
    def _bank_bridge_unique_name(self, name, company):
        """``name``, or "name (2)" etc. when the company has a connection of that name already."""
        taken = set(
            self.with_context(active_test=False)
            .search([("company_id", "=", company.id), ("name", "=like", name + "%")])
            .mapped("name")
        )
        if name not in taken:
            return name
        number = 2
        while "%s (%d)" % (name, number) in taken:
            number += 1
        return "%s (%d)" % (name, number)

    def _bank_bridge_return_url(self):
        """Where the bridge sends the browser back after the bank's page:
        this addon's route, which reads the connection from the bridge and
        opens its form."""
        self.ensure_one()
        return "%s/bank_bridge/return/%d" % (self.get_base_url(), self.id)

    def _bank_bridge_form_url(self):
        """The Odoo URL of this connection's form."""
        self.ensure_one()
        menu = self.env.ref("account.menu_finance")
        return "/web#id=%d&model=%s&view_type=form&menu_id=%d" % (self.id, self._name, menu.id)

    # ------------------------------------------------------------------
    # Reading the bridge: explicit actions and the background job only
    # ------------------------------------------------------------------
    @api.model
    def _bank_bridge_link_vals(self, data):
        """Odoo values of a bank.bridge.link from a bridge link dict."""
        state = data.get("state")
        if state not in dict(LINK_STATES):
            state = "error"
        institution = data.get("institution_id")
        return {
            "institution_code": data.get("provider_code") or False,
            "institution_name": bridge_client.many2one_name(institution) or data.get("name") or False,
            "state": state,
            "has_bank_connection": bool(data.get("connection_identifier")),
            "auto_sync": bool(data.get("auto_sync")),
            "last_refresh": to_datetime(data.get("last_refresh")),
            "next_refresh": to_datetime(data.get("next_refresh")),
            "expiring_synchronization_date": to_date(data.get("expiring_synchronization_date")),
            "error_message": self._bank_bridge_humanize(data.get("error_message")) or False,
            "renewal_contact_email": data.get("renewal_contact_email") or False,
            "last_bridge_read": fields.Datetime.now(),
        }

    @api.model
    def _bank_bridge_read_remote(self, client, bridge_ids):
        """{bridge id: (link dict or None, [account dicts])}: bridge calls
        only, made before any write (no transaction waits on the network)."""
        remote = {}
        for bridge_id in bridge_ids:
            try:
                data = client.read_link(bridge_id)
                accounts = client.read_accounts(bridge_id) if data else []
            except bridge_client.BridgeError as err:
                raise UserError(self._bank_bridge_humanize(str(err))) from None
            remote[bridge_id] = (data, accounts)
        return remote

    def _bank_bridge_apply_remote(self, data, accounts):
        """Write what the bridge said about this connection; returns the
        accounts that start importing now (first connection, or a
        synchronization at the bank that just ended)."""
        self.ensure_one()
        link = self.sudo()
        if not data:
            link.write(
                {
                    "state": "disconnected",
                    "has_bank_connection": False,
                    "error_message": _("This connection no longer exists on the bank bridge."),
                    "last_bridge_read": fields.Datetime.now(),
                    "watch_until": False,
                }
            )
            return self.env["bank.bridge.account"]
        was_settled = link.state == "connected"
        vals = self._bank_bridge_link_vals(data)
        if vals["state"] in ("connected", "error") or (vals["state"] == "disconnected" and link.account_ids):
            vals["watch_until"] = False
        link.write(vals)
        self.env["bank.bridge.account"].sudo()._bank_bridge_sync_accounts(link, accounts)
        link._bank_bridge_feed_start_journal()
        if link.state == "connected" and not was_settled:
            return link.account_ids.filtered("journal_id")
        return self.env["bank.bridge.account"]

    def _refresh_from_bridge(self, client=None):
        """Re-read the connections and their accounts from the bridge.
        Billing users may refresh but not edit connections: the cache is
        written as superuser once the caller's group is checked."""
        self._bank_bridge_check_group(GROUP_BILLING)
        client = client or self._bank_bridge_client()
        remote = self._bank_bridge_read_remote(client, self.filtered("bridge_id").mapped("bridge_id"))
        to_import = self.env["bank.bridge.account"]
        for link in self.filtered("bridge_id"):
            to_import |= link._bank_bridge_apply_remote(*remote[link.bridge_id])
        if to_import:
            to_import._bank_bridge_queue_import()
        return to_import

    def _bank_bridge_feed_start_journal(self):
        """Give the journal the connection was started from an account:
        the first in the journal's currency; or, when the journal has no
        entry yet, the first account, the journal taking its currency."""
        self.ensure_one()
        journal = self.journal_id
        accounts = self.account_ids
        if not journal or not accounts or journal in accounts.journal_id:
            return
        if self.env["bank.bridge.account"].search_count([("journal_id", "=", journal.id)]):
            return
        unfed = accounts.filtered(lambda acc: not acc.journal_id and acc.currency_id)
        currency = self.env["bank.bridge.account"]._bank_bridge_journal_currency(journal)
        same = unfed.filtered(lambda acc: acc.currency_id == currency)
        if same:
            same[0].with_context(bank_bridge_no_push=True).journal_id = journal
            same[0]._bank_bridge_push_journal()
            return
        if unfed and not self.env["account.move"].sudo().search_count([("journal_id", "=", journal.id)], limit=1):
            account = unfed[0]
            account._bank_bridge_activate_currency()
            account_currency = account.currency_id
            journal.sudo().currency_id = (
                False if account_currency == journal.company_id.currency_id else account_currency
            )
            account.with_context(bank_bridge_no_push=True).journal_id = journal
            account._bank_bridge_push_journal()

    def _bank_bridge_came_back(self):
        """Back from the bank's page: read the connection once, then let the
        background job follow it until the bank has answered."""
        self.ensure_one()
        self._bank_bridge_check_group(GROUP_ADMIN)
        self._bank_bridge_refresh_quietly()
        self._bank_bridge_watch(WATCH_AFTER_RETURN)

    def _bank_bridge_watch(self, delay):
        self.sudo().watch_until = fields.Datetime.now() + delay
        self.env["bank.bridge.import"]._bank_bridge_trigger_job()

    # ------------------------------------------------------------------
    # Buttons
    # ------------------------------------------------------------------
    def _bank_bridge_press(self, method, group=GROUP_ADMIN, **kwargs):
        """One bridge button on this connection; returns the bridge's answer."""
        self.ensure_one()
        self._bank_bridge_check_group(group)
        if not self.bridge_id:
            raise UserError(_("This connection is not registered on the bank bridge yet."))
        return self._bank_bridge_call("link_button", method, self.bridge_id, **kwargs)

    def _bank_bridge_refresh_quietly(self):
        """Show the new state after a button; a failing read must not hide
        the button's own result."""
        try:
            with self.env.cr.savepoint():
                self._refresh_from_bridge()
        except UserError as err:
            _logger.warning("bank bridge: could not refresh connection %s: %s", self.bridge_id, err)

    def _bank_bridge_open_bank_page(self, result):
        return {"type": "ir.actions.act_url", "url": result["url"], "target": "self"}

    def action_refresh_from_bridge(self):
        self._refresh_from_bridge()
        return True

    def action_update_credentials(self):
        """The bank's page again (credentials, consent renewal), then back here."""
        result = self._bank_bridge_press("action_update_credentials", return_to=self._bank_bridge_return_url())
        if bridge_client.is_act_url(result):
            return self._bank_bridge_open_bank_page(result)
        self._bank_bridge_refresh_quietly()
        return self._bank_bridge_notification(_("Update Credentials"), self._bank_bridge_state_sentence())

    def action_fetch_accounts(self):
        """Ask the bank for new accounts; say which accounts the connection has."""
        before = set(self.account_ids.mapped("bridge_id"))
        result = self._bank_bridge_press("action_fetch_accounts")
        if bridge_client.is_act_url(result):
            return self._bank_bridge_open_bank_page(result)
        self._bank_bridge_refresh_quietly()
        new = self.account_ids.filtered(lambda acc: acc.bridge_id not in before)
        listing = ", ".join(
            "%s (%s)" % (acc.name, acc.currency_code or "?") for acc in self.account_ids
        )
        if new:
            message = _(
                "%(count)s new bank account(s): %(new)s. %(bank)s now shares: %(all)s.",
                count=len(new),
                new=", ".join(new.mapped("name")),
                bank=self.institution_name or self.name,
                all=listing,
            )
            return self._bank_bridge_notification(_("New bank accounts"), message, "success")
        if not self.account_ids:
            return self._bank_bridge_notification(
                _("Fetch Accounts"), _("The bank shares no bank account on this connection yet."), "warning"
            )
        message = _(
            "No new bank account: %(bank)s shares %(count)s bank account(s): %(all)s.",
            bank=self.institution_name or self.name,
            count=len(self.account_ids),
            all=listing,
        )
        return self._bank_bridge_notification(_("Bank accounts up to date"), message, "info")

    def action_fetch_transactions(self):
        """Ask the bank for new transactions; the background job imports
        them as soon as the bank has sent them, and the connection shows
        the progress."""
        result = self._bank_bridge_press("action_fetch_transactions", group=GROUP_BILLING)
        self._bank_bridge_refresh_quietly()
        accounts = self.account_ids.filtered("journal_id")
        if not accounts:
            return self._bank_bridge_notification(
                _("Fetch Transactions"),
                _("Pick a journal for the bank accounts of this connection (or Create a journal) to import "
                  "their transactions."),
                "warning",
                sticky=True,
            )
        refused = bridge_client.is_notification(result) and result["params"].get("type") == "warning"
        if refused and self.next_refresh:
            first = _(
                "The bank allows its next synchronization on %(when)s.",
                when=self._bank_bridge_format_datetime(self.next_refresh),
            )
        elif refused:
            first = _("The bank is already synchronizing this connection.")
        else:
            first = _("The bank is sending its new transactions.")
        journals = ", ".join(accounts.journal_id.mapped("name"))
        accounts._bank_bridge_queue_import()
        self._bank_bridge_watch(WATCH_AFTER_FETCH)
        return self._bank_bridge_notification(
            _("Fetch Transactions"),
            _(
                "%(first)s Odoo imports the transactions into %(journals)s in the background: this "
                "connection shows the progress.",
                first=first,
                journals=journals,
            ),
            "info",
        )

    def action_revoke_consent(self):
        self._bank_bridge_press("action_revoke_consent")
        self._bank_bridge_stop_imports()
        self._bank_bridge_refresh_quietly()
        return self._bank_bridge_notification(
            _("Consent revoked"),
            _("The bank no longer shares %(name)s with Odoo. Update Credentials gives the consent again; "
              "Remove Connection deletes the connection at the bank.", name=self.name),
            "warning",
        )

    def action_remove_connection(self):
        self._bank_bridge_press("action_remove_connection")
        self._bank_bridge_stop_imports()
        self._bank_bridge_refresh_quietly()
        return self._bank_bridge_notification(
            _("Connection removed"),
            _("%(name)s was removed at the bank. The imported transactions stay in their journals; "
              "you can delete this connection now.", name=self.name),
            "success",
        )

    def _bank_bridge_stop_imports(self):
        runs = self.sudo().import_ids.filtered(lambda run: run.state in GOING_STATES)
        runs.write({"state": "cancelled"})
        self.sudo().watch_until = False

    def action_delete_connection(self):
        """Delete a connection that the bank no longer holds (removed,
        refused, or never completed), and go back to the list."""
        self.ensure_one()
        self._bank_bridge_check_group(GROUP_ADMIN)
        self.unlink()
        return dict(self.action_open_list(), target="main")

    @api.model
    def action_open_list(self):
        """Invoicing > Bank > Bank Connections."""
        return self.env["ir.actions.act_window"]._for_xml_id("account_online_bridge.action_bank_bridge_link")

    def action_open_sibling(self):
        self.ensure_one()
        return self.sibling_id.action_open_form()

    def action_open_form(self):
        self.ensure_one()
        return self._bank_bridge_window(
            self.display_name,
            self._name,
            [("account_online_bridge.bank_bridge_link_view_form", "form")],
            res_id=self.id,
        )

    def action_open_imports(self):
        self.ensure_one()
        return self._bank_bridge_window(
            _("Imports of %s", self.name),
            "bank.bridge.import",
            [("account_online_bridge.bank_bridge_import_view_tree", LIST),
             ("account_online_bridge.bank_bridge_import_view_form", "form")],
            domain=[("link_id", "=", self.id)],
        )

    def _bank_bridge_state_sentence(self):
        self.ensure_one()
        states = dict(self._fields["state"]._description_selection(self.env))
        return _("%(name)s: %(state)s.", name=self.name, state=states.get(self.state))

    @api.model
    def action_sync_links_from_bridge(self):
        """Register in Odoo every connection the bridge user has, and
        refresh the ones already known."""
        self._bank_bridge_check_group(GROUP_ADMIN)
        client = self._bank_bridge_client()
        try:
            remote = client.search_links([])
            accounts = {data["id"]: client.read_accounts(data["id"]) for data in remote}
        except bridge_client.BridgeError as err:
            raise UserError(self._bank_bridge_humanize(str(err))) from None
        known = {
            link.bridge_id: link
            for link in self.search([("bridge_id", "in", [rec["id"] for rec in remote])])
        }
        created = 0
        for data in remote:
            link = known.get(data["id"])
            if not link:
                name = data.get("name") or bridge_client.many2one_name(data.get("institution_id")) or _("Bank")
                link = self.create(
                    {"bridge_id": data["id"], "name": self._bank_bridge_unique_name(name, self.env.company)}
                )
                created += 1
            link._bank_bridge_apply_remote(data, accounts[data["id"]])
        return self._bank_bridge_notification(
            _("Bank Connections"),
            _("%(count)s connection(s) on the bank bridge, %(new)s new in Odoo.", count=len(remote), new=created),
            "success",
        )

    # ------------------------------------------------------------------
    # Deletion: the bridge refuses while the bank holds the connection
    # ------------------------------------------------------------------
    @api.ondelete(at_uninstall=False)
    def _unlink_on_bridge(self):
        links = self.filtered("bridge_id")
        if not links:
            return
        client = self._bank_bridge_client()
        for link in links:
            try:
                client.unlink_link(link.bridge_id)
            except bridge_client.BridgeError as err:
                raise UserError(self._bank_bridge_humanize(str(err))) from None

    # ------------------------------------------------------------------
    # Scheduled actions
    # ------------------------------------------------------------------
    @api.model
    def _cron_refresh_and_import(self):
        """Hourly: refresh every connection from the bridge and queue the
        import of what the bridge fetched on its own; the background job
        imports it."""
        if not self._bank_bridge_configured():
            _logger.info("bank bridge not configured: nothing to synchronize")
            return
        self._cron_delete_abandoned()
        for link in self.search([("bridge_id", "!=", 0)]):
            try:
                with self.env.cr.savepoint():
                    link._refresh_from_bridge()
                    link.account_ids.filtered("journal_id")._bank_bridge_queue_import()
            except UserError as err:
                _logger.warning("bank bridge: refreshing connection %s failed: %s", link.bridge_id, err)

    @api.model
    def _cron_delete_abandoned(self):
        """Connections whose consent page was never completed, older than
        ABANDONED_AFTER, are deleted here and on the bridge."""
        limit = fields.Datetime.now() - ABANDONED_AFTER
        candidates = self.search([("state", "=", "disconnected"), ("create_date", "<", limit)])
        for link in candidates.filtered(lambda link: link.banner == "consent_pending"):
            try:
                with self.env.cr.savepoint():
                    link.unlink()
            except UserError as err:
                _logger.warning("bank bridge: deleting abandoned connection %s failed: %s", link.bridge_id, err)
