"""PVT models: one config (config.py), small modules, registered presets (presets.py), weight loading (weights.py)."""

from . import presets  # noqa: F401  (registers the presets)
from .config import PVTConfig
from .pvt import PyramidVisionTransformer, build_model
from .registry import create_model, get_config, list_models, register_model
from .weights import LoadReport, load_weights

# Fields that set a model's size, and every other architecture field (the toggles and v1/v2 style choices).
SIZE_FIELDS = ("embed_dims", "num_heads", "mlp_ratios", "depths", "sr_ratios", "pool_size", "patch_strides")
STYLE_FIELDS = ("patch_embed", "pos_embed", "ffn", "attention", "head_pool", "stage_norm",
                "ffn_relu", "conv_init", "qkv_bias")

__all__ = ["PVTConfig", "PyramidVisionTransformer", "build_model", "create_model", "get_config", "list_models",
           "register_model", "load_weights", "LoadReport", "SIZE_FIELDS", "STYLE_FIELDS"]
