"""The synthetic task's one known trap for PVTv1: a pyramid whose tokens are exactly the task's quadrants.

Measured (default grid, 64 px): pvt_nano with PVTv1's non-overlapping patch embeddings ends on a 2 x 2 grid whose
four tokens are the image quadrants the label asks about, and PVTv1 stayed at chance on position (quadrant 26 %,
chance 25 %; 20.2 / 16.9 / 17.4 % top-1 on ``paper_table6.yaml``, chance 12.5 %), even with 10x lr or 50x init on
its position tables; at 48 and 96 px it learned position fully. This is a cheap check of a spec's settings
against that trap (tests/test_shipped_specs_learn.py); ``benchmarks/specs_learn.py`` trains the PVTv1 rows.
"""

from __future__ import annotations

from typing import Protocol


class _Pyramid(Protocol):
    patch_embed: str
    patch_strides: tuple[int, ...]


def tokens_are_quadrants(config: _Pyramid, image_size: int) -> bool:
    """True when a stage of non-overlapping patches tiles ``image_size`` into exactly 2 x 2 tokens (the quadrants)."""
    if config.patch_embed != "non_overlap":
        return False
    side = 1
    for stride in config.patch_strides:
        side *= stride  # each token's side in pixels at this stage
        if 2 * side == image_size:
            return True
    return False
