"""Closed-form MAC count of a PVT from its ``PVTConfig`` alone: the papers' formulas, term by term.

Used to cross-check the traced count and to sweep resolutions cheaply (a call takes microseconds; the
result is in MACs). Counted (MACs, no bias):
every conv and linear weight, the SRA/LSRA reducer convs, the conv-FFN 3x3 depthwise conv (9 per hidden
channel per grid token), the head, and the two attention matmuls per block, 2*N*M*C, with N query tokens and
M key tokens: SRA M = (h//R)(w//R) (R = 1: M = h*w), linear SRA M = P*P (P1 sec 3.3, P2 sec 3.2). A v1 class
token (head_pool "cls_token") joins stage 4 as one more query and one more key; the reducer and the depthwise
conv see only the h*w grid tokens. LayerNorm, bias, GELU, softmax, pooling and position-embedding resizing count
zero, as in the papers' numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from pvtlab.models.config import NUM_STAGES, PVTConfig

from .conventions import ImageSize, MacUnits, parse_image_size


@dataclass(frozen=True)
class AnalyticCount(MacUnits):
    """MACs per image (batch 1) by stage and by part; ``macs`` is the papers' "GFLOPs" x 1e9."""

    macs: int
    attn_macs: int  # the attention matmuls alone
    by_stage: dict[str, int]  # stages.0 .. stages.3 and head (same names as FlopCount.by_stage)
    by_part: dict[str, int]  # patch_embed, qkv_proj, reducer, attention, ffn, dwconv, head
    image_size: tuple[int, int]


def _keys(config: PVTConfig, stage: int, grid: tuple[int, int], prefix: int) -> tuple[int, int]:
    """(M key tokens, reducer MACs per block) of one attention layer in ``stage``."""
    h, w = grid
    dim = config.embed_dims[stage]
    if config.attention == "linear_sra":
        pooled = config.pool_size * config.pool_size
        return prefix + pooled, pooled * dim * dim  # 1x1 conv on the P x P pooled map
    ratio = config.sr_ratios[stage]
    if ratio == 1:
        return prefix + h * w, 0
    reduced = (h // ratio) * (w // ratio)
    return prefix + reduced, reduced * dim * dim * ratio * ratio  # conv kernel = stride = R


PARTS = ("patch_embed", "qkv_proj", "reducer", "attention", "ffn", "dwconv")  # per stage; "head" is added once
ATTENTION_LAYER_PARTS = ("qkv_proj", "reducer", "attention")  # what SRA and linear SRA change (q and proj equal)


def stage_parts(config: PVTConfig, stage: int, grid: tuple[int, int], in_chans: int) -> dict[str, int]:
    """MACs of ``stage`` on token grid ``grid`` (batch 1), by part (``PARTS``), summed over its blocks."""
    if min(grid) < 1:
        raise ValueError(f"stage {stage + 1} grid {grid} is empty: the input is too small for this config")
    h, w = grid
    dim, depth = config.embed_dims[stage], config.depths[stage]
    kernel = config.patch_kernel(stage)
    prefix = 1 if (stage == NUM_STAGES - 1 and config.head_pool == "cls_token") else 0
    tokens = prefix + h * w
    keys, reducer = _keys(config, stage, grid, prefix)
    hidden = int(dim * config.mlp_ratios[stage])
    return {
        "patch_embed": h * w * dim * in_chans * kernel * kernel,
        "qkv_proj": depth * (2 * tokens * dim * dim + keys * dim * 2 * dim),  # q, proj on N tokens; kv on M
        "reducer": depth * reducer,
        "attention": depth * 2 * tokens * keys * dim,
        "ffn": depth * 2 * tokens * dim * hidden,
        "dwconv": depth * 9 * hidden * h * w if config.ffn == "conv_ffn" else 0,
    }


def analytic_count(config: PVTConfig, image_size: ImageSize) -> AnalyticCount:
    """MACs of ``config`` at ``image_size`` (int or (H, W)) from the formulas above; no model is built."""
    height, width = parse_image_size(image_size)
    parts = dict.fromkeys((*PARTS, "head"), 0)
    by_stage: dict[str, int] = {}
    in_chans = config.in_chans
    for stage, grid in enumerate(config.stage_grids(height, width)):
        if min(grid) < 1:
            raise ValueError(f"image_size={image_size!r} is too small for this config (stage {stage + 1} grid {grid})")
        stage_macs = stage_parts(config, stage, grid, in_chans)
        for part, macs in stage_macs.items():
            parts[part] += macs
        by_stage[f"stages.{stage}"] = sum(stage_macs.values())
        in_chans = config.embed_dims[stage]
    parts["head"] = by_stage["head"] = config.embed_dims[-1] * config.num_classes
    return AnalyticCount(macs=sum(parts.values()), attn_macs=parts["attention"], by_stage=by_stage,
                         by_part=parts, image_size=(height, width))
