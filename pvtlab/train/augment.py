"""The paper recipe's image transforms, built by timm (``timm.data.create_transform``), not by hand.

Train: RandomResizedCrop (bicubic) + flip + RandAugment + colour jitter + normalize + random erasing, with the
recipe's values. Eval: resize the short side to ``size / 0.875``, center crop, normalize (bicubic), the
usual 224/256 crop ratio. Image datasets carry their transform in a ``transform`` attribute (ImageFolder,
CIFAR); ``use_paper_transforms`` swaps both. The synthetic task keeps its fixed images: any crop, flip or
colour change would change its labels.
"""

from __future__ import annotations

from typing import Callable

from timm.data import create_transform
from torch.utils.data import Dataset

from ..data.transforms import EVAL_CROP_RATIO, IMAGENET_MEAN, IMAGENET_STD
from .recipe import Recipe


def paper_train_transform(recipe: Recipe, image_size: int) -> Callable:
    return create_transform(image_size, is_training=True, auto_augment=recipe.auto_augment,
                            color_jitter=recipe.color_jitter, interpolation=recipe.interpolation,
                            re_prob=recipe.re_prob, re_mode=recipe.re_mode, re_count=1,
                            mean=IMAGENET_MEAN, std=IMAGENET_STD)


def paper_eval_transform(recipe: Recipe, image_size: int) -> Callable:
    return create_transform(image_size, is_training=False, interpolation=recipe.interpolation,
                            crop_pct=EVAL_CROP_RATIO, mean=IMAGENET_MEAN, std=IMAGENET_STD)


def use_paper_transforms(recipe: Recipe, image_size: int, train_set: Dataset, val_set: Dataset) -> str:
    """Give image datasets the recipe's transforms; returns what the train split got (for ``recipe_json``)."""
    if not hasattr(train_set, "transform"):
        return "none (fixed rendered images)"
    train_set.transform = paper_train_transform(recipe, image_size)
    val_set.transform = paper_eval_transform(recipe, image_size)
    return " > ".join(type(step).__name__ for step in train_set.transform.transforms)
