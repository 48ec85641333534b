"""Preset registry: a name -> config-builder dict filled by the ``register_model`` decorator (timm/fvcore style)."""

from __future__ import annotations

from typing import Any, Callable, Sequence, Union

import torch
from torch import nn

from .config import NUM_STAGES, DeviceLike, PVTConfig
from .pvt import build_model

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


def create_model(name: str, *, features_only: bool = False,
                 out_indices: Union[int, Sequence[int]] = tuple(range(NUM_STAGES)), device: DeviceLike = None,
                 dtype: torch.dtype | None = None, **overrides: Any) -> nn.Module:
    """Build preset ``name`` with any ``PVTConfig`` field overridden (``num_classes`` included).

    ``features_only``: a backbone for detection or segmentation necks, as timm's ``features_only`` gives: its
    forward returns the NCHW maps of the stages in ``out_indices`` (0..3, strides 4/8/16/32), and its
    ``feature_info`` has ``channels()``, ``reduction()`` and ``module_name()``. It is timm's ``FeatureGetterNet``
    around the model (stages after the last index and the head are dropped); its weights sit under ``model.``.
    ``device``/``dtype`` place the weights as they are made (``device="meta"``: shapes only, nothing allocated).
    """
    model = build_model(get_config(name, **overrides), device=device, dtype=dtype)
    if not features_only:
        return model
    from timm.models._features import FeatureGetterNet  # not re-exported by timm.models; timm builds with it

    return FeatureGetterNet(model, out_indices=list(out_indices) if not isinstance(out_indices, int) else out_indices)
