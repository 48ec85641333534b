"""A recipe's image transforms (``timm_transforms``: the paper recipe's), built by timm (``timm.data.create_transform``), not by hand.

Train: RandomResizedCrop (bicubic) + flip + RandAugment + colour jitter + normalize + random erasing, with the
recipe's values. Eval: resize the short side to ``size / 0.875``, center crop, normalize (bicubic), the
usual 224/256 crop ratio. Image datasets carry their transform in a ``transform`` attribute (ImageFolder,
CIFAR); ``use_recipe_transforms`` swaps both. The synthetic task keeps its fixed images: any crop, flip or
colour change would change its labels.
"""

from __future__ import annotations

from typing import Callable

from PIL import Image, ImageOps
from timm.data import create_transform
from torch.utils.data import Dataset

from ..data.transforms import EVAL_CROP_RATIO, IMAGENET_MEAN, IMAGENET_STD
from .recipe import Recipe


def paper_train_transform(recipe: Recipe, image_size: int) -> Callable:
    transform = create_transform(image_size, is_training=True, auto_augment=recipe.auto_augment,
                                 color_jitter=recipe.color_jitter, interpolation=recipe.interpolation,
                                 re_prob=recipe.re_prob, re_mode=recipe.re_mode, re_count=1,
                                 mean=IMAGENET_MEAN, std=IMAGENET_STD)
    for step in transform.transforms:
        for op in getattr(step, "ops", ()):
            if op.name == "PosterizeIncreasing":
                op.aug_fn = posterize_keeping
    return transform


def posterize_keeping(img: Image.Image, bits_to_keep: int, **_: object) -> Image.Image:
    """timm's posterize, also for 0 bits kept (a black image, as Pillow < 13 gave).

    RandAugment's increasing posterize keeps ``4 - 4 * level / 10`` bits; at the clipped top magnitude (m9
    with std 0.5 reaches it in ~2% of draws) that is 0, which Pillow 13 rejects with a ValueError.
    """
    if bits_to_keep >= 8:
        return img
    if bits_to_keep <= 0:
        return Image.new(img.mode, img.size)
    return ImageOps.posterize(img, bits_to_keep)


def paper_eval_transform(recipe: Recipe, image_size: int) -> Callable:
    return create_transform(image_size, is_training=False, interpolation=recipe.interpolation,
                            crop_pct=EVAL_CROP_RATIO, mean=IMAGENET_MEAN, std=IMAGENET_STD)


def use_recipe_transforms(recipe: Recipe, image_size: int, train_set: Dataset, val_set: Dataset) -> str:
    """Give image datasets the recipe's timm transforms when it asks for them (``timm_transforms``); returns
    what the train split trains on (the row's ``train_transform``)."""
    if not hasattr(train_set, "transform"):
        return "none (fixed rendered images)"
    if recipe.timm_transforms:
        train_set.transform = paper_train_transform(recipe, image_size)
        val_set.transform = paper_eval_transform(recipe, image_size)
    transform = train_set.transform
    return " > ".join(type(step).__name__ for step in getattr(transform, "transforms", [transform]))
