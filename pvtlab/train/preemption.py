"""Surviving preemption: save the whole training state every ``every_s`` seconds and at each epoch's end,
and pick it up again when the same cell runs again.

The state is everything the next step depends on: model, optimizer, lr schedule, grad scaler, EMA, every
process's RNG states, the step (which fixes the epoch and the batch within it, loader.py), the loss history
and the validation curve so far. Restoring all of it makes a resumed run on CPU give exactly the numbers of an uninterrupted one.
Rank 0 decides when to save (all processes must join: the RNG states are gathered) and writes the file.

A stop request (``request_stop``, sent by a signal: SLURM's warning before a time limit) asks for a save now. A
signal handler cannot save a model itself: it runs between two bytecodes of the training step. So the handler only
sets the request; a training loop that checkpoints polls ``stop_requested`` after each step, saves, and raises
``Stopped`` (a ``KeyboardInterrupt``, so whatever hands an interrupted cell back to its queue does so). Where no
such loop is running, ``request_stop`` raises at once: there is nothing worth saving.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from .distributed import Processes, gather_across, main_decides
from .timm_parts import TrainParts
from .runtime import Runtime


@dataclass
class TrainProgress:
    """The loop's counters, saved and restored with the rest."""

    steps: int = 0
    images_seen: int = 0
    train_time_s: float = 0.0
    losses: list[float] = field(default_factory=list)
    val_curve: list[list[float]] = field(default_factory=list)  # [images_seen, top-1 %] probed so far


@dataclass
class Preemption:
    path: Path
    every_s: float
    fingerprint: str  # the resolved run setup; a checkpoint from another setup is refused
    processes: Processes
    _last: float = field(default_factory=time.monotonic)

    def resume(self, model: nn.Module, parts: TrainParts, runtime: Runtime, progress: TrainProgress) -> int:
        """Load the checkpoint if there is one (0 if not); returns the step it resumes from."""
        if not self.path.exists():
            return 0
        state = load_checkpoint(self.path, self.fingerprint)
        model.load_state_dict(state["model"])
        parts.optimizer.load_state_dict(state["optimizer"])
        parts.scheduler.load_state_dict(state["scheduler"])
        runtime.scaler.load_state_dict(state["scaler"])
        if parts.ema is not None:
            parts.ema.load_state_dict(state["ema"])
        set_rng_state(state["rng"][self.processes.rank])
        progress.steps, progress.images_seen = state["steps"], state["images_seen"]
        progress.train_time_s = state["train_time_s"]
        progress.losses = state["losses"].tolist()
        progress.val_curve = [[int(seen), top1] for seen, top1 in state["val_curve"].tolist()]
        self._last = time.monotonic()
        return progress.steps

    def due(self, epoch_end: bool) -> bool:
        """Save now? At an epoch's end, or once ``every_s`` passed since the last save (rank 0's clock)."""
        return main_decides(epoch_end or time.monotonic() - self._last >= self.every_s, self.processes)

    def save(self, model: nn.Module, parts: TrainParts, runtime: Runtime, progress: TrainProgress) -> None:
        rng = gather_across(rng_state(), self.processes)
        if self.processes.main:
            state: dict[str, Any] = {
                "fingerprint": self.fingerprint, "model": model.state_dict(),
                "optimizer": parts.optimizer.state_dict(), "scheduler": parts.scheduler.state_dict(),
                "scaler": runtime.scaler.state_dict(),
                "ema": parts.ema.state_dict() if parts.ema is not None else None, "rng": rng,
                "steps": progress.steps, "images_seen": progress.images_seen,
                "train_time_s": progress.train_time_s,
                "losses": torch.tensor(progress.losses, dtype=torch.float64),
                "val_curve": torch.tensor(progress.val_curve, dtype=torch.float64).reshape(-1, 2),
            }
            save_checkpoint(self.path, state)
        self._last = time.monotonic()


_state = {"listening": 0, "requested": False}


class Stopped(KeyboardInterrupt):
    """Training stopped on request after saving its checkpoint."""


def request_stop() -> None:
    """Ask the running training loop to checkpoint and stop; with none listening, stop now."""
    if not _state["listening"]:
        raise Stopped("stop requested with no checkpointing training loop running")
    _state["requested"] = True


def stop_requested() -> bool:
    return bool(_state["requested"])


@contextmanager
def listening_for_stop() -> Iterator[None]:
    """Mark a checkpointing training loop as running (it polls ``stop_requested``); clears the request on exit."""
    _state["listening"] += 1
    try:
        yield
    finally:
        _state["listening"] -= 1
        _state["requested"] = False
