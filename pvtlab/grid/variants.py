"""Turn a spec's ``models``, ``factorial`` and ``variants`` into concrete (model, variant, config) entries.

A factorial combination or a variant without ``preset`` is crossed with every model; a variant with
``preset`` is built from that preset only. ``position`` is the grid's name for the CFFN choice, which the
config spells as two fields (``pvtlab.toggles.POSITIONS``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from pvtlab.errors import UserInputError, did_you_mean
from pvtlab.models import STYLE_FIELDS, PVTConfig, get_config, list_models
from pvtlab.toggles import POSITIONS, TOGGLES

from .spec import Spec, bad

# Axes whose values name themselves in a variant name ("overlap", "conv_ffn", "linear_sra").
_SELF_NAMING = tuple(TOGGLES)
FACTORIAL_AXES = ("position", *STYLE_FIELDS)
PLAIN = "preset"  # the variant name of a model measured as it is


@dataclass(frozen=True)
class Architecture:
    """One architecture of the grid: ``config`` is ``model``'s preset with the variant's overrides."""

    model: str
    variant: str
    config: PVTConfig
    in_factorial: bool
    path_step: int | None


def position_of(config: PVTConfig) -> str:
    """The grid's ``position`` label of a config: pos_embed, conv_ffn or other (a mixed setting)."""
    for label, fields in POSITIONS.items():
        if all(getattr(config, k) == v for k, v in fields.items()):
            return label
    return "other"


def resolve_entries(spec: Spec) -> list[Architecture]:
    """Every entry in spec order: factorial combinations first, then named variants, each per model."""
    known = list_models()
    for model in spec.models:
        if model not in known:
            raise bad(spec.where, "models", model, f"choose from {known}", known)
    combos = _factorial_combos(spec)
    combo_names = [name for name, _ in combos]
    names = combo_names + list(spec.variants)
    clash = sorted(set(combo_names) & set(spec.variants))
    if clash:
        raise bad(spec.where, "variants", clash[0], f"it is also a factorial combination name ({combo_names})")
    for name in spec.path:
        if name not in names:
            raise bad(spec.where, "path", name, f"name a variant or factorial combination: {names}", names)
    steps = {name: i for i, name in enumerate(spec.path)}
    entries = []
    for name, overrides in combos:
        for model in spec.models:
            config = _build(spec, model, overrides, f"factorial ({name})")
            entries.append(Architecture(model, name, config, name != PLAIN, steps.get(name)))
    for name, raw in spec.variants.items():
        overrides = dict(raw)
        preset = overrides.pop("preset", None)
        if preset is not None and preset not in known:
            raise bad(spec.where, f"variants.{name}.preset", preset, f"choose from {known}", known)
        _check_fields(spec, f"variants.{name}", overrides)
        overrides = _expand_position(spec, f"variants.{name}", overrides)
        for model in [preset] if preset is not None else spec.models:
            config = _build(spec, model, overrides, f"variants.{name}")
            entries.append(Architecture(model, name, config, False, steps.get(name)))
    return entries


def _factorial_combos(spec: Spec) -> list[tuple[str, dict[str, Any]]]:
    """(name, overrides) per combination, in the order the axes and values are written.

    A spec with neither factorial nor variants measures its models as they are: one combination, "preset".
    """
    axes = spec.factorial
    if not axes:
        return [] if spec.variants else [(PLAIN, {})]
    for axis in axes:
        if axis not in FACTORIAL_AXES:
            raise bad(spec.where, "factorial", axis, f"choose toggles from {list(FACTORIAL_AXES)}", FACTORIAL_AXES)
    if "position" in axes:
        for axis in ("pos_embed", "ffn"):
            if axis in axes:
                raise bad(spec.where, f"factorial.{axis}", list(axes[axis]),
                          "'position' already sets pos_embed and ffn; use one or the other")
        for value in axes["position"]:
            if value not in POSITIONS:
                raise bad(spec.where, "factorial.position", value, f"choose from {list(POSITIONS)}", POSITIONS)
    combos = []
    for values in itertools.product(*axes.values()):
        parts, overrides = [], {}
        for axis, value in zip(axes, values):
            parts.append(str(value) if axis in _SELF_NAMING else f"{axis}={str(value).lower()}")
            overrides.update(POSITIONS[value] if axis == "position" else {axis: value})
        combos.append(("/".join(parts), overrides))
    return combos


def _check_fields(spec: Spec, key: str, overrides: dict[str, Any]) -> None:
    allowed = ["preset", "position", *PVTConfig.field_names()]
    for name, value in overrides.items():
        if name not in allowed:
            raise UserInputError(f"{spec.where}: {key} field {name!r} is not allowed; allowed: {allowed}"
                                 f"{did_you_mean(name, allowed)}")
        if isinstance(value, dict):
            raise bad(spec.where, f"{key}.{name}", value, "give a value or a list of per-stage values")


def _expand_position(spec: Spec, key: str, overrides: dict[str, Any]) -> dict[str, Any]:
    if "position" not in overrides:
        return overrides
    value = overrides.pop("position")
    if value not in POSITIONS:
        raise bad(spec.where, f"{key}.position", value, f"choose from {list(POSITIONS)}", POSITIONS)
    for field in ("pos_embed", "ffn"):
        if field in overrides:
            raise bad(spec.where, f"{key}.{field}", overrides[field], "'position' already sets pos_embed and ffn")
    return {**overrides, **POSITIONS[value]}


def _build(spec: Spec, model: str, overrides: dict[str, Any], key: str) -> PVTConfig:
    try:
        return get_config(model, **overrides)
    except (ValueError, TypeError) as exc:
        raise UserInputError(f"{spec.where}: {key} on {model}: {exc}") from None
