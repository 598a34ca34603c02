# Copyright 2025 bankbridge contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "Online Bank Synchronization through bankbridge",
    "summary": "Link bank accounts through a self-hosted bankbridge server "
    "(Salt Edge) and import their transactions",
    "version": "17.0.2.0.0",
    "category": "Accounting/Accounting",
    "author": "bankbridge contributors",
    "license": "LGPL-3",
    "depends": ["account"],
    "data": [
        "security/ir.model.access.csv",
        "security/bank_bridge_security.xml",
        "data/ir_cron.xml",
        "views/res_config_settings_views.xml",
        "views/bank_bridge_account_views.xml",
        "views/bank_bridge_link_views.xml",
        "views/account_journal_dashboard_views.xml",
        "wizards/bank_bridge_add_account_views.xml",
        "views/menus.xml",
    ],
    "assets": {
        "web.assets_backend": [
            "account_online_bridge/static/src/js/bank_bridge_live.esm.js",
        ],
    },
}
