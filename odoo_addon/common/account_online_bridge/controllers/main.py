# Copyright 2025 bankbridge contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

from odoo import http
from odoo.exceptions import AccessError, MissingError, UserError
from odoo.http import request

from ..models.bank_bridge_mixin import check_read_access

_logger = logging.getLogger(__name__)


class BankBridgeController(http.Controller):
    @http.route("/bank_bridge/return/<int:link_id>", type="http", auth="user", methods=["GET"])
    def bank_bridge_return(self, link_id, **_kwargs):
        """The bank's page sends the browser back here (through the bridge):
        read the connection from the bridge once, follow it in the
        background until the bank has answered, and open its form."""
        link = request.env["bank.bridge.link"].browse(link_id)
        try:
            check_read_access(link)
            link._bank_bridge_came_back()
        except (AccessError, MissingError):
            return request.redirect("/web")
        except UserError as err:
            _logger.warning("bank bridge: back from the bank on connection %s: %s", link_id, err)
        return request.redirect(link._bank_bridge_form_url())
