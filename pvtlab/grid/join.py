"""A worker that joins a running grid knowing only its storage, study name and threads.

The cells, with the names they carry, come from the storage, so nothing is re-planned: the local workers of
``run_ablation.py --grid`` (``python -m pvtlab.grid.join ...``, started by local.py) and each SLURM job
(slurm/job.py) run this. The user-facing ``--worker`` flag instead checks the spec first, since a person typed it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from pvtlab.files import CHECKPOINTS_DIR

from .queue import Queue
from .results import ResultsFile
from .storage import StorageSpec, open_storage, parse_storage, retrying
from .worker import cell_runner, labels, work


def join(where: StorageSpec, study: str, results_dir: Path, *, threads: int, device: str, grace_s: int,
         timed_threads: int | None = None, workers: int | None = None, parent_pid: int | None = None,
         poll_s: float = 1.0, log: TextIO | None = None) -> int:
    """Run the grid's cells until it is finished; rows go to ``results_dir``'s cells.csv, accuracy checkpoints
    under it. Returns the worker's exit code (0, or 130 when interrupted)."""
    import torch

    torch.set_num_threads(threads)
    storage = retrying(lambda: open_storage(where, grace_s=grace_s), log=log)
    queue = retrying(lambda: Queue(storage, where, study, create=False), log=log)
    runner = cell_runner(study, device=device, threads=threads, timed_threads=timed_threads or threads,
                         checkpoints=results_dir / CHECKPOINTS_DIR, workers=workers)
    return work(queue, ResultsFile(results_dir), runner, stored_labels(queue), poll_s=poll_s, parent_pid=parent_pid,
                log=log)


def stored_labels(queue: Queue) -> dict[str, dict[str, Any]]:
    """Cell id -> its names in the spec the grid was last started with (recorded with the study), else in the
    cells' own JSON."""
    published = retrying(queue.labels)
    if published is not None:
        return published
    return {cell.cell_id: labels(cell) for cell in retrying(queue.cells).values()}


def command(where: StorageSpec, study: str, results_dir: Path, *, threads: int, timed_threads: int, device: str,
            grace_s: int, workers: int, parent_pid: int) -> list[str]:
    """The command line of a local worker process."""
    return [sys.executable, "-m", "pvtlab.grid.join", "--storage", where.target, "--study", study,
            "--results-dir", str(results_dir), "--threads", str(threads), "--timed-threads", str(timed_threads),
            "--device", device, "--grace-s", str(grace_s), "--workers", str(workers), "--parent-pid",
            str(parent_pid)]


def main(argv: list[str] | None = None) -> int:
    """Entry of a local worker process (arguments from ``command``, never typed by a person)."""
    parser = argparse.ArgumentParser(prog="python -m pvtlab.grid.join")
    for flag in ("--storage", "--study", "--results-dir", "--device"):
        parser.add_argument(flag, required=True)
    for flag in ("--threads", "--timed-threads", "--grace-s", "--workers", "--parent-pid"):
        parser.add_argument(flag, type=int, required=True)
    args = parser.parse_args(argv)
    results_dir = Path(args.results_dir)
    try:
        return join(parse_storage(args.storage, results_dir), args.study, results_dir, threads=args.threads,
                    device=args.device, grace_s=args.grace_s, timed_threads=args.timed_threads,
                    workers=args.workers, parent_pid=args.parent_pid, log=sys.stderr)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
