"""Standard ImageNet-style transforms at any image size (the recipe of timm/DeiT, shortened).

- Train: ``RandomResizedCrop(size)`` (scale 0.08-1, aspect 3/4-4/3, bilinear), horizontal flip with p = 0.5,
  to tensor, normalize with the ImageNet mean/std.
- Eval: resize the short side to ``size / 0.875`` (the usual 224/256 crop ratio), ``CenterCrop(size)``,
  to tensor, normalize.
Random choices draw from torch's global generator, which the training seed fixes (no worker processes).
The synthetic task does not use the train transform: a flip or crop would change its labels.
"""

from __future__ import annotations

import math

import torch
from torchvision import transforms as T

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
EVAL_CROP_RATIO = 0.875


def train_transform(image_size: int) -> T.Compose:
    return T.Compose([
        T.RandomResizedCrop(image_size, interpolation=T.InterpolationMode.BILINEAR),
        T.RandomHorizontalFlip(),
        T.ToTensor(),
        T.Normalize(IMAGENET_MEAN, IMAGENET_STD),
    ])


def eval_transform(image_size: int) -> T.Compose:
    return T.Compose([
        T.Resize(math.floor(image_size / EVAL_CROP_RATIO), interpolation=T.InterpolationMode.BILINEAR),
        T.CenterCrop(image_size),
        T.ToTensor(),
        T.Normalize(IMAGENET_MEAN, IMAGENET_STD),
    ])


def normalize_uint8(images: torch.Tensor) -> torch.Tensor:
    """uint8 (..., 3, H, W) -> float32 normalized like ``T.Normalize(IMAGENET_MEAN, IMAGENET_STD)`` after ToTensor."""
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    return (images.float() / 255.0 - mean) / std
