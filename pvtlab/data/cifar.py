"""CIFAR-10/100 from a local folder in torchvision's on-disk format; nothing is ever downloaded.

Layout (what ``torchvision.datasets.CIFAR10/100(root, download=True)`` leaves behind):
- CIFAR-10:  ``root/cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}``
- CIFAR-100: ``root/cifar-100-python/{train, test, meta}``
Each batch is a pickle of a dict with ``data`` (N x 3072 uint8, channel-major 3 x 32 x 32) and ``labels``
(CIFAR-10) or ``fine_labels`` (CIFAR-100). We read the batches ourselves instead of calling torchvision's
class because that class insists on the official files' MD5 sums, which would make it impossible to test
on small files written in the same format. ``root`` may also be the batches folder itself. The test split
is the validation split. Pickle runs code from the file: only point this at CIFAR files you trust.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from ..errors import UserInputError
from .transforms import eval_transform, train_transform

LAYOUTS = {
    "cifar10": {"folder": "cifar-10-batches-py", "train": [f"data_batch_{i}" for i in range(1, 6)],
                "val": ["test_batch"], "label_key": "labels", "num_classes": 10},
    "cifar100": {"folder": "cifar-100-python", "train": ["train"], "val": ["test"],
                 "label_key": "fine_labels", "num_classes": 100},
}


def batch_folder(name: str, root: str | Path) -> Path:
    """The folder holding the batch files: ``root/<folder>`` or ``root`` itself; errors list what is missing."""
    layout = LAYOUTS[name]
    root = Path(root)
    if not root.is_dir():
        raise UserInputError(f"{name} root {root} does not exist or is not a folder; expected torchvision's "
                             f"layout {root}/{layout['folder']}/...")
    folder = root / layout["folder"] if (root / layout["folder"]).is_dir() else root
    needed = layout["train"] + layout["val"]
    missing = [f for f in needed if not (folder / f).is_file()]
    if missing:
        raise UserInputError(f"{name} folder {folder} lacks batch file(s) {missing}; expected torchvision's "
                             f"layout {root}/{layout['folder']}/{{{', '.join(needed)}}} (download=False: "
                             f"fetch CIFAR with torchvision once, then point root at it)")
    return folder


def read_batch(path: Path, label_key: str, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 32, 32, 3), labels int64 (N,)) from one pickled batch file."""
    try:
        with open(path, "rb") as f:
            entry = pickle.load(f, encoding="latin1")
        data = np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        labels = np.asarray(entry[label_key], dtype=np.int64)
    except Exception as err:  # any malformed pickle, missing key or wrong size means the same to the user
        raise UserInputError(f"CIFAR batch {path} is unreadable ({type(err).__name__}: {err}); expected a "
                             f"pickled dict with 'data' (N x 3072 uint8) and {label_key!r}") from None
    if len(labels) != len(data) or (len(labels) and (labels.min() < 0 or labels.max() >= num_classes)):
        raise UserInputError(f"CIFAR batch {path} has {len(data)} images and {len(labels)} labels in "
                             f"[{labels.min(initial=0)}, {labels.max(initial=0)}]; expected one label per image "
                             f"in [0, {num_classes - 1}]")
    return data, labels


class CifarArrays(Dataset):
    """HWC uint8 images in memory; each item goes through PIL and ``transform`` like torchvision's CIFAR."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, transform: Callable) -> None:
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.transform(Image.fromarray(self.images[index])), int(self.labels[index])


def build_cifar(name: str, root: str | Path, image_size: int) -> tuple[Dataset, Dataset, int]:
    """(train, val, num_classes) for ``name`` in ``LAYOUTS``; val is the official test split."""
    layout = LAYOUTS[name]
    folder = batch_folder(name, root)
    splits = []
    for split in ("train", "val"):
        parts = [read_batch(folder / f, layout["label_key"], layout["num_classes"]) for f in layout[split]]
        splits.append((np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])))
    (train_x, train_y), (val_x, val_y) = splits
    if len(train_y) == 0 or len(val_y) == 0:
        raise UserInputError(f"{name} folder {folder} has {len(train_y)} train and {len(val_y)} test images; "
                             f"expected both splits to hold images")
    return (CifarArrays(train_x, train_y, train_transform(image_size)),
            CifarArrays(val_x, val_y, eval_transform(image_size)), layout["num_classes"])
