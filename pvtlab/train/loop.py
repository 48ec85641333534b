"""The training loop: AdamW, warm-up + cosine, label smoothing, gradient clipping; a budget in epochs or steps.

Plain on purpose (nanoGPT-style): one function, one optimizer step per batch. The one hook is ``probe``: a
function of the model called at a few steps (``curve_steps``) to record a validation learning curve.
Determinism on CPU: the caller seeds torch before building the model; the loop shuffles with its own
generator seeded from ``settings.seed``, and drop-path draws from torch's global generator, which the
seed fixed. Same seed, thread count and torch build → identical weights and metrics.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from ..errors import UserInputError
from .schedule import lr_factor, warmup_steps

LOSS_CURVE_POINTS = 100  # the stored curve is at most this many bucket means (a grid cell keeps it as JSON)


@dataclass(frozen=True)
class TrainSettings:
    """Optimization settings; exactly one of ``epochs`` / ``steps`` is the budget. Bad values: UserInputError.

    Every field is required: the defaults live in ``pvtlab.train.run_accuracy``'s signature only
    (``pvtlab.train.accuracy.default_settings`` builds one from them).
    """

    epochs: int | None
    steps: int | None
    batch_size: int
    lr: float
    weight_decay: float  # not applied to norms, biases, position tables, class token
    warmup: int | float  # steps (int) or fraction of all steps (float)
    label_smoothing: float
    clip_grad: float | None  # max global grad norm; None or 0 turns clipping off
    seed: int

    def __post_init__(self) -> None:
        if (self.epochs is None) == (self.steps is None):
            raise UserInputError(f"give exactly one budget: epochs={self.epochs!r}, steps={self.steps!r}")
        for name in ("epochs", "steps", "batch_size"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise UserInputError(f"{name}={value!r} is not allowed; give a positive integer")
        number = self._number
        if not number("lr") > 0:
            raise UserInputError(f"lr={self.lr!r} is not allowed; give a positive number")
        if not number("weight_decay") >= 0:
            raise UserInputError(f"weight_decay={self.weight_decay!r} is not allowed; give a number >= 0")
        if not 0.0 <= number("label_smoothing") < 1.0:
            raise UserInputError(f"label_smoothing={self.label_smoothing!r} is not allowed; give a number in [0, 1)")
        if self.clip_grad is not None and not number("clip_grad") >= 0:
            raise UserInputError(f"clip_grad={self.clip_grad!r} is not allowed; "
                                 f"give a norm > 0, or 0/None for no clipping")
        try:
            warmup_steps(self.warmup, 1)  # type and range check
        except ValueError as err:
            raise UserInputError(str(err)) from None

    def _number(self, name: str) -> float:
        value = getattr(self, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise UserInputError(f"{name}={value!r} is not allowed; give a number")
        return value


@dataclass
class TrainResult:
    loss_curve: list[float] = field(default_factory=list)
    val_curve: list[list[float]] = field(default_factory=list)  # [images_seen, probe value] at curve_steps
    train_time_s: float = 0.0
    images_seen: int = 0
    steps: int = 0
    epochs: float = 0.0


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Decay matrices and conv kernels only; norms, biases, position tables and class tokens stay free."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        free = param.ndim <= 1 or ".pos_embed." in name or ".prefix." in name
        (no_decay if free else decay).append(param)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def downsample_curve(values: list[float], points: int = LOSS_CURVE_POINTS) -> list[float]:
    """Means of ``points`` equal consecutive buckets (the whole list when it is shorter), rounded to 5 places."""
    if len(values) <= points:
        return [round(v, 5) for v in values]
    bounds = [round(i * len(values) / points) for i in range(points + 1)]
    return [round(sum(values[a:b]) / (b - a), 5) for a, b in zip(bounds[:-1], bounds[1:])]


def curve_steps(total: int, points: int) -> list[int]:
    """``points`` step counts spread evenly over ``total`` steps, the last one ``total`` (fewer if total is small)."""
    return sorted({max(1, round(total * (i + 1) / points)) for i in range(points)}) if points > 0 else []


def batches(train_set: Dataset, batch_size: int, drop_last: bool, generator: torch.Generator):
    """A shuffling loader seeded by ``generator``. A dataset with ``get_batch(indices)`` (in-memory tensors) is
    sliced a whole batch at a time: no per-item ``__getitem__`` and collation, which cost as much as a pvt_nano
    training step on small images."""
    loader = DataLoader(train_set, batch_size=batch_size, shuffle=True, drop_last=drop_last, generator=generator,
                        num_workers=0)
    if not hasattr(train_set, "get_batch"):
        return loader
    return _Sliced(loader, train_set)


class _Sliced:
    """Iterates the index batches of ``loader``'s batch sampler through ``dataset.get_batch``."""

    def __init__(self, loader: DataLoader, dataset: Dataset) -> None:
        self.loader, self.dataset = loader, dataset

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        for indices in self.loader.batch_sampler:
            yield self.dataset.get_batch(torch.as_tensor(indices))


