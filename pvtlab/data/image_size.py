"""The one check of a dataset's ``image_size``: an integer side in pixels, at least the dataset's smallest."""

from __future__ import annotations

from ..errors import UserInputError


def check_image_size(dataset: str, image_size: object, minimum: int, why: str = "") -> None:
    """UserInputError naming ``dataset`` and ``minimum`` unless ``image_size`` is an int >= ``minimum``."""
    if not isinstance(image_size, int) or isinstance(image_size, bool) or image_size < minimum:
        raise UserInputError(f"{dataset} image_size={image_size!r} is not allowed; give an integer >= {minimum}"
                             f"{why}")
