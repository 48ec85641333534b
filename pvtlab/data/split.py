"""A fixed per-class train/val split, the same for every training seed (image folders, scikit-learn digits)."""

from __future__ import annotations

from typing import Any

import torch

SPLIT_SEED = 0  # the split's own generator: every seed and variant of a study is scored on the same images
Item = tuple[Any, int]  # (anything, class index)
VAL_FRACTION = 0.2  # the share of each class held out when a dataset has no validation split of its own


def split_samples(samples: list[Item], val_fraction: float) -> tuple[list[Item], list[Item]]:
    """Per class: a fixed shuffle, then ``round(val_fraction * n)`` to val (at least 1, never all of a class)."""
    gen = torch.Generator().manual_seed(SPLIT_SEED)
    by_class: dict[int, list[Item]] = {}
    for sample in samples:
        by_class.setdefault(sample[1], []).append(sample)
    train, val = [], []
    for target in sorted(by_class):
        items = by_class[target]
        order = torch.randperm(len(items), generator=gen).tolist()
        n_val = min(len(items) - 1, max(1, round(val_fraction * len(items))))
        val += [items[i] for i in order[:n_val]]
        train += [items[i] for i in order[n_val:]]
    return train, val
