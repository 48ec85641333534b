"""What one training run adds to the plain loop: its recipe, how its steps run (device, processes) and where
its checkpoint goes. ``plain_scale`` is the quick recipe on one process, no checkpoint: the loop's default;
``build_scale`` is what ``run_accuracy`` asks for (``Scaling``: its arguments on these matters).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ..errors import UserInputError
from .distributed import Processes, current_processes
from .preemption import Preemption
from .recipe import QUICK, Recipe
from .runtime import Runtime, resolve_speed


@dataclass
class Scale:
    recipe: Recipe
    runtime: Runtime
    num_classes: int
    preemption: Preemption | None = None

    @property
    def processes(self) -> Processes:
        return self.runtime.processes


def plain_scale(*, batch_size: int, lr: float, weight_decay: float, warmup: int | float, label_smoothing: float,
                clip_grad: float | None, device: str) -> Scale:
    """The quick recipe with these values, one process, float32, no workers, no checkpoint."""
    recipe = dataclasses.replace(QUICK, batch_size=batch_size, lr=lr, weight_decay=weight_decay,
                                 warmup=warmup, label_smoothing=label_smoothing, clip_grad=clip_grad,
                                 global_batch=batch_size, peak_lr=lr)
    speed = resolve_speed(device, amp_dtype=None, channels_last=False, compile=False, num_workers=0, nproc=1)
    return Scale(recipe, Runtime(speed, current_processes(device)), num_classes=0)


@dataclass(frozen=True)
class Scaling:
    """run_accuracy's arguments about recipe, speed, processes and checkpoints (defaults: its signature)."""

    recipe: str
    recipe_options: Mapping[str, Any] | None
    amp_dtype: str | None
    channels_last: bool
    compile: bool | str
    num_workers: int | None
    nproc_per_node: int
    checkpoint_path: str | os.PathLike | None
    checkpoint_every_s: float

    def check(self) -> None:
        """Cheap checks of what the recipe does not check itself (before any process starts)."""
        every = self.checkpoint_every_s
        if isinstance(every, bool) or not isinstance(every, (int, float)) or not every >= 0:
            raise UserInputError(f"checkpoint_every_s={every!r} is not allowed; give seconds >= 0")
        if self.checkpoint_path is not None and not isinstance(self.checkpoint_path, (str, os.PathLike)):
            raise UserInputError(f"checkpoint_path={self.checkpoint_path!r} is not allowed; give a file path")
        if self.recipe_options is not None and not isinstance(self.recipe_options, Mapping):
            raise UserInputError(f"recipe_options={self.recipe_options!r} is not allowed; give a mapping of "
                                 f"recipe field -> value")


def build_scale(recipe: Recipe, scaling: Scaling, *, device: str, num_classes: int,
                identity: Mapping[str, Any]) -> tuple[Scale, dict[str, Any]]:
    """The run's Scale and what it resolved to (for ``recipe_json``); ``identity`` fixes the checkpoint's owner."""
    processes = current_processes(device)
    speed = resolve_speed(device, amp_dtype=scaling.amp_dtype, channels_last=scaling.channels_last,
                          compile=scaling.compile, num_workers=scaling.num_workers, nproc=processes.world)
    resolved = {**dataclasses.asdict(recipe), "speed": {k: v for k, v in dataclasses.asdict(speed).items()
                                                        if k != "device"}}
    preemption = None
    if scaling.checkpoint_path is not None:
        shaping = {k: v for k, v in resolved["speed"].items() if k in ("amp_dtype", "channels_last", "compile")}
        blob = json.dumps({**identity, "recipe": dataclasses.asdict(recipe), "speed": shaping}, sort_keys=True,
                          default=str)
        preemption = Preemption(Path(scaling.checkpoint_path), float(scaling.checkpoint_every_s),
                                hashlib.sha256(blob.encode()).hexdigest(), processes)
    return Scale(recipe, Runtime(speed, processes), num_classes, preemption), resolved
