"""Images held in memory as one uint8 tensor: the built-in synthetic task and the scikit-learn digits."""

from __future__ import annotations

import torch
from torch.utils.data import Dataset

from .transforms import normalize_uint8


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
