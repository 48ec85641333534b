"""The resources each SLURM worker job asks for: from ``--slurm-*`` flags and a spec's ``slurm:`` block (the flag
wins), checked before anything is submitted.

Left out, a resource is not asked for and the cluster's default applies (SLURM's own: 1 CPU, no GPU), except
``gpus_per_task``, which is 1 with ``--device cuda`` (a CUDA grid needs a GPU in each job).
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from dataclasses import asdict, dataclass
from typing import Any

from pvtlab.errors import UserInputError

from ..storage import StorageSpec

KEYS = ("partition", "time", "cpus_per_task", "gpus_per_task", "mem")
_MEM = re.compile(r"^[1-9][0-9]*[KMGT]?$")
_PARTITION = re.compile(r"^[A-Za-z0-9_.,-]+$")


@dataclass(frozen=True)
class SlurmOptions:
    """sbatch's ``--partition``, ``--time`` (minutes), ``--cpus-per-task``, ``--gpus-per-task``, ``--mem``."""

    partition: str | None = None
    time: int | None = None
    cpus_per_task: int | None = None
    gpus_per_task: int | None = None
    mem: str | None = None

    def given(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value is not None}


def check_slurm_block(raw: Any, where: str) -> dict[str, Any]:
    """A spec's ``slurm:`` block, checked value by value (same rules as the flags)."""
    if not isinstance(raw, dict):
        raise UserInputError(f"{where}: slurm={raw!r} is not allowed; give a mapping with keys {list(KEYS)}")
    for key, value in raw.items():
        if key not in KEYS:
            raise UserInputError(f"{where}: slurm key {key!r} is not allowed; allowed: {list(KEYS)}")
        check_value(key, value, f"{where}: slurm.{key}")
    return dict(raw)


def check_value(key: str, value: Any, name: str) -> None:
    """One resource value; ``name`` is how the error names it (a flag or a spec key)."""
    if key == "partition":
        if not isinstance(value, str) or not _PARTITION.match(value):
            raise UserInputError(f"{name}={value!r} is not allowed; give a partition name (letters, digits, _.-,)")
    elif key == "mem":
        if not isinstance(value, str) or not _MEM.match(value):
            raise UserInputError(f"{name}={value!r} is not allowed; give memory per node as sbatch takes it, "
                                 f"e.g. 16G or 4000M")
    else:
        least = 0 if key == "gpus_per_task" else 1
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            unit = " (minutes)" if key == "time" else ""
            raise UserInputError(f"{name}={value!r} is not allowed; give an integer >= {least}{unit}")


def resolve(flags: dict[str, Any], block: dict[str, Any], device: str) -> SlurmOptions:
    """Flags over the spec's block; with ``--device cuda`` and no GPU count given, one GPU per job."""
    for key, value in flags.items():
        if value is not None:
            check_value(key, value, f"--slurm-{key.replace('_', '-')}")
    merged = {**block, **{key: value for key, value in flags.items() if value is not None}}
    if device == "cuda" and merged.get("gpus_per_task") is None:
        merged["gpus_per_task"] = 1
    return SlurmOptions(**merged)


def check_tools() -> None:
    """submitit installed and ``sbatch`` on PATH (a SLURM login node), before anything is written."""
    if importlib.util.find_spec("submitit") is None:
        raise UserInputError('--slurm needs submitit, which is not installed; pip install -e ".[slurm]"')
    if shutil.which("sbatch") is None:
        raise UserInputError("--slurm needs sbatch, which is not on PATH; run on a machine that submits SLURM jobs "
                             "(a login node)")


def check_storage(where: StorageSpec) -> None:
    """The workers run on other nodes: the queue must be a database server they all reach."""
    if where.kind == "journal":
        raise UserInputError(f"--slurm needs --storage postgresql://USER:PASSWORD@HOST:PORT/DB (a database every "
                             f"node reaches); the journal file {where.target} is refused: it finds dead workers "
                             f"by their process, which another node cannot see")
    if where.target.startswith("sqlite"):
        raise UserInputError(f"--slurm needs --storage postgresql://USER:PASSWORD@HOST:PORT/DB (a database every "
                             f"node reaches); {where.description} is refused: SQLite serializes claims with a lock "
                             f"file, which holds on one machine only")
