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
from .heartbeat import GRACE_S
from .slurm.options import SlurmOptions, check_storage, check_tools, resolve
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
    grace_s: int = GRACE_S  # RDB storages: seconds without a heartbeat before a running cell counts as dead
    report: bool = True
    verbose: bool = False
    poll_s: float = 1.0
    slurm: int | None = None  # --slurm N: worker jobs of one SLURM job array instead of local workers
    slurm_flags: dict[str, Any] = field(default_factory=dict)  # --slurm-* values (None: not given)
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
    slurm: SlurmOptions | None = None  # --slurm: what each worker job asks for


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def check_device(device: str, *, here: bool = True) -> None:
    """A known device; ``here``: this machine has it (not asked of a SLURM submit host, whose nodes run cells)."""
    if device not in ("cpu", "cuda"):
        raise UserInputError(f"--device={device!r} is not allowed; choose cpu or cuda")
    if device == "cuda" and here:
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
    check_device(opts.device, here=opts.slurm is None)
    spec = read_spec(opts.spec_path)
    check_data(spec)
    grid = expand(spec, opts.device)
    results_dir = opts.results_root / spec.name
    storage = parse_storage(opts.storage, results_dir)
    if opts.slurm is not None:  # each job is a worker on the CPUs it asked for
        resources = resolve(opts.slurm_flags, spec.slurm, opts.device)
        threads = opts.threads or resources.cpus_per_task or 1
        slurm_plan = Plan(grid=grid, results_dir=results_dir, storage=storage, threads=threads,
                          timed_threads=threads, slurm=resources)
        check_storage(storage)
        if not opts.dry_run:  # a dry run submits nothing
            check_tools()
        return slurm_plan
    workers = 1 if opts.worker else opts.workers
    threads = opts.threads if opts.threads is not None else max(1, available_cpus() // workers)
    timed = opts.threads if opts.threads is not None else available_cpus()
    return Plan(grid=grid, results_dir=results_dir, storage=storage, threads=threads, timed_threads=timed)
