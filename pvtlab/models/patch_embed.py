"""Patch embedding: the strided conv that opens every stage (P1 sec 3.1, P2 sec 3.3)."""

from __future__ import annotations

import torch
from torch import nn

from .config import DeviceLike


class PatchEmbed(nn.Module):
    """Conv2d + LayerNorm, image map (B, C_in, H, W) -> tokens (B, h*w, C) and their grid (h, w).

    The same module serves both paper variants; only the conv geometry differs:
    PVTv1 non-overlapping (kernel = stride = S, padding 0) and PVTv2 OPE (kernel 2S-1, stride S, padding S-1).
    """

    def __init__(self, in_chans: int, dim: int, kernel: int, stride: int, padding: int, *,
                 device: DeviceLike = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_chans, dim, kernel_size=kernel, stride=stride, padding=padding, device=device,
                              dtype=dtype)
        self.norm = nn.LayerNorm(dim, device=device, dtype=dtype)  # eps 1e-5 in both official codes (plain nn.LayerNorm)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        x = self.proj(x)  # (B, C, h, w)
        hw = (x.shape[2], x.shape[3])
        x = x.flatten(2).transpose(1, 2)  # (B, h*w, C)
        return self.norm(x), hw
