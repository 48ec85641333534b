"""pvtlab: what each of PVTv2's improvements over PVTv1 buys, measured side by side."""

from .models import PVTConfig, create_model, get_config, list_models, load_weights

__version__ = "0.1.0"

__all__ = ["PVTConfig", "create_model", "get_config", "list_models", "load_weights", "__version__"]
