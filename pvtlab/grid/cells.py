"""Cells: the unit of work of a grid, each with a stable id.

A cell is (resolved config, measurement group, resolution, seed, resolved settings, data spec); its id is
a hash of exactly that, so the same measurement asked for twice (the paper's PVTv1-Small step is also a
factorial combination) runs once and carries both names, and a renamed variant keeps its results. The
model/variant names are labels, not identity.

Settings are *resolved* before hashing: every keyword argument of the function the cell is passed to
(``pvtlab.measure.measure`` or ``pvtlab.train.run_accuracy``) with its default read from that function's
signature (batch_size None -> ``pvtlab.measure.DEFAULT_BATCH`` of the device), and for accuracy cells the
training recipe as ``pvtlab.train.resolve_recipe`` resolves it. Spelling a default out leaves the id alone, and
changing a default in code gives new ids, so old rows go stale instead of passing as measured with the new setting.
Arguments that do not shape a result (threads, progress, timeouts, checkpointing) are left out.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from pvtlab.errors import UserInputError
from pvtlab.models import STYLE_FIELDS, PVTConfig, get_config, list_models

from .cell import RESOLVED_RECIPE, Cell, cell_id_of, cell_identity
from .spec import AccuracySpec, Spec, bad
from .variants import Architecture, resolve_entries

# Groups measured by pvtlab.measure on the device, whose result its settings (batch, repeats, ...) shape; params
# and FLOPs depend on none of them (accuracy cells hash their own settings, ``accuracy_settings``).
SETTINGS_GROUPS = ("memory", "throughput")

# Arguments the grid sets itself (per cell) and arguments that do not change a result: neither is an option a
# spec sets in measure_options/accuracy.options, nor part of a cell id.
_MEASURE_OWN = ("group", "config", "resolution", "device", "threads")
_ACCURACY_OWN = ("config", "data", "image_size", "seed", "threads", "progress", "device", "checkpoint_path")
NOT_IN_ID = ("timeout_s", "checkpoint_every_s")
# run_accuracy arguments the spec sets with its own accuracy keys (not in accuracy.options).
ACCURACY_KEYS_PASSED = ("epochs", "steps", "recipe", "nproc_per_node", "checkpoint_every_s", "eval_sizes")


@dataclass(frozen=True)
class Grid:
    """A checked spec expanded into its cells; ``spec_hash`` changes exactly when the set of cells does."""

    spec: Spec
    device: str
    cells: tuple[Cell, ...]
    spec_hash: str


def accuracy_config(entry: Architecture, model: str, image_size: int) -> PVTConfig:
    """The training model's sizes (``SIZE_FIELDS``) with the entry's ``STYLE_FIELDS``: toggles and v1/v2 style."""
    style = {name: getattr(entry.config, name) for name in STYLE_FIELDS}
    return get_config(model, img_size=image_size, **style)


def expand(spec: Spec, device: str, data: dict[str, Any] | None = None) -> Grid:
    """Every cell of ``spec`` in spec order, duplicates merged; ``data`` is the checked data spec."""
    entries = resolve_entries(spec)
    selected = _selections(spec, entries)
    _check_options(spec)
    cells: dict[str, Cell] = {}
    for group in spec.measure:
        options = spec.measure_options.get(group, {})
        settings = measure_settings(group, device, options)
        for entry in selected.get(group, entries):
            for size in spec.resolutions[group]:
                _check_size(spec, f"resolutions.{group}", size, entry, entry.config)
                _add(cells, entry, entry.model, entry.config, group, size, None, settings, None, options)
    for acc in spec.accuracy:
        _add_task(cells, spec, acc, selected.get("accuracy", entries), device,
                  data if data is not None and len(spec.accuracy) == 1 else acc.data)
    from .blocks import into_blocks

    cells = into_blocks(cells, spec)
    ids = sorted(cells)
    spec_hash = hashlib.sha256(",".join(ids).encode()).hexdigest()[:12]
    return Grid(spec=spec, device=device, cells=tuple(cells.values()), spec_hash=spec_hash)


def _add_task(cells: dict[str, Cell], spec: Spec, acc: AccuracySpec, entries: list[Architecture], device: str,
              data: dict[str, Any]) -> None:
    """One accuracy task's cells: every entry x seed, the task's resolved settings (test sizes too) in the id."""
    from pvtlab.train.resolution import default_eval_sizes

    where = acc.key
    if acc.model not in list_models():
        raise bad(spec.where, f"{where}.model", acc.model, f"choose from {list_models()}")
    configs = [(entry, accuracy_config(entry, acc.model, acc.image_size)) for entry in entries]
    for entry, config in configs:
        _check_size(spec, f"{where}.image_size", acc.image_size, entry, config)
    smallest = max(config.min_input_size() for _, config in configs)
    if acc.eval_sizes is not None and min(acc.eval_sizes) < smallest:
        raise bad(spec.where, f"{where}.eval_sizes", min(acc.eval_sizes),
                  f"every variant needs inputs of at least {smallest} px")
    sizes = acc.eval_sizes if acc.eval_sizes is not None else default_eval_sizes(acc.image_size, smallest)
    base = {**accuracy_settings(acc, device), "eval_sizes": list(sizes)}
    passed = {"checkpoint_every_s": acc.checkpoint_every_s} if acc.checkpoint_every_s is not None else {}
    for entry, config in configs:
        settings = {**base, RESOLVED_RECIPE: resolved_recipe(base, config, spec.where)}
        for seed in acc.seeds:
            cid = _add(cells, entry, acc.model, config, "accuracy", acc.image_size, seed, settings, data, passed,
                       task=acc.task)
            if cells[cid].task != acc.task:
                raise bad(spec.where, where, acc.task, f"it trains what task {cells[cid].task!r} trains "
                                                       f"(same data and settings); drop one")


def _defaults(function: Callable[..., Any], own: tuple[str, ...]) -> dict[str, Any]:
    """The keyword arguments of ``function`` a spec may set, with their defaults (its signature is their home)."""
    return {name: p.default for name, p in inspect.signature(function).parameters.items()
            if name not in own and p.default is not inspect.Parameter.empty}


def measure_settings(group: str, device: str, options: dict[str, Any]) -> dict[str, Any]:
    """What shapes a measurement of ``group``: device and every timing option with defaults filled in.

    Parameter and FLOP counts depend on none of them, so their settings are empty whatever a spec says
    (the options still reach ``measure``; see ``call_options``)."""
    if group not in SETTINGS_GROUPS:
        return {}
    from pvtlab.measure import measure

    resolved = {**_defaults(measure, _MEASURE_OWN), **options}
    if resolved.get("batch_size") is None:
        resolved["batch_size"] = default_batch(device)
    return {"device": device, **{k: v for k, v in resolved.items() if k not in NOT_IN_ID}}


def default_batch(device: str) -> int:
    """``pvtlab.measure``'s batch when none is given, for ``device``."""
    import torch

    from pvtlab.measure import DEFAULT_BATCH

    return int(DEFAULT_BATCH[torch.device(device).type])


