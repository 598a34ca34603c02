# Copyright 2025 bankbridge contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
import re

from odoo import _, api, fields, models
from odoo.tools.misc import format_datetime
from odoo.exceptions import UserError

from .. import bridge_client

_logger = logging.getLogger(__name__)

PARAM_URL = "account_online_bridge.url"
PARAM_DATABASE = "account_online_bridge.database"
PARAM_LOGIN = "account_online_bridge.login"
PARAM_API_KEY = "account_online_bridge.api_key"
PARAM_TIMEOUT = "account_online_bridge.timeout"

LINK_STATES = [
    ("disconnected", "Not Connected"),
    ("fetching", "Synchronization running"),
    ("connected", "Connected"),
    ("error", "Error"),
]

# An ISO 8601 UTC timestamp as the bridge or Salt Edge may put in a message.
ISO_TIMESTAMP = re.compile(r"\b(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.\d+)?(?:Z|[+-]00:?00)?\b")


def to_datetime(value):
    """Bridge datetime string ('YYYY-MM-DD HH:MM:SS' UTC) or False."""
    if not value:
        return False
    try:
        return fields.Datetime.to_datetime(value)
    except ValueError:
        # a bare date is accepted as midnight
        return fields.Datetime.to_datetime(fields.Date.to_date(str(value)[:10]))


def to_date(value):
    """Bridge date (or datetime) string or False."""
    if not value:
        return False
    return fields.Date.to_date(str(value)[:10])


class BankBridgeMixin(models.AbstractModel):
    _name = "bank.bridge.mixin"
    _description = "Helpers to call the bank bridge"

    @api.model
    def _bank_bridge_settings(self):
        params = self.env["ir.config_parameter"].sudo()
        return {
            "url": params.get_param(PARAM_URL) or "",
            "db": params.get_param(PARAM_DATABASE) or bridge_client.DEFAULT_DATABASE,
            "login": params.get_param(PARAM_LOGIN) or "",
            "api_key": params.get_param(PARAM_API_KEY) or "",
            "timeout": params.get_param(PARAM_TIMEOUT) or bridge_client.DEFAULT_TIMEOUT,
        }

    @api.model
    def _bank_bridge_client(self, settings=None):
        """A :class:`bridge_client.BridgeClient` built from the settings."""
        settings = settings or self._bank_bridge_settings()
        if not settings.get("url") or not settings.get("login") or not settings.get("api_key"):
            raise UserError(
                _(
                    "The bank bridge is not configured yet. Go to Invoicing > "
                    "Configuration > Settings > Online Bank Synchronization "
                    "(bankbridge) and set its URL, database, login and API key."
                )
            )
        try:
            return bridge_client.BridgeClient(
                settings["url"],
                settings.get("db"),
                settings["login"],
                settings["api_key"],
                timeout=settings.get("timeout"),
            )
        except bridge_client.BridgeError as err:
            raise UserError(str(err)) from None

    @api.model
    def _bank_bridge_humanize(self, text):
        """``text`` with the ISO timestamps the bridge sends written as the
        user reads dates (their language and time zone)."""
        if not text:
            return text

        def readable(match):
            value = fields.Datetime.to_datetime("%s %s" % (match.group(1), match.group(2)))
            return format_datetime(self.env, value, dt_format="medium")

        return ISO_TIMESTAMP.sub(readable, str(text))

    @api.model
    def _bank_bridge_call(self, method_name, *args, **kwargs):
        """Call ``BridgeClient.<method_name>`` and turn bridge errors into
        UserError, keeping the bridge's message intact."""
        client = self._bank_bridge_client()
        try:
            return getattr(client, method_name)(*args, **kwargs)
        except bridge_client.BridgeError as err:
            _logger.info("bank bridge call %s failed: %s", method_name, err)
            raise UserError(self._bank_bridge_humanize(str(err))) from None

    @api.model
    def _bank_bridge_notification(self, title, message, notif_type="info", sticky=False, reload_view=True):
        params = {
            "title": title,
            "message": self._bank_bridge_humanize(message),
            "type": notif_type,
            "sticky": sticky,
        }
        if reload_view:
            params["next"] = {"type": "ir.actions.client", "tag": "soft_reload"}
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": params,
        }

    @api.model
    def _bank_bridge_result_action(self, result, default_title):
        """Turn what a bridge button returned into an Odoo action."""
        if bridge_client.is_act_url(result):
            return {
                "type": "ir.actions.act_url",
                "url": result["url"],
                "target": result.get("target") or "self",
            }
        if bridge_client.is_notification(result):
            params = dict(result.get("params") or {})
            return self._bank_bridge_notification(
                params.get("title") or default_title,
                params.get("message") or "",
                params.get("type") or "info",
                bool(params.get("sticky")),
            )
        return self._bank_bridge_notification(default_title, _("Done."), "success")
