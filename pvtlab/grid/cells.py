"""Grid expansion: a checked spec becomes its cells, each a resolved job (measure, paired block or training).

A cell's job holds every setting with its default written out (``pvtlab.defaults``, the recipes), so its id, the
hash of the job's identity, changes exactly when what it measures does: the same measurement asked for twice
(the paper's PVTv1-Small step is also a factorial combination) runs once and carries both names, a renamed
variant keeps its results, spelling a default out leaves the id alone and changing a default in code gives new
ids, so old rows go stale instead of passing as measured with the new setting. Option names a spec may give
are declared by the jobs (``pvtlab.measure.job.GROUP_OPTIONS``, ``pvtlab.train.job.OPTIONS``).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterable

from pvtlab.errors import UserInputError
from pvtlab.measure.job import GROUP_OPTIONS, RUN_OPTIONS, measure_job
from pvtlab.models import STYLE_FIELDS, PVTConfig, get_config, list_models
from pvtlab.train.job import OPTIONS as TRAIN_OPTIONS
from pvtlab.train.job import train_job
from pvtlab.train.resolution import default_eval_sizes

from .blocks import into_blocks
from .cell import Cell, Job, job_id
from .spec import AccuracySpec, Spec, bad
from .variants import Architecture, resolve_entries


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
    cells: dict[str, Cell] = {}
    for group in spec.measure:
        key = f"measure_options.{group}"
        options = spec.measure_options.get(group, {})
        _check_names(spec, key, options, (*GROUP_OPTIONS[group], *RUN_OPTIONS))
        for entry in selected.get(group, entries):
            for size in spec.resolutions[group]:
                _check_size(spec, f"resolutions.{group}", size, entry, entry.config)
                job = _built(spec, key, lambda: measure_job(group, entry.config, size, device=device, **options))
                _add(cells, entry, entry.model, group, job)
    for acc in spec.accuracy:
        _add_task(cells, spec, acc, selected.get("accuracy", entries), device,
                  data if data is not None and len(spec.accuracy) == 1 else acc.data)
    cells = into_blocks(cells, spec)
    ids = sorted(cells)
    spec_hash = hashlib.sha256(",".join(ids).encode()).hexdigest()[:12]
    return Grid(spec=spec, device=device, cells=tuple(cells.values()), spec_hash=spec_hash)


def _built(spec: Spec, key: str, build: Callable[[], Job]) -> Job:
    """``build()``, its bad values named under the spec key that gave them."""
    try:
        return build()
    except UserInputError as exc:
        raise UserInputError(f"{spec.where}: {key}: {exc}") from None


def _add_task(cells: dict[str, Cell], spec: Spec, acc: AccuracySpec, entries: list[Architecture], device: str,
              data: dict[str, Any]) -> None:
    """One accuracy task's cells: every entry x seed, with the same test sizes for every variant."""
    where = acc.key
    if acc.model not in list_models():
        raise bad(spec.where, f"{where}.model", acc.model, f"choose from {list_models()}")
    _check_names(spec, f"{where}.options", acc.options, TRAIN_OPTIONS)
    configs = [(entry, accuracy_config(entry, acc.model, acc.image_size)) for entry in entries]
    for entry, config in configs:
        _check_size(spec, f"{where}.image_size", acc.image_size, entry, config)
    smallest = max(config.min_input_size() for _, config in configs)
    if acc.eval_sizes is not None and min(acc.eval_sizes) < smallest:
        raise bad(spec.where, f"{where}.eval_sizes", min(acc.eval_sizes),
                  f"every variant needs inputs of at least {smallest} px")
    sizes = acc.eval_sizes if acc.eval_sizes is not None else default_eval_sizes(acc.image_size, smallest)
    given = {"epochs": acc.epochs, "steps": acc.steps, "recipe": acc.recipe, "nproc_per_node": acc.nproc_per_node,
             "checkpoint_every_s": acc.checkpoint_every_s, **acc.options}
    given = {k: v for k, v in given.items() if v is not None}
    for entry, config in configs:
        for seed in acc.seeds:
            job = _built(spec, where, lambda: train_job(config, data, image_size=acc.image_size, seed=seed,
                                                        eval_sizes=sizes, device=device, **given))
            cid = _add(cells, entry, acc.model, "accuracy", job, task=acc.task)
            if cells[cid].task != acc.task:
                raise bad(spec.where, where, acc.task, f"it trains what task {cells[cid].task!r} trains "
                                                       f"(same data and settings); drop one")


def _check_names(spec: Spec, key: str, options: dict[str, Any], allowed: Iterable[str]) -> None:
    """Option names must be ones the job takes (their values are checked when the job is built)."""
    allowed = list(allowed)
    for name in options:
        if name not in allowed:
            raise bad(spec.where, key, name, f"choose from {allowed}" if allowed else "this group takes no options",
                      allowed)


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


def _add(cells: dict[str, Cell], entry: Architecture, model: str, group: str, job: Job, task: str = "") -> str:
    """Add a cell, or when the same job is already there, record this entry as another name of it; returns
    its id."""
    cid = job_id(job)
    label = f"{entry.model}:{entry.variant}"
    old = cells.get(cid)
    if old is None:
        cells[cid] = Cell(cell_id=cid, group=group, model=model, variant=entry.variant, base_model=entry.model,
                          job=job.to_dict(), path_step=entry.path_step, in_factorial=entry.in_factorial, task=task)
        return cid
    if label == f"{old.base_model}:{old.variant}" or label in old.aliases:
        return cid
    path_step = old.path_step if old.path_step is not None else entry.path_step
    cells[cid] = Cell(**{**asdict(old), "aliases": (*old.aliases, label), "path_step": path_step,
                         "in_factorial": old.in_factorial or entry.in_factorial})
    return cid
