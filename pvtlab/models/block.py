"""Pre-norm transformer block shared by PVTv1 and PVTv2 (P1 sec 3.2): attention and FFN, each with a residual."""

from __future__ import annotations

import torch
from timm.layers import DropPath
from torch import nn

from .factory import DeviceLike


class Block(nn.Module):
    """x + attn(norm1(x)), then + ffn(norm2(x)); ``attn`` and ``mlp`` are built by the caller from the config."""

    def __init__(self, dim: int, attn: nn.Module, mlp: nn.Module, norm_eps: float, drop_path: float,
                 *, device: DeviceLike = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=norm_eps, device=device, dtype=dtype)
        self.attn = attn
        self.drop_path1 = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.norm2 = nn.LayerNorm(dim, eps=norm_eps, device=device, dtype=dtype)
        self.mlp = mlp
        self.drop_path2 = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
        x = x + self.drop_path1(self.attn(self.norm1(x), hw))
        return x + self.drop_path2(self.mlp(self.norm2(x), hw))
