"""Where a number came from, stored in every result row (not only in file names)."""

from __future__ import annotations

import functools
import os
import platform
import socket
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import torch

from pvtlab.columns import PROVENANCE

PROVENANCE_COLUMNS = tuple(PROVENANCE)


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return ""


def _pvtlab_version() -> str:
    import pvtlab

    return getattr(pvtlab, "__version__", "")


@functools.lru_cache(maxsize=None)
def cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


@functools.lru_cache(maxsize=None)
def git_commit() -> str:
    """HEAD of the repository pvtlab is imported from; "" outside a git checkout."""
    repo = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip()


def device_name(device: str) -> str:
    dev = torch.device(device)
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            return "unavailable"
        return torch.cuda.get_device_name(dev)
    return cpu_model()


def worker_name() -> str:
    """Host and process id: enough to find the process that ran a measurement, on any machine."""
    return f"{socket.gethostname()}:{os.getpid()}"


def provenance(device: str = "cpu", *, threads: int | None = None, dtype: str = "float32") -> dict[str, object]:
    """The provenance columns of cells.csv for a measurement on ``device``; ``started_at``, ``finished_at`` and
    ``wall_s`` are left None for the caller, who holds the clock."""
    return {
        "torch_version": torch.__version__,
        "timm_version": _version("timm"),
        "fvcore_version": _version("fvcore"),
        "device": str(torch.device(device)),
        "device_name": device_name(device),
        "cpu_model": cpu_model(),
        "threads": threads if threads is not None else torch.get_num_threads(),
        "dtype": dtype,
        "pvtlab_version": _version("pvtlab") or _pvtlab_version(),
        "git_commit": git_commit(),
        "worker": worker_name(),
        "started_at": None,
        "finished_at": None,
        "wall_s": None,
    }
