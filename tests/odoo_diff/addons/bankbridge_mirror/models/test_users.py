# For the differential tests only: what a test needs to log in as each user over JSON-2 (Odoo 19) without a
# browser. Odoo's own way (the "New API Key" wizard) asks for the password again in an interactive session.
from odoo import models


class Users(models.Model):
    _inherit = "res.users"

    def bankbridge_mirror_api_key(self):
        """A global API key (every RPC scope, no expiry) for the calling user."""
        return self.env["res.users.apikeys"].sudo()._generate(None, "bankbridge differential test", None)
