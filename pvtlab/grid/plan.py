"""Every check a grid run needs, done before anything is written.

``plan`` reads the spec, expands it into cells (presets, toggle values, sizes), checks the data spec, the
device and the storage URL, and decides the threads per worker; a ``UserInputError`` from here leaves
``results/`` exactly as it was.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pvtlab.errors import UserInputError

from .cells import Grid, expand
from .spec import read_spec
from .storage import StorageSpec, parse_storage


@dataclass(frozen=True)
class Options:
    """Everything the CLI decided; ``argv`` is kept to print the exact resume command."""

    spec_path: Path
    results_root: Path = Path("results")
    storage: str | None = None
    workers: int = 1
    threads: int | None = None
    worker: bool = False
    retry_failed: bool = False
    dry_run: bool = False
    device: str = "cpu"
    grace_s: int = 60  # RDB storages: seconds without a heartbeat before a running cell counts as dead
    report: bool = True
    verbose: bool = False
    poll_s: float = 1.0
    parent_pid: int | None = None
    workers_in_run: int | None = None
    timed_threads: int | None = None  # set by a parent for its workers; None: decided in ``plan``
    argv: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Plan:
    grid: Grid
    results_dir: Path
    storage: StorageSpec
    threads: int  # per worker
    # A timed cell has the machine to itself (hostlock.py), so it times on all of the machine's cores, not its
    # worker's share; --threads N pins both. The row records the threads it ran with.
    timed_threads: int = 1


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def check_device(device: str) -> None:
    if device not in ("cpu", "cuda"):
        raise UserInputError(f"--device={device!r} is not allowed; choose cpu or cuda")
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise UserInputError(f"--device=cuda is not allowed here: torch {torch.__version__} sees no CUDA "
                                 f"device (torch.cuda.is_available() is False); use --device cpu")


def check_data(grid_spec: Any) -> None:
    """Every accuracy task's data spec through ``pvtlab.data.validate_data_spec`` (a missing root is an error)."""
    from pvtlab.data import validate_data_spec

    for task in grid_spec.accuracy:
        try:
            validate_data_spec(dict(task.data))
        except UserInputError as exc:
            raise UserInputError(f"{grid_spec.where}: {task.key}.data: {exc}") from None


def plan(opts: Options) -> Plan:
    """Every check, no side effects: a UserInputError here leaves results/ exactly as it was."""
    check_device(opts.device)
    spec = read_spec(opts.spec_path)
    check_data(spec)
    grid = expand(spec, opts.device)
    results_dir = opts.results_root / spec.name
    storage = parse_storage(opts.storage, results_dir)
    workers = 1 if opts.worker else opts.workers
    threads = opts.threads if opts.threads is not None else max(1, available_cpus() // workers)
    timed = opts.timed_threads or (opts.threads if opts.threads is not None else available_cpus())
    return Plan(grid=grid, results_dir=results_dir, storage=storage, threads=threads, timed_threads=timed)
