"""Scoring the validation split: top-1 / top-5 (percent) and mean cross-entropy, from every training process.

``evaluate`` scores one loader in this process. ``evaluate_split``: each process runs ``evaluate`` on validation
items ``rank, rank + world, ...`` (eval transform, no augmentation) under the run's autocast; correct counts, loss
sums and image counts are summed with ``all_reduce``, so every image counts exactly once whatever the number of
processes. With EMA on, the EMA
weights are scored the same way (``ema_top1_acc``, ``ema_top5_acc``).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset

from .distributed import sum_across
from .runtime import Runtime

EVAL_BATCH = 256


def topk_correct(logits: torch.Tensor, targets: torch.Tensor, ks: tuple[int, ...] = (1, 5)) -> list[int]:
    """How many rows have their target among the k highest logits, for each k (k is capped at the class count)."""
    top = logits.topk(min(max(ks), logits.shape[1]), dim=1).indices  # (B, kmax)
    hits = top == targets.unsqueeze(1)
    return [int(hits[:, :min(k, logits.shape[1])].any(dim=1).sum()) for k in ks]


@torch.no_grad()
def evaluate(model: nn.Module, loader: DataLoader, device: str = "cpu") -> dict[str, float]:
    """``top1_acc`` and ``top5_acc`` in percent and ``val_loss`` (plain cross-entropy, no label smoothing)."""
    was_training = model.training
    model.eval()
    correct1 = correct5 = seen = 0
    loss_sum = 0.0
    for images, targets in loader:
        images, targets = images.to(device), targets.to(device)
        logits = model(images)
        loss_sum += float(F.cross_entropy(logits, targets, reduction="sum"))
        c1, c5 = topk_correct(logits, targets)
        correct1, correct5, seen = correct1 + c1, correct5 + c5, seen + len(targets)
    model.train(was_training)
    if seen == 0:
        raise ValueError("the validation split is empty; nothing to evaluate")
    return {"top1_acc": 100.0 * correct1 / seen, "top5_acc": 100.0 * correct5 / seen, "val_loss": loss_sum / seen}


def evaluate_split(model: nn.Module, dataset: Dataset, runtime: Runtime) -> dict[str, float]:
    """``top1_acc``, ``top5_acc`` (percent) and ``val_loss`` over the whole split, from all processes."""
    processes = runtime.processes
    if processes.world == 1:
        part: Dataset = dataset
    else:
        part = Subset(dataset, range(processes.rank, len(dataset), processes.world))  # type: ignore[arg-type]
    sums = [0.0, 0.0, 0.0, 0.0]
    if len(part):  # type: ignore[arg-type]
        loader = DataLoader(part, batch_size=EVAL_BATCH, shuffle=False, num_workers=runtime.speed.num_workers,
                            pin_memory=runtime.speed.pin_memory)
        with runtime.autocast():
            local = evaluate(model, loader, device=str(runtime.device))
        if processes.world == 1:
            return local
        seen = len(part)  # type: ignore[arg-type]
        sums = [round(local["top1_acc"] * seen / 100), round(local["top5_acc"] * seen / 100),
                local["val_loss"] * seen, seen]
    correct1, correct5, loss_sum, seen = sum_across(sums, processes)
    if seen == 0:
        raise ValueError("the validation split is empty; nothing to evaluate")
    return {"top1_acc": 100.0 * correct1 / seen, "top5_acc": 100.0 * correct5 / seen, "val_loss": loss_sum / seen}


def score(model: nn.Module, ema: nn.Module | None, dataset: Dataset, runtime: Runtime) -> dict[str, Any]:
    """The row's validation columns: the trained weights, and the EMA weights when there are any."""
    metrics: dict[str, Any] = evaluate_split(model, dataset, runtime)
    if ema is not None:
        averaged = evaluate_split(ema, dataset, runtime)
        metrics.update(ema_top1_acc=averaged["top1_acc"], ema_top5_acc=averaged["top5_acc"])
    return metrics
