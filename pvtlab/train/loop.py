"""The training loop: one resolved ``Recipe`` (recipe.py) in, a trained model and its curves out.

Plain on purpose (nanoGPT-style): one function, one optimizer step per batch. The one hook is ``probe``: a
function of the model called at a few steps (``curve_steps``) to record a validation learning curve.
Determinism on CPU: the caller seeds torch, numpy and python before building the model; the data order and
each image's augmentation come from ``seed`` (loader.py), and drop-path and Mixup draw from the global
generators, which the seed fixed and a checkpoint restores. Same seed, thread count and torch build →
identical weights and metrics, resumed or not.
"""

from __future__ import annotations

import math
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Callable

import torch

from torch import nn
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from .distributed import current_processes
from .loader import epoch_batches, steps_per_epoch, train_loader
from .timm_parts import build_parts
from .preemption import Preemption, Stopped, TrainProgress, listening_for_stop, stop_requested
from .recipe import Recipe
from .runtime import Runtime, resolve_speed

LOSS_CURVE_POINTS = 100  # the stored curve is at most this many bucket means (a grid cell keeps it as JSON)


@dataclass
class TrainResult:
    loss_curve: list[float] = field(default_factory=list)
    val_curve: list[list[float]] = field(default_factory=list)  # [images_seen, probe value] at curve_steps
    train_time_s: float = 0.0
    images_seen: int = 0
    steps: int = 0
    epochs: float = 0.0
    resumed_from_step: int = 0  # 0: ran uninterrupted
    ema: nn.Module | None = None  # the EMA weights, when the recipe keeps them


def downsample_curve(values: list[float], points: int = LOSS_CURVE_POINTS) -> list[float]:
    """Means of ``points`` equal consecutive buckets (the whole list when it is shorter), rounded to 5 places."""
    if len(values) <= points:
        return [round(v, 5) for v in values]
    bounds = [round(i * len(values) / points) for i in range(points + 1)]
    return [round(sum(values[a:b]) / (b - a), 5) for a, b in zip(bounds[:-1], bounds[1:])]


def curve_steps(total: int, points: int) -> list[int]:
    """``points`` step counts spread evenly over ``total`` steps, the last one ``total`` (fewer if total is small)."""
    return sorted({max(1, round(total * (i + 1) / points)) for i in range(points)}) if points > 0 else []


def train(model: nn.Module, train_set: Dataset, recipe: Recipe, *, seed: int = 0, progress: bool = True,
          device: str = "cpu", desc: str = "train", runtime: Runtime | None = None, num_classes: int = 0,
          preemption: Preemption | None = None, probe: Callable[[nn.Module], float] | None = None,
          curve_points: int = 0) -> TrainResult:
    """Train ``model`` in place on ``train_set`` with ``recipe`` (its budget, optimizer, schedule, loss, Mixup
    and EMA: timm_parts.py); returns the curves and counts. ``recipe.quick_recipe(...)`` makes one by hand.

    ``probe(model)`` (called in eval mode, no gradients, by every process) runs at ``curve_steps(total,
    curve_points)`` except the last, which is the end of training and left to the caller's final evaluation;
    its values go to ``TrainResult.val_curve`` as ``[images_seen, value]`` (and into checkpoints, so a resumed
    run keeps its curve). It draws no random numbers: training is unchanged.

    ``runtime`` (runtime.py) brings AMP, channels_last, compile and DDP (None: float32 on ``device``, this
    process alone); ``preemption`` (preemption.py) saves and resumes checkpoints; ``num_classes`` is for Mixup.
    """
    if runtime is None:
        speed = resolve_speed(device, amp_dtype=None, channels_last=False, compile=False, num_workers=0, nproc=1)
        runtime = Runtime(speed, current_processes(device))
    processes, speed = runtime.processes, runtime.speed
    loader = train_loader(train_set, batch_size=recipe.batch_size, seed=seed, world=processes.world,
                          rank=processes.rank, num_workers=speed.num_workers, pin_memory=speed.pin_memory,
                          persistent_workers=speed.persistent_workers)
    per_epoch = steps_per_epoch(loader)
    total = recipe.steps if recipe.steps is not None else recipe.epochs * per_epoch
    runner = runtime.prepare(model)
    parts = build_parts(model, recipe, num_classes=num_classes, steps_per_epoch=per_epoch, total_steps=total)
    probe_at = set(curve_steps(total, curve_points)[:-1]) if probe is not None else set()
    done = TrainProgress()
    resumed = preemption.resume(model, parts, runtime, done) if preemption is not None else 0
    model.train()
    bar = tqdm(total=total, initial=done.steps, desc=desc, disable=not progress, leave=False, dynamic_ncols=True)
    start = time.perf_counter() - done.train_time_s
    # A checkpointing loop honours a stop request (preemption.py): save, then stop.
    with listening_for_stop() if preemption is not None else nullcontext():
        while done.steps < total:
            epoch, first = divmod(done.steps, per_epoch)
            for images, targets in epoch_batches(loader, epoch, first):
                images, targets = runtime.inputs(images, targets)
                if parts.mixup is not None:
                    images, targets = parts.mixup(images, targets)
                with runtime.autocast():
                    loss = parts.loss(runner(images), targets)
                value = loss.item()
                if not math.isfinite(value):
                    bar.close()
                    raise FloatingPointError(f"training loss became {value} at step {done.steps}; "
                                             f"lower lr (now {recipe.peak_lr}) or keep clip_grad on")
                runtime.backward_step(loss, parts.optimizer, model, parts.clip_grad)
                done.steps += 1
                parts.advance(done.steps)
                if parts.ema is not None:
                    parts.ema.update(model, step=done.steps)
                done.losses.append(value)
                done.images_seen += len(images) * processes.world
                bar.update(1)
                if done.steps % 10 == 0 or done.steps == total:
                    bar.set_postfix(loss=f"{value:.3f}")
                if done.steps in probe_at:
                    done.val_curve.append([done.images_seen, _probe(model, probe)])
                if done.steps == total:
                    break
                if preemption is not None and (stop_requested() or
                                               preemption.due(epoch_end=done.steps % per_epoch == 0)):
                    done.train_time_s = time.perf_counter() - start
                    preemption.save(model, parts, runtime, done)
                    if stop_requested():
                        bar.close()
                        raise Stopped(f"checkpointed at step {done.steps} of {total} and stopped on request")
    bar.close()
    return TrainResult(loss_curve=downsample_curve(done.losses), val_curve=done.val_curve, train_time_s=time.perf_counter() - start,
                       images_seen=done.images_seen, steps=done.steps, epochs=done.steps / per_epoch,
                       resumed_from_step=resumed, ema=parts.ema.module if parts.ema is not None else None)


@torch.no_grad()
def _probe(model: nn.Module, probe: Callable[[nn.Module], float]) -> float:
    model.eval()
    try:
        return float(probe(model))
    finally:
        model.train()
