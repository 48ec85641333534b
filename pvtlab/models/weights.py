"""``load_weights``: pvtlab, timm and official PVT checkpoints into a pvtlab model, safely and strictly."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Union

import pickle

import torch
from torch import nn

from ..errors import UserInputError
from .key_maps import detect_format, fit_to_model, to_pvtlab

StateDict = Mapping[str, torch.Tensor]
Source = Union[StateDict, str, Path]
_SUFFIXES = (".pth", ".pt", ".safetensors")


class WeightsMismatchError(ValueError):
    """A checkpoint that does not fit the model: names the missing and unexpected keys and differing shapes."""


def read_state_dict(path: Union[str, Path]) -> dict[str, torch.Tensor]:
    """Read a checkpoint file without ever running code from it (safetensors, or torch.load weights_only)."""
    path = Path(path)
    if path.suffix not in _SUFFIXES:
        raise UserInputError(f"checkpoint {str(path)!r} has suffix {path.suffix!r}; allowed: {list(_SUFFIXES)}")
    if not path.is_file():
        raise UserInputError(f"checkpoint {str(path)!r} does not exist or is not a file")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file
        return load_file(str(path))
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UserInputError(f"checkpoint {str(path)!r} was refused: it holds objects other than tensors, which "
                             f"could run code when loaded ({first})") from None
    for wrapper in ("model", "state_dict"):  # DeiT-style {'model': ...} and Lightning-style wrappers
        if isinstance(obj, dict) and isinstance(obj.get(wrapper), dict):
            obj = obj[wrapper]
    if not isinstance(obj, dict):
        raise UserInputError(f"checkpoint {str(path)!r} holds a {type(obj).__name__}, not a state dict")
    return obj


def remap_state_dict(state_dict: StateDict, model: nn.Module) -> dict[str, torch.Tensor]:
    """Rename a pvtlab/timm/official state dict to ``model``'s keys (values untouched)."""
    fmt = detect_format(list(state_dict))
    model_keys = set(model.state_dict())
    return {fit_to_model(to_pvtlab(k, fmt), model_keys): v for k, v in state_dict.items()}


def _summary(items: list[str], limit: int = 8) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f", ... ({len(items)} in all)" if len(items) > limit else "")


def load_weights(model: nn.Module, source: Source) -> nn.Module:
    """Load ``source`` (a state dict or a .pth/.pt/.safetensors path) into ``model`` strictly; returns ``model``."""
    state_dict = read_state_dict(source) if isinstance(source, (str, Path)) else dict(source)
    remapped = remap_state_dict(state_dict, model)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(remapped))
    unexpected = sorted(set(remapped) - set(expected))
    shapes = sorted(f"{k} {tuple(remapped[k].shape)} vs model {tuple(expected[k].shape)}"
                    for k in set(expected) & set(remapped) if remapped[k].shape != expected[k].shape)
    if missing or unexpected or shapes:
        parts = [f"missing keys: {_summary(missing)}" if missing else "",
                 f"unexpected keys: {_summary(unexpected)}" if unexpected else "",
                 f"shapes differ: {_summary(shapes)}" if shapes else ""]
        raise WeightsMismatchError("checkpoint does not fit the model; " + "; ".join(p for p in parts if p))
    model.load_state_dict(remapped, strict=True)
    return model
