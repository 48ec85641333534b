"""Parameter counts, total and trainable, in the units the results table uses (millions)."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn


@dataclass(frozen=True)
class ParamCount:
    total: int
    trainable: int

    @property
    def total_m(self) -> float:
        return self.total / 1e6

    @property
    def trainable_m(self) -> float:
        return self.trainable / 1e6


def count_params(model: nn.Module) -> ParamCount:
    """Every parameter once (shared ones are not double counted), and those with ``requires_grad``.

    The official PVT counter is the trainable sum with the 1000-class head (B2: 25.36 M).
    """
    params = list(model.parameters())  # .parameters() already skips shared duplicates
    return ParamCount(total=sum(p.numel() for p in params),
                      trainable=sum(p.numel() for p in params if p.requires_grad))
