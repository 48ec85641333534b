"""Paper presets, each a small delta from a base config (sizes from the papers' Table 1 and the official code).

Parameter counts with the 1000-class head: v1 tiny/small/medium/large 13.23/24.49/44.21/61.37 M;
v2 b0/b1/b2/b2_li/b3/b4/b5 3.67/14.01/25.36/22.55/45.24/62.56/81.96 M (tests/test_presets.py checks them).
"""

from __future__ import annotations

from typing import Any

from .config import PVTConfig
from .registry import register_model

# PVTv1-Small, the field defaults (P1 Table 1 with the code's stage-2 depth 4).
PVT_V1 = PVTConfig()

# PVTv2-B2 = PVTv1-Small + OPE + CFFN - position embeddings - class token + per-stage norms + fan-out conv init
# (P2 Table 6 row 3; official PVTv2 code).
PVT_V2 = PVT_V1.replace(patch_embed="overlap", pos_embed=False, ffn="conv_ffn", head_pool="mean",
                        stage_norm=True, conv_init="fan_out_normal")


def _preset(base: PVTConfig, overrides: dict[str, Any], **delta: Any) -> PVTConfig:
    return base.replace(**delta).replace(**overrides)


@register_model
def pvt_v1_tiny(**overrides: Any) -> PVTConfig:
    return _preset(PVT_V1, overrides, depths=(2, 2, 2, 2))


@register_model
def pvt_v1_small(**overrides: Any) -> PVTConfig:
    return _preset(PVT_V1, overrides)


@register_model
def pvt_v1_medium(**overrides: Any) -> PVTConfig:
    return _preset(PVT_V1, overrides, depths=(3, 4, 18, 3))


@register_model
def pvt_v1_large(**overrides: Any) -> PVTConfig:
    return _preset(PVT_V1, overrides, depths=(3, 8, 27, 3))


@register_model
def pvt_v2_b0(**overrides: Any) -> PVTConfig:
    return _preset(PVT_V2, overrides, embed_dims=(32, 64, 160, 256), depths=(2, 2, 2, 2))


@register_model
def pvt_v2_b1(**overrides: Any) -> PVTConfig:
    return _preset(PVT_V2, overrides, depths=(2, 2, 2, 2))


@register_model
def pvt_v2_b2(**overrides: Any) -> PVTConfig:
    return _preset(PVT_V2, overrides)


@register_model
def pvt_v2_b2_li(**overrides: Any) -> PVTConfig:
    # Linear SRA in all stages; the official code also adds a ReLU after fc1 (a separate field here).
    return _preset(PVT_V2, overrides, attention="linear_sra", ffn_relu=True)


@register_model
def pvt_v2_b3(**overrides: Any) -> PVTConfig:
    return _preset(PVT_V2, overrides, depths=(3, 4, 18, 3))


@register_model
def pvt_v2_b4(**overrides: Any) -> PVTConfig:
    return _preset(PVT_V2, overrides, depths=(3, 8, 27, 3))


@register_model
def pvt_v2_b5(**overrides: Any) -> PVTConfig:
    return _preset(PVT_V2, overrides, mlp_ratios=(4, 4, 4, 4), depths=(3, 6, 40, 3))


@register_model
def pvt_nano(**overrides: Any) -> PVTConfig:
    """Not a paper model: a ~0.4M-parameter PVTv2-style size for quick accuracy ablations at 64x64 on a CPU.

    SR ratios 4/2/1/1 instead of 8/4/2/1: at 64 px the stage grids are 16/8/4/2, and 8/4/2/1 would leave every
    stage with 2x2 keys. Linear SRA pools to P = 3, not 7, for the same reason: in PVTv2-B2 at 224 px, P = 7 is
    the key grid SRA's ratios give in every stage (56/8, 28/4, 14/2, 7/1), so the two attentions differ in how
    they reduce, not in how many keys they keep. At the default grid's 48 px (stage grids 12/6/3/2, SRA keys 3 x 3
    in stages 1-3), P = 3 keeps that; P = 7 would *enlarge* stages 2-4's grids to 7 x 7 (no reduction at all)
    and made each training step 1.6x SRA's (80 vs 49 ms, batch 64, one core; P = 3: 57 ms).
    """
    return _preset(PVT_V2, overrides, embed_dims=(16, 32, 64, 128), num_heads=(1, 2, 4, 8),
                   mlp_ratios=(4, 4, 4, 4), depths=(1, 1, 2, 1), sr_ratios=(4, 2, 1, 1), pool_size=3)
