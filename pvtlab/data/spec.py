"""Data specs: the ``data:`` mapping of a grid spec, checked cheaply up front and turned into datasets.

Forms (every key other than ``name`` is optional unless marked):
- ``{name: synthetic, num_train: 2048, num_val: 1024, val_seed: 0}``: the built-in task (synthetic.py).
  The training seed picks the training images; ``val_seed`` picks the validation images, so every seed
  and every variant of a study is scored on the same ones.
- ``{name: imagefolder, root: PATH (required), val_fraction: 0.2}``: the user's images (imagefolder.py);
  ``val_fraction`` only for a root without ``train/`` and ``val/``.
- ``{name: cifar10 | cifar100, root: PATH (required)}``: torchvision's on-disk format (cifar.py).
- ``{name: digits}``: scikit-learn's 1,797 real 8 x 8 digit scans, upsampled (digits.py); a fixed 80/20 split.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from torch.utils.data import Dataset

from ..errors import Rule, UserInputError, did_you_mean, non_negative_int, number_in, positive_int
from .cifar import batch_folder, build_cifar
from .datasets import VAL_FRACTION, check_image_size
from .digits import build_digits
from .imagefolder import build_imagefolder, scan_classes, split_layout
from .synthetic import MIN_IMAGE_SIZE, NUM_CLASSES, SyntheticDataset

SYNTHETIC_DEFAULTS = {"num_train": 2048, "num_val": 1024, "val_seed": 0}
_ROOT = Rule(lambda v: isinstance(v, (str, os.PathLike)) and bool(str(v)), "give a folder path", optional=False,
             missing="is missing; give the folder path, e.g. root: ~/data/<name>")
# Each data set's keys besides ``name``, with their rules, in check order; ``ALLOWED_KEYS`` derives from it.
KEY_RULES: dict[str, dict[str, Rule]] = {
    "synthetic": {"num_train": positive_int("give an integer >= 1"), "num_val": positive_int("give an integer >= 1"),
                  "val_seed": non_negative_int()},
    "imagefolder": {"root": _ROOT, "val_fraction": Rule(lambda v: number_in(0.0, 1.0, open_low=True).test(v),
                                                        "give a number in (0, 1), e.g. 0.2")},
    "cifar10": {"root": _ROOT},
    "cifar100": {"root": _ROOT},
    "digits": {},
}
ALLOWED_KEYS = {name: ("name", *rules) for name, rules in KEY_RULES.items()}

# What each data set's accuracy probes, and what it cannot tell: one sentence each (the report quotes them).
TASK_NOTES: dict[str, tuple[str, str]] = {
    "synthetic": ("Position and cross-patch structure, by construction: it was built to reward what OPE and CFFN "
                  "add (where a shape sits, and shapes that straddle patch borders).",
                  "What a change buys on real images: its effects are the task's, not a natural-image prior's."),
    "digits": ("Real handwritten scans (scikit-learn's 8 x 8 digits, upsampled): whether a ranking survives data "
               "no one designed for PVTv2, with no download.",
               "Natural-image texture, scale or clutter: the scans are tiny, centred and grey, and with enough "
               "training every variant reaches a ceiling."),
    "imagefolder": ("The user's own images: what each change buys on the data that matters to them.",
                    "Anything beyond that data set and its size; a small folder ranks by noise unless seeds agree."),
    "cifar10": ("Small real photos in 10 classes at 32 px: the usual from-scratch check of a vision change.",
                "ImageNet-scale behaviour: at 32 px the pyramid ends on a 1 x 1 grid and short runs favour "
                "convolutional priors."),
    "cifar100": ("Small real photos in 100 fine classes at 32 px: a harder from-scratch real-image check.",
                 "ImageNet-scale behaviour: at 32 px the pyramid ends on a 1 x 1 grid and short runs favour "
                 "convolutional priors."),
}


def _root(name: str, spec: Mapping[str, Any]) -> Path:
    path = Path(spec["root"]).expanduser()
    if not path.is_dir():
        raise UserInputError(f"data {name}: root {path} does not exist or is not a folder")
    return path


def validate_data_spec(spec: Any) -> None:
    """Check names, keys, values and that paths look right, without reading images; UserInputError if not."""
    if not isinstance(spec, Mapping):
        raise UserInputError(f"data spec {spec!r} is not allowed; give a mapping with a 'name' key, "
                             f"one of {sorted(ALLOWED_KEYS)}")
    name = spec.get("name")
    if name not in ALLOWED_KEYS:
        raise UserInputError(f"data name {name!r} is not allowed; choose one of {sorted(ALLOWED_KEYS)}"
                             f"{did_you_mean(name, ALLOWED_KEYS)}")
    unknown = sorted(set(spec) - set(ALLOWED_KEYS[name]))
    if unknown:
        raise UserInputError(f"data {name}: key(s) {unknown} not allowed; allowed: {list(ALLOWED_KEYS[name])}"
                             f"{did_you_mean(unknown[0], ALLOWED_KEYS[name])}")
    for key, rule in KEY_RULES[name].items():
        if key not in spec:
            if not rule.optional:
                raise UserInputError(f"data {name}: {key!r} {rule.missing.replace('<name>', name)}")
        elif not rule.test(spec[key]):
            raise UserInputError(f"data {name}: {key}={spec[key]!r} is not allowed; {rule.allowed}")
    if name in ("synthetic", "digits"):
        return  # nothing more to check before loading: rendered, or shipped with scikit-learn
    if name == "imagefolder":
        root = _root(name, spec)
        if split_layout(root):
            if "val_fraction" in spec:
                raise UserInputError(f"data imagefolder: val_fraction is not allowed with {root}/train and "
                                     f"{root}/val (the split is given); drop it")
            scan_classes(root / "train")
        else:
            scan_classes(root)
    else:
        batch_folder(name, _root(name, spec))


def build_datasets(spec: Mapping[str, Any], image_size: int, seed: int) -> tuple[Dataset, Dataset, int]:
    """(train, val, num_classes) for a data spec at ``image_size`` px; bad data raises UserInputError."""
    validate_data_spec(spec)
    if not isinstance(image_size, int) or isinstance(image_size, bool) or image_size < 1:
        raise UserInputError(f"image_size={image_size!r} is not allowed; give a positive integer (px)")
    name = spec["name"]
    if name == "synthetic":
        check_image_size("synthetic", image_size, MIN_IMAGE_SIZE)
        opts = {**SYNTHETIC_DEFAULTS, **spec}
        # Even streams for training images, odd ones for validation: the two never share images.
        train = SyntheticDataset(opts["num_train"], image_size, 2 * int(seed))
        val = SyntheticDataset(opts["num_val"], image_size, 2 * opts["val_seed"] + 1)
        return train, val, NUM_CLASSES
    if name == "digits":
        return build_digits(image_size)
    root = Path(spec["root"]).expanduser()
    if name == "imagefolder":
        return build_imagefolder(root, image_size, spec.get("val_fraction", VAL_FRACTION))
    return build_cifar(name, root, image_size)


def resolve_data_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """``spec`` checked and with every default written out (synthetic sizes, the ImageFolder validation fraction
    of a folder without its own split), so a training job's id covers the data it will use, not only what the spec
    spelled out."""
    validate_data_spec(spec)
    defaults: dict[str, Any] = {}
    if spec["name"] == "synthetic":
        defaults = dict(SYNTHETIC_DEFAULTS)
    elif spec["name"] == "imagefolder" and not split_layout(Path(spec["root"]).expanduser()):
        defaults = {"val_fraction": VAL_FRACTION}
    return {**defaults, **spec}
