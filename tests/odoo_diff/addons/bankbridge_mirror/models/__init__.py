from . import online_models
from . import test_users
