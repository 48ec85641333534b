"""``load_weights``: pvtlab, timm and official PVT checkpoints into a pvtlab model, safely; strictly by default, or
whatever fits (an ablated variant of the checkpoint's model) with a report of what was skipped and why."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Union

import torch
from torch import nn

from ..errors import UserInputError
from ..files import RefusedFile, load_plain
from .key_maps import detect_format, fit_to_model, to_pvtlab
from .pvt import PyramidVisionTransformer

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
        obj = load_plain(path)
    except RefusedFile as err:
        raise UserInputError(f"checkpoint {str(path)!r} was refused: it holds objects other than tensors, which "
                             f"could run code when loaded ({err})") from None
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
    return shown + (f", ... {len(items) - limit} more" if len(items) > limit else "")


@dataclass(frozen=True, repr=False)
class LoadReport:
    """What ``load_weights`` did, key by key (model key names); like torch's ``load_state_dict`` result, with
    the reason for each key that was not loaded. Printed, it is counts and the first few keys of each kind."""

    loaded: tuple[str, ...]
    missing: tuple[str, ...]  # in the model, not in the checkpoint: they keep their current values
    unexpected: tuple[str, ...]  # in the checkpoint, not in the model: ignored
    shape_mismatch: dict[str, str]  # in both with different shapes: "checkpoint (..) vs model (..)", not loaded
    dropped: tuple[str, ...] = ()  # in the checkpoint, for parts a features_only backbone dropped: ignored

    def __repr__(self) -> str:
        kinds = [("loaded", list(self.loaded)), ("missing", list(self.missing)), ("unexpected", list(self.unexpected)),
                 ("shape_mismatch", list(self.shape_mismatch)), ("dropped", list(self.dropped))]
        return "LoadReport(" + "; ".join(f"{len(keys)} {kind}" + (f": {_summary(keys, 3)}" if keys else "")
                                         for kind, keys in kinds if keys or kind != "dropped") + ")"

    @property
    def skipped(self) -> dict[str, str]:
        """Every key not loaded -> why."""
        return {**{k: "missing from the checkpoint (keeps its current value)" for k in self.missing},
                **{k: "not in the model (ignored)" for k in self.unexpected},
                **{k: f"shape differs: {why}" for k, why in self.shape_mismatch.items()},
                **{k: "its part was dropped from the features_only backbone (ignored)" for k in self.dropped}}

    @property
    def complete(self) -> bool:
        return not (self.missing or self.unexpected or self.shape_mismatch)


def compare_state_dicts(remapped: StateDict, expected: StateDict, dropped: tuple[str, ...] = ()) -> LoadReport:
    """Which checkpoint entries fit ``expected`` (a model's state dict), and why the others do not; ``dropped``
    keys are set aside as parts the model no longer has."""
    common = set(expected) & set(remapped)
    mismatch = {k: f"checkpoint {tuple(remapped[k].shape)} vs model {tuple(expected[k].shape)}"
                for k in sorted(common) if remapped[k].shape != expected[k].shape}
    return LoadReport(loaded=tuple(sorted(common - set(mismatch))), missing=tuple(sorted(set(expected) - common)),
                      unexpected=tuple(sorted(set(remapped) - common - set(dropped))), shape_mismatch=mismatch,
                      dropped=tuple(sorted(dropped)))


def _backbone_model(model: nn.Module) -> PyramidVisionTransformer | None:
    """The PVT a ``features_only`` backbone (timm's feature wrapper) holds under ``.model``, else None."""
    inner = getattr(model, "model", None)
    return inner if isinstance(inner, PyramidVisionTransformer) and model is not inner else None


def _dropped_keys(model: PyramidVisionTransformer, keys: list[str]) -> tuple[str, ...]:
    """Checkpoint keys of the head and the stages a backbone's PVT no longer has."""
    gone = ("head.", *(f"stages.{i}." for i in range(len(model.stages), len(model.config.depths))))
    return tuple(k for k in keys if k.startswith(gone))


def load_weights(model: nn.Module, source: Source, strict: bool = True) -> LoadReport:
    """Load ``source`` (a state dict or a .pth/.pt/.safetensors path) into ``model``; returns the ``LoadReport``.

    ``strict`` (default): the checkpoint must fit exactly, else ``WeightsMismatchError`` naming missing and
    unexpected keys and differing shapes, and nothing is loaded. ``strict=False``: every entry whose name and
    shape fit is loaded (e.g. B2 weights into B2 with ``patch_embed="non_overlap"``: all but the patch
    embeddings); the report says what was skipped and why. A checkpoint none of whose keys fits raises either way.
    A ``features_only`` backbone is loaded through the model it wraps; checkpoint keys of the parts it dropped
    (the head, later stages) are set aside as ``dropped``.
    """
    inner = _backbone_model(model)
    model = inner or model
    state_dict = read_state_dict(source) if isinstance(source, (str, Path)) else dict(source)
    remapped = remap_state_dict(state_dict, model)
    report = compare_state_dicts(remapped, model.state_dict(), _dropped_keys(inner, list(remapped)) if inner else ())
    if remapped and not report.loaded:
        raise WeightsMismatchError(f"no checkpoint key fits the model (checkpoint: {_summary(list(remapped), 3)}; "
                                   f"model: {_summary(list(model.state_dict()), 3)}); nothing was loaded")
    if strict and not report.complete:
        shapes = [f"{k} {why.replace('checkpoint ', '')}" for k, why in report.shape_mismatch.items()]
        parts = [f"missing keys: {_summary(list(report.missing))}" if report.missing else "",
                 f"unexpected keys: {_summary(list(report.unexpected))}" if report.unexpected else "",
                 f"shapes differ: {_summary(shapes)}" if shapes else ""]
        raise WeightsMismatchError("checkpoint does not fit the model; " + "; ".join(p for p in parts if p))
    model.load_state_dict({k: remapped[k] for k in report.loaded}, strict=strict)
    return report
