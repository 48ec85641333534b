"""Key/value reducers: what makes PVT attention cheap. Chosen once per attention layer at build time.

Each reducer maps spatial tokens (B, h*w, C) on grid (h, w) to the M tokens that keys and values are computed from:
- ``NoReduction``: M = h*w (SRA with R = 1, PVT stage 4).
- ``SpatialReduction``: Conv2d(kernel = stride = R) + LayerNorm, M = (h//R)(w//R)  (SRA, P1 sec 3.3).
- ``LinearSpatialReduction``: AdaptiveAvgPool2d(P) + 1x1 conv + LayerNorm + GELU, M = P*P  (linear SRA, P2 sec 3.2).
- ``KeepPrefixTokens`` wraps any of them when class tokens sit in front: they skip the reduction and stay keys.
"""

from __future__ import annotations

import torch
from torch import nn

from .config import DeviceLike


def _to_map(x: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    return x.transpose(1, 2).reshape(x.shape[0], x.shape[2], hw[0], hw[1])  # (B, C, h, w)


class NoReduction(nn.Module):
    def forward(self, x: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
        return x


class SpatialReduction(nn.Module):
    def __init__(self, dim: int, ratio: int, *, device: DeviceLike = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.conv = nn.Conv2d(dim, dim, kernel_size=ratio, stride=ratio, device=device, dtype=dtype)
        self.norm = nn.LayerNorm(dim, device=device, dtype=dtype)  # eps 1e-5 (plain nn.LayerNorm in both official codes)

    def forward(self, x: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
        x = self.conv(_to_map(x, hw)).flatten(2).transpose(1, 2)  # (B, M, C)
        return self.norm(x)


class LinearSpatialReduction(nn.Module):
    def __init__(self, dim: int, pool_size: int, *, device: DeviceLike = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(pool_size)
        self.conv = nn.Conv2d(dim, dim, kernel_size=1, stride=1, device=device, dtype=dtype)
        self.norm = nn.LayerNorm(dim, device=device, dtype=dtype)  # eps 1e-5
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
        x = self.conv(self.pool(_to_map(x, hw))).flatten(2).transpose(1, 2)  # (B, P*P, C)
        return self.act(self.norm(x))


class KeepPrefixTokens(nn.Module):
    """Reduce only the spatial tokens; prefix (class) tokens pass through and are prepended to the keys."""

    def __init__(self, reducer: nn.Module, num_prefix_tokens: int) -> None:
        super().__init__()
        self.reducer = reducer
        self.num_prefix_tokens = num_prefix_tokens

    def forward(self, x: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
        n = self.num_prefix_tokens
        return torch.cat([x[:, :n], self.reducer(x[:, n:], hw)], dim=1)


def build_kv_reducer(attention: str, dim: int, sr_ratio: int, pool_size: int, num_prefix_tokens: int, *,
                     device: DeviceLike = None, dtype: torch.dtype | None = None) -> nn.Module:
    """The reducer for one attention layer; a 1x1 identity (R = 1) needs no module at all."""
    if attention == "linear_sra":
        reducer: nn.Module = LinearSpatialReduction(dim, pool_size, device=device, dtype=dtype)
    elif sr_ratio > 1:
        reducer = SpatialReduction(dim, sr_ratio, device=device, dtype=dtype)
    else:
        return NoReduction()  # prefix tokens are keys anyway
    return KeepPrefixTokens(reducer, num_prefix_tokens) if num_prefix_tokens else reducer
