"""PyramidVisionTransformer: PVTv1 (arXiv 2102.12122) and PVTv2 (arXiv 2106.13797) from one ``PVTConfig``.

The model is assembled here: a ``Stage`` of pre-norm ``Block``s (shared by both papers, P1 sec 3.2) per pyramid
level. Every toggle is resolved here, in ``build_stage``: the config picks submodules, and ``forward`` has one path.
Where each toggle lives:
- ``patch_embed`` -> ``PatchEmbed`` conv geometry (``PVTConfig.patch_kernel`` / ``patch_padding``)
- ``pos_embed``   -> ``AbsolutePositionEmbed`` or ``NoPositionEmbed`` (position.py)
- ``ffn``         -> ``Mlp`` or ``ConvFfn`` (ffn.py); ``ffn_relu`` adds the B2-Li ReLU in either
- ``attention``   -> the key/value reducer (kv_reducers.py)
- ``head_pool``   -> ``ClsTokenPrefix`` in stage 4 + ``ClsTokenPool``, or ``MeanTokenPool``
- ``stage_norm``  -> LayerNorm or Identity after stages 1-3
"""

from __future__ import annotations

import math
from typing import Union

import torch
from timm.layers import DropPath, trunc_normal_
from timm.models._features import feature_take_indices  # where timm's own models import it from
from torch import nn

from .attention import SpatialReductionAttention
from .config import NUM_STAGES, DeviceLike, PVTConfig
from .ffn import ConvFfn, Mlp
from .kv_reducers import build_kv_reducer
from .patch_embed import PatchEmbed
from .position import AbsolutePositionEmbed, ClsTokenPrefix, NoPositionEmbed, NoPrefix


class Block(nn.Module):
    """Pre-norm transformer block shared by PVTv1 and PVTv2 (P1 sec 3.2): x + attn(norm1(x)), then
    + ffn(norm2(x)); ``attn`` and ``mlp`` are built by the caller (``build_stage``) from the config."""

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


class Stage(nn.Module):
    """Patch embedding -> [class token] -> [position embedding] -> blocks -> norm. Output: tokens and grid."""

    def __init__(self, patch_embed: PatchEmbed, prefix: nn.Module, pos_embed: nn.Module, pos_drop: float,
                 blocks: list[Block], norm: nn.Module) -> None:
        super().__init__()
        self.patch_embed = patch_embed
        self.prefix = prefix
        self.pos_embed = pos_embed
        self.pos_drop = nn.Dropout(pos_drop)
        self.blocks = nn.ModuleList(blocks)
        self.norm = norm

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        x, hw = self.patch_embed(x)  # (B, h*w, C)
        x = self.pos_drop(self.pos_embed(self.prefix(x), hw))  # (B, n_prefix + h*w, C)
        for block in self.blocks:
            x = block(x, hw)
        return self.norm(x), hw


class ClsTokenPool(nn.Module):
    """PVTv1 head input: the class token."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, 0]


class MeanTokenPool(nn.Module):
    """PVTv2 head input: the mean of the stage-4 tokens."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=1)


def tokens_to_map(x: torch.Tensor, hw: tuple[int, int], num_prefix_tokens: int) -> torch.Tensor:
    """(B, n + h*w, C) tokens -> (B, C, h, w) feature map, dropping prefix tokens."""
    x = x[:, num_prefix_tokens:]
    return x.transpose(1, 2).reshape(x.shape[0], x.shape[2], hw[0], hw[1])


def build_stage(cfg: PVTConfig, index: int, in_chans: int, drop_path_rates: list[float], *,
                device: DeviceLike = None, dtype: torch.dtype | None = None) -> Stage:
    """Resolve every toggle for stage ``index`` into concrete submodules."""
    dd = {"device": device, "dtype": dtype}
    dim = cfg.embed_dims[index]
    last = index == NUM_STAGES - 1
    patch_embed = PatchEmbed(in_chans, dim, cfg.patch_kernel(index), cfg.patch_strides[index],
                             cfg.patch_padding(index), **dd)
    prefix: nn.Module = ClsTokenPrefix(dim, **dd) if (last and cfg.head_pool == "cls_token") else NoPrefix()
    n_prefix = prefix.num_tokens
    grid = cfg.stage_grids(cfg.img_size, cfg.img_size)[index]
    pos_embed = AbsolutePositionEmbed(dim, grid, n_prefix, **dd) if cfg.pos_embed else NoPositionEmbed()
    hidden = int(dim * cfg.mlp_ratios[index])
    blocks = []
    for rate in drop_path_rates:
        reducer = build_kv_reducer(cfg.attention, dim, cfg.sr_ratios[index], cfg.pool_size, n_prefix, **dd)
        attn = SpatialReductionAttention(dim, cfg.num_heads[index], reducer, cfg.qkv_bias, cfg.drop_rate, **dd)
        if cfg.ffn == "conv_ffn":
            mlp: nn.Module = ConvFfn(dim, hidden, cfg.ffn_relu, cfg.drop_rate, n_prefix, **dd)
        else:
            mlp = Mlp(dim, hidden, cfg.ffn_relu, cfg.drop_rate, **dd)
        blocks.append(Block(dim, attn, mlp, cfg.norm_eps, rate, **dd))
    norm = nn.LayerNorm(dim, eps=cfg.norm_eps, **dd) if (last or cfg.stage_norm) else nn.Identity()
    return Stage(patch_embed, prefix, pos_embed, cfg.drop_rate, blocks, norm)


