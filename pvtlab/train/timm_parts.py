"""What a recipe trains with: optimizer, lr schedule, loss, Mixup/CutMix and model EMA, from timm's parts.

Every recipe gets the same pieces, set by its values: ``create_optimizer_v2`` (AdamW), ``create_scheduler_v2``
(cosine with linear warm-up from ``warmup_lr``, counted in optimizer steps so a step budget ends exactly at
``min_lr``), cross-entropy with label smoothing, or ``Mixup`` + ``SoftTargetCrossEntropy`` when the recipe mixes,
and ``ModelEmaV3`` when it keeps an EMA. Weight decay stays off norms, biases, position tables and class tokens
(``parameter_groups``), as the official code's ``no_weight_decay`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch
import torch.nn.functional as F
from timm.data import Mixup
from timm.loss import SoftTargetCrossEntropy
from timm.optim import create_optimizer_v2
from timm.scheduler import create_scheduler_v2
from timm.utils import ModelEmaV3
from torch import nn

from ..errors import UserInputError
from .recipe import Recipe


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Decay matrices and conv kernels only; norms, biases, position tables and class tokens stay free."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        free = param.ndim <= 1 or ".pos_embed." in name or ".prefix." in name
        (no_decay if free else decay).append(param)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


@dataclass
class TrainParts:
    optimizer: torch.optim.Optimizer
    scheduler: Any  # has state_dict / load_state_dict
    advance: Callable[[int], None]  # called after each optimizer step with the number of steps done
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    mixup: Mixup | None
    ema: ModelEmaV3 | None
    clip_grad: float | None


def build_parts(model: nn.Module, recipe: Recipe, *, num_classes: int, steps_per_epoch: int,
                total_steps: int) -> TrainParts:
    groups = parameter_groups(model, recipe.weight_decay)
    optimizer = create_optimizer_v2(groups, opt="adamw", lr=recipe.peak_lr, weight_decay=recipe.weight_decay,
                                    eps=recipe.opt_eps)
    # One schedule "epoch" per optimizer step: the cosine spans exactly the run's steps, whatever the budget.
    scheduler, _ = create_scheduler_v2(
        optimizer, sched="cosine", num_epochs=total_steps, warmup_epochs=recipe.warmup_steps(total_steps,
                                                                                               steps_per_epoch),
        warmup_lr=recipe.warmup_lr, min_lr=recipe.min_lr, step_on_epochs=False, updates_per_epoch=1)
    mixup = None
    smoothing = recipe.label_smoothing
    loss: Callable = lambda logits, y: F.cross_entropy(logits, y, label_smoothing=smoothing)  # noqa: E731
    if recipe.mixes:
        if recipe.batch_size % 2:
            raise UserInputError(f"batch_size={recipe.batch_size} is not allowed with Mixup/CutMix (they pair "
                                 f"images within a batch); give an even batch size or recipe_options mixup: 0, "
                                 f"cutmix: 0")
        mixup = Mixup(mixup_alpha=recipe.mixup, cutmix_alpha=recipe.cutmix, prob=recipe.mixup_prob,
                      switch_prob=recipe.mixup_switch_prob, mode="batch", label_smoothing=recipe.label_smoothing,
                      num_classes=num_classes)
        loss = SoftTargetCrossEntropy()
    ema = ModelEmaV3(model, decay=recipe.ema_decay) if recipe.ema else None
    return TrainParts(optimizer, scheduler, lambda done: scheduler.step_update(num_updates=done), loss,
                      mixup, ema, recipe.clip_grad or None)
