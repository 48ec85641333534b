"""Out-of-memory is the one failure a retry can fix: halve the batch and try again, recording what ran."""

from __future__ import annotations

import gc
from typing import Callable, TypeVar

import torch

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
