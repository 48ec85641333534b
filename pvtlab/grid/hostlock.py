"""Locks held across processes on one machine (``fcntl.flock``): a file's writers, and timed cells running alone.

The kernel drops a lock when its holder dies, even by ``kill -9``, so a crashed worker never leaves the grid
locked. All of this is host-local by nature: it coordinates the processes of one machine, which is exactly
what sharing a CPU (or a GPU) needs; the grid's queue across machines lives in the Optuna storage.

Timed cells (throughput) run alone on their machine. Every cell of a study takes the study's *run*
lock: shared for a cell that is only counted or trained, exclusive for a timed one, so a timed cell waits for
the cells in flight to finish and keeps new ones off the machine while it times. A *gate* lock in front of it
makes this fair: a timed cell closes the gate (exclusive) before it queues for the run lock, and other cells
pass the gate (shared, only for a moment) before taking theirs, so a stream of short cells cannot starve a
timed one. Each cell in flight also leaves a marker file named by its process id, from which a timed cell
records how many other cells were running while it timed (``concurrent_cells``; 0 when alone).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@contextmanager
def file_lock(path: Path, *, shared: bool = False) -> Iterator[None]:
    """Hold a lock on ``path`` (created if missing) for the ``with`` block: exclusive unless ``shared``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


@dataclass
class Occupancy:
    """What a cell saw of its machine while it ran: alone or not, and how many other cells ran beside it."""

    timed_alone: bool = False
    concurrent_cells: int = 0


def machine_folder(study: str) -> Path:
    """This machine's lock folder of a study (in the temp folder: results/ may be shared between machines)."""
    key = hashlib.sha256(study.encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"pvtlab-grid-{key}"


@contextmanager
def cell_slot(study: str, *, timed: bool) -> Iterator[Occupancy]:
    """Run one cell of ``study`` on this machine: alone when ``timed``, beside other untimed cells otherwise."""
    folder = machine_folder(study)
    running = folder / "running"
    running.mkdir(parents=True, exist_ok=True)
    seen = Occupancy()
    marker = running / str(os.getpid())
    with file_lock(folder / "gate", shared=not timed):
        if timed:
            with file_lock(folder / "run"):
                marker.touch()
                try:
                    seen.concurrent_cells = _others(running, marker)
                    yield seen
                    seen.concurrent_cells = max(seen.concurrent_cells, _others(running, marker))
                    seen.timed_alone = seen.concurrent_cells == 0
                finally:
                    marker.unlink(missing_ok=True)
            return
        lock = _open_shared(folder / "run")
    try:
        marker.touch()
        yield seen
    finally:
        marker.unlink(missing_ok=True)
        fcntl.flock(lock, fcntl.LOCK_UN)
        os.close(lock)


def _open_shared(path: Path) -> int:
    """Take the run lock shared (inside the gate) and keep it past the gate: returns the descriptor to release."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_SH)
    return fd


def _others(running: Path, mine: Path) -> int:
    """Markers of other live processes (a marker left by a killed process does not count)."""
    count = 0
    for marker in running.iterdir():
        if marker == mine or not marker.name.isdigit():
            continue
        try:
            os.kill(int(marker.name), 0)
        except ProcessLookupError:
            marker.unlink(missing_ok=True)
            continue
        except PermissionError:
            pass
        count += 1
    return count
