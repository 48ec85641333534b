"""The grid's structure as the report reads it from grid.json: variants, factorial, path, aliases, tasks.

Written when the grid starts, from the checked spec and its expanded cells, so the report looks the structure
up instead of working it out again from the rows: each path step's setting ("+ OPE") and paper model, every
other name of a cell measured once for two names, and the factorial's levels in order.
"""

from __future__ import annotations

import itertools
from typing import Any

from pvtlab.models import STYLE_FIELDS
from pvtlab.naming import paper_model, step_setting

from .blocks import arm_id
from .cells import Cell, Grid
from .variants import Architecture, _factorial_combos, resolve_entries

STRUCTURE_VERSION = 1


def grid_structure(grid: Grid) -> dict[str, Any]:
    """The structure of ``grid`` as plain JSON data (the ``structure`` key of grid.json)."""
    spec = grid.spec
    entries = resolve_entries(spec)
    return {"version": STRUCTURE_VERSION,
            "variants": [_variant(entry, spec.variants.get(entry.variant)) for entry in entries],
            "factorial": _factorial(grid),
            "path": _path(spec.path, entries),
            "aliases": _aliases(grid.cells),
            "tasks": _tasks(grid.cells),
            "reference": _reference(grid.cells)}


def _variant(entry: Architecture, raw: dict[str, Any] | None) -> dict[str, Any]:
    overrides = {k: v for k, v in (raw or {}).items() if k != "preset"}
    return {"variant": entry.variant, "model": entry.model, "preset": (raw or {}).get("preset"),
            "overrides": overrides, "config": entry.config.to_dict(), "in_factorial": entry.in_factorial}


def _factorial(grid: Grid) -> dict[str, Any]:
    """Toggles with their levels in order, and each combination's levels and variant name."""
    axes = grid.spec.factorial
    combos = _factorial_combos(grid.spec) if axes else []
    levels = itertools.product(*axes.values())  # the order _factorial_combos names them in
    return {"toggles": {axis: list(values) for axis, values in axes.items()},
            "combinations": [{"variant": name, "levels": dict(zip(axes, values))}
                             for (name, _), values in zip(combos, levels)]}


def _path(names: tuple[str, ...], entries: list[Architecture]) -> list[dict[str, Any]]:
    """Path steps in order, per model: the setting against the step before (``before``: on the same model when a
    step is built on several) and the paper model, both for the full-size config and for a trained proxy."""
    steps = [[e for e in entries if e.variant == name] for name in names]
    per_model = any(len(found) > 1 for found in steps)
    out = []
    for index, found in enumerate(steps):
        models = {}
        for entry in found:
            before = _before(steps[:index], entry.model if per_model else None)
            models[entry.model] = {"before": before[0] if before else None,
                                   **_step(entry, before[1] if before else None)}
        out.append({"step": index, "variant": names[index], "models": models})
    return out


def _before(earlier: list[list[Architecture]], model: str | None) -> tuple[int, Architecture] | None:
    """The step before (its index and entry): the last earlier one, on ``model`` unless it is None."""
    for index in reversed(range(len(earlier))):
        match = [e for e in earlier[index] if model is None or e.model == model]
        if match:
            return index, match[0]
    return None


def _step(entry: Architecture, before: Architecture | None) -> dict[str, str]:
    config = entry.config.to_dict()
    if before is None:
        return {"setting": "baseline", "trained_setting": "baseline", "paper": paper_model(config, entry.model),
                "trained_paper": paper_model(config, entry.model, style_only=True)}
    previous = before.config.to_dict()
    return {"setting": step_setting(previous, config),
            "trained_setting": step_setting(_style(previous), _style(config)),
            "paper": paper_model(config, entry.model),
            "trained_paper": paper_model(config, entry.model, style_only=True)}


def _style(config: dict[str, Any]) -> dict[str, Any]:
    return {name: config[name] for name in STYLE_FIELDS}


def _every_cell(cells: tuple[Cell, ...]) -> list[Cell]:
    return [arm for cell in cells for arm in (cell.arm_cells() or (cell,))]


def _aliases(cells: tuple[Cell, ...]) -> dict[str, list[list[str]]]:
    """Cell id -> its other (model, variant) names, for cells measured once for several names."""
    return {cell.cell_id: [alias.split(":", 1) for alias in cell.aliases]
            for cell in _every_cell(cells) if cell.aliases}


def _tasks(cells: tuple[Cell, ...]) -> dict[str, dict[str, Any]]:
    """Accuracy task -> data name, training size and test sizes."""
    out: dict[str, dict[str, Any]] = {}
    for cell in cells:
        if cell.group == "accuracy" and cell.task not in out:
            out[cell.task] = {"data": (cell.data or {}).get("name"), "image_size": cell.resolution,
                              "eval_sizes": list(cell.job["eval_sizes"])}
    return out


def _reference(cells: tuple[Cell, ...]) -> dict[str, str] | None:
    """The (model, variant) timed ratios divide by; None when nothing is timed in blocks."""
    for cell in cells:
        ref = cell.job.get("ref")
        if ref and cell.arms:
            arm = next(a for a in cell.arms if a["cell_id"] == arm_id(cell.cell_id, ref))
            return {"model": arm["base_model"], "variant": arm["variant"]}
    return None
