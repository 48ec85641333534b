"""torch and torchvision must come from matching builds; say which they are, and the fix, when they do not."""

from __future__ import annotations

from importlib import metadata


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
