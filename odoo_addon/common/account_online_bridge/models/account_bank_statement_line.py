# Copyright 2025 bankbridge contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models

from .bank_bridge_mixin import sql_constraints


class AccountBankStatementLine(models.Model):
    _inherit = "account.bank.statement.line"

    bank_bridge_account_id = fields.Many2one(
        comodel_name="bank.bridge.account",
        string="Online Account (bankbridge)",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
        copy=False,
    )
    bank_bridge_import_id = fields.Many2one(
        comodel_name="bank.bridge.import",
        string="Online import (bankbridge)",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
        copy=False,
    )
    bank_bridge_transaction_identifier = fields.Char(
        string="Online Transaction Identifier (bankbridge)",
        readonly=True,
        index="btree_not_null",
        copy=False,
    )

    sql_constraints(
        locals(),
        [
            (
                "bank_bridge_transaction_unique",
                "unique(bank_bridge_account_id, bank_bridge_transaction_identifier)",
                "This online transaction was already imported.",
            ),
        ],
    )

