"""Read and check a grid spec (``ablations/*.yaml``) before anything runs.

A spec is a small YAML document; every key is checked here, so a typo is a one-line ``UserInputError``
naming the key, the value and what is allowed, never a half-run grid. Checks that need a model config
(presets, toggle values, the smallest input a config accepts) live in ``variants.py`` and ``cells.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pvtlab.columns import COMPLEXITY_GROUPS
from pvtlab.errors import UserInputError, did_you_mean
from pvtlab.train.recipe import RECIPES

from pvtlab.schema import Rule, bad, check, check_scalars, is_int, of_type, one_of, positive_int, positive_number
from .slurm.options import check_slurm_block

TOP_KEYS = ("name", "description", "models", "factorial", "variants", "path", "resolutions", "measure",
            "measure_options", "only", "accuracy", "slurm", "ref_variant")
ACCURACY_KEYS = ("data", "model", "image_size", "epochs", "steps", "seeds", "options", "recipe", "nproc_per_node",
                 "checkpoint_every_s", "eval_sizes")
# The grid's own choices for a spec's accuracy section. Training defaults (epochs, recipe, ...) are not here:
# a key left out stays None and takes run_accuracy's default (cells.accuracy_settings).
ACCURACY_DEFAULTS: dict[str, Any] = {"model": "pvt_nano", "image_size": 48, "epochs": None, "steps": None,
                                     "seeds": [0, 1, 2], "options": {}, "recipe": None, "nproc_per_node": None,
                                     "checkpoint_every_s": None, "eval_sizes": None}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class AccuracySpec:
    """One accuracy task: what every variant is trained on and how (``task`` is its label, not identity)."""

    task: str
    data: dict[str, Any]
    model: str
    image_size: int
    epochs: int | None  # at most one of epochs and steps is set; neither: run_accuracy's default budget
    steps: int | None
    seeds: tuple[int, ...]
    options: dict[str, Any] = field(default_factory=dict)  # more keyword arguments of run_accuracy
    recipe: str | None = None  # None: run_accuracy's default
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
    """Check a spec given as a dict (what ``yaml.safe_load`` returns)."""
    _known_keys(raw, TOP_KEYS, where, "spec key")
    name = raw.get("name", default_name)
    if not isinstance(name, str) or not _NAME.match(name):
        raise bad(where, "name", name, "give a folder-safe name: letters, digits, '_', '.', '-'")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise bad(where, "description", description, "give a string")
    models = tuple(_str_list(raw, "models", where)) if "models" in raw else ()
    factorial = _factorial(raw.get("factorial", {}), where)
    variants = _variants(raw.get("variants", {}), where)
    path = tuple(_str_list(raw, "path", where)) if "path" in raw else ()
    measure = tuple(_str_list(raw, "measure", where)) if "measure" in raw else ()
    for group in measure:
        if group not in COMPLEXITY_GROUPS:
            raise bad(where, "measure", group, f"choose from {list(COMPLEXITY_GROUPS)}", COMPLEXITY_GROUPS)
    if len(set(measure)) != len(measure):
        raise bad(where, "measure", list(measure), "list each group once")
    resolutions = _resolutions(raw, measure, where)
    measure_options = _measure_options(raw.get("measure_options", {}), measure, where)
    accuracy = _tasks(raw["accuracy"], where) if raw.get("accuracy") is not None else ()
    only = _only(raw.get("only", {}), measure + (("accuracy",) if accuracy else ()), bool(path), where)
    ref_variant = raw.get("ref_variant")
    if ref_variant is not None and not isinstance(ref_variant, str):
        raise bad(where, "ref_variant", ref_variant, "give a variant name")
    if not measure and not accuracy:
        raise UserInputError(f"{where}: the spec has neither 'measure' nor 'accuracy'; give at least one")
    if (factorial or any("preset" not in v for v in variants.values())) and not models:
        raise UserInputError(f"{where}: 'models' is missing or empty; factorial combinations and variants "
                             f"without 'preset' are built on each model, so list at least one preset")
    if not factorial and not variants and not models:
        raise UserInputError(f"{where}: nothing to build; give 'models', 'factorial' or 'variants'")
    slurm = check_slurm_block(raw["slurm"], where) if "slurm" in raw else {}
    return Spec(name=name, where=where, description=description, models=models, factorial=factorial,
                variants=variants, path=path, resolutions=resolutions, measure=measure,
                measure_options=measure_options, only=only, accuracy=accuracy, slurm=slurm,
                ref_variant=ref_variant)


def _known_keys(mapping: dict[str, Any], allowed: tuple[str, ...], where: str, what: str) -> None:
    for key in mapping:
        if key not in allowed:
            raise UserInputError(f"{where}: {what} {key!r} is not allowed; allowed: {list(allowed)}"
                                 f"{did_you_mean(key, allowed)}")


def _str_list(raw: dict[str, Any], key: str, where: str) -> list[str]:
    value = raw[key]
    if not isinstance(value, list) or not value:
        raise bad(where, key, value, "give a non-empty list")
    for item in value:
        if not isinstance(item, str):
            raise bad(where, key, item, "every entry must be a name (string)")
    if len(set(value)) != len(value):
        raise bad(where, key, value, "list each name once")
    return value


def _factorial(value: Any, where: str) -> dict[str, tuple[Any, ...]]:
    if value is None or value == {}:
        return {}
    if not isinstance(value, dict):
        raise bad(where, "factorial", value, "give a mapping: toggle -> list of values")
    axes: dict[str, tuple[Any, ...]] = {}
    for axis, values in value.items():
        key = f"factorial.{axis}"
        if not isinstance(values, list) or not values:
            raise bad(where, key, values, "give a non-empty list of values")
        for item in values:
            if not isinstance(item, (str, int, float, bool)):
                raise bad(where, key, item, "values must be plain scalars (string, number, true/false)")
        if len({repr(v) for v in values}) != len(values):
            raise bad(where, key, values, "list each value once")
        axes[str(axis)] = tuple(values)
    return axes


def _variants(value: Any, where: str) -> dict[str, dict[str, Any]]:
    if value is None or value == {}:
        return {}
    if not isinstance(value, dict):
        raise bad(where, "variants", value, "give a mapping: name -> {preset: ..., field: value, ...}")
    variants: dict[str, dict[str, Any]] = {}
    for name, overrides in value.items():
        if not isinstance(name, str) or not name:
            raise bad(where, "variants", name, "variant names must be non-empty strings")
        if overrides is None:
            overrides = {}
        if not isinstance(overrides, dict):
            raise bad(where, f"variants.{name}", overrides, "give a mapping of config fields (and optional preset)")
        variants[name] = dict(overrides)
    return variants


def _size_list(value: Any, key: str, where: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not value:
        raise bad(where, key, value, "give a non-empty list of input sizes in pixels")
    for size in value:
        if not (is_int(size) and size >= 1):
            raise bad(where, key, size, "every input size must be a positive integer (pixels)")
    sizes = tuple(value)
    if len(set(sizes)) != len(sizes):
        raise bad(where, key, list(sizes), "list each size once")
    return sizes


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
    if isinstance(value, dict):
        for group in value:
            if group not in measure:
                raise bad(where, "resolutions", group, f"keys must be groups listed in 'measure': {list(measure)}",
                          measure)
        missing = [g for g in measure if g not in value]
        if missing:
            raise UserInputError(f"{where}: resolutions has no sizes for group(s) {missing}; "
                                 f"give a list for each group in 'measure' or one list for all")
        return {g: _size_list(value[g], f"resolutions.{g}", where) for g in measure}
    sizes = _size_list(value, "resolutions", where)
    return {g: sizes for g in measure}


def _measure_options(value: Any, measure: tuple[str, ...], where: str) -> dict[str, dict[str, Any]]:
    """Extra keyword arguments per group for ``pvtlab.measure.measure`` (checked again in ``cells.py``)."""
    if value is None or value == {}:
        return {}
    if not isinstance(value, dict):
        raise bad(where, "measure_options", value, "give a mapping: group -> {option: value}")
    options: dict[str, dict[str, Any]] = {}
    for group, opts in value.items():
        if group not in measure:
            raise bad(where, "measure_options", group, f"keys must be groups listed in 'measure': {list(measure)}",
                      measure)
        if not isinstance(opts, dict):
            raise bad(where, f"measure_options.{group}", opts, "give a mapping of option -> value")
        check_scalars(opts, where, f"measure_options.{group}")
        options[group] = dict(opts)
    return options


def _only(value: Any, groups: tuple[str, ...], has_path: bool, where: str) -> dict[str, tuple[str, ...] | str]:
    """group -> the variants it runs for ("path", or a list of names; checked against the names later)."""
    if value is None or value == {}:
        return {}
    if not isinstance(value, dict):
        raise bad(where, "only", value, "give a mapping: group -> path or a list of variant names")
    only: dict[str, tuple[str, ...] | str] = {}
    for group, names in value.items():
        if group not in groups:
            raise bad(where, "only", group, f"keys must be groups this spec runs: {list(groups)}", groups)
        if names == "path":
            if not has_path:
                raise bad(where, f"only.{group}", names, "the spec has no 'path'; list variant names instead")
            only[group] = "path"
            continue
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise bad(where, f"only.{group}", names, "give 'path' or a non-empty list of variant names")
        only[group] = tuple(names)
    return only


def _tasks(value: Any, where: str) -> tuple[AccuracySpec, ...]:
    """``accuracy:`` as one task (named after its data) or ``{tasks: {NAME: {...}}, <defaults for every task>}``."""
    if not isinstance(value, dict):
        raise bad(where, "accuracy", value, f"give a mapping with keys {list(ACCURACY_KEYS)} or 'tasks'")
    if "tasks" not in value:
        data = value.get("data")
        return (_accuracy(value, where, data.get("name", "") if isinstance(data, dict) else "", "accuracy"),)
    _known_keys(value, ("tasks", *ACCURACY_KEYS), where, "accuracy key")
    tasks = value["tasks"]
    if not isinstance(tasks, dict) or not tasks:
        raise bad(where, "accuracy.tasks", tasks, "give a mapping: task name -> {data: ..., image_size: ...}")
    shared = {k: v for k, v in value.items() if k != "tasks"}
    parsed = []
    for name, own in tasks.items():
        key = f"accuracy.tasks.{name}"
        if not isinstance(name, str) or not _NAME.match(name):
            raise bad(where, "accuracy.tasks", name, "task names must be letters, digits, '_', '.', '-'")
        if not isinstance(own, dict):
            raise bad(where, key, own, f"give a mapping with keys {list(ACCURACY_KEYS)}")
        _known_keys(own, ACCURACY_KEYS, where, f"{key} key")
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


# Each accuracy key's rule, in the order they are checked (the "epochs or steps" check falls between the two).
_ACCURACY_SIZE_RULES = {"model": of_type(str, "give a preset name", optional=False),
                        "image_size": positive_int("give a positive integer (pixels)", optional=False)}
_ACCURACY_RULES: dict[str, Rule] = {
    "steps": positive_int("give a positive integer (optimizer steps)"),
    "epochs": positive_int(),
    "recipe": one_of(RECIPES),
    "nproc_per_node": positive_int("give an integer >= 1 (processes)"),
    "checkpoint_every_s": positive_number("give a number of seconds > 0"),
    "options": of_type(dict, "give a mapping of run_accuracy option -> value", optional=False)}


def _accuracy(value: dict[str, Any], where: str, task: str, prefix: str) -> AccuracySpec:
    _known_keys(value, ACCURACY_KEYS, where, f"{prefix} key")
    if "data" not in value:
        raise UserInputError(f"{where}: {prefix}.data is missing; give e.g. {{name: synthetic}}")
    data = value["data"]
    if not isinstance(data, dict):
        raise bad(where, f"{prefix}.data", data, "give a mapping such as {name: synthetic} or "
                                                 "{name: imagefolder, root: PATH}")
    merged = {**ACCURACY_DEFAULTS, **value}
    check(merged, _ACCURACY_SIZE_RULES, where, prefix)
    epochs, steps = merged["epochs"], merged["steps"]
    if epochs is not None and steps is not None:
        raise bad(where, f"{prefix}.steps", steps, f"give epochs ({epochs}) or steps, not both")
    check(merged, _ACCURACY_RULES, where, prefix)
    model, image_size, recipe, options = merged["model"], merged["image_size"], merged["recipe"], merged["options"]
    nproc, every = merged["nproc_per_node"], merged["checkpoint_every_s"]
    check_scalars(options, where, f"{prefix}.options")
    seeds = merged["seeds"]
    if not isinstance(seeds, list) or not seeds:
        raise bad(where, f"{prefix}.seeds", seeds, "give a non-empty list of integer seeds")
    for seed in seeds:
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise bad(where, f"{prefix}.seeds", seed, "every seed must be an integer >= 0")
    if len(set(seeds)) != len(seeds):
        raise bad(where, f"{prefix}.seeds", seeds, "list each seed once")
    sizes = merged["eval_sizes"]
    if sizes is not None:  # the training size is always one of them; sorted, so the order is not identity
        sizes = tuple(sorted({*_size_list(sizes, f"{prefix}.eval_sizes", where), image_size}))
    return AccuracySpec(task=task, eval_sizes=sizes, key=prefix, data=dict(data), model=model, image_size=image_size,
                        epochs=epochs, steps=steps,
                        seeds=tuple(seeds), options=dict(options), recipe=recipe, nproc_per_node=nproc,
                        checkpoint_every_s=float(every) if every is not None else None)
