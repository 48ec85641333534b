"""Image sizes as the measurement functions accept them: one int (square) or an (H, W) pair."""

from __future__ import annotations

from typing import Union

from pvtlab.errors import UserInputError

ImageSize = Union[int, tuple[int, int]]


def parse_image_size(image_size: ImageSize) -> tuple[int, int]:
    """(H, W) from ``image_size``; anything but a positive int or a pair of them is a ``UserInputError``."""
    if isinstance(image_size, int) and not isinstance(image_size, bool):
        pair: tuple = (image_size, image_size)
    elif isinstance(image_size, (tuple, list)) and len(image_size) == 2:
        pair = tuple(image_size)
    else:
        raise UserInputError(f"image_size={image_size!r} is not allowed; give a positive int or an (H, W) pair of them")
    if any(not isinstance(v, int) or isinstance(v, bool) or v < 1 for v in pair):
        raise UserInputError(f"image_size={image_size!r} is not allowed; give a positive int or an (H, W) pair of them")
    return int(pair[0]), int(pair[1])
