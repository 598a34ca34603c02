from . import bank_bridge_add_account
