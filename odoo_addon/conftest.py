"""Plain pytest must not collect the Odoo addons: their tests are Odoo
TransactionCase tests that only run inside Odoo (odoo-bin --test-enable)."""

collect_ignore_glob = ["*"]
