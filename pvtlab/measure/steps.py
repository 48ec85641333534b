"""The two steps every measurement runs: inference (forward under ``inference_mode``) and training
(forward + cross-entropy + backward + AdamW step), built once here so timing and memory measure the same thing.

The batch they run at: out-of-memory is the one failure a retry can fix, so ``with_batch_backoff`` halves the batch
and tries again, recording the batch that ran."""

from __future__ import annotations

import contextlib
import dataclasses
import gc
from dataclasses import dataclass
from typing import Callable, ContextManager, TypeVar

import torch
import torch.nn.functional as F
from torch import nn

from pvtlab.torch_settings import AMP_DTYPES
Step = Callable[[], None]


@dataclass(frozen=True)
class Workload:
    """What to run: a model factory, the input batch, and how (device, AMP, layout, compile).

    ``build`` must be picklable (a module-level function or a ``functools.partial`` of one), since memory on
    CPU is measured in a fresh process.
    """

    build: Callable[[], nn.Module]
    height: int
    width: int
    batch_size: int
    in_chans: int = 3
    num_classes: int = 1000  # labels for the training loss; 0 (no head): the loss is the mean output
    device: str = "cpu"
    amp_dtype: str | None = None  # None (fp32), "bfloat16" or "float16": autocast for the forward
    channels_last: bool = False
    compile: bool = False

    def with_batch(self, batch_size: int) -> "Workload":
        return dataclasses.replace(self, batch_size=batch_size)

    @property
    def device_type(self) -> str:
        return torch.device(self.device).type


@dataclass
class Prepared:
    model: nn.Module
    images: torch.Tensor
    labels: torch.Tensor


def prepare(work: Workload) -> Prepared:
    """Build the model on the device and one random batch (its contents do not change the cost)."""
    model = work.build().to(work.device)
    images = torch.randn(work.batch_size, work.in_chans, work.height, work.width, device=work.device)
    if work.channels_last:
        model = model.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    labels = torch.randint(0, max(work.num_classes, 1), (work.batch_size,), device=work.device)
    if work.compile:
        model = torch.compile(model)  # type: ignore[assignment]
    return Prepared(model, images, labels)


def autocast(work: Workload) -> ContextManager:
    if work.amp_dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=work.device_type, dtype=AMP_DTYPES[work.amp_dtype])


def synchronize(device: str) -> None:
    """Wait for queued GPU work, so the clock (or the memory counter) sees the step, not its launch."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def inference_step(prep: Prepared, work: Workload) -> Step:
    prep.model.eval()

    def step() -> None:
        with torch.inference_mode(), autocast(work):
            prep.model(prep.images)

    return step


def train_step(prep: Prepared, work: Workload) -> Step:
    """One optimizer step; AdamW allocates its two moment buffers on the first call, as in real training."""
    model = prep.model
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    scaler = torch.amp.GradScaler(work.device_type, enabled=work.amp_dtype == "float16")

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with autocast(work):
            out = model(prep.images)
        out = out.float()
        loss = F.cross_entropy(out, prep.labels) if work.num_classes else out.mean()
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    return step


def make_step(kind: str, prep: Prepared, work: Workload) -> Step:
    if kind == "infer":
        return inference_step(prep, work)
    if kind == "train":
        return train_step(prep, work)
    raise ValueError(f"step kind {kind!r} is not allowed; choose 'infer' or 'train'")


T = TypeVar("T")

# The CPU allocator's, CUDA's and oneDNN's words for a failed allocation. oneDNN (CPU convs) reports one only as
# "could not create a primitive"; that is how a conv fails under an address-space limit (ulimit -v) on a node.
_OOM_TEXT = ("out of memory", "can't allocate memory", "cannot allocate memory", "could not create a primitive")


class OutOfMemory(MemoryError):
    """Out of memory even at batch 1; the message lists every batch tried."""


def is_oom(exc: BaseException) -> bool:
    """CUDA OOM, CPU allocator or oneDNN allocation failure, MemoryError, or a child flagged as out of memory."""
    if getattr(exc, "oom", False) or isinstance(exc, MemoryError):
        return True
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    return any(text in str(exc).lower() for text in _OOM_TEXT)


def free_memory() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def with_batch_backoff(run: Callable[[int], T], batch_size: int) -> tuple[T, int]:
    """``run(batch)`` at ``batch_size``, halving on OOM down to 1; returns the result and the batch that ran.

    Any other error propagates as is, and OOM at batch 1 as ``OutOfMemory``: retrying cannot change them.
    """
    batch, tried = batch_size, []
    while True:
        try:
            return run(batch), batch
        except Exception as exc:  # noqa: BLE001 - only OOM is retried, the rest re-raised as is
            if not is_oom(exc):
                raise
            tried.append(batch)
            if batch == 1:
                raise OutOfMemory(f"out of memory at every batch tried {tried}: {type(exc).__name__}: {exc}") from exc
        free_memory()  # outside the except block, so the traceback no longer pins the failed batch's tensors
        batch = max(1, batch // 2)
