"""One accuracy cell: build the data and the model, train with a fixed seed, score the validation split.

``run_accuracy`` returns a flat dict whose keys are cells.csv columns (docs/DESIGN.md), so the grid writes it
as a row as it is. Accuracy from these short runs is a *proxy*: at pvt_nano scale, 64 px and seconds of
CPU training it ranks variants on the synthetic task; it is not an ImageNet number.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Mapping

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset

from ..data import build_datasets
from ..errors import UserInputError
from ..models import build_model
from ..models.config import PVTConfig
from ..threads import torch_threads
from .loop import TrainSettings, train
from .metrics import evaluate

DEFAULT_EPOCHS = 6  # the one epoch default: used when neither epochs nor steps is given (the grid reads it too)
EVAL_BATCH = 256
CURVE_POINTS = 10  # val_curve points: 9 on a fixed val subset during training, the last on the full val split
CURVE_SUBSET = 256  # the first this-many val images score the intermediate points (cheap: ~2% of a cell's time)


def run_accuracy(config: PVTConfig, data: Mapping[str, Any], *, image_size: int, epochs: int | None = None,
                 steps: int | None = None, seed: int = 0, batch_size: int = 64, lr: float = 2e-3,
                 weight_decay: float = 0.05, warmup: int | float = 0.1, label_smoothing: float = 0.1,
                 clip_grad: float | None = 1.0, drop_path: float | None = None, threads: int | None = None,
                 progress: bool = True, device: str = "cpu") -> dict[str, Any]:
    """Train ``config`` from scratch on ``data`` at ``image_size`` px and score it.

    Args:
        config: the architecture; ``num_classes`` comes from the data and ``img_size`` is set to
            ``image_size`` (position tables, if any, are learned at the training grid, as PVTv1 does).
        data: a data spec (see ``pvtlab.data``).
        epochs / steps: the budget, one of them (neither: ``DEFAULT_EPOCHS``).
        seed: seeds the model init, the shuffling, drop-path and (synthetic) the training images.
        weight_decay: AdamW decay of weight matrices and conv kernels (norms, biases, tables, tokens: none).
        warmup: steps (int) or a fraction of all steps (float) of linear warm-up before the cosine decay.
        drop_path: stochastic-depth rate; None keeps ``config.drop_path_rate``.
        threads: torch intra-op threads for this run (restored afterwards); None leaves them alone.

    Returns:
        ``top1_acc``, ``top5_acc`` (percent), ``val_loss`` (cross-entropy without smoothing), ``train_time_s``
        (the optimization loop only), ``images_seen``, ``epochs`` (completed, fractional for a step budget),
        ``loss_curve`` (training loss, at most 100 bucket means), ``val_curve`` (``[images_seen, top1 %]`` at
        ``CURVE_POINTS`` even steps; the intermediate points score the first ``CURVE_SUBSET`` val images, the last
        is ``top1_acc`` on the full split) and ``status`` "ok". Same seed, threads and torch build on CPU give
        identical values except ``train_time_s``.
    """
    return fit(config, data, image_size=image_size, seed=seed, threads=threads, progress=progress, device=device,
               drop_path=drop_path, settings=settings_from(epochs=epochs, steps=steps, seed=seed,
                                                           batch_size=batch_size, lr=lr, weight_decay=weight_decay,
                                                           warmup=warmup, label_smoothing=label_smoothing,
                                                           clip_grad=clip_grad)).row


def settings_from(*, epochs: int | None, steps: int | None, **values: Any) -> TrainSettings:
    """TrainSettings from run_accuracy's values; neither budget given means ``DEFAULT_EPOCHS``."""
    if epochs is None and steps is None:
        epochs = DEFAULT_EPOCHS
    return TrainSettings(epochs=epochs, steps=steps, **values)


def default_settings(**overrides: Any) -> TrainSettings:
    """TrainSettings with ``run_accuracy``'s defaults (read from its signature) and ``overrides``."""
    names = [f for f in TrainSettings.__dataclass_fields__ if f not in ("epochs", "steps")]
    params = inspect.signature(run_accuracy).parameters
    values = {name: params[name].default for name in names}
    values.update(overrides)
    return settings_from(epochs=values.pop("epochs", params["epochs"].default),
                         steps=values.pop("steps", params["steps"].default), **values)


@dataclass
class Fit:
    """What ``fit`` leaves behind: the row, plus the trained model and validation set for closer looks."""

    row: dict[str, Any]
    model: nn.Module
    val_set: Dataset


def fit(config: PVTConfig, data: Mapping[str, Any], *, image_size: int, seed: int, settings: TrainSettings,
        drop_path: float | None, threads: int | None, progress: bool, device: str) -> Fit:
    """``run_accuracy`` keeping the model (benchmarks/train_speed.py scores the synthetic factors with it)."""
    with torch_threads(threads):
        train_set, val_set, num_classes = build_datasets(data, image_size, seed)
        overrides: dict[str, Any] = {"num_classes": num_classes, "img_size": image_size}
        if drop_path is not None:
            overrides["drop_path_rate"] = drop_path
        try:
            config = config.replace(**overrides)
        except ValueError as err:
            raise UserInputError(str(err)) from None
        if image_size < config.min_input_size():
            raise UserInputError(f"image_size={image_size} is too small for this model; it needs at least "
                                 f"{config.min_input_size()} px (patch_strides {config.patch_strides}, "
                                 f"sr_ratios {config.sr_ratios}, attention {config.attention!r})")
        torch.manual_seed(seed)
        model = build_model(config)
        subset = DataLoader(Subset(val_set, range(min(CURVE_SUBSET, len(val_set)))), batch_size=EVAL_BATCH)
        result = train(model, train_set, settings, progress=progress, device=device,
                       desc=f"{data['name']} seed={seed}",
                       probe=lambda m: evaluate(m, subset, device=device)["top1_acc"], curve_points=CURVE_POINTS)
        metrics = evaluate(model, DataLoader(val_set, batch_size=EVAL_BATCH, shuffle=False), device=device)
    row = {
        **metrics,
        "train_time_s": round(result.train_time_s, 3),
        "images_seen": result.images_seen,
        "epochs": round(result.epochs, 4),
        "loss_curve": result.loss_curve,
        "val_curve": result.val_curve + [[result.images_seen, metrics["top1_acc"]]],
        "status": "ok",
    }
    return Fit(row, model, val_set)
