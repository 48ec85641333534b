"""The user's own images in torchvision's ImageFolder layout, with errors that name the path at fault.

Two layouts (``root`` is the folder the spec names):
- ``root/train/<class>/<images>`` and ``root/val/<class>/<images>``: used as given.
- ``root/<class>/<images>``: split per class into train and val by ``val_fraction`` (datasets.py: a fixed
  generator, not the training seed, so every seed of a study is scored on the same images).
Scanning (class folders, image extensions) is torchvision's (``find_classes``, ``make_dataset``). Every file's
header is opened once when the datasets are built, so an unreadable image fails before training starts.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import torch
from PIL import Image
from torch.utils.data import Dataset
from torchvision.datasets.folder import IMG_EXTENSIONS, find_classes, make_dataset

from ..errors import UserInputError
from .datasets import VAL_FRACTION, split_samples
from .transforms import eval_transform, train_transform

Sample = tuple[str, int]


def load_rgb(path: str) -> Image.Image:
    """The image at ``path`` as RGB; anything PIL cannot decode is a UserInputError naming the file."""
    try:
        with Image.open(path) as img:
            return img.convert("RGB")
    except (OSError, SyntaxError, ValueError) as err:
        raise UserInputError(f"unreadable image {path} ({err}); expected an image file "
                             f"({', '.join(IMG_EXTENSIONS)})") from None


def check_header(path: str) -> None:
    """Open only the header (cheap): catches files that are not images at all."""
    try:
        with Image.open(path):
            pass
    except (OSError, SyntaxError, ValueError) as err:
        raise UserInputError(f"unreadable image {path} ({err}); expected an image file "
                             f"({', '.join(IMG_EXTENSIONS)})") from None


class ImageListDataset(Dataset):
    """(path, class index) pairs read with ``load_rgb`` and passed through ``transform``."""

    def __init__(self, samples: list[Sample], transform: Callable) -> None:
        self.samples = samples
        self.transform = transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        path, target = self.samples[index]
        return self.transform(load_rgb(path)), target


def split_layout(root: Path) -> bool:
    """True for the train/ + val/ layout; a root with only one of the two is an error."""
    has_train, has_val = (root / "train").is_dir(), (root / "val").is_dir()
    if has_train != has_val:
        present, missing = ("train", "val") if has_train else ("val", "train")
        raise UserInputError(f"imagefolder root {root} has {present}/ but no {missing}/; expected both "
                             f"(root/train/<class>/..., root/val/<class>/...) or one tree root/<class>/... "
                             f"split by val_fraction")
    return has_train


def scan_classes(folder: Path) -> dict[str, int]:
    """Class name -> index for the class folders of ``folder``; needs at least two."""
    if not folder.is_dir():
        raise UserInputError(f"imagefolder path {folder} does not exist or is not a folder; "
                             f"expected a folder of class folders")
    try:
        classes, class_to_idx = find_classes(folder)
    except FileNotFoundError:
        raise UserInputError(f"imagefolder path {folder} has no class folders; "
                             f"expected {folder}/<class>/<image files>") from None
    if len(classes) < 2:
        raise UserInputError(f"imagefolder path {folder} has one class folder ({classes[0]!r}); "
                             f"expected at least two classes to classify")
    return class_to_idx


def scan_images(folder: Path, class_to_idx: dict[str, int], allow_empty_class: bool = False) -> list[Sample]:
    """Every image file under each class folder (torchvision's walk), each header checked."""
    present = {c: i for c, i in class_to_idx.items() if (folder / c).is_dir()}
    samples = make_dataset(str(folder), present, extensions=IMG_EXTENSIONS, allow_empty=True)
    counts = torch.bincount(torch.tensor([t for _, t in samples], dtype=torch.long),
                            minlength=len(class_to_idx)) if samples else torch.zeros(len(class_to_idx))
    empty = [c for c, i in present.items() if counts[i] == 0]
    if empty and not allow_empty_class:
        raise UserInputError(f"imagefolder class folder(s) {[str(folder / c) for c in empty]} hold no images; "
                             f"expected files ending in {', '.join(IMG_EXTENSIONS)}")
    if not samples:
        raise UserInputError(f"imagefolder path {folder} holds no images; "
                             f"expected files ending in {', '.join(IMG_EXTENSIONS)}")
    for path, _ in samples:
        check_header(path)
    return samples


def build_imagefolder(root: str | os.PathLike, image_size: int,
                      val_fraction: float = VAL_FRACTION) -> tuple[Dataset, Dataset, int]:
    """(train, val, num_classes) for either layout; train uses the random-crop transform, val the eval one."""
    root = Path(root)
    if not root.is_dir():
        raise UserInputError(f"imagefolder root {root} does not exist or is not a folder")
    if split_layout(root):
        class_to_idx = scan_classes(root / "train")
        val_classes = sorted(set(find_classes(root / "val")[0]) - set(class_to_idx)) if any(
            p.is_dir() for p in (root / "val").iterdir()) else []
        if val_classes:
            raise UserInputError(f"imagefolder {root / 'val'} has class folder(s) {val_classes} that "
                                 f"{root / 'train'} lacks; expected the same classes in both")
        train = scan_images(root / "train", class_to_idx)
        val = scan_images(root / "val", class_to_idx, allow_empty_class=True)
    else:
        class_to_idx = scan_classes(root)
        train, val = split_samples(scan_images(root, class_to_idx), val_fraction)
        if not val:
            raise UserInputError(f"imagefolder root {root}: val_fraction={val_fraction} leaves no validation "
                                 f"images (each class needs at least 2 images)")
    return (ImageListDataset(train, train_transform(image_size)),
            ImageListDataset(val, eval_transform(image_size)), len(class_to_idx))
