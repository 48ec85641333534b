"""Read and check a grid spec (``ablations/*.yaml``) before anything runs.

A spec is a small YAML document; every key is checked here, so a typo is a one-line ``UserInputError``
naming the key, the value and what is allowed, never a half-run grid. Checks that need a model config
(presets, toggle values, the smallest input a config accepts) live in ``variants.py`` and ``cells.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pvtlab.columns import COMPLEXITY_GROUPS
from pvtlab import defaults
from pvtlab.errors import (UserInputError, Rule, bad, check, folder_safe, known_keys, mapping, names, of_type, one_of,
                           one_or_per_key, positive_int, positive_number, scalar_mapping, scalars, seeds, sizes,
                           string)
from pvtlab.train.recipe import RECIPES

from .slurm.options import KEYS as SLURM_KEYS
from .slurm.options import check_slurm_block

# Each accuracy key's rule, in the order they are checked; ACCURACY_KEYS is this table's keys.
_ACCURACY_RULES: dict[str, Rule] = {
    "data": mapping("give a mapping such as {name: synthetic} or {name: imagefolder, root: PATH}", optional=False,
                    missing="give e.g. {name: synthetic}"),
    "model": of_type(str, "give a preset name", optional=False),
    "image_size": positive_int("give a positive integer (pixels)", optional=False),
    "epochs": positive_int(),
    "steps": positive_int("give a positive integer (optimizer steps)"),
    "seeds": seeds(),
    "options": scalar_mapping("give a mapping of training option -> value", optional=False),
    "recipe": one_of(RECIPES),
    "nproc_per_node": positive_int("give an integer >= 1 (processes)"),
    "checkpoint_every_s": positive_number("give a number of seconds > 0"),
    "eval_sizes": sizes(nullable=True)}  # None: the default test sizes around image_size
ACCURACY_KEYS = tuple(_ACCURACY_RULES)
# The grid's own choices for a spec's accuracy section. Training defaults (epochs, recipe, ...) are not here:
# a key left out stays None and takes the training job's default (pvtlab.defaults, the recipe: cells.py).
ACCURACY_DEFAULTS: dict[str, Any] = {"model": defaults.ACCURACY_MODEL, "image_size": defaults.ACCURACY_IMAGE_SIZE,
                                     "epochs": None, "steps": None, "seeds": list(defaults.ACCURACY_SEEDS),
                                     "options": {}, "recipe": None, "nproc_per_node": None,
                                     "checkpoint_every_s": None, "eval_sizes": None}
_TASKS = mapping("give a mapping: task name -> {data: ..., image_size: ...}", optional=False, non_empty=True,
                 keys=folder_safe("task names must be letters, digits, '_', '.', '-'"),
                 each=of_type(dict, f"give a mapping with keys {list(ACCURACY_KEYS)}", optional=False))


def _path_or_names(value: Any) -> bool:
    """What ``only.GROUP`` takes: the spec's path, or the variants named (checked against the names later)."""
    return value == "path" or (isinstance(value, list) and bool(value) and all(isinstance(n, str) for n in value))


# Each top-level key's rule, in the order they are checked; TOP_KEYS is this table's keys. Checks across keys
# (resolutions and measure, only and path, ...) follow in parse_spec once every value has its shape.
_TOP_RULES: dict[str, Rule] = {
    "name": folder_safe(),
    "description": string(),
    "models": names(),
    "factorial": mapping("give a mapping: toggle -> list of values", each=scalars()),
    "variants": mapping("give a mapping: name -> {preset: ..., field: value, ...}",
                        keys=Rule(lambda v: isinstance(v, str) and bool(v), "variant names must be non-empty strings",
                                  optional=False),
                        each=of_type(dict, "give a mapping of config fields (and optional preset)")),
    "path": names(),
    "resolutions": one_or_per_key(sizes()),
    "measure": names(entry=one_of(COMPLEXITY_GROUPS, optional=False), once="list each group once"),
    "measure_options": mapping("give a mapping: group -> {option: value}",
                               each=scalar_mapping("give a mapping of option -> value", optional=False)),
    "only": mapping("give a mapping: group -> path or a list of variant names",
                    each=Rule(_path_or_names, "give 'path' or a non-empty list of variant names", optional=False)),
    "accuracy": of_type(dict, f"give a mapping with keys {list(ACCURACY_KEYS)} or 'tasks'"),
    "slurm": of_type(dict, f"give a mapping with keys {list(SLURM_KEYS)}", nullable=False),
    "ref_variant": of_type(str, "give a variant name")}
