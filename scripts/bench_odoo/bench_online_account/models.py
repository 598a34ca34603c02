"""The fields of the bridge's `account.online.link` / `account.online.account`, as plain Odoo models, so
that Odoo answers the same `search_read` the bridge answers (Community has no such model; Enterprise's
lives in `account_online_synchronization`, which this module is not installed next to)."""

from odoo import fields, models


class OnlineLink(models.Model):
    _name = "account.online.link"
    _description = "Online link (benchmark peer)"

    name = fields.Char(required=True)


class OnlineAccount(models.Model):
    _name = "account.online.account"
    _description = "Online account (benchmark peer)"
    _order = "id"

    name = fields.Char(required=True)
    account_number = fields.Char()
    balance = fields.Float()
    currency_code = fields.Char()
    online_identifier = fields.Char()
    account_online_link_id = fields.Many2one("account.online.link", required=True, ondelete="cascade")
    journal_id = fields.Integer()
    last_sync = fields.Date()
    fetching_status = fields.Selection(
        [("planned", "Planned"), ("waiting", "Waiting"), ("processing", "Processing"), ("done", "Done")]
    )
    inverse_transaction_sign = fields.Boolean()
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company)
