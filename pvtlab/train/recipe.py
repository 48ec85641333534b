"""Training recipes as data: ``quick`` (the laptop proxy) and ``paper`` (the PVT papers' ImageNet recipe).

A ``Recipe`` is the one settings object of a training run: its budget, optimizer, schedule, loss,
augmentation and EMA values. ``resolve_recipe`` fills in what the caller left as None from the recipe's table,
takes drop-path and clipping from the model size where the recipe says so (``size_rules``), scales the learning
rate to the global batch and checks every field against its declared rule (``RULES``). The two recipes differ
only in these values: the loop, the optimizer (timm's AdamW) and the schedule (timm's cosine with warm-up,
stepped per update) are the same code for both, so what the row records is what ran.

The paper values are those of the official PVT/PVTv2 classification code (DeiT-derived): AdamW (eps 1e-8,
weight decay 0.05), lr 5e-4 per 512 images of global batch (8 GPUs x 128 = 1024 -> 1e-3, the papers' "initial
lr 1e-3"), cosine schedule with 5 warm-up epochs from 1e-6 down to 1e-5, 300 epochs, RandAugment
``rand-m9-mstd0.5-inc1``, colour jitter 0.4, bicubic interpolation, random erasing 0.25 (pixel mode),
Mixup 0.8 / CutMix 1.0 (switch prob 0.5, always applied), label smoothing 0.1, no dropout, model EMA off.
Drop-path and gradient clipping depend on the model size (``SIZE_RULES``). The official cosine has a 10-epoch
cool-down in its arguments, but its loop trains ``epochs`` only, so the cool-down never runs; it is left out.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Mapping

from ..errors import (Rule, UserInputError, boolean, check_fields, did_you_mean, non_negative_int, number_in, one_of,
                      positive_int)
from ..models import SIZE_FIELDS, get_config
from ..models.config import PVTConfig

RECIPES = ("quick", "paper")
WARMUP_UNITS = ("steps", "epochs", "fraction")  # fraction: of all the run's steps


@dataclass(frozen=True)
class Recipe:
    """Every value one training run uses. Resolved (``resolve_recipe``): exactly one budget is set, drop-path is
    the value the model is built with, and ``peak_lr`` is ``lr`` scaled to the global batch."""

    name: str  # a label: no code branches on it
    epochs: int | None  # the budget: epochs or optimizer steps, exactly one of them once resolved
    steps: int | None
    batch_size: int  # per process
    lr: float  # learning rate for ``lr_batch`` images per step
    lr_batch: int | None  # the batch ``lr`` is for; None: the per-process batch (scaled by processes only)
    weight_decay: float  # AdamW's, off for norms, biases, position tables and class tokens
    opt_eps: float
    warmup: float  # linear warm-up length, in ``warmup_unit``
    warmup_unit: str  # WARMUP_UNITS
    warmup_lr: float  # lr at the start of warm-up
    min_lr: float  # lr at the end of the cosine
    label_smoothing: float
    clip_grad: float | None  # max global grad norm; None or 0: off
    drop_path: float | None  # stochastic depth rate; None (before resolving): the model config's
    size_rules: bool  # drop_path and clip_grad, when not given, from the official per-size configs (SIZE_RULES)
    timm_transforms: bool  # image datasets get timm's train/eval transforms with the values below (augment.py)
    auto_augment: str | None  # timm auto-augment policy of the train transform
    color_jitter: float
    interpolation: str
    re_prob: float  # random erasing probability
    re_mode: str
    mixup: float  # Mixup alpha (0: off)
    cutmix: float  # CutMix alpha (0: off)
    mixup_prob: float
    mixup_switch_prob: float
    ema: bool
    ema_decay: float
    # Filled by resolve_recipe:
    nproc: int = 1
    global_batch: int = 0
    peak_lr: float = 0.0

    def __post_init__(self) -> None:
        check_fields(self, RULES)
        if self.epochs is not None and self.steps is not None:
            raise UserInputError(f"give exactly one budget: epochs={self.epochs!r}, steps={self.steps!r}")
        unit_rule = WARMUP_RULES[self.warmup_unit]
        if not unit_rule.test(self.warmup):
            raise UserInputError(f"warmup={self.warmup!r} is not allowed with warmup_unit {self.warmup_unit!r}; "
                                 f"{unit_rule.allowed}")

    @property
    def mixes(self) -> bool:
        return self.mixup > 0 or self.cutmix > 0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def warmup_steps(self, total_steps: int, steps_per_epoch: int) -> int:
        """The warm-up as a number of optimizer steps of a run of ``total_steps``."""
        per_unit = {"steps": 1, "epochs": steps_per_epoch, "fraction": total_steps}[self.warmup_unit]
        return min(total_steps, int(round(self.warmup * per_unit)))


_PROBABILITY = number_in(0.0, 1.0)
# Each field's rule, checked whenever a Recipe is made (so a bad override is named before anything runs).
RULES: dict[str, Rule] = {
    "epochs": positive_int(), "steps": positive_int("give a positive integer (optimizer steps)"),
    "batch_size": positive_int(optional=False), "lr": number_in(0.0, open_low=True),
    "lr_batch": positive_int("give a positive integer or None"), "weight_decay": number_in(0.0),
    "opt_eps": number_in(0.0, open_low=True), "warmup_unit": one_of(WARMUP_UNITS), "warmup_lr": number_in(0.0),
    "min_lr": number_in(0.0), "label_smoothing": _PROBABILITY,
    "clip_grad": number_in(0.0, optional=True), "drop_path": number_in(0.0, 1.0, optional=True),
    "size_rules": boolean(),
    "timm_transforms": boolean(),
    "color_jitter": number_in(0.0), "re_prob": _PROBABILITY, "mixup": number_in(0.0), "cutmix": number_in(0.0),
    "mixup_prob": number_in(0.0, 1.0 + 1e-9), "mixup_switch_prob": _PROBABILITY,
    "ema": boolean(), "ema_decay": _PROBABILITY,
    "nproc": positive_int("give a positive integer (processes)", optional=False),
}
WARMUP_RULES: dict[str, Rule] = {
    "steps": non_negative_int("give a whole number of steps >= 0"),
    "epochs": number_in(0.0),
    "fraction": number_in(0.0, 1.0),
}

# lr 1e-3: the PVTv1-style variants (class token, position tables, no stage norms) are the least stable. On the
# default grid's task (pvt_nano, 48 px, 4 x 4096 images), lr 4e-3 or batch 32 collapsed some of seeds 0-2 to
# 13-45 % top-1; at 2e-3, PVTv1-Small spread over 70.9-80.4 % (seeds 0-5) and the path's +OPE and +v2-style
# deltas had standard deviations of 3.1 and 2.8 pp over those seeds; at 1e-3: 66.6-70.4 %, 1.7 and 1.6 pp.
# Warm-up 10 % of the run from 1e-6, cosine down to 1e-5 (1 % of the peak at the default batch).
QUICK = Recipe(
    name="quick", epochs=6, steps=None, batch_size=64, lr=1e-3, lr_batch=None, weight_decay=0.05, opt_eps=1e-8,
    warmup=0.1, warmup_unit="fraction", warmup_lr=1e-6, min_lr=1e-5, label_smoothing=0.1, clip_grad=1.0,
    drop_path=None, size_rules=False, timm_transforms=False, auto_augment=None, color_jitter=0.0,
    interpolation="bilinear", re_prob=0.0, re_mode="const", mixup=0.0, cutmix=0.0, mixup_prob=0.0,
    mixup_switch_prob=0.0, ema=False, ema_decay=0.99996,
)

PAPER = Recipe(
    name="paper", epochs=300, steps=None, batch_size=128, lr=5e-4, lr_batch=512, weight_decay=0.05, opt_eps=1e-8,
    warmup=5, warmup_unit="epochs", warmup_lr=1e-6, min_lr=1e-5, label_smoothing=0.1, clip_grad=None,
    drop_path=None, size_rules=True, timm_transforms=True, auto_augment="rand-m9-mstd0.5-inc1", color_jitter=0.4,
    interpolation="bicubic", re_prob=0.25, re_mode="pixel", mixup=0.8, cutmix=1.0, mixup_prob=1.0,
    mixup_switch_prob=0.5, ema=False, ema_decay=0.99996,
)

# (drop_path, clip_grad) of the official training configs: 0.1 / no clipping for the small models,
# 0.3 / clip at norm 1.0 for PVTv1-Medium/Large and PVTv2-B3/B4/B5.
SIZE_RULES: dict[str, tuple[float, float | None]] = {
    "pvt_v1_tiny": (0.1, None), "pvt_v1_small": (0.1, None), "pvt_v1_medium": (0.3, 1.0), "pvt_v1_large": (0.3, 1.0),
    "pvt_v2_b0": (0.1, None), "pvt_v2_b1": (0.1, None), "pvt_v2_b2": (0.1, None), "pvt_v2_b2_li": (0.1, None),
    "pvt_v2_b3": (0.3, 1.0), "pvt_v2_b4": (0.3, 1.0), "pvt_v2_b5": (0.3, 1.0),
}
SMALL_MODEL_RULE = (0.1, None)  # models of no paper size (pvt_nano, custom sizes): the small-model values

# run_accuracy arguments that set the recipe field of the same name (None: the recipe's value).
ARGUMENTS = ("epochs", "steps", "batch_size", "lr", "warmup", "label_smoothing", "clip_grad", "drop_path")
_FIXED = ("name", "nproc", "global_batch", "peak_lr")


def size_preset(config: PVTConfig) -> str | None:
    """The paper preset with the same size as ``config`` (v1 and v2 toggles aside), or None."""
    size = tuple(getattr(config, f) for f in SIZE_FIELDS)
    for name in SIZE_RULES:
        if tuple(getattr(get_config(name), f) for f in SIZE_FIELDS) == size:
            return name
    return None


def size_rule(config: PVTConfig) -> tuple[float, float | None]:
    """(drop_path, clip_grad) the official configs use for a model of this size."""
    name = size_preset(config)
    return SIZE_RULES[name] if name is not None else SMALL_MODEL_RULE


def recipe_option_names() -> list[str]:
    return [f.name for f in dataclasses.fields(Recipe) if f.name not in _FIXED]


def resolve_recipe(name: str, config: PVTConfig, *, arguments: Mapping[str, Any],
                   recipe_options: Mapping[str, Any] | None, nproc: int) -> Recipe:
    """The recipe ``name`` for ``config`` with overrides applied and the lr scaled to the global batch.

    ``arguments`` are run_accuracy's recipe arguments (``ARGUMENTS``; None keeps the recipe's value; a step
    budget replaces the recipe's epochs); ``recipe_options`` may set any other recipe field by name. Bad names or
    values: UserInputError.
    """
    if name not in RECIPES:
        raise UserInputError(f"recipe={name!r} is not allowed; choose one of {list(RECIPES)}"
                             f"{did_you_mean(name, RECIPES)}")
    if recipe_options is not None and not isinstance(recipe_options, Mapping):
        raise UserInputError(f"recipe_options={recipe_options!r} is not allowed; give a mapping of "
                             f"recipe field -> value")
    options = dict(recipe_options or {})
    allowed = recipe_option_names()
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise UserInputError(f"recipe_options key(s) {unknown} not allowed; allowed: {allowed}"
                             f"{did_you_mean(unknown[0], allowed)}")
    for key in ARGUMENTS:
        value = arguments.get(key)
        if value is not None:
            if key in options:
                raise UserInputError(f"{key}={value!r} and recipe_options.{key} both set; give one")
            options[key] = value
    base = {"quick": QUICK, "paper": PAPER}[name]  # read when called: the tables are the one home
    if options.get("steps") is not None and "epochs" not in options:
        options["epochs"] = None  # a step budget replaces the recipe's epochs
    size_rules = options.get("size_rules", base.size_rules)
    drop_path, clip_grad = size_rule(config) if size_rules is True else (config.drop_path_rate, base.clip_grad)
    options.setdefault("clip_grad", clip_grad)
    if options.get("drop_path") is None:
        options["drop_path"] = drop_path
    recipe = dataclasses.replace(base, **options, nproc=nproc)
    global_batch = recipe.batch_size * nproc
    peak_lr = recipe.lr * global_batch / (recipe.lr_batch or recipe.batch_size)
    return dataclasses.replace(recipe, global_batch=global_batch, peak_lr=peak_lr)


def quick_recipe(**values: Any) -> Recipe:
    """The quick recipe on one process with ``values`` replaced (e.g. ``epochs=2, lr=3e-3``): for training a
    model by hand with ``pvtlab.train.train``; drop-path stays the model config's."""
    recipe = dataclasses.replace(QUICK, **({"epochs": None} if values.get("steps") is not None
                                           and "epochs" not in values else {}), **values)
    return dataclasses.replace(recipe, global_batch=recipe.batch_size,
                               peak_lr=recipe.lr * recipe.batch_size / (recipe.lr_batch or recipe.batch_size))
