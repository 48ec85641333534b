"""``sweep``: ``measure`` over configs x input sizes x groups in one call, as a DataFrame (a complexity curve
from Python, with the same numbers a grid records for the same cells)."""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Union

import pandas as pd

from pvtlab import columns
from pvtlab.columns import COMPLEXITY_GROUPS
from pvtlab.errors import UserInputError
from pvtlab.models import PVTConfig, get_config, list_models

from .conventions import ImageSize, resolution_of
from .run import measure

Configs = Union[Mapping[str, PVTConfig], Iterable[str]]
LEADING = ("model", "variant", "group", "resolution")


def _named_configs(configs: Configs) -> dict[str, PVTConfig]:
    if isinstance(configs, Mapping):
        named = dict(configs)
    else:
        names = [configs] if isinstance(configs, str) else list(configs)
        unknown = [name for name in names if name not in list_models()]
        if unknown:
            raise UserInputError(f"model {unknown[0]!r} is not allowed; choose from {list_models()}")
        named = {name: get_config(name) for name in names}
    for name, config in named.items():
        if not isinstance(config, PVTConfig):
            raise UserInputError(f"configs[{name!r}] is a {type(config).__name__}, not allowed; give a PVTConfig")
    return named


def preset_of(config: PVTConfig) -> str:
    """The registered preset ``config`` equals, or "" when it is a variant of none."""
    return next((name for name in list_models() if get_config(name) == config), "")


def sweep(configs: Configs, sizes: Union[int, Iterable[ImageSize]],
          groups: Union[str, Iterable[str]] = ("params", "flops"), **measure_options: Any) -> pd.DataFrame:
    """One row per config x size x group: ``model`` (its preset, "" for none), ``variant`` (the name given, or the
    preset name), ``group``, ``resolution``, then ``measure``'s columns (a failed measurement is a failed row).

    ``configs``: name -> ``PVTConfig``, or preset names. ``sizes``: one side or a list of sizes, each a side or an
    (H, W) pair (so ``(224, 512)`` is two square sizes; a non-square one goes in a list: ``[(384, 512)]``).
    ``measure_options`` go to every ``measure`` call.
    Parameters do not depend on the input size: they are measured once per config and repeated per size.
    """
    named = _named_configs(configs)
    size_list = [sizes] if isinstance(sizes, int) else list(sizes)
    group_list = [groups] if isinstance(groups, str) else list(groups)
    for group in group_list:
        if group not in COMPLEXITY_GROUPS:
            raise UserInputError(f"group {group!r} is not allowed; choose from {list(COMPLEXITY_GROUPS)}")
    rows = []
    for variant, config in named.items():
        model = preset_of(config)
        for group in group_list:
            once = measure(group, config, size_list[0], **measure_options) if group == "params" else None
            for size in size_list:
                row = dict(once) if once is not None else measure(group, config, size, **measure_options)
                if once is not None:
                    row["resolution"] = resolution_of(size)
                rows.append({"model": model, "variant": variant, **row})
    frame = pd.DataFrame(rows)
    order = [*LEADING, *(name for name in columns.COLUMNS if name in frame and name not in LEADING)]
    return frame[order + [name for name in frame.columns if name not in order]]
