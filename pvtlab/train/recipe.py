"""Training recipes as data: ``quick`` (the laptop proxy) and ``paper`` (the PVT papers' ImageNet recipe).

A recipe is a frozen set of values. ``resolve_recipe`` fills in what the caller left as None from the recipe's
table, scales the learning rate by the global batch and returns one ``Recipe`` that the row records as
``recipe_json``. This module is the one place these values live; ``run_accuracy`` passes None for "the recipe's".

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

from ..errors import UserInputError, did_you_mean
from ..models import SIZE_FIELDS, get_config
from ..models.config import PVTConfig

RECIPES = ("quick", "paper")


@dataclass(frozen=True)
class Recipe:
    """Every value one training run uses (the resolved recipe). ``peak_lr`` is ``lr`` scaled to the global batch."""

    name: str
    epochs: int  # the epoch budget (a step budget, when given, replaces it)
    batch_size: int  # per process
    lr: float  # learning rate for ``lr_batch`` images per step
    lr_batch: int | None  # the batch ``lr`` is for; None: the per-process batch (quick: scale by nproc only)
    weight_decay: float
    opt_eps: float
    warmup: int | float  # quick: steps (int) or a fraction of all steps (float); paper: epochs
    warmup_lr: float  # paper: lr at the start of warm-up
    min_lr: float  # paper: lr at the end of the cosine
    label_smoothing: float
    clip_grad: float | None  # max global grad norm; None or 0: off
    drop_path: float | None  # None: keep the config's drop_path_rate
    auto_augment: str | None  # timm auto-augment policy of the train transform (paper only)
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

    @property
    def mixes(self) -> bool:
        return self.mixup > 0 or self.cutmix > 0

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)


# lr 1e-3: the PVTv1-style variants (class token, position tables, no stage norms) are the least stable. On the
# default grid's task (pvt_nano, 48 px, 4 x 4096 images), lr 4e-3 or batch 32 collapsed some of seeds 0-2 to
# 13-45 % top-1; at 2e-3, PVTv1-Small spread over 70.9-80.4 % (seeds 0-5) and the path's +OPE and +v2-style
# deltas had standard deviations of 3.1 and 2.8 pp over those seeds; at 1e-3: 66.6-70.4 %, 1.7 and 1.6 pp.
QUICK = Recipe(
    name="quick", epochs=6, batch_size=64, lr=1e-3, lr_batch=None, weight_decay=0.05, opt_eps=1e-8,
    warmup=0.1, warmup_lr=0.0, min_lr=0.0, label_smoothing=0.1, clip_grad=1.0, drop_path=None,
    auto_augment=None, color_jitter=0.0, interpolation="bilinear", re_prob=0.0, re_mode="const",
    mixup=0.0, cutmix=0.0, mixup_prob=0.0, mixup_switch_prob=0.0, ema=False, ema_decay=0.99996,
)

PAPER = Recipe(
    name="paper", epochs=300, batch_size=128, lr=5e-4, lr_batch=512, weight_decay=0.05, opt_eps=1e-8,
    warmup=5, warmup_lr=1e-6, min_lr=1e-5, label_smoothing=0.1, clip_grad=None, drop_path=0.1,
    auto_augment="rand-m9-mstd0.5-inc1", color_jitter=0.4, interpolation="bicubic", re_prob=0.25, re_mode="pixel",
    mixup=0.8, cutmix=1.0, mixup_prob=1.0, mixup_switch_prob=0.5, ema=False, ema_decay=0.99996,
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
ARGUMENTS = ("epochs", "batch_size", "lr", "warmup", "label_smoothing", "clip_grad", "drop_path")
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

    ``arguments`` are run_accuracy's recipe arguments (``ARGUMENTS``; None keeps the recipe's value);
    ``recipe_options`` may set any other recipe field by name. Bad names or values: UserInputError.
    """
    if name not in RECIPES:
        raise UserInputError(f"recipe={name!r} is not allowed; choose one of {list(RECIPES)}")
    if not isinstance(nproc, int) or isinstance(nproc, bool) or nproc < 1:
        raise UserInputError(f"nproc_per_node={nproc!r} is not allowed; give a positive integer")
    base = QUICK if name == "quick" else PAPER
    if name == "paper":
        drop_path, clip_grad = size_rule(config)
        base = dataclasses.replace(base, drop_path=drop_path, clip_grad=clip_grad)
    options = dict(recipe_options or {})
    allowed = recipe_option_names()
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise UserInputError(f"recipe_options key(s) {unknown} not allowed; allowed: {allowed}"
                             f"{did_you_mean(unknown[0], allowed)}")
    for name in ARGUMENTS:
        value = arguments.get(name)
        if value is not None:
            if name in options:
                raise UserInputError(f"{name}={value!r} and recipe_options.{name} both set; give one")
            options[name] = value
    recipe = dataclasses.replace(base, **options)
    _check(recipe)
    global_batch = recipe.batch_size * nproc
    peak_lr = recipe.lr * global_batch / (recipe.lr_batch or recipe.batch_size)
    return dataclasses.replace(recipe, nproc=nproc, global_batch=global_batch, peak_lr=peak_lr)


def _check(recipe: Recipe) -> None:
    def number(field: str, low: float, high: float | None = None, *, open_low: bool = False) -> None:
        value = getattr(recipe, field)
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        ok = ok and (value > low if open_low else value >= low) and (high is None or value < high)
        if not ok:
            upper = f" and < {high}" if high is not None else ""
            raise UserInputError(f"{field}={value!r} is not allowed; give a number {'>' if open_low else '>='} "
                                 f"{low}{upper}")

    for field in ("epochs", "batch_size"):
        value = getattr(recipe, field)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise UserInputError(f"{field}={value!r} is not allowed; give a positive integer")
    number("lr", 0.0, open_low=True)
    for field in ("weight_decay", "warmup_lr", "min_lr", "color_jitter", "mixup", "cutmix"):
        number(field, 0.0)
    number("opt_eps", 0.0, open_low=True)
    for field in ("label_smoothing", "re_prob", "mixup_switch_prob", "ema_decay"):
        number(field, 0.0, 1.0)
    number("mixup_prob", 0.0, 1.0 + 1e-9)
    if recipe.clip_grad is not None:
        number("clip_grad", 0.0)
    if recipe.name == "paper":
        number("warmup", 0.0)
    if recipe.lr_batch is not None and (not isinstance(recipe.lr_batch, int) or recipe.lr_batch < 1):
        raise UserInputError(f"lr_batch={recipe.lr_batch!r} is not allowed; give a positive integer or None")
    if not isinstance(recipe.ema, bool):
        raise UserInputError(f"ema={recipe.ema!r} is not allowed; give true or false")
