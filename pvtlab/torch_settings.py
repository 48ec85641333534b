"""The torch pvtlab runs on: matching torch and torchvision builds (checked when pvtlab is imported, named with
the fix when they do not match), the autocast precisions by the name a spec and a row give them, and one way to pin
torch's intra-op threads for a block and give the old setting back (measure and train share both)."""

from __future__ import annotations

import contextlib
from importlib import metadata
from typing import Any, Iterator

import torch

from .errors import UserInputError, check_fields, positive_int

AMP_DTYPES: dict[str, torch.dtype] = {"bfloat16": torch.bfloat16, "float16": torch.float16}
THREADS_RULE = {"threads": positive_int("give a positive integer or None")}  # None: torch's current setting


def check_device(device: Any) -> str:
    """``device`` as a string when torch knows it and pvtlab runs there (CPU or CUDA), else a one-line error."""
    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError):
        kind = None
    if kind not in ("cpu", "cuda"):
        raise UserInputError(f"device={device!r} is not allowed; choose 'cpu', 'cuda' or 'cuda:N'")
    return str(device)


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``threads`` intra-op threads (None: leave torch's setting), then restore it."""
    if threads is None:
        yield
        return
    check_fields({"threads": threads}, THREADS_RULE)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def installed(package: str) -> str:
    """The installed version of ``package`` (with its build tag, e.g. ``2.14.1+cpu``), or "not installed"."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def mismatch_message(reason: str) -> str:
    """One line naming both versions and the install that matches torchvision to torch."""
    torch_version = installed("torch")
    base = torch_version.split("+")[0].split(".")
    vision = f"0.{int(base[1]) + 15}" if base[0] == "2" and base[1].isdigit() else "<the matching release>"
    return (f"torch {torch_version} and torchvision {installed('torchvision')} are not from matching builds "
            f"({reason}); install matching builds from one index, e.g. pip install torch=={'.'.join(base)} "
            f"torchvision=={vision}.*")


def check_torchvision() -> None:
    """Import torchvision (timm and pvtlab's loaders need it); ImportError with ``mismatch_message`` when its
    compiled operators do not fit the installed torch ("operator torchvision::nms does not exist")."""
    try:
        import torchvision  # noqa: F401
    except RuntimeError as exc:
        if "torchvision::" not in str(exc):
            raise
        raise ImportError(mismatch_message(" ".join(str(exc).split())[:120])) from None
