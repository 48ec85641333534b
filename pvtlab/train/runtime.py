"""How a training step runs on its device: AMP, channels_last, torch.compile, DDP wrapping, loader workers.

On CUDA the defaults aim at speed: bf16 autocast (fp16 runs with ``torch.amp.GradScaler``), DataLoader worker
processes with pinned memory and persistent workers. On CPU the defaults keep runs exact and reproducible:
float32, no workers (``num_workers`` > 0 is allowed: also reproducible and resumable, with each image's
augmentation seeded by itself, a different stream from 0 workers; loader.py). ``channels_last`` and ``compile`` are opt-in everywhere.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any, ContextManager

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ..errors import Rule, boolean, check_fields, non_negative_int
from ..torch_settings import AMP_DTYPES, check_device
from .distributed import Processes

AMP_CHOICES = ("auto", "none", *AMP_DTYPES)
MAX_WORKERS = 8  # loader processes per training process on CUDA by default


@dataclass(frozen=True)
class Speed:
    """Resolved device-speed settings (part of a TrainJob, recorded in its ``job_json``)."""

    device: str
    amp_dtype: str | None
    channels_last: bool
    compile: str | None  # torch.compile mode, None: eager
    num_workers: int
    pin_memory: bool
    persistent_workers: bool


# Each speed setting's rule, checked before it is resolved.
RULES: dict[str, Rule] = {
    "amp_dtype": Rule(lambda v: v in AMP_CHOICES, f"choose one of {list(AMP_CHOICES)} or None", AMP_CHOICES),
    "channels_last": boolean(),
    "compile": Rule(lambda v: isinstance(v, (bool, str)), "give false, true or a torch.compile mode"),
    "num_workers": non_negative_int("give an integer >= 0 or None"),
}


def resolve_speed(device: str, *, amp_dtype: str | None, channels_last: bool, compile: bool | str,
                  num_workers: int | None, nproc: int) -> Speed:
    """The speed settings as they will run on ``device``: ``auto`` AMP and ``num_workers`` None resolved."""
    check_fields({"amp_dtype": amp_dtype, "channels_last": channels_last, "compile": compile,
                  "num_workers": num_workers}, RULES)
    kind = torch.device(check_device(device)).type
    amp = "none" if amp_dtype is None else amp_dtype
    if amp == "auto":
        amp = "bfloat16" if kind == "cuda" else "none"
    mode = "default" if compile is True else (None if compile in (False, None) else compile)
    if num_workers is None:
        num_workers = min(MAX_WORKERS, max(1, (os.cpu_count() or 1) // nproc)) if kind == "cuda" else 0
    return Speed(device=device, amp_dtype=None if amp == "none" else amp, channels_last=channels_last,
                 compile=mode, num_workers=num_workers, pin_memory=kind == "cuda",
                 persistent_workers=num_workers > 0)


class Runtime:
    """Applies ``Speed`` and the process group to one training run."""

    def __init__(self, speed: Speed, processes: Processes) -> None:
        self.speed, self.processes = speed, processes
        self.device = processes.device
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=speed.amp_dtype == "float16")

    def prepare(self, model: nn.Module) -> nn.Module:
        """Move ``model`` (in place) and return what the step calls: DDP-wrapped and/or compiled as asked."""
        model.to(self.device)
        if self.speed.channels_last:
            model.to(memory_format=torch.channels_last)
        runner: nn.Module = model
        if self.processes.world > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            runner = DistributedDataParallel(model, device_ids=ids)
        if self.speed.compile is not None:
            runner = torch.compile(runner, mode=self.speed.compile)  # type: ignore[assignment]
        return runner

    def inputs(self, images: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        images = images.to(self.device, non_blocking=True)
        if self.speed.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        return images, targets.to(self.device, non_blocking=True)

    def autocast(self) -> ContextManager[Any]:
        if self.speed.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=AMP_DTYPES[self.speed.amp_dtype])

    def backward_step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer, model: nn.Module,
                      clip_grad: float | None) -> None:
        """zero_grad, backward (scaled for fp16), optional clipping of the true gradients, optimizer step."""
        optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if clip_grad:
            self.scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
        self.scaler.step(optimizer)
        self.scaler.update()
