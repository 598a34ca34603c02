# Copyright 2025 bankbridge contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
import re

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.release import version_info
from odoo.tools.misc import format_datetime

from .. import bridge_client

_logger = logging.getLogger(__name__)

PARAM_URL = "account_online_bridge.url"
PARAM_DATABASE = "account_online_bridge.database"
PARAM_LOGIN = "account_online_bridge.login"
PARAM_API_KEY = "account_online_bridge.api_key"
PARAM_TIMEOUT = "account_online_bridge.timeout"

# What differs between the Odoo series for this addon's Python, in one place.
SERIE = version_info[0]
# The list view type: "tree" until 17.0, "list" from 18.0 on.
LIST = "tree" if SERIE < 18 else "list"
# Journal types a bank feed may fill: 18.0 added credit card journals.
FEED_JOURNAL_TYPES = ["bank"] if SERIE < 18 else ["bank", "credit"]
# A user's groups: groups_id until 18.0, group_ids from 19.0.
USER_GROUPS = "groups_id" if SERIE < 19 else "group_ids"


def check_read_access(records):
    """The user may read ``records`` (check_access from 18.0; 17.0's two checks before)."""
    if SERIE < 18:
        records.check_access_rights("read")
        records.check_access_rule("read")
    else:
        records.check_access("read")


def sql_constraints(model_attrs, constraints):
    """Declare unique constraints in the serie's idiom: ``models.Constraint``
    attributes from 19.0 (which ignores ``_sql_constraints``), the list before.
    ``constraints``: [(name, definition, message)]."""
    if SERIE < 19:
        model_attrs["_sql_constraints"] = list(constraints)
        return
    for name, definition, message in constraints:
        model_attrs["_" + name] = models.Constraint(definition, message)

# After a notification: close the button's action (the form reloads its record).
CLOSE = {"type": "ir.actions.act_window_close"}

# The order is the status bar's: left to right, as a connection moves.
LINK_STATES = [
    ("disconnected", "Not Connected"),
    ("fetching", "Synchronizing"),
    ("connected", "Connected"),
    ("error", "Needs Attention"),
]

# An import (bank.bridge.import) still to finish: waiting for the job, or being run by it.
GOING_STATES = ("queued", "running")

# An ISO 8601 UTC timestamp as the bridge or the aggregator may put in a message.
ISO_TIMESTAMP = re.compile(r"\b(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.\d+)?(?:Z|[+-]00:?00)?\b")
# The bridge's own way of writing a time for people: "6 Dec 2026 at 00:00 UTC".
BRIDGE_TIME = re.compile(
    r"\b(\d{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) at (\d{2}):(\d{2}) UTC\b"
)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


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
    def _bank_bridge_configured(self):
        settings = self._bank_bridge_settings()
        return bool(settings["url"] and settings["login"] and settings["api_key"])

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
    def _bank_bridge_format_datetime(self, value):
        """A UTC datetime as the user reads it (language, time zone)."""
        return format_datetime(self.env, value, dt_format="medium")

    @api.model
    def _bank_bridge_humanize(self, text):
        """``text`` with the times the bridge writes (ISO timestamps, or
        "6 Dec 2026 at 00:00 UTC") in the user's own format and time zone."""
        if not text:
            return text

        def iso(match):
            value = fields.Datetime.to_datetime("%s %s" % (match.group(1), match.group(2)))
            return self._bank_bridge_format_datetime(value)

        def bridge_time(match):
            day, month, year, hour, minute = match.groups()
            value = fields.Datetime.to_datetime(
                "%s-%02d-%02d %s:%s:00" % (year, MONTHS.index(month) + 1, int(day), hour, minute)
            )
            return self._bank_bridge_format_datetime(value)

        return BRIDGE_TIME.sub(bridge_time, ISO_TIMESTAMP.sub(iso, str(text)))

    @api.model
    def _bank_bridge_call(self, method_name, *args, **kwargs):
        """Call ``BridgeClient.<method_name>`` and turn bridge errors into
        UserError, in the user's date format."""
        client = self._bank_bridge_client()
        try:
            return getattr(client, method_name)(*args, **kwargs)
        except bridge_client.BridgeError as err:
            _logger.info("bank bridge call %s failed: %s", method_name, err)
            raise UserError(self._bank_bridge_humanize(str(err))) from None

    @api.model
    def _bank_bridge_notification(self, title, message, notif_type="info", sticky=False, then="close"):
        """A notification, then ``then``: by default the button's action
        closes, so the view it was clicked on reloads its record (Odoo's
        onClose) and stays on that record; None: nothing more."""
        params = {
            "title": title,
            "message": self._bank_bridge_humanize(message),
            "type": notif_type,
            "sticky": sticky,
        }
        if then:
            params["next"] = CLOSE if then == "close" else then
        return {"type": "ir.actions.client", "tag": "display_notification", "params": params}

    @api.model
    def _bank_bridge_window(self, name, res_model, view_refs, **extra):
        """A window action the web client opens: ``views`` is always set
        (a list of (xml id or False, view type))."""
        views = [
            (self.env.ref(ref).id if ref else False, view_type)
            for ref, view_type in view_refs
        ]
        action = {
            "type": "ir.actions.act_window",
            "name": name,
            "res_model": res_model,
            "view_mode": ",".join(view_type for _ref, view_type in view_refs),
            "views": views,
        }
        action.update(extra)
        return action

    @api.model
    def _bank_bridge_transactions_window(self, name, domain, context=None):
        """Bank statement lines, in this addon's views (Community has none)."""
        return self._bank_bridge_window(
            name,
            "account.bank.statement.line",
            [("account_online_bridge.bank_bridge_statement_line_view_tree", LIST),
             ("account_online_bridge.bank_bridge_statement_line_view_form", "form")],
            domain=domain,
            context=dict(context or {}),
            search_view_id=[
                self.env.ref("account_online_bridge.bank_bridge_statement_line_view_search").id, "search"
            ],
        )