def accuracy_defaults() -> dict[str, Any]:
    """run_accuracy's keyword defaults (its signature is their home)."""
    from pvtlab.train import run_accuracy

    return _defaults(run_accuracy, _ACCURACY_OWN)


def accuracy_settings(acc: Any, device: str) -> dict[str, Any]:
    """The arguments an accuracy cell passes to run_accuracy: the spec's, over the signature's defaults."""
    given = {"epochs": acc.epochs, "steps": acc.steps, "recipe": acc.recipe, "nproc_per_node": acc.nproc_per_node,
             **acc.options}
    resolved = {**accuracy_defaults(), **{k: v for k, v in given.items() if v is not None}}
    return {"device": device, **{k: v for k, v in resolved.items() if k not in NOT_IN_ID}}


def resolved_recipe(settings: dict[str, Any], config: PVTConfig, where: str) -> dict[str, Any]:
    """Every training value the cell will use, as run_accuracy resolves it (``pvtlab.train.resolve_recipe``).

    Most arguments default to None, "the recipe's value"; hashing the None alone would let a changed recipe
    default pass old rows as new, so the id covers the resolved recipe (epochs, lr, batch, ...) too."""
    from pvtlab.train.recipe import ARGUMENTS, resolve_recipe

    try:
        recipe = resolve_recipe(settings["recipe"], config, arguments={k: settings.get(k) for k in ARGUMENTS},
                                recipe_options=settings.get("recipe_options"), nproc=settings["nproc_per_node"])
    except UserInputError as exc:
        raise UserInputError(f"{where}: accuracy: {exc}") from None
    return asdict(recipe)


