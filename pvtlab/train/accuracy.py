"""One accuracy cell: build the data and the model, train with a fixed seed, score the validation split.

``run_accuracy`` returns a flat dict whose keys are cells.csv columns (pvtlab/columns.py), so the grid writes it
as a row as it is. Accuracy from these short runs is a *proxy*: at pvt_nano scale, 32-48 px and seconds of
CPU training it ranks variants on the synthetic task; it is not an ImageNet number.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from timm.utils import random_seed
from torch import nn
from torch.utils.data import Dataset, Subset

from ..data import build_datasets, validate_data_spec
from ..errors import UserInputError
from ..models import build_model
from ..models.config import PVTConfig
from ..torch_settings import torch_threads
from .augment import use_paper_transforms
from .checkpoint import remove_checkpoint
from .distributed import current_processes, reseed_rank
from .evaluate import evaluate_split, score
from .loop import TrainSettings, train
from .ranks import run_in_processes
from .recipe import QUICK, Recipe, resolve_recipe
from .resolution import check_eval_sizes, default_eval_sizes, score_sizes
from .scale import Scaling, build_scale

DEFAULT_EPOCHS = QUICK.epochs  # the quick budget when neither epochs nor steps is given (the grid reads it too)
CURVE_POINTS = 10  # val_curve points: 9 on a fixed val subset during training, the last on the full val split
CURVE_SUBSET = 256  # the first this-many val images score the intermediate points (cheap: a few % of a cell)


def run_accuracy(config: PVTConfig, data: Mapping[str, Any], *, image_size: int, epochs: int | None = None,
                 steps: int | None = None, seed: int = 0, batch_size: int | None = None, lr: float | None = None,
                 warmup: int | float | None = None, label_smoothing: float | None = None,
                 clip_grad: float | None = None, drop_path: float | None = None, recipe: str = "quick",
                 recipe_options: Mapping[str, Any] | None = None, amp_dtype: str | None = "auto",
                 channels_last: bool = False, compile: bool | str = False, num_workers: int | None = None,
                 nproc_per_node: int = 1, checkpoint_path: str | os.PathLike | None = None,
                 checkpoint_every_s: float = 600.0, eval_sizes: Sequence[int] | None = None,
                 threads: int | None = None, progress: bool = True, device: str = "cpu") -> dict[str, Any]:
    """Train ``config`` from scratch on ``data`` at ``image_size`` px and score it.

    Args:
        config: the architecture; ``num_classes`` comes from the data and ``img_size`` is set to
            ``image_size`` (position tables, if any, are learned at the training grid, as PVTv1 does).
        data: a data spec (see ``pvtlab.data``).
        epochs / steps: the budget, one of them (neither: the recipe's, ``DEFAULT_EPOCHS`` for quick).
        seed: seeds the model init, the data order, the augmentations, drop-path and (synthetic) the images.
        batch_size, lr, warmup, label_smoothing, clip_grad, drop_path: None takes the recipe's value
            (pvtlab/train/recipe.py). ``batch_size`` is per process; ``lr`` is for ``lr_batch`` images (paper:
            512, quick: the per-process batch) and is scaled linearly to the global batch. ``warmup``: quick,
            steps (int) or a fraction of all steps (float); paper, epochs. ``clip_grad`` 0 turns clipping off;
            ``drop_path`` None on quick keeps ``config.drop_path_rate``.
        recipe: ``quick`` (the laptop proxy) or ``paper`` (the papers' ImageNet recipe from timm's parts);
            ``recipe_options`` sets any other recipe field (e.g. ``{ema: true, mixup: 0.0}``).
        amp_dtype: ``auto`` (bfloat16 on CUDA, float32 on CPU), ``bfloat16``, ``float16`` (with a grad scaler)
            or None/``none``. ``channels_last``, ``compile`` (True or a torch.compile mode): opt-in speed.
        num_workers: DataLoader processes per training process (None: 0 on CPU, up to 8 on CUDA).
        nproc_per_node: data-parallel processes on this machine (torch elastic launch; gloo on CPU, nccl on
            CUDA); one row comes back, rank 0's.
        checkpoint_path: where the training state is saved every ``checkpoint_every_s`` seconds and at each
            epoch's end; an existing file there is resumed from; it is deleted when the row is returned.
        eval_sizes: test sizes (px) the trained model (and its EMA) is also scored at, on the same validation
            images resized (``resolution.py``); the training size is always one. None: ``default_eval_sizes``.
        threads: torch intra-op threads for this run (restored afterwards; split among the processes);
            None leaves them alone.

    Returns:
        ``top1_acc``, ``top5_acc`` (percent), ``val_loss`` (cross-entropy without smoothing), with EMA on also
        ``ema_top1_acc`` / ``ema_top5_acc``; ``top1_by_res`` (and ``ema_top1_by_res``, None without EMA): JSON
        ``{"<px>": top-1 %}`` at every test size; ``train_time_s`` (the optimization loop only), ``images_seen``,
        ``epochs`` (completed, fractional for a step budget), ``loss_curve`` (training loss of rank 0, at most
        100 bucket means), ``val_curve`` (``[images_seen, top1 %]`` at ``CURVE_POINTS`` even steps: the
        intermediate points score the first ``CURVE_SUBSET`` val images, the last is ``top1_acc`` on the full
        split), ``recipe``, ``recipe_json`` (every resolved value), ``nproc``,
        ``resumed_from_step`` and ``status`` "ok". Same seed, threads and torch build on CPU give identical
        values except ``train_time_s``, resumed or not.
    """
    scaling = Scaling(recipe=recipe, recipe_options=recipe_options, amp_dtype=amp_dtype, channels_last=channels_last,
                      compile=compile, num_workers=num_workers, nproc_per_node=nproc_per_node,
                      checkpoint_path=checkpoint_path, checkpoint_every_s=checkpoint_every_s)
    kwargs = dict(config=config, data=data, image_size=image_size, epochs=epochs, steps=steps, seed=seed,
                  batch_size=batch_size, lr=lr, warmup=warmup, label_smoothing=label_smoothing, clip_grad=clip_grad,
                  drop_path=drop_path, eval_sizes=eval_sizes, threads=threads, progress=progress, device=device,
                  scaling=scaling)
    scaling.check()
    resolve_recipe(recipe, config, arguments=kwargs, recipe_options=recipe_options, nproc=nproc_per_node)
    if nproc_per_node == 1:
        row = fit(**kwargs).row
    else:
        validate_data_spec(data)
        if threads is not None:
            kwargs["threads"] = max(1, threads // nproc_per_node)
        row = run_in_processes(fit, kwargs, nproc=nproc_per_node, device=device)
    remove_checkpoint(checkpoint_path)
    return row


def default_scaling() -> Scaling:
    """``Scaling`` with run_accuracy's own defaults (its signature is where they live)."""
    defaults = run_accuracy.__kwdefaults__ or {}
    return Scaling(**{name: defaults[name] for name in Scaling.__dataclass_fields__})


@dataclass
class Fit:
    """What ``fit`` leaves behind: the row, plus the trained model and validation set for closer looks."""

    row: dict[str, Any]
    model: nn.Module
    val_set: Dataset


def default_settings(*, epochs: int | None = None, steps: int | None = None, seed: int = 0,
                     **recipe_values: Any) -> TrainSettings:
    """TrainSettings of the quick recipe (``recipe.QUICK`` holds the values) with ``recipe_values`` replaced."""
    recipe = dataclasses.replace(QUICK, **recipe_values, **({"epochs": epochs} if epochs is not None else {}))
    return settings_of(recipe, epochs=epochs, steps=steps, seed=seed)


def settings_of(recipe: Recipe, *, epochs: int | None, steps: int | None, seed: int) -> TrainSettings:
    """The loop's settings for a resolved recipe (whose ``epochs`` already holds a given epoch budget); with a
    step budget the epochs stay as given, so both at once is the loop's "give exactly one budget" error."""
    lr = recipe.peak_lr or recipe.lr
    warmup = recipe.warmup if recipe.name == "quick" else 0  # paper: warm-up epochs, in parts.py's scheduler
    return TrainSettings(epochs=recipe.epochs if steps is None else epochs, steps=steps,
                         batch_size=recipe.batch_size, lr=lr, weight_decay=recipe.weight_decay, warmup=warmup,
                         label_smoothing=recipe.label_smoothing, clip_grad=recipe.clip_grad, seed=seed)


def fit(config: PVTConfig, data: Mapping[str, Any], *, image_size: int, seed: int, epochs: int | None = None,
        steps: int | None = None, batch_size: int | None = None, lr: float | None = None,
        warmup: int | float | None = None, label_smoothing: float | None = None, clip_grad: float | None = None,
        drop_path: float | None = None, eval_sizes: Sequence[int] | None = None, threads: int | None = None,
        progress: bool = False, device: str = "cpu", scaling: Scaling | None = None) -> Fit:
    """``run_accuracy`` in this process (one rank of several, or alone), keeping the model (for closer looks)."""
    scaling = scaling if scaling is not None else default_scaling()
    world = current_processes(device).world
    arguments = dict(epochs=epochs, batch_size=batch_size, lr=lr, warmup=warmup, label_smoothing=label_smoothing,
                     clip_grad=clip_grad, drop_path=drop_path)
    recipe = resolve_recipe(scaling.recipe, config, arguments=arguments, recipe_options=scaling.recipe_options,
                            nproc=world)
    settings = settings_of(recipe, epochs=epochs, steps=steps, seed=seed)
    with torch_threads(threads):
        train_set, val_set, num_classes = build_datasets(data, image_size, seed)
        transform = use_paper_transforms(recipe, image_size, train_set, val_set) if recipe.name == "paper" else None
        overrides: dict[str, Any] = {"num_classes": num_classes, "img_size": image_size}
        if recipe.drop_path is not None:
            overrides["drop_path_rate"] = recipe.drop_path
        try:
            config = config.replace(**overrides)
        except ValueError as err:
            raise UserInputError(str(err)) from None
        if image_size < config.min_input_size():
            raise UserInputError(f"image_size={image_size} is too small for this model; it needs at least "
                                 f"{config.min_input_size()} px (patch_strides {config.patch_strides}, "
                                 f"sr_ratios {config.sr_ratios}, attention {config.attention!r})")
        smallest = config.min_input_size()
        sizes = check_eval_sizes(default_eval_sizes(image_size, smallest) if eval_sizes is None else eval_sizes,
                                 image_size, smallest)
        random_seed(seed)  # timm's: torch, numpy (Mixup) and python (augmentations) generators
        model = build_model(config)
        scale, resolved = build_scale(recipe, scaling, device=device, num_classes=num_classes, identity={
            "config": config.to_dict(), "data": dict(data), "image_size": image_size, "seed": seed,
            "epochs": epochs, "steps": steps})
        reseed_rank(seed, scale.processes.rank)
        subset = Subset(val_set, range(min(CURVE_SUBSET, len(val_set))))  # type: ignore[arg-type]
        result = train(model, train_set, settings, progress=progress and scale.processes.main, device=device,
                       desc=f"{data['name']} seed={seed}", scale=scale, curve_points=CURVE_POINTS,
                       probe=lambda m: evaluate_split(m, subset, scale.runtime)["top1_acc"])
        metrics = score(model, result.ema, val_set, scale.runtime)
        metrics.update(score_sizes(model, result.ema, val_set, scale.runtime, sizes, image_size, metrics))
    row = {
        **metrics,
        "train_time_s": round(result.train_time_s, 3),
        "images_seen": result.images_seen,
        "epochs": round(result.epochs, 4),
        "loss_curve": result.loss_curve,
        "val_curve": result.val_curve + [[result.images_seen, metrics["top1_acc"]]],
        "num_classes": num_classes,
        "recipe": recipe.name,
        "recipe_json": json.dumps({**resolved, "train_transform": transform}, sort_keys=True),
        "nproc": world,
        "resumed_from_step": result.resumed_from_step,
        "status": "ok",
    }
    return Fit(row, model, val_set)
