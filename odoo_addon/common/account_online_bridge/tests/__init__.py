from . import test_bank_bridge_settings
from . import test_bank_bridge_link
from . import test_bank_bridge_import
from . import test_bank_bridge_balances
from . import test_bank_bridge_journey_rules
from . import test_bank_bridge_concurrency
from . import test_journey
