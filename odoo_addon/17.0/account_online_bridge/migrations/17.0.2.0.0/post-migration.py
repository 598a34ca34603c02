# Copyright 2025 bankbridge contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""17.0.2.0.0: the background import is one job for every account
(ir_cron_bank_bridge_job); the former per-account cron goes."""


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        """DELETE FROM ir_cron WHERE ir_actions_server_id IN (
               SELECT res_id FROM ir_model_data
                WHERE module = 'account_online_bridge' AND model = 'ir.actions.server'
                  AND name = 'ir_cron_bank_bridge_import_queued_ir_actions_server')"""
    )
    cr.execute(
        """DELETE FROM ir_act_server WHERE id IN (
               SELECT res_id FROM ir_model_data
                WHERE module = 'account_online_bridge' AND model = 'ir.actions.server'
                  AND name = 'ir_cron_bank_bridge_import_queued_ir_actions_server')"""
    )
    cr.execute(
        "DELETE FROM ir_model_data WHERE module = 'account_online_bridge' "
        "AND name IN ('ir_cron_bank_bridge_import_queued', 'ir_cron_bank_bridge_import_queued_ir_actions_server')"
    )
