"""What each task of the SLURM job array runs: one grid worker that knows only the storage, the study name and
its threads (the cells and their names come from the storage; nothing is re-planned on the node).

SLURM's warning signal before a time limit (``--signal=USR1@S``) makes the worker checkpoint an accuracy cell
(pvtlab/train/preemption.py) and hand its cell back to the queue, where another job resumes it from the checkpoint;
any other cell is handed back at once. ``scancel`` and preemption send SIGTERM, which the worker treats as
Ctrl-C: the cell in flight goes back to the queue. A job killed outright loses its cell to the heartbeat, which
re-queues it after the grace period.
"""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from pvtlab.train.preemption import request_stop

from ..storage import parse_storage
from ..join import join

# The warning signal and how long before the time limit SLURM sends it (sbatch --signal=USR1@90).
WARNING_SIGNAL = "USR1"
WARNING_S = 90


@dataclass(frozen=True)
class JobArgs:
    """Everything a worker job needs: picklable, no spec."""

    storage: str
    study: str
    results_dir: str  # absolute: rows (cells.csv) and checkpoints; on a path every node sees
    device: str
    threads: int | None  # None: the CPUs SLURM gave the task
    grace_s: int


def _on_warning(signum: int, frame: object) -> None:
    request_stop()


def job_threads(threads: int | None) -> int:
    """Torch threads: as given, else the task's CPUs (``SLURM_CPUS_PER_TASK``), else 1 (SLURM's default)."""
    return threads or int(os.environ.get("SLURM_CPUS_PER_TASK") or 1)


def run_job(args: JobArgs) -> int:
    """Run cells of the grid until it is finished (or this job is told to stop); returns the worker's exit code."""
    signal.signal(getattr(signal, f"SIG{WARNING_SIGNAL}"), _on_warning)
    threads = job_threads(args.threads)
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(threads)
    results_dir = Path(args.results_dir)
    return join(parse_storage(args.storage, results_dir), args.study, results_dir, threads=threads,
                device=args.device, grace_s=args.grace_s, log=sys.stderr)
