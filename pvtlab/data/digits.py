"""Real handwritten digits with no download: the 1,797 8 x 8 scans that scikit-learn ships in its package.

``sklearn.datasets.load_digits`` reads them from a file inside scikit-learn (UCI optical digits, 16 grey
levels, ten classes, about 180 each). They are upsampled bilinearly to ``image_size`` and repeated to three
channels. The train/val split (80/20 per class) uses datasets.py's fixed generator, never the training
seed, so every seed and variant of a study is scored on the same 360 images. No train-time augmentation: a
flip or a large crop changes what a digit is.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .datasets import VAL_FRACTION, UInt8Images, check_image_size, split_samples

NUM_CLASSES = 10
SOURCE_PX = 8  # the scans' side


def scaled_scans(image_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every scan as uint8 (1797, 3, S, S) (ink bright on black, as scanned) and its label (1797,)."""
    from sklearn.datasets import load_digits  # imported here: only a digits study needs scikit-learn loaded

    scans = load_digits()
    grey = torch.as_tensor(scans.images, dtype=torch.float32).unsqueeze(1) * (255.0 / 16.0)  # 0..16 -> 0..255
    big = F.interpolate(grey, size=(image_size, image_size), mode="bilinear", align_corners=False)
    images = big.round().clamp(0, 255).to(torch.uint8).expand(-1, 3, -1, -1).contiguous()
    return images, torch.as_tensor(scans.target, dtype=torch.long)


def build_digits(image_size: int) -> tuple[UInt8Images, UInt8Images, int]:
    """(train, val, 10): a fixed per-class 80/20 split of the 1,797 scans at ``image_size`` px."""
    check_image_size("digits", image_size, SOURCE_PX,
                     f" (px; the {SOURCE_PX} x {SOURCE_PX} scans are upsampled to it)")
    images, labels = scaled_scans(image_size)
    train, val = split_samples(list(enumerate(labels.tolist())), VAL_FRACTION)
    pick = lambda part: torch.tensor([i for i, _ in part], dtype=torch.long)  # noqa: E731
    train_idx, val_idx = pick(train), pick(val)
    return (UInt8Images(images[train_idx], labels[train_idx], NUM_CLASSES),
            UInt8Images(images[val_idx], labels[val_idx], NUM_CLASSES), NUM_CLASSES)
