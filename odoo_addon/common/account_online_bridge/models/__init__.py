from . import bank_bridge_mixin
from . import res_config_settings
from . import res_company
from . import bank_bridge_link
from . import bank_bridge_account
from . import bank_bridge_import
from . import account_bank_statement_line
from . import account_journal
