"""How torch runs a measurement or a training run: the autocast precisions by the name a spec and a row give them,
and one way to pin torch's intra-op threads for a block and give the old setting back (measure and train share
both)."""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch

from .errors import UserInputError

AMP_DTYPES: dict[str, torch.dtype] = {"bfloat16": torch.bfloat16, "float16": torch.float16}


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``threads`` intra-op threads (None: leave torch's setting), then restore it."""
    if threads is None:
        yield
        return
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        raise UserInputError(f"threads={threads!r} is not allowed; give a positive integer or None")
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
