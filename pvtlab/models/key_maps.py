"""Pure functions mapping checkpoint key names onto pvtlab's module tree.

Three foreign formats are known: timm's ``pvt_v2_*`` (``patch_embed``, ``stages.N.downsample``, ``attn.sr``),
the official whai362/PVT v2 code (``patch_embed1``, ``block1.0``, ``norm1``, ``mlp.dwconv.dwconv``) and the official v1
code (the same plus ``pos_embed1``, ``cls_token`` and a final ``norm``).
"""

from __future__ import annotations

import re
from typing import Literal

CheckpointFormat = Literal["pvtlab", "timm", "official"]

_ATTN = [(re.compile(r"\.attn\.sr\."), ".attn.reducer.conv."), (re.compile(r"\.attn\.norm\."), ".attn.reducer.norm.")]

_TIMM = [(re.compile(r"^patch_embed\."), "stages.0.patch_embed."),
         (re.compile(r"^stages\.(\d+)\.downsample\."), r"stages.\1.patch_embed."), *_ATTN]


def _stage(prefix: str, rest: str) -> tuple[re.Pattern[str], object]:
    return re.compile(rf"^{prefix}(\d+)"), lambda m: f"stages.{int(m.group(1)) - 1}.{rest}"


_OFFICIAL = [_stage("patch_embed", "patch_embed"), _stage("block", "blocks"), _stage(r"norm", "norm"),
             (re.compile(r"^pos_embed(\d+)$"), lambda m: f"stages.{int(m.group(1)) - 1}.pos_embed.table"),
             (re.compile(r"^cls_token$"), "stages.3.prefix.token"),
             (re.compile(r"^norm\."), "stages.3.norm."),  # v1's final norm = stage 4's norm
             (re.compile(r"\.mlp\.dwconv\.dwconv\."), ".mlp.dwconv."), *_ATTN]


def detect_format(keys: list[str]) -> CheckpointFormat:
    """Which naming a state dict uses, from its keys."""
    if any(re.match(r"^(block|patch_embed)\d+\.", k) for k in keys):
        return "official"
    if any(k.startswith("patch_embed.") or re.match(r"^stages\.\d+\.downsample\.", k) for k in keys):
        return "timm"
    return "pvtlab"


def _apply(key: str, rules: list) -> str:
    for pattern, repl in rules:
        key = pattern.sub(repl, key)
    return key


def timm_to_pvtlab(key: str) -> str:
    return _apply(key, _TIMM)


def official_to_pvtlab(key: str) -> str:
    return _apply(key, _OFFICIAL)


def to_pvtlab(key: str, fmt: CheckpointFormat) -> str:
    return {"pvtlab": lambda k: k, "timm": timm_to_pvtlab, "official": official_to_pvtlab}[fmt](key)


def fit_to_model(key: str, model_keys: set[str]) -> str:
    """Reducers wrapped for class tokens (``KeepPrefixTokens``) sit one level deeper: follow them."""
    if key not in model_keys and ".attn.reducer." in key:
        nested = key.replace(".attn.reducer.", ".attn.reducer.reducer.")
        if nested in model_keys:
            return nested
    return key
