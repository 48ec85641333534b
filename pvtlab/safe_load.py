"""Read a torch file holding only tensors and plain containers: never run code from it."""

from __future__ import annotations

import os
import pickle
from typing import Any

import torch


class RefusedFile(ValueError):
    """A file that holds pickled objects other than tensors and plain values (they could run code on load)."""


def load_plain(path: str | os.PathLike) -> Any:
    """``torch.load(path, weights_only=True)`` onto the CPU; RefusedFile (with the unpickler's first line as its
    message) for a file that would need anything else."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        text = str(err).strip()
        raise RefusedFile(text.splitlines()[0] if text else type(err).__name__) from None
