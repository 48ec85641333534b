"""A tiny ImageFolder for training tests: each class a colour plus noise, PNG files, ``root/<class>/*.png``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

COLOURS = ((220, 40, 40), (40, 200, 60), (50, 70, 230), (230, 220, 40))


def write_imagefolder(root: Path, *, classes: int = 4, per_class: int = 16, size: int = 40, seed: int = 0) -> Path:
    """``classes`` folders of ``per_class`` noisy ``size`` px squares of one colour each; returns ``root``."""
    rng = np.random.default_rng(seed)
    for c in range(classes):
        folder = root / f"class{c}"
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            noise = rng.integers(-60, 60, size=(size, size, 3))
            pixels = np.clip(np.array(COLOURS[c % len(COLOURS)]) + noise, 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(folder / f"img{i}.png")
    return root