TOP_KEYS = tuple(_TOP_RULES)


@dataclass(frozen=True)
class AccuracySpec:
    """One accuracy task: what every variant is trained on and how (``task`` is its label, not identity)."""

    task: str
    data: dict[str, Any]
    model: str
    image_size: int
    epochs: int | None  # at most one of epochs and steps is set; neither: the recipe's budget
    steps: int | None
    seeds: tuple[int, ...]
    options: dict[str, Any] = field(default_factory=dict)  # more training options (pvtlab.train.job.OPTIONS)
    recipe: str | None = None  # None: pvtlab.defaults.RECIPE
    nproc_per_node: int | None = None
    checkpoint_every_s: float | None = None
    eval_sizes: tuple[int, ...] | None = None  # test sizes; None: pvtlab.train.resolution's default around image_size
    key: str = "accuracy"  # where the task is written in the spec (accuracy.tasks.NAME), for error messages


@dataclass(frozen=True)
class Spec:
    """A checked spec; ``where`` names the file in error messages."""

    name: str
    where: str
    description: str = ""
    models: tuple[str, ...] = ()
    factorial: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)
    path: tuple[str, ...] = ()
    resolutions: dict[str, tuple[int, ...]] = field(default_factory=dict)
    measure: tuple[str, ...] = ()
    measure_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    only: dict[str, tuple[str, ...] | str] = field(default_factory=dict)
    accuracy: tuple[AccuracySpec, ...] = ()  # one per task; () when the spec trains nothing
    slurm: dict[str, Any] = field(default_factory=dict)  # resources per worker job with --slurm (slurm/options.py)
    ref_variant: str | None = None  # what timed ratios divide by (default: blocks.py picks; checked there)


