from . import online_models
