# Copyright 2025 bankbridge contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from .. import bridge_client
from .bank_bridge_account import IMPORT_INLINE_MAX
from .bank_bridge_mixin import LINK_STATES, to_date, to_datetime

_logger = logging.getLogger(__name__)

BUTTON_TITLES = {
    "action_update_credentials": "Update Credentials",
    "action_fetch_accounts": "Fetch Accounts",
    "action_fetch_transactions": "Fetch Transactions",
    "action_revoke_consent": "Revoke Consent",
    "action_remove_connection": "Remove Connection",
}

# Buttons that change what the bank shares: billing administrators only.
# Fetching transactions is open to billing users too.
ADMIN_BUTTONS = (
    "action_update_credentials",
    "action_fetch_accounts",
    "action_revoke_consent",
    "action_remove_connection",
)
GROUP_ADMIN = "account.group_account_manager"
GROUP_BILLING = "account.group_account_invoice"

# A connection shown again is re-read from the bridge when its cache is older.
REFRESH_ON_OPEN_AFTER = timedelta(seconds=30)
# Connections whose consent page was never completed are deleted after this.
ABANDONED_AFTER = timedelta(days=7)


class BankBridgeLink(models.Model):
    _name = "bank.bridge.link"
    _inherit = ["bank.bridge.mixin"]
    _description = "Bank Connection (bankbridge)"
    _order = "name, id"

    name = fields.Char(required=True, readonly=True, default="New connection")
    bridge_id = fields.Integer(
        string="Bridge ID",
        readonly=True,
        index=True,
        copy=False,
        help="Id of the account.online.link record on the bank bridge "
        "(0 while the bridge has not answered yet).",
    )
    institution_code = fields.Char(readonly=True)
    institution_name = fields.Char(readonly=True)
    state = fields.Selection(
        selection=LINK_STATES,
        required=True,
        readonly=True,
        default="disconnected",
    )
    auto_sync = fields.Boolean(string="Automatic synchronization", readonly=True)
    last_refresh = fields.Datetime(readonly=True)
    next_refresh = fields.Datetime(string="Next synchronization", readonly=True)
    expiring_synchronization_date = fields.Date(
        string="Consent expiry",
        readonly=True,
        help="Date when the consent for this connection expires.",
    )
    error_message = fields.Text(readonly=True)
    has_unlinked_accounts = fields.Boolean(readonly=True)
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
    account_count = fields.Integer(compute="_compute_account_count")
    journal_id = fields.Many2one(
        comodel_name="account.journal",
        string="Started from journal",
        readonly=True,
        check_company=True,
        ondelete="set null",
        help="The bank journal whose Connect button started this connection: "
        "its first account in the journal's currency feeds it.",
    )
    import_queued = fields.Boolean(compute="_compute_import_progress")
    import_progress = fields.Char(compute="_compute_import_progress")
    consent_pending = fields.Boolean(
        compute="_compute_consent_pending",
        help="The bank's consent page was opened but never completed.",
    )
    last_bridge_read = fields.Datetime(
        string="Refreshed from bridge",
        readonly=True,
        help="When the cached fields were last read from the bridge.",
    )

    @api.constrains("bridge_id")
    def _check_bridge_id_unique(self):
        for link in self.filtered("bridge_id"):
            if self.search_count([("bridge_id", "=", link.bridge_id), ("id", "!=", link.id)]):
                raise ValidationError(_("This bridge connection is already registered in Odoo."))

    @api.depends("account_ids")
    def _compute_account_count(self):
        for link in self:
            link.account_count = len(link.account_ids)

    @api.depends("account_ids.import_queued", "account_ids.import_done", "account_ids.import_total")
    def _compute_import_progress(self):
        for link in self:
            queued = link.account_ids.filtered("import_queued")
            link.import_queued = bool(queued)
            link.import_progress = _(
                "%(done)s of %(total)s new transactions imported",
                done=sum(queued.mapped("import_done")),
                total=sum(queued.mapped("import_total")),
            ) if queued else False

    @api.depends("state", "account_ids")
    def _compute_consent_pending(self):
        for link in self:
            link.consent_pending = link.state == "disconnected" and not link.account_ids and not link.error_message

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

    def _bank_bridge_form_url(self):
        """The Odoo URL of this connection's form: where the bridge sends
        the browser back after the bank's consent page."""
        self.ensure_one()
        action = self.env.ref("account_online_bridge.action_bank_bridge_link")
        return "%s/web#id=%d&model=%s&view_type=form&action=%d" % (
            self.get_base_url(),
            self.id,
            self._name,
            action.id,
        )

    # ------------------------------------------------------------------
    # Cache refresh
    # ------------------------------------------------------------------
    @api.model
    def _bank_bridge_link_vals(self, data):
        """Odoo values of a bank.bridge.link from a bridge link dict."""
        state = data.get("state")
        if state not in dict(LINK_STATES):
            state = "error"
        institution = data.get("institution_id")
        vals = {
            "name": data.get("name") or bridge_client.many2one_name(institution) or _("Bank connection"),
            "institution_code": data.get("provider_code") or False,
            "institution_name": bridge_client.many2one_name(institution) or data.get("name") or False,
            "state": state,
            "auto_sync": bool(data.get("auto_sync")),
            "last_refresh": to_datetime(data.get("last_refresh")),
            "next_refresh": to_datetime(data.get("next_refresh")),
            "expiring_synchronization_date": to_date(data.get("expiring_synchronization_date")),
            "error_message": self._bank_bridge_humanize(data.get("error_message")) or False,
            "has_unlinked_accounts": bool(data.get("has_unlinked_accounts")),
            "renewal_contact_email": data.get("renewal_contact_email") or False,
            "last_bridge_read": fields.Datetime.now(),
        }
        return vals

    def _refresh_from_bridge(self, client=None):
        """Re-read every link and its accounts from the bridge.

        Billing users may refresh but not edit connections: the cache is
        written as superuser once the caller has checked the user's group."""
        client = client or self._bank_bridge_client()
        Account = self.env["bank.bridge.account"].sudo()
        for link in self.sudo():
            try:
                data = client.read_link(link.bridge_id)
                accounts = client.read_accounts(link.bridge_id) if data else []
            except bridge_client.BridgeError as err:
                raise UserError(str(err)) from None
            if not data:
                link.write(
                    {
                        "state": "disconnected",
                        "error_message": _("This connection no longer exists on the bank bridge."),
                        "last_bridge_read": fields.Datetime.now(),
                    }
                )
                continue
            was_connected = link.state == "connected"
            link.write(self._bank_bridge_link_vals(data))
            Account._bank_bridge_sync_accounts(link, accounts)
            link._bank_bridge_feed_start_journal()
            if link.state == "connected" and not was_connected:
                link._bank_bridge_queue_after_synchronization(client)
        return True

    def _bank_bridge_queue_after_synchronization(self, client):
        """A synchronization that ended at the bank (first connection or a
        fetch the bridge ran in the background) brought transactions: import
        them in the background, without a click."""
        self.ensure_one()
        accounts = self.account_ids.filtered(lambda acc: acc.journal_id and not acc.import_queued)
        if not accounts:
            return
        try:
            with self.env.cr.savepoint():
                accounts._bank_bridge_queue_import(client)
        except UserError as err:
            _logger.warning("bank bridge: queueing the import of connection %s failed: %s", self.bridge_id, err)

    def _bank_bridge_feed_start_journal(self):
        """Give the journal the connection was started from to its first
        account in that journal's currency (other currencies never feed it)."""
        self.ensure_one()
        journal = self.journal_id
        if not journal or self.account_ids.filtered(lambda acc: acc.journal_id == journal):
            return
        if self.env["bank.bridge.account"].search_count([("journal_id", "=", journal.id)]):
            return
        currency = journal.currency_id or journal.company_id.currency_id
        for account in self.account_ids.filtered(lambda acc: not acc.journal_id):
            if account.currency_code == currency.name:
                account.journal_id = journal
                return

    def action_refresh_from_bridge(self):
        self._refresh_from_bridge()
        return True

    def web_read(self, specification):
        """Opening a connection shows what the bridge knows now: coming back
        from the bank's consent page needs no manual refresh."""
        if len(self) == 1 and self.bridge_id and self._bank_bridge_refresh_due():
            try:
                with self.env.cr.savepoint():
                    self._refresh_from_bridge()
            except (UserError, AccessError) as err:
                _logger.warning("Could not refresh connection %s on open: %s", self.bridge_id, err)
        return super().web_read(specification)

    def _bank_bridge_refresh_due(self):
        self.ensure_one()
        if not (self.env.is_superuser() or self.env.user.has_group(GROUP_BILLING)):
            return False
        if self.state != "connected" or not self.last_bridge_read:
            return True
        return fields.Datetime.now() - self.last_bridge_read > REFRESH_ON_OPEN_AFTER

    def action_sync_links_from_bridge(self):
        """Register in Odoo every connection the bridge user has, and
        refresh the ones already known."""
        try:
            client = self._bank_bridge_client()
            remote = client.search_links([])
        except bridge_client.BridgeError as err:
            raise UserError(str(err)) from None
        known = {
            link.bridge_id: link
            for link in self.with_context(active_test=False).search(
                [("bridge_id", "in", [rec["id"] for rec in remote])]
            )
        }
        created = 0
        for data in remote:
            link = known.get(data["id"])
            vals = self._bank_bridge_link_vals(data)
            if link:
                link.write(vals)
            else:
                vals["bridge_id"] = data["id"]
                link = self.create(vals)
                created += 1
            self.env["bank.bridge.account"]._bank_bridge_sync_accounts(link, client.read_accounts(data["id"]))
        return self._bank_bridge_notification(
            _("Online Synchronization"),
            _(
                "%(count)s connection(s) read from the bank bridge, %(new)s new.",
                count=len(remote),
                new=created,
            ),
            "success",
        )

    # ------------------------------------------------------------------
    # Buttons: one bridge call each
    # ------------------------------------------------------------------
    def _bank_bridge_button(self, method):
        self.ensure_one()
        if method in ADMIN_BUTTONS:
            self._bank_bridge_check_group(GROUP_ADMIN)
        else:
            self._bank_bridge_check_group(GROUP_BILLING)
        if not self.bridge_id:
            raise UserError(_("This connection has no bank bridge id."))
        kwargs = {"return_to": self._bank_bridge_form_url()} if method == "action_update_credentials" else {}
        result = self._bank_bridge_call("link_button", method, self.bridge_id, **kwargs)
        if not bridge_client.is_act_url(result):
            # Show the new state; a failing read must not hide the result.
            try:
                self._refresh_from_bridge()
            except UserError as err:
                _logger.warning("Could not refresh link %s after %s: %s", self.bridge_id, method, err)
        return self._bank_bridge_result_action(result, BUTTON_TITLES[method])

    def action_update_credentials(self):
        return self._bank_bridge_button("action_update_credentials")

    def action_fetch_accounts(self):
        return self._bank_bridge_button("action_fetch_accounts")

    def action_fetch_transactions(self):
        """Ask the bank for new transactions, then import the posted ones
        into the linked journals: one click, statement lines in Odoo."""
        fetched = self._bank_bridge_button("action_fetch_transactions")
        if fetched.get("tag") != "display_notification":
            return fetched
        accounts = self.account_ids.filtered("journal_id")
        if not accounts:
            message = fetched["params"]["message"] + " " + _(
                "Pick a journal for the bank accounts below to import them."
            )
            return self._bank_bridge_notification(_("Fetch Transactions"), message, "warning", sticky=True)
        journals = ", ".join(accounts.journal_id.mapped("display_name"))
        client = self._bank_bridge_client()
        try:
            waiting = sum(
                client.count_transactions(acc.bridge_id, status="posted", after_id=acc.last_imported_bridge_id)
                for acc in accounts
            )
        except bridge_client.BridgeError as err:
            raise UserError(str(err)) from None
        if waiting > IMPORT_INLINE_MAX:
            accounts._bank_bridge_queue_import(client)
            return self._bank_bridge_notification(
                _("Fetch Transactions"),
                _(
                    "%(fetched)s %(count)s transaction(s) are being imported into %(journals)s in the "
                    "background: this connection shows the progress.",
                    fetched=fetched["params"]["message"],
                    count=waiting,
                    journals=journals,
                ),
                "info",
            )
        count = accounts._import_bridge_transactions(client)
        return self._bank_bridge_notification(
            _("Fetch Transactions"),
            _(
                "%(fetched)s %(count)s new bank statement line(s) imported into %(journals)s.",
                fetched=fetched["params"]["message"],
                count=count,
                journals=journals,
            ),
            "success" if count else "info",
        )

    def action_revoke_consent(self):
        return self._bank_bridge_button("action_revoke_consent")

    def action_remove_connection(self):
        return self._bank_bridge_button("action_remove_connection")

    def action_import_transactions(self):
        """Import the posted transactions of every account of the link that
        feeds a journal."""
        self._bank_bridge_check_group(GROUP_BILLING)
        accounts = self.account_ids.filtered("journal_id")
        if not accounts:
            raise UserError(
                _("Link at least one bank account of this connection to an Odoo bank journal first.")
            )
        return accounts.action_import_transactions()

    # ------------------------------------------------------------------
    # Deletion: the bridge refuses while the connection exists
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
                raise UserError(str(err)) from None

    # ------------------------------------------------------------------
    # Cron
    # ------------------------------------------------------------------
    @api.model
    def _cron_refresh_and_import(self):
        """Refresh every connection from the bridge, then import the posted
        transactions of every account linked to a journal."""
        settings = self._bank_bridge_settings()
        if not (settings["url"] and settings["login"] and settings["api_key"]):
            _logger.info("bank bridge not configured: nothing to synchronize")
            return
        client = self._bank_bridge_client(settings)
        self._cron_delete_abandoned()
        for link in self.search([("bridge_id", "!=", False)]):
            try:
                with self.env.cr.savepoint():
                    link._refresh_from_bridge(client)
            except UserError as err:
                _logger.warning("bank bridge: refreshing connection %s failed: %s", link.bridge_id, err)
        self.env["bank.bridge.account"]._cron_import_transactions(client)

    @api.model
    def _cron_delete_abandoned(self):
        """Connections whose consent page was never completed, older than
        ABANDONED_AFTER, are deleted here and on the bridge."""
        limit = fields.Datetime.now() - ABANDONED_AFTER
        candidates = self.search([("state", "=", "disconnected"), ("create_date", "<", limit)])
        for link in candidates.filtered("consent_pending"):
            try:
                with self.env.cr.savepoint():
                    link.unlink()
            except UserError as err:
                _logger.warning("bank bridge: deleting abandoned connection %s failed: %s", link.bridge_id, err)