def read_spec(path: str | Path) -> Spec:
    """Load ``path`` and check its keys and value types."""
    path = Path(path)
    where = str(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise UserInputError(f"cannot read spec '{path}': {exc.strerror or exc}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise UserInputError(f"{where}{line}: not valid YAML ({problem})") from None
    if not isinstance(raw, dict):
        raise UserInputError(f"{where}: a spec must be a YAML mapping of keys (name, models, ...), "
                             f"got {type(raw).__name__}")
    return parse_spec(raw, where=where, default_name=path.stem)


def parse_spec(raw: dict[str, Any], *, where: str, default_name: str) -> Spec:
    """Check a spec given as a dict (what ``yaml.safe_load`` returns): known keys, each value by its rule in
    ``_TOP_RULES``, then the checks across keys."""
    known_keys(raw, TOP_KEYS, where, "spec key")
    raw = {"name": default_name, **raw}
    check(raw, _TOP_RULES, where)
    models, path, measure = (tuple(raw.get(key, ())) for key in ("models", "path", "measure"))
    factorial = {str(axis): tuple(values) for axis, values in (raw.get("factorial") or {}).items()}
    variants = {name: dict(overrides or {}) for name, overrides in (raw.get("variants") or {}).items()}
    resolutions = _resolutions(raw, measure, where)
    measure_options = _by_group(raw, "measure_options", measure, "listed in 'measure'", where)
    accuracy = _tasks(raw["accuracy"], where) if raw.get("accuracy") is not None else ()
    only = _by_group(raw, "only", measure + (("accuracy",) if accuracy else ()), "this spec runs", where)
    for group, chosen in only.items():
        if chosen == "path" and not path:
            raise bad(where, f"only.{group}", chosen, "the spec has no 'path'; list variant names instead")
    if not measure and not accuracy:
        raise UserInputError(f"{where}: the spec has neither 'measure' nor 'accuracy'; give at least one")
    if (factorial or any("preset" not in v for v in variants.values())) and not models:
        raise UserInputError(f"{where}: 'models' is missing or empty; factorial combinations and variants "
                             f"without 'preset' are built on each model, so list at least one preset")
    if not factorial and not variants and not models:
        raise UserInputError(f"{where}: nothing to build; give 'models', 'factorial' or 'variants'")
    slurm = check_slurm_block(raw["slurm"], where) if "slurm" in raw else {}
    return Spec(name=raw["name"], where=where, description=raw.get("description", ""), models=models,
                factorial=factorial, variants=variants, path=path, resolutions=resolutions, measure=measure,
                measure_options={g: dict(opts) for g, opts in measure_options.items()},
                only={g: n if n == "path" else tuple(n) for g, n in only.items()}, accuracy=accuracy, slurm=slurm,
                ref_variant=raw.get("ref_variant"))


def _by_group(raw: dict[str, Any], key: str, groups: tuple[str, ...], which: str, where: str) -> dict[str, Any]:
    """A mapping keyed by group (``measure_options``, ``only``): every key must be a group ``which``."""
    value = raw.get(key) or {}
    for group in value:
        if group not in groups:
            raise bad(where, key, group, f"keys must be groups {which}: {list(groups)}", groups)
    return value


def _resolutions(raw: dict[str, Any], measure: tuple[str, ...], where: str) -> dict[str, tuple[int, ...]]:
    """A list (every group) or a mapping group -> list, so FLOPs and memory can go higher than timing."""
    if not measure:
        if "resolutions" in raw:
            raise UserInputError(f"{where}: 'resolutions' is given but 'measure' is not; list the groups "
                                 f"to measure ({list(COMPLEXITY_GROUPS)}) or drop 'resolutions'")
        return {}
    if "resolutions" not in raw:
        raise UserInputError(f"{where}: 'resolutions' is missing; 'measure' needs input sizes in pixels")
    value = raw["resolutions"]
    if not isinstance(value, dict):
        return {g: tuple(value) for g in measure}
    _by_group(raw, "resolutions", measure, "listed in 'measure'", where)
    missing = [g for g in measure if g not in value]
    if missing:
        raise UserInputError(f"{where}: resolutions has no sizes for group(s) {missing}; "
                             f"give a list for each group in 'measure' or one list for all")
    return {g: tuple(value[g]) for g in measure}


def _tasks(value: dict[str, Any], where: str) -> tuple[AccuracySpec, ...]:
    """``accuracy:`` as one task (named after its data) or ``{tasks: {NAME: {...}}, <defaults for every task>}``."""
    if "tasks" not in value:
        data = value.get("data")
        return (_accuracy(value, where, data.get("name", "") if isinstance(data, dict) else "", "accuracy"),)
    known_keys(value, ("tasks", *ACCURACY_KEYS), where, "accuracy key")
    check(value, {"tasks": _TASKS}, where, "accuracy")
    shared = {k: v for k, v in value.items() if k != "tasks"}
    parsed = []
    for name, own in value["tasks"].items():
        key = f"accuracy.tasks.{name}"
        known_keys(own, ACCURACY_KEYS, where, f"{key} key")
        parsed.append(_accuracy(_task_over(shared, own), where, name, key))
    return tuple(parsed)


def _task_over(shared: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    """A task's keys over the shared defaults: options merge key by key, and a task's own budget (epochs or
    steps) replaces the shared one."""
    merged = {**shared, **own}
    for budget, other in (("epochs", "steps"), ("steps", "epochs")):
        if budget in own and other not in own:
            merged.pop(other, None)
    if isinstance(shared.get("options"), dict) and isinstance(own.get("options"), dict):
        merged["options"] = {**shared["options"], **own["options"]}
    return merged


def _accuracy(value: dict[str, Any], where: str, task: str, prefix: str) -> AccuracySpec:
    """One task's keys over ``ACCURACY_DEFAULTS``, each checked by its rule in ``_ACCURACY_RULES``."""
    known_keys(value, ACCURACY_KEYS, where, f"{prefix} key")
    merged = {**ACCURACY_DEFAULTS, **value}
    check(merged, _ACCURACY_RULES, where, prefix)
    epochs, steps, every, tests = merged["epochs"], merged["steps"], merged["checkpoint_every_s"], merged["eval_sizes"]
    if epochs is not None and steps is not None:
        raise bad(where, f"{prefix}.steps", steps, f"give epochs ({epochs}) or steps, not both")
    return AccuracySpec(task=task, data=dict(merged["data"]), model=merged["model"], image_size=merged["image_size"],
                        epochs=epochs, steps=steps, seeds=tuple(merged["seeds"]), options=dict(merged["options"]),
                        recipe=merged["recipe"], nproc_per_node=merged["nproc_per_node"],
                        checkpoint_every_s=float(every) if every is not None else None,
                        # the training size is always one of them; sorted, so the order is not identity
                        eval_sizes=tuple(sorted({*tests, merged["image_size"]})) if tests is not None else None,
                        key=prefix)
