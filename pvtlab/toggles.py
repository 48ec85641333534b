"""The factorial's vocabulary: each PVTv2 improvement, its PVTv1 and PVTv2 setting, and the grid's position map.

The grid builds variants from these names, the report labels effects with them; both import this module, so
a toggle is named in one place. ``position`` is the grid's one switch for the CFFN change, which the config
spells as two fields: ``pos_embed`` = (pos_embed=True, ffn=mlp), ``conv_ffn`` = (pos_embed=False, ffn=conv_ffn).
"""

from __future__ import annotations

from typing import Any

# The grid's ``position`` values -> the config fields they set.
POSITIONS: dict[str, dict[str, Any]] = {
    "pos_embed": {"pos_embed": True, "ffn": "mlp"},
    "conv_ffn": {"pos_embed": False, "ffn": "conv_ffn"},
}

# Factorial toggle -> (PVTv1 value, PVTv2 value, the improvement's name in PVTv2 Table 6).
TOGGLES: dict[str, tuple[str, str, str]] = {
    "patch_embed": ("non_overlap", "overlap", "OPE"),
    "position": ("pos_embed", "conv_ffn", "CFFN"),
    "attention": ("sra", "linear_sra", "LSRA"),
}