def _check_options(spec: Spec) -> None:
    """Option names must be keyword arguments of the function they are passed to (values it checks itself)."""
    from pvtlab.measure import measure
    from pvtlab.train import run_accuracy

    checks = [(f"measure_options.{g}", opts, measure, _MEASURE_OWN) for g, opts in spec.measure_options.items()]
    for acc in spec.accuracy:
        checks.append(("accuracy.options", acc.options, run_accuracy, _ACCURACY_OWN + ACCURACY_KEYS_PASSED))
    for key, options, function, own in checks:
        allowed = [name for name in inspect.signature(function).parameters if name not in own]
        for name in options:
            if name not in allowed:
                raise bad(spec.where, key, name, f"choose options of {function.__module__}.{function.__name__}: "
                                                 f"{allowed}", allowed)


def _selections(spec: Spec, entries: list[Architecture]) -> dict[str, list[Architecture]]:
    """The entries each group in ``only`` is limited to."""
    names = list(dict.fromkeys(entry.variant for entry in entries))
    selected = {}
    for group, wanted in spec.only.items():
        chosen = spec.path if wanted == "path" else wanted
        for name in chosen:
            if name not in names:
                raise bad(spec.where, f"only.{group}", name, f"name a variant or factorial combination: {names}")
        selected[group] = [entry for entry in entries if entry.variant in chosen]
    return selected


def _check_size(spec: Spec, key: str, size: int, entry: Architecture, config: PVTConfig) -> None:
    smallest = config.min_input_size()
    if size < smallest:
        raise bad(spec.where, key, size, f"{entry.model}:{entry.variant} needs inputs of at least {smallest} px")


def _add(cells: dict[str, Cell], entry: Architecture, model: str, config: PVTConfig, group: str, size: int,
         seed: int | None, settings: dict[str, Any], data: dict[str, Any] | None,
         passed: dict[str, Any], task: str = "") -> str:
    """Add a cell, or when the same measurement is already there, record this entry as another name of it;
    returns its id."""
    config_dict = config.to_dict()
    cid = cell_id_of(cell_identity(config_dict, group, size, seed, settings, data))
    label = f"{entry.model}:{entry.variant}"
    old = cells.get(cid)
    if old is None:
        cells[cid] = Cell(cell_id=cid, group=group, model=model, variant=entry.variant, base_model=entry.model,
                          config=config_dict, resolution=size, seed=seed, settings=dict(settings), data=data,
                          path_step=entry.path_step, in_factorial=entry.in_factorial, passed=dict(passed), task=task)
        return cid
    if label == f"{old.base_model}:{old.variant}" or label in old.aliases:
        return cid
    path_step = old.path_step if old.path_step is not None else entry.path_step
    cells[cid] = Cell(**{**asdict(old), "aliases": (*old.aliases, label), "path_step": path_step,
                         "in_factorial": old.in_factorial or entry.in_factorial})
    return cid

