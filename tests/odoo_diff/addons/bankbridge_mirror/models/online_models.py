# Field for field what src/models/*.rs declares (names, types, labels, required, readonly, defaults, help),
# and the link's buttons by name (see Link).
# `_log_access = False` with explicit create_date/write_date: the bridge has no create_uid/write_uid.
from odoo import fields, models


class Institution(models.Model):
    _name = "account.online.institution"
    _description = "Online Institution"
    _order = "name"
    _log_access = False

    name = fields.Char("Institution", required=True, readonly=True)
    code = fields.Char("Provider Code", required=True, readonly=True,
                       help="The aggregator's code of the bank: a Salt Edge provider code (e.g. fakebank_simple_xf) "
                            "or an Enable Banking bank (enablebanking:<country>:<name>)")
    country_code = fields.Char("Country", readonly=True,
                               help="ISO 3166-1 alpha-2; XF is Salt Edge's fake country")
    status = fields.Selection([("active", "Active"), ("inactive", "Inactive"), ("disabled", "Disabled")],
                              "Status", readonly=True)
    mode = fields.Selection([("oauth", "OAuth"), ("web", "Web"), ("api", "API"), ("file", "File")],
                            "Mode", readonly=True)
    max_consent_days = fields.Integer("Maximum Consent Days", readonly=True)
    supported_fetch_scopes = fields.Char("Supported Fetch Scopes", readonly=True)
    logo_url = fields.Char("Logo URL", readonly=True)
    provider = fields.Selection([("saltedge", "Salt Edge"), ("enablebanking", "Enable Banking")], "Aggregator",
                                required=True, readonly=True,
                                help="Who connects the bridge to this bank: Salt Edge or Enable Banking")
    create_date = fields.Datetime("Created on", readonly=True, default=fields.Datetime.now)
    write_date = fields.Datetime("Last Updated on", readonly=True, default=fields.Datetime.now)

    if hasattr(models, "Constraint"):  # Odoo 19
        _code_unique = models.Constraint("UNIQUE (code)", "The provider code must be unique.")
    else:
        _sql_constraints = [("code_unique", "UNIQUE (code)", "The provider code must be unique.")]


class Link(models.Model):
    _name = "account.online.link"
    _description = "Bank Connection"
    _order = "id"
    _log_access = False

    name = fields.Char("Name", help="Institution Name")
    institution_id = fields.Many2one("account.online.institution", "Institution", ondelete="set null")
    provider_code = fields.Char("Provider Code")
    state = fields.Selection([("connected", "Connected"), ("fetching", "Synchronization running"), ("error", "Error"),
                              ("disconnected", "Not Connected")],
                             "State", required=True, readonly=True, default="disconnected")
    auto_sync = fields.Boolean("Automatic synchronization", default=True,
                               help="If possible, we will try to automatically fetch new transactions for this record")
    last_refresh = fields.Datetime("Last refresh", readonly=True)
    next_refresh = fields.Datetime("Next synchronization", readonly=True)
    expiring_synchronization_date = fields.Date("Consent Expiry Date", readonly=True,
                                                help="Date when the consent for this connection expires")
    account_online_account_ids = fields.One2many("account.online.account", "account_online_link_id", "Accounts")
    company_id = fields.Many2one("res.company", "Company", required=True, default=lambda self: self.env.company)
    client_id = fields.Char("Client id", readonly=True, help="Salt Edge customer id")
    connection_identifier = fields.Char("Connection", readonly=True,
                                        help="The aggregator's connection: a Salt Edge connection id or an "
                                             "Enable Banking session id")
    error_message = fields.Text("Error Message", readonly=True)
    sync_progress = fields.Char("Synchronization progress", readonly=True,
                                help="What the running synchronization is doing")
    has_unlinked_accounts = fields.Boolean(
        "Has Unlinked Accounts", readonly=True, default=True,
        help="True if that connection still has accounts that are not linked to an Odoo journal")
    renewal_contact_email = fields.Char("Renewal Contact Email",
                                        help="Who is asked to renew the consent before it expires")
    provider = fields.Selection([("saltedge", "Salt Edge"), ("enablebanking", "Enable Banking")], "Aggregator",
                                required=True, readonly=True, default="saltedge",
                                help="Who connects the bridge to the bank: taken from the institution when the "
                                     "connection starts")
    create_date = fields.Datetime("Created on", readonly=True, default=fields.Datetime.now)
    write_date = fields.Datetime("Last Updated on", readonly=True, default=fields.Datetime.now)

    # The bridge's buttons, by name and parameters. What they do at Salt Edge is not compared; what is, is
    # how they begin, as Odoo's buttons begin: by reading their records (another company's record is an
    # access error, a deleted one a missing error).
    def _read_records(self):
        for record in self:
            record.name  # noqa: B018 - the read is the point
        return True

    def action_new_synchronization(self, institution_code=None, email=None, phone=None, return_to=None):
        return self._read_records()

    def action_update_credentials(self, return_to=None):
        return self._read_records()

    def action_fetch_accounts(self):
        return self._read_records()

    def action_fetch_transactions(self):
        return self._read_records()

    def action_revoke_consent(self):
        return self._read_records()

    def action_remove_connection(self):
        return self._read_records()


