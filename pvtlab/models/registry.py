"""Preset registry: a name -> config-builder dict filled by the ``register_model`` decorator (timm/fvcore style)."""

from __future__ import annotations

from typing import Any, Callable

from .config import PVTConfig
from .pvt import PyramidVisionTransformer, build_model

PresetFn = Callable[..., PVTConfig]
_PRESETS: dict[str, PresetFn] = {}


def register_model(fn: PresetFn) -> PresetFn:
    """Register ``fn`` under its own name; a name registered twice is a bug, so it raises."""
    if fn.__name__ in _PRESETS:
        raise ValueError(f"preset {fn.__name__!r} is registered twice")
    _PRESETS[fn.__name__] = fn
    return fn


def list_models() -> list[str]:
    """Names of every registered preset, sorted."""
    return sorted(_PRESETS)


def get_config(name: str, **overrides: Any) -> PVTConfig:
    """The preset's config with ``overrides`` applied last (caller wins); builds no weights."""
    if name not in _PRESETS:
        raise ValueError(f"unknown model {name!r}; allowed: {list_models()}")
    return _PRESETS[name](**overrides)


def create_model(name: str, **overrides: Any) -> PyramidVisionTransformer:
    """Build preset ``name`` with any ``PVTConfig`` field overridden (``num_classes`` included)."""
    return build_model(get_config(name, **overrides))
