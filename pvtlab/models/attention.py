"""Spatial-reduction attention (P1 sec 3.3) with a pluggable key/value reducer (see kv_reducers.py)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import DeviceLike


class SpatialReductionAttention(nn.Module):
    """Multi-head attention whose keys and values come from ``reducer(x)`` instead of ``x``.

    Queries: all N tokens. Keys/values: the M reduced tokens. The two matmuls cost 2*N*M*C MACs, computed by
    ``F.scaled_dot_product_attention`` (pvtlab.measure counts that op explicitly).
    """

    def __init__(self, dim: int, num_heads: int, reducer: nn.Module, qkv_bias: bool = True,
                 proj_drop: float = 0.0, *, device: DeviceLike = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        dd = {"device": device, "dtype": dtype}
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.q = nn.Linear(dim, dim, bias=qkv_bias, **dd)
        self.kv = nn.Linear(dim, 2 * dim, bias=qkv_bias, **dd)
        self.reducer = reducer
        self.proj = nn.Linear(dim, dim, **dd)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
        B, N, C = x.shape
        q = self.q(x).reshape(B, N, self.num_heads, self.head_dim).transpose(1, 2)  # (B, h, N, d)
        kv = self.kv(self.reducer(x, hw))  # (B, M, 2C)
        kv = kv.reshape(B, -1, 2, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)  # (2, B, h, M, d)
        x = F.scaled_dot_product_attention(q, kv[0], kv[1])  # (B, h, N, d); scale d**-0.5 as in both papers
        x = x.transpose(1, 2).reshape(B, N, C)
        return self.proj_drop(self.proj(x))
