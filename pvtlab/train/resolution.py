"""Top-1 of a trained model at test sizes it was not trained at, without retraining.

PVTv2's case for CFFN is that zero padding replaces fixed-size position tables, so the model takes other input
sizes as they are; PVTv1's tables are resized bilinearly (``pvtlab/models/position.py``, as the official v1 code does).
Each test size scores the *same* validation images, resized from the training size as a batch: bilinear,
antialiased when shrinking (torchvision's ``Resize``), so only the input size changes between the points.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from torch import nn
from torch.utils.data import Dataset
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import Resize

from ..errors import UserInputError
from .evaluate import evaluate_split
from .runtime import Runtime

EVAL_SCALES = (2 / 3, 4 / 3, 5 / 3)  # default test sizes besides the training size, as multiples of it
EVAL_COUNT = 3  # default test sizes in all, the training size included
EVAL_STEP = 8  # default test sizes are rounded to a multiple of this many px


def default_eval_sizes(image_size: int, smallest: int = 1) -> tuple[int, ...]:
    """The training size and the first of ``EVAL_SCALES`` x it (rounded to ``EVAL_STEP`` px) that the models take
    (``smallest``: their smallest input), ``EVAL_COUNT`` in all: 32, 48, 64 at 48 px; 32, 40, 56 at 32 px."""
    sizes = [image_size]
    for scale in EVAL_SCALES:
        size = max(EVAL_STEP, int(image_size * scale / EVAL_STEP + 0.5) * EVAL_STEP)
        if size >= smallest and size not in sizes and len(sizes) < EVAL_COUNT:
            sizes.append(size)
    return tuple(sorted(sizes))


def check_eval_sizes(sizes: Sequence[int], image_size: int, smallest: int) -> tuple[int, ...]:
    """The test sizes to score, sorted, the training size among them; too small a size is a UserInputError."""
    for size in sizes:
        if not isinstance(size, int) or isinstance(size, bool) or size < smallest:
            raise UserInputError(f"eval_sizes entry {size!r} is not allowed; give integers >= {smallest} px "
                                 f"(the smallest input this model accepts)")
    return tuple(sorted({*sizes, image_size}))


class ResizeInput(nn.Module):
    """``model`` fed its input resized to ``size`` x ``size`` (bilinear, antialiased when shrinking)."""

    def __init__(self, model: nn.Module, size: int) -> None:
        super().__init__()
        self.resize = Resize((size, size), interpolation=InterpolationMode.BILINEAR, antialias=True)
        self.model = model

    def forward(self, x):  # type: ignore[no-untyped-def]
        return self.model(self.resize(x))


def top1_by_res(model: nn.Module, dataset: Dataset, runtime: Runtime, sizes: Sequence[int], image_size: int,
                top1: float) -> str:
    """JSON ``{"<px>": top-1 %}`` sorted by px; the training size gets ``top1`` (already scored, so equal)."""
    scores = {image_size: top1}
    for size in sizes:
        if size != image_size:
            scores[size] = evaluate_split(ResizeInput(model, size), dataset, runtime)["top1_acc"]
    return json.dumps({str(size): scores[size] for size in sorted(scores)})


def score_sizes(model: nn.Module, ema: nn.Module | None, dataset: Dataset, runtime: Runtime,
                sizes: Sequence[int], image_size: int, metrics: dict[str, float]) -> dict[str, str | None]:
    """The row's ``top1_by_res`` and ``ema_top1_by_res`` (None without EMA) from ``score``'s ``metrics``."""
    trained = top1_by_res(model, dataset, runtime, sizes, image_size, metrics["top1_acc"])
    averaged = None
    if ema is not None:
        averaged = top1_by_res(ema, dataset, runtime, sizes, image_size, metrics["ema_top1_acc"])
    return {"top1_by_res": trained, "ema_top1_by_res": averaged}
