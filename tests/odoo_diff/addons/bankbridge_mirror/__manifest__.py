# The bridge's four account.online.* models as a plain Odoo module (installs in 17 and 19): the same fields, types, defaults,
# record names and orders, and no business logic, so that Odoo's generic ORM answers the differential test
# (tests/python/test_odoo_differential.py) for the same data the bridge holds.
{
    "name": "bankbridge mirror (differential test)",
    "version": "1.0.0",
    "author": "bankbridge",
    "depends": ["base"],
    "data": ["security/ir.model.access.csv", "security/ir_rule.xml"],
    "license": "LGPL-3",
    "installable": True,
}