class Account(models.Model):
    _name = "account.online.account"
    _description = "Online Account"
    _order = "id"
    _log_access = False

    name = fields.Char("Account Name", required=True, help="Account Name as provided by third party provider")
    account_number = fields.Char("Account Number",
                                 help="Set if third party provider has the full account number (IBAN)")
    balance = fields.Float("Balance", readonly=True, help="Balance of the account sent by the third party provider")
    currency_code = fields.Char("Currency")
    online_identifier = fields.Char("Online Identifier", readonly=True,
                                    help="Id used to identify account by third party provider")
    account_online_link_id = fields.Many2one("account.online.link", "Bank Connection", required=True,
                                             ondelete="cascade")
    journal_id = fields.Integer("Journal", help="Id of the Odoo bank journal this account feeds")
    last_sync = fields.Date("Last synchronization")
    fetching_status = fields.Selection([("planned", "Planned"), ("waiting", "Waiting"),
                                        ("processing", "Processing"), ("done", "Done")],
                                       "Fetching Status", readonly=True)
    inverse_transaction_sign = fields.Boolean("Inverse Transaction Sign", default=False)
    company_id = fields.Many2one("res.company", "Company", required=True, default=lambda self: self.env.company)
    create_date = fields.Datetime("Created on", readonly=True, default=fields.Datetime.now)
    write_date = fields.Datetime("Last Updated on", readonly=True, default=fields.Datetime.now)

    if hasattr(models, "Constraint"):  # Odoo 19
        _identifier_unique = models.Constraint("UNIQUE (account_online_link_id, online_identifier)",
                                               "An online account is imported once per connection.")
    else:
        _sql_constraints = [("identifier_unique", "UNIQUE (account_online_link_id, online_identifier)",
                             "An online account is imported once per connection.")]


class Transaction(models.Model):
    _name = "account.online.transaction"
    _description = "Online Transaction"
    _rec_name = "payment_ref"
    _order = "date desc, id desc"
    _log_access = False

    online_transaction_identifier = fields.Char("Online Transaction Identifier", required=True)
    date = fields.Date("Date", required=True)
    amount = fields.Float("Amount", required=True)
    currency_code = fields.Char("Currency")
    payment_ref = fields.Char("Label")
    partner_name = fields.Char("Partner Name")
    account_number = fields.Char("Counterpart Account Number")
    status = fields.Selection([("posted", "Posted"), ("pending", "Pending")], "Status", required=True,
                              default="posted")
    online_account_id = fields.Many2one("account.online.account", "Online Account", required=True,
                                        ondelete="cascade")
    raw_data = fields.Text("Raw Data", readonly=True, help="The transaction as Salt Edge sent it (JSON)")
    company_id = fields.Many2one("res.company", "Company", required=True, default=lambda self: self.env.company)
    create_date = fields.Datetime("Created on", readonly=True, default=fields.Datetime.now)

    if hasattr(models, "Constraint"):  # Odoo 19
        _identifier_unique = models.Constraint("UNIQUE (online_account_id, online_transaction_identifier)",
                                               "A transaction is imported once per account.")
    else:
        _sql_constraints = [("identifier_unique", "UNIQUE (online_account_id, online_transaction_identifier)",
                             "A transaction is imported once per account.")]
