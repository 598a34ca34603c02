from . import test_bank_bridge_settings
from . import test_bank_bridge_link
from . import test_bank_bridge_import
