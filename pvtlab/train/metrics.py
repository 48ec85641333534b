"""Validation metrics: top-1 / top-5 accuracy (percent) and the mean cross-entropy."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader


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
