"""Feed-forward networks: PVTv1's MLP and PVTv2's convolutional FFN (P2 sec 3.4)."""

from __future__ import annotations

import torch
from torch import nn

from .config import DeviceLike


class Mlp(nn.Module):
    """fc1 -> [ReLU if extra_relu] -> GELU -> fc2 (v1; the ReLU is the B2-Li quirk, off in v1)."""

    def __init__(self, dim: int, hidden: int, extra_relu: bool = False, drop: float = 0.0, *,
                 device: DeviceLike = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden, device=device, dtype=dtype)
        self.relu = nn.ReLU() if extra_relu else nn.Identity()
        self.act = nn.GELU()
        self.drop = nn.Dropout(drop)
        self.fc2 = nn.Linear(hidden, dim, device=device, dtype=dtype)

    def forward(self, x: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
        x = self.drop(self.act(self.relu(self.fc1(x))))
        return self.drop(self.fc2(x))


class TokenDepthwiseConv(nn.Conv2d):
    """3x3 depthwise conv applied to tokens (B, h*w, C) laid out on their grid; zero padding leaks position."""

    def __init__(self, channels: int, *, device: DeviceLike = None, dtype: torch.dtype | None = None) -> None:
        super().__init__(channels, channels, kernel_size=3, stride=1, padding=1, groups=channels, device=device,
                         dtype=dtype)

    def forward(self, x: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:  # type: ignore[override]
        B, N, C = x.shape
        x = x.transpose(1, 2).reshape(B, C, hw[0], hw[1])
        return super().forward(x).flatten(2).transpose(1, 2)


class TokenDepthwiseConvKeepPrefix(TokenDepthwiseConv):
    """Same conv over the spatial tokens only; prefix (class) tokens have no place on the grid and pass through."""

    def __init__(self, channels: int, num_prefix_tokens: int, *, device: DeviceLike = None, dtype: torch.dtype | None = None) -> None:
        super().__init__(channels, device=device, dtype=dtype)
        self.num_prefix_tokens = num_prefix_tokens

    def forward(self, x: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:  # type: ignore[override]
        n = self.num_prefix_tokens
        return torch.cat([x[:, :n], super().forward(x[:, n:], hw)], dim=1)


class ConvFfn(Mlp):
    """fc1 -> [ReLU if extra_relu] -> 3x3 depthwise conv -> GELU -> fc2 (official order, P2 Fig. 1b)."""

    def __init__(self, dim: int, hidden: int, extra_relu: bool = False, drop: float = 0.0,
                 num_prefix_tokens: int = 0, *, device: DeviceLike = None, dtype: torch.dtype | None = None) -> None:
        super().__init__(dim, hidden, extra_relu, drop, device=device, dtype=dtype)
        self.dwconv = (TokenDepthwiseConvKeepPrefix(hidden, num_prefix_tokens, device=device, dtype=dtype)
                       if num_prefix_tokens else TokenDepthwiseConv(hidden, device=device, dtype=dtype))

    def forward(self, x: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
        x = self.dwconv(self.relu(self.fc1(x)), hw)
        x = self.drop(self.act(x))
        return self.drop(self.fc2(x))
