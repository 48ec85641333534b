"""One accuracy run in this process: build the data and the model of a ``TrainJob`` (job.py), train it, score it.

``fit`` returns the row (a flat dict whose keys are cells.csv columns, pvtlab/columns.py) with the trained model;
run.py runs it in one process or several (ranks.py). Accuracy from these short runs is a *proxy*: at pvt_nano scale, 32-48 px and seconds of
CPU training it ranks variants on the synthetic task; it is not an ImageNet number.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from timm.utils import random_seed
from torch import nn
from torch.utils.data import Dataset, Subset

from ..data import build_datasets
from ..models import build_model
from ..torch_settings import torch_threads
from .augment import use_recipe_transforms
from .distributed import current_processes, reseed_rank
from .evaluate import evaluate_split, score
from .job import TrainJob
from .loop import train
from .preemption import Preemption
from .resolution import score_sizes
from .runtime import Runtime

CURVE_POINTS = 10  # val_curve points: 9 on a fixed val subset during training, the last on the full val split
CURVE_SUBSET = 256  # the first this-many val images score the intermediate points (cheap: a few % of a cell)


@dataclass
class Fit:
    """What ``fit`` leaves behind: the row, plus the trained model and validation set for closer looks."""

    row: dict[str, Any]
    model: nn.Module
    val_set: Dataset


def fit(job: TrainJob, *, threads: int | None = None, progress: bool = False,
        checkpoint_path: str | os.PathLike | None = None) -> Fit:
    """``job`` in this process (one rank of several, or alone), keeping the model (for closer looks)."""
    processes = current_processes(job.device)
    with torch_threads(threads):
        train_set, val_set, num_classes = build_datasets(job.data, job.image_size, job.seed)
        transform = use_recipe_transforms(job.recipe, job.image_size, train_set, val_set)
        random_seed(job.seed)  # timm's: torch, numpy (Mixup) and python (augmentations) generators
        model = build_model(job.config.replace(num_classes=num_classes))
        runtime = Runtime(job.speed, processes)
        preemption = None if checkpoint_path is None else Preemption(
            Path(checkpoint_path), float(job.checkpoint_every_s), job.fingerprint(), processes)
        reseed_rank(job.seed, processes.rank)
        subset = Subset(val_set, range(min(CURVE_SUBSET, len(val_set))))  # type: ignore[arg-type]
        result = train(model, train_set, job.recipe, seed=job.seed, progress=progress and processes.main,
                       device=job.device, desc=f"{job.data['name']} seed={job.seed}", runtime=runtime,
                       num_classes=num_classes, preemption=preemption, curve_points=CURVE_POINTS,
                       probe=lambda m: evaluate_split(m, subset, runtime)["top1_acc"])
        metrics = score(model, result.ema, val_set, runtime)
        metrics.update(score_sizes(model, result.ema, val_set, runtime, job.eval_sizes, job.image_size, metrics))
    row = {
        **metrics,
        "train_time_s": round(result.train_time_s, 3),
        "images_seen": result.images_seen,
        "epochs_done": round(result.epochs, 4),
        "loss_curve": result.loss_curve,
        "val_curve": result.val_curve + [[result.images_seen, metrics["top1_acc"]]],
        "num_classes": num_classes,
        "recipe": job.recipe.name,
        "train_transform": transform,
        "job_json": job.to_json(),
        "resumed_from_step": result.resumed_from_step,
        "status": "ok",
    }
    return Fit(row, model, val_set)
