# Copyright 2025 bankbridge contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "Online Bank Synchronization through bankbridge",
    "summary": "Connect bank accounts through a self-hosted bankbridge server "
    "and import their transactions, with the bank's balances",
    "version": "19.0.2.0.0",
    "category": "Accounting/Accounting",
    "author": "bankbridge contributors",
    "license": "LGPL-3",
    "depends": ["account"],
    "data": [
        "security/ir.model.access.csv",
        "security/bank_bridge_security.xml",
        "data/ir_cron.xml",
        "views/res_config_settings_views.xml",
        # Lists in the serie's idiom, then their columns (the same in every serie).
        "serie/list_views.xml",
        "views/list_views.xml",
        "views/bank_bridge_account_views.xml",
        "views/bank_bridge_link_views.xml",
        "serie/journal_dashboard_views.xml",
        "wizards/bank_bridge_add_account_views.xml",
        "views/menus.xml",
    ],
    "assets": {
        "web.assets_backend": [
            "account_online_bridge/static/src/js/bank_bridge_live.esm.js",
        ],
    },
}
