"""The conventions every count follows: what an image size is, and one MAC = one multiply-add = 2 FLOPs."""

from __future__ import annotations

from typing import Union

from pvtlab.errors import UserInputError

ImageSize = Union[int, tuple[int, int]]  # one int (a square side) or an (H, W) pair, in pixels


def parse_image_size(image_size: ImageSize) -> tuple[int, int]:
    """(H, W) from ``image_size``; anything but a positive int or a pair of them is a ``UserInputError``."""
    if isinstance(image_size, int) and not isinstance(image_size, bool):
        pair: tuple = (image_size, image_size)
    elif isinstance(image_size, (tuple, list)) and len(image_size) == 2:
        pair = tuple(image_size)
    else:
        pair = ()
    if not pair or any(not isinstance(v, int) or isinstance(v, bool) or v < 1 for v in pair):
        raise UserInputError(f"image_size={image_size!r} is not allowed; give a positive int or an (H, W) pair of them")
    return int(pair[0]), int(pair[1])


def resolution_of(image_size: ImageSize) -> Union[int, tuple[int, int]]:
    """What a result row's ``resolution`` holds: the side of a square input, or (H, W) when it is not square."""
    height, width = parse_image_size(image_size)
    return height if height == width else (height, width)


class MacUnits:
    """Derived units for any record with integer ``macs`` and ``attn_macs`` fields (traced and closed form)."""

    macs: int
    attn_macs: int

    @property
    def flops(self) -> int:
        return 2 * self.macs

    @property
    def gmacs(self) -> float:
        return self.macs / 1e9

    @property
    def attn_gmacs(self) -> float:
        return self.attn_macs / 1e9