class PyramidVisionTransformer(nn.Module):
    """Four-stage pyramid transformer; ``config`` says which paper's parts it has.

    Interface (timm-style): ``forward_features`` -> normalized stage-4 tokens (B, n_prefix + h*w, C4);
    ``forward_head(x, pre_logits=False)``; ``forward_intermediates`` -> stage maps for dense prediction (and
    ``forward_stages``, all four); ``prune_intermediate_layers``; ``reset_classifier(num_classes)``;
    ``feature_info`` (num_chs, reduction, module per stage), so timm's feature wrappers apply.
    """

    def __init__(self, config: PVTConfig, *, device: DeviceLike = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.config = config
        dd = {"device": device, "dtype": dtype}
        total = sum(config.depths)
        rates = [config.drop_path_rate * i / max(total - 1, 1) for i in range(total)]  # linear rule over all blocks
        stages, start, in_chans = [], 0, config.in_chans
        for i, depth in enumerate(config.depths):
            stages.append(build_stage(config, i, in_chans, rates[start:start + depth], **dd))
            start, in_chans = start + depth, config.embed_dims[i]
        self.stages = nn.ModuleList(stages)
        self.num_prefix_tokens = self.stages[-1].prefix.num_tokens
        self.num_features = config.embed_dims[-1]
        self.pool = ClsTokenPool() if config.head_pool == "cls_token" else MeanTokenPool()
        self.head = nn.Linear(self.num_features, config.num_classes, **dd) if config.num_classes else nn.Identity()
        self.min_input_size = config.min_input_size()
        reduction = 1
        self.feature_info = []
        for i, stride in enumerate(config.patch_strides):
            reduction *= stride
            self.feature_info.append({"num_chs": config.embed_dims[i], "reduction": reduction, "module": f"stages.{i}"})
        self.apply(self._init_weights)

    def _init_weights(self, m: nn.Module) -> None:
        """Linear trunc_normal(.02)/0, LayerNorm 1/0; convs per ``conv_init`` (v1 PyTorch default, v2 fan-out)."""
        if isinstance(m, nn.Linear):
            trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Conv2d) and self.config.conv_init == "fan_out_normal":
            fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
            nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / fan_out))
            if m.bias is not None:
                nn.init.zeros_(m.bias)

    def check_input(self, x: torch.Tensor) -> None:
        """A clear error for inputs too small for the stages' strides and SR ratios (instead of a conv crash)."""
        h, w = x.shape[-2], x.shape[-1]
        if h < self.min_input_size or w < self.min_input_size:
            raise ValueError(f"input size {h}x{w} is too small for this model: each side must be at least "
                             f"{self.min_input_size} px (patch strides {self.config.patch_strides}, "
                             f"sr_ratios {self.config.sr_ratios}, attention {self.config.attention!r})")

    def forward_intermediates(self, x: torch.Tensor, indices: Union[int, list[int], None] = None, norm: bool = False,
                              stop_early: bool = False, output_fmt: str = "NCHW", intermediates_only: bool = False,
                              ) -> Union[list[torch.Tensor], tuple[torch.Tensor, list[torch.Tensor]]]:
        """Stage outputs as NCHW maps, timm's convention for PVTv2: ``indices`` None (all stages), an int (the last
        n) or a list (negative counts from the end). Each map is its stage's output after that stage's norm, so
        ``norm`` has nothing left to apply (accepted for timm's signature). Returns the maps, or (final, maps)
        where final is what ``forward_features`` returns (the last stage run's tokens, the input of
        ``forward_head``). ``stop_early`` skips the stages after the last one asked for."""
        if output_fmt != "NCHW":
            raise ValueError(f"output_fmt={output_fmt!r} is not allowed; only 'NCHW'")
        take, last = feature_take_indices(len(self.stages), indices)
        self.check_input(x)
        maps = []
        tokens = x
        for index, stage in enumerate(self.stages[:last + 1] if stop_early else self.stages):
            tokens, hw = stage(x)
            x = tokens_to_map(tokens, hw, stage.prefix.num_tokens)
            if index in take:
                maps.append(x)
        return maps if intermediates_only else (tokens, maps)

    def prune_intermediate_layers(self, indices: Union[int, list[int]] = 1, prune_norm: bool = False,
                                  prune_head: bool = True) -> list[int]:
        """Drop the stages after the last of ``indices`` (and the head), as timm's feature wrapper expects; returns
        the absolute indices. The stage norms stay: they are part of each stage's output."""
        take, last = feature_take_indices(len(self.stages), indices)
        if last < len(self.stages) - 1:
            self.stages = self.stages[:last + 1]
            self.num_features = self.feature_info[last]["num_chs"]
            prune_head = True
        if prune_head:
            self.reset_classifier(0)
        return take

    def forward_stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The four stage outputs as NCHW maps (strides 4, 8, 16, 32), for dense prediction."""
        return self.forward_intermediates(x, intermediates_only=True)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        for stage in self.stages[:-1]:
            tokens, hw = stage(x)
            x = tokens_to_map(tokens, hw, 0)
        return self.stages[-1](x)[0]

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = self.pool(x)
        return x if pre_logits else self.head(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def get_classifier(self) -> nn.Module:
        return self.head

    def reset_classifier(self, num_classes: int) -> None:
        """New head for ``num_classes`` (0: no head, features only); ``config`` follows."""
        self.config = self.config.replace(num_classes=num_classes)
        ref = self.stages[0].patch_embed.proj.weight  # the new head goes where the model's weights are
        self.head = (nn.Linear(self.num_features, num_classes, device=ref.device, dtype=ref.dtype) if num_classes
                     else nn.Identity())
        if num_classes:
            self._init_weights(self.head)


def build_model(config: PVTConfig, *, device: DeviceLike = None, dtype: torch.dtype | None = None) -> PyramidVisionTransformer:
    """The model ``config`` describes; ``device="meta"`` builds its shapes without allocating weights."""
    return PyramidVisionTransformer(config, device=device, dtype=dtype)
