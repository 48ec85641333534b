"""Token prefixes and absolute position embeddings of PVTv1 (P1 sec 3.1); PVTv2 uses neither."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from timm.layers import trunc_normal_
from torch import nn

from .config import DeviceLike


class NoPositionEmbed(nn.Module):
    """PVTv2: position comes from zero padding in OPE and the CFFN depthwise conv, nothing is added."""

    def forward(self, x: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
        return x


class AbsolutePositionEmbed(nn.Module):
    """Learned table stored at the training grid, bilinearly resized to the actual grid of any input.

    Each stage compares the input grid with its own stored grid (the official v1 code compares every stage with
    the stage-1 count, which crashes at twice the training size). Prefix
    rows (the v1 class-token slot) are kept as they are. Where the official code runs, outputs are the same.
    """

    def __init__(self, dim: int, grid: tuple[int, int], num_prefix_tokens: int, *, device: DeviceLike = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.grid = grid
        self.num_prefix_tokens = num_prefix_tokens
        self.table = nn.Parameter(torch.zeros(1, num_prefix_tokens + grid[0] * grid[1], dim, device=device,
                                              dtype=dtype))
        trunc_normal_(self.table, std=0.02)

    def forward(self, x: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
        if tuple(hw) == self.grid:
            return x + self.table
        n = self.num_prefix_tokens
        spatial = self.table[:, n:].reshape(1, self.grid[0], self.grid[1], -1).permute(0, 3, 1, 2)  # (1, C, gh, gw)
        spatial = F.interpolate(spatial, size=hw, mode="bilinear", align_corners=False)
        table = torch.cat([self.table[:, :n], spatial.flatten(2).transpose(1, 2)], dim=1)  # (1, n + h*w, C)
        return x + table


class NoPrefix(nn.Module):
    """No extra tokens in front of the patch tokens (PVTv2, and PVTv1 stages 1-3)."""

    num_tokens = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class ClsTokenPrefix(nn.Module):
    """PVTv1's class token, prepended at the start of stage 4 only (official PVTv1 classification code)."""

    num_tokens = 1

    def __init__(self, dim: int, *, device: DeviceLike = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.token = nn.Parameter(torch.zeros(1, 1, dim, device=device, dtype=dtype))
        trunc_normal_(self.token, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.token.expand(x.shape[0], -1, -1), x], dim=1)
