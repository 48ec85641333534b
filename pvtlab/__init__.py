"""pvtlab: what each of PVTv2's improvements over PVTv1 buys, measured side by side."""

from __future__ import annotations

import importlib
from types import ModuleType

from .torch_settings import check_torchvision

check_torchvision()  # before timm imports it: a torch/torchvision build mismatch is named, not a raw traceback

from .models import PVTConfig, create_model, get_config, list_models, load_weights  # noqa: E402

__version__ = "0.1.0"

_SUBPACKAGES = ("models", "measure", "data", "train", "grid", "report", "stats", "errors")


def __getattr__(name: str) -> ModuleType:
    """``pvtlab.measure``, ``pvtlab.report``, ... load on first use, so ``import pvtlab`` stays light."""
    if name in _SUBPACKAGES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'pvtlab' has no attribute {name!r}")


__all__ = ["PVTConfig", "create_model", "get_config", "list_models", "load_weights", "__version__"]
