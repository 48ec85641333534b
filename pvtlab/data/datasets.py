"""What every built-in dataset is made of: the one check of its ``image_size``, the fixed per-class train/val
split (the same for every training seed: image folders, scikit-learn digits), and images held in memory as one
uint8 tensor (the synthetic task, the digits)."""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import Dataset

from ..errors import UserInputError
from .transforms import normalize_uint8

SPLIT_SEED = 0  # the split's own generator: every seed and variant of a study is scored on the same images
Item = tuple[Any, int]  # (anything, class index)
VAL_FRACTION = 0.2  # the share of each class held out when a dataset has no validation split of its own


def check_image_size(dataset: str, image_size: object, minimum: int, why: str = "") -> None:
    """UserInputError naming ``dataset`` and ``minimum`` unless ``image_size`` is an int >= ``minimum``."""
    if not isinstance(image_size, int) or isinstance(image_size, bool) or image_size < minimum:
        raise UserInputError(f"{dataset} image_size={image_size!r} is not allowed; give an integer >= {minimum}"
                             f"{why}")


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


class UInt8Images(Dataset):
    """``images`` uint8 (N, 3, S, S) and ``labels`` int64 (N,); items are normalized float tensors.

    ``get_batch`` slices a whole batch at once: the training loop uses it instead of per-item collation,
    which on 48-64 px images costs about as much as a pvt_nano training step.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, num_classes: int) -> None:
        self.images, self.labels, self.num_classes = images, labels, num_classes

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return normalize_uint8(self.images[index]), int(self.labels[index])

    def get_batch(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The same values as ``__getitem__`` for each index, stacked."""
        return normalize_uint8(self.images[indices]), self.labels[indices]
