# Copyright 2025 bankbridge contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from .. import bridge_client
from .bank_bridge_mixin import LINK_STATES, to_date, to_datetime

_logger = logging.getLogger(__name__)

BUTTON_TITLES = {
    "action_update_credentials": "Update Credentials",
    "action_fetch_accounts": "Fetch Accounts",
    "action_fetch_transactions": "Fetch Transactions",
    "action_revoke_consent": "Revoke Consent",
    "action_remove_connection": "Remove Connection",
}


class BankBridgeLink(models.Model):
    _name = "bank.bridge.link"
    _inherit = ["bank.bridge.mixin"]
    _description = "Bank Connection (bankbridge)"
    _order = "name, id"

    name = fields.Char(required=True, readonly=True, default="New connection")
    bridge_id = fields.Integer(
        string="Bridge ID",
        required=True,
        readonly=True,
        index=True,
        copy=False,
        help="Id of the account.online.link record on the bank bridge.",
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
    last_bridge_read = fields.Datetime(
        string="Refreshed from bridge",
        readonly=True,
        help="When the cached fields were last read from the bridge.",
    )

    _sql_constraints = [
        (
            "bridge_id_unique",
            "unique(bridge_id)",
            "This bridge connection is already registered in Odoo.",
        ),
    ]

    @api.depends("account_ids")
    def _compute_account_count(self):
        for link in self:
            link.account_count = len(link.account_ids)

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
            "error_message": data.get("error_message") or False,
            "has_unlinked_accounts": bool(data.get("has_unlinked_accounts")),
            "renewal_contact_email": data.get("renewal_contact_email") or False,
            "last_bridge_read": fields.Datetime.now(),
        }
        return vals

    def _refresh_from_bridge(self, client=None):
        """Re-read every link and its accounts from the bridge."""
        client = client or self._bank_bridge_client()
        Account = self.env["bank.bridge.account"]
        for link in self:
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
            link.write(self._bank_bridge_link_vals(data))
            Account._bank_bridge_sync_accounts(link, accounts)
        return True

    def action_refresh_from_bridge(self):
        self._refresh_from_bridge()
        return True

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
        if not self.bridge_id:
            raise UserError(_("This connection has no bank bridge id."))
        result = self._bank_bridge_call("link_button", method, self.bridge_id)
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
        return self._bank_bridge_button("action_fetch_transactions")

    def action_revoke_consent(self):
        return self._bank_bridge_button("action_revoke_consent")

    def action_remove_connection(self):
        return self._bank_bridge_button("action_remove_connection")

    def action_import_transactions(self):
        """Import the posted transactions of every account of the link that
        feeds a journal."""
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
        for link in self.search([("bridge_id", "!=", False)]):
            try:
                with self.env.cr.savepoint():
                    link._refresh_from_bridge(client)
            except UserError as err:
                _logger.warning("bank bridge: refreshing connection %s failed: %s", link.bridge_id, err)
        self.env["bank.bridge.account"]._cron_import_transactions(client)
