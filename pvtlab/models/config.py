"""One frozen config for the whole PVT family (PVTv1, arXiv 2102.12122; PVTv2, arXiv 2106.13797).

Every difference between PVTv1 and PVTv2 is one field here, named after the paper's term, so an
ablation is a set of field overrides. The three PVTv2 improvements are ``patch_embed`` (OPE, P2 sec 3.3),
``pos_embed`` + ``ffn`` (CFFN, P2 sec 3.4) and ``attention`` (linear SRA, P2 sec 3.2). Fields never change
one another: each toggle selects its own submodules when the model is built (see ``pvt.py``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args

import torch

PatchEmbedKind = Literal["non_overlap", "overlap"]
FfnKind = Literal["mlp", "conv_ffn"]
AttentionKind = Literal["sra", "linear_sra"]
HeadPool = Literal["cls_token", "mean"]
ConvInit = Literal["torch_default", "fan_out_normal"]

NUM_STAGES = 4

# The ``device``/``dtype`` factory arguments every pvtlab module takes (as torch's and timm's layers do): a config
# says what to build, these say where its weights are made (``device="meta"``: shapes only).
DeviceLike = Union[torch.device, str, None]

_CHOICES: dict[str, tuple[Any, ...]] = {
    "patch_embed": get_args(PatchEmbedKind),
    "ffn": get_args(FfnKind),
    "attention": get_args(AttentionKind),
    "head_pool": get_args(HeadPool),
    "conv_init": get_args(ConvInit),
}
_BOOLS = ("pos_embed", "stage_norm", "ffn_relu", "qkv_bias")
_STAGE_TUPLES = ("embed_dims", "num_heads", "mlp_ratios", "depths", "sr_ratios", "patch_strides")


@dataclass(frozen=True)
class PVTConfig:
    """Architecture of one PVT variant. Defaults are PVTv1-Small (P1 Table 1, official code)."""

    # --- sizes (per stage; P1/P2 Table 1) ---
    embed_dims: tuple[int, ...] = (64, 128, 320, 512)  # C_i
    num_heads: tuple[int, ...] = (1, 2, 5, 8)  # N_i (head dim 64 for v1/B1-B5, 32 for B0)
    mlp_ratios: tuple[float, ...] = (8, 8, 4, 4)  # E_i (B5 uses 4, 4, 4, 4)
    depths: tuple[int, ...] = (3, 4, 6, 3)  # L_i (v1-Small code uses 4 in stage 2; Table 1's x3 is a typo)
    sr_ratios: tuple[int, ...] = (8, 4, 2, 1)  # R_i, the SRA key/value reduction (ignored by linear_sra)
    patch_strides: tuple[int, ...] = (4, 2, 2, 2)  # S_i, the downsampling of each stage's patch embedding

    # --- the three PVTv2 toggles ---
    # "non_overlap": v1 Conv2d(kernel=stride=S_i) + LayerNorm (P1 sec 3.1).
    # "overlap": v2 OPE, Conv2d(kernel=2S-1, stride=S, padding=S-1) + LayerNorm (P2 sec 3.3).
    patch_embed: PatchEmbedKind = "non_overlap"
    # True: v1 learned absolute position embedding per stage, bilinearly resized to the token grid (P1 sec 3.1).
    # False: none; v2 gets position from the zero padding of OPE and CFFN (P2 sec 3.4).
    pos_embed: bool = True
    # "mlp": v1 fc1 -> GELU -> fc2. "conv_ffn": v2 fc1 -> 3x3 depthwise conv -> GELU -> fc2 (P2 sec 3.4, Fig. 1b).
    ffn: FfnKind = "mlp"
    # "sra": keys/values from a Conv2d(kernel=stride=R_i) + LayerNorm (P1 sec 3.3); none when R_i = 1.
    # "linear_sra": keys/values from AdaptiveAvgPool2d(P) + 1x1 conv + LayerNorm + GELU (P2 sec 3.2, Fig. 1a).
    attention: AttentionKind = "sra"
    pool_size: int = 7  # P of linear SRA (P2 Table 1: P_i = 7 in every stage)

    # --- other v1/v2 differences, each its own field ---
    # "cls_token": v1 prepends a class token at the start of stage 4 and classifies it (official PVTv1 code).
    # "mean": v2 averages the stage-4 tokens (official PVTv2 code).
    head_pool: HeadPool = "cls_token"
    # True: v2 LayerNorm at the end of stages 1-3 too (official PVTv2 code: norm1..norm3). Stage 4 always has one
    # (v1's final norm / v2's norm4); False leaves stages 1-3 without it, as in v1.
    stage_norm: bool = False
    # True: ReLU after fc1 of every FFN, as official B2-Li code does (tied to linear=True there; not in the paper).
    ffn_relu: bool = False
    # "torch_default": v1 leaves convs at PyTorch's init. "fan_out_normal": v2 normal(0, sqrt(2 / fan_out)).
    conv_init: ConvInit = "torch_default"
    qkv_bias: bool = True  # every registered v1/v2 model passes qkv_bias=True

    # --- shared ---
    img_size: int = 224  # the grid the position embeddings are stored at (resized to any other input)
    in_chans: int = 3
    num_classes: int = 1000
    norm_eps: float = 1e-6  # block and stage/final LayerNorms; patch-embed and reducer norms use 1e-5
    drop_rate: float = 0.0  # dropout after position embeddings, in attention proj and FFN
    drop_path_rate: float = 0.0  # stochastic depth, linear over all blocks

    def __post_init__(self) -> None:
        for name, allowed in _CHOICES.items():
            value = getattr(self, name)
            if value not in allowed:
                raise ValueError(f"PVTConfig.{name}={value!r} is not allowed; choose one of {list(allowed)}")
        for name in _BOOLS:
            value = getattr(self, name)
            if not isinstance(value, bool):
                raise ValueError(f"PVTConfig.{name}={value!r} is not allowed; choose True or False")
        for name in _STAGE_TUPLES:
            value = getattr(self, name)
            if not isinstance(value, (tuple, list)) or len(value) != NUM_STAGES:
                raise ValueError(f"PVTConfig.{name}={value!r} is not allowed; give {NUM_STAGES} values, one per stage")
            if any(not isinstance(v, (int, float)) or isinstance(v, bool) or v <= 0 for v in value):
                raise ValueError(f"PVTConfig.{name}={value!r} is not allowed; every value must be a positive number")
            object.__setattr__(self, name, tuple(value))  # lists from YAML become hashable tuples
        for dim, heads in zip(self.embed_dims, self.num_heads):
            if dim % heads:
                raise ValueError(f"PVTConfig.embed_dims={self.embed_dims!r} is not allowed with "
                                 f"num_heads={self.num_heads!r}; each dim must divide by its heads")
        for name in ("pool_size", "img_size", "in_chans"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"PVTConfig.{name}={value!r} is not allowed; give a positive integer")
        if not isinstance(self.num_classes, int) or isinstance(self.num_classes, bool) or self.num_classes < 0:
            raise ValueError(f"PVTConfig.num_classes={self.num_classes!r} is not allowed; give an integer >= 0")
        for name in ("drop_rate", "drop_path_rate"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
                raise ValueError(f"PVTConfig.{name}={value!r} is not allowed; give a number in [0, 1)")

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    def replace(self, **overrides: Any) -> "PVTConfig":
        """A copy with ``overrides`` applied; an unknown field is a ValueError listing the allowed ones."""
        unknown = sorted(set(overrides) - set(self.field_names()))
        if unknown:
            raise ValueError(f"unknown PVTConfig field(s) {unknown}; allowed: {self.field_names()}")
        return dataclasses.replace(self, **overrides)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (tuples as lists), for result rows and cell ids."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    def patch_kernel(self, stage: int) -> int:
        stride = self.patch_strides[stage]
        return 2 * stride - 1 if self.patch_embed == "overlap" else stride

    def patch_padding(self, stage: int) -> int:
        return self.patch_strides[stage] - 1 if self.patch_embed == "overlap" else 0

    def stage_grids(self, height: int, width: int) -> list[tuple[int, int]]:
        """Token grid (h, w) of each stage for an input of ``height`` x ``width`` (conv arithmetic)."""
        grids = []
        for stage in range(NUM_STAGES):
            kernel, pad, stride = self.patch_kernel(stage), self.patch_padding(stage), self.patch_strides[stage]
            height = (height + 2 * pad - kernel) // stride + 1
            width = (width + 2 * pad - kernel) // stride + 1
            grids.append((height, width))
        return grids

    def min_input_size(self) -> int:
        """Smallest square side that every stage (its conv and, for SRA, its R x R reduction) accepts."""
        need = self.sr_ratios if self.attention == "sra" else (1,) * NUM_STAGES
        size = 1
        while True:
            grids = self.stage_grids(size, size) if size >= self.patch_kernel(0) - 2 * self.patch_padding(0) else []
            if grids and all(h >= max(1, r) for (h, _), r in zip(grids, need)):
                return size
            size += 1