def train(model: nn.Module, train_set: Dataset, settings: TrainSettings, *, progress: bool = True,
          device: str = "cpu", desc: str = "train", probe: Callable[[nn.Module], float] | None = None,
          curve_points: int = 0) -> TrainResult:
    """Train ``model`` in place on ``train_set`` for the budget in ``settings``; returns the curves and counts.

    ``probe(model)`` (called in eval mode, no gradients) runs at ``curve_steps(total, curve_points)`` except the
    last, which is the end of training and left to the caller's final evaluation; its values go to
    ``TrainResult.val_curve`` as ``[images_seen, value]``. It draws no random numbers: training is unchanged.
    """
    drop_last = len(train_set) >= settings.batch_size  # full batches only, unless the set is smaller than one
    loader = batches(train_set, settings.batch_size, drop_last, torch.Generator().manual_seed(settings.seed))
    steps_per_epoch = len(loader)
    total = settings.steps if settings.steps is not None else settings.epochs * steps_per_epoch
    warmup = warmup_steps(settings.warmup, total)
    probe_at = set(curve_steps(total, curve_points)[:-1]) if probe is not None else set()

    model.to(device).train()
    optimizer = torch.optim.AdamW(parameter_groups(model, settings.weight_decay), lr=settings.lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, total, warmup))
    losses: list[float] = []
    result = TrainResult()
    bar = tqdm(total=total, desc=desc, disable=not progress, leave=False, dynamic_ncols=True)
    start = time.perf_counter()
    while result.steps < total:
        for images, targets in loader:
            images, targets = images.to(device), targets.to(device)
            loss = F.cross_entropy(model(images), targets, label_smoothing=settings.label_smoothing)
            value = loss.item()
            if not math.isfinite(value):
                bar.close()
                raise FloatingPointError(f"training loss became {value} at step {result.steps}; "
                                         f"lower lr (now {settings.lr}) or keep clip_grad on")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if settings.clip_grad:
                nn.utils.clip_grad_norm_(model.parameters(), settings.clip_grad)
            optimizer.step()
            scheduler.step()
            losses.append(value)
            result.steps += 1
            result.images_seen += len(targets)
            bar.update(1)
            if result.steps % 10 == 0 or result.steps == total:
                bar.set_postfix(loss=f"{value:.3f}")
            if result.steps in probe_at:
                result.val_curve.append([result.images_seen, _probe(model, probe)])
            if result.steps == total:
                break
    result.train_time_s = time.perf_counter() - start  # includes the probes (a few % of the time)
    bar.close()
    result.loss_curve = downsample_curve(losses)
    result.epochs = result.steps / steps_per_epoch
    return result


@torch.no_grad()
def _probe(model: nn.Module, probe: Callable[[nn.Module], float]) -> float:
    model.eval()
    try:
        return float(probe(model))
    finally:
        model.train()
