"""Where a grid stands and how long it has left: done / failed / running / waiting, with an ETA.

On a terminal it is a live tqdm bar (tqdm's rate and ETA); in a log file, CI or nohup (not a TTY) it prints
one line at the start and then at most every ``quiet_every_s`` seconds, each with an ETA: before any cell of
this run finished, the dry-run estimate; after, the estimate scaled by how fast the finished cells went
against their own estimates.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Any, TextIO

from tqdm import tqdm

from .cells import Grid
from .queue import DONE, FAILED_STATE, RUNNING, WAITING


@dataclass(frozen=True)
class Counts:
    done: int = 0
    failed: int = 0
    running: int = 0
    waiting: int = 0

    @property
    def finished(self) -> int:
        return self.done + self.failed

    def text(self) -> str:
        return f"done={self.done} failed={self.failed} running={self.running} waiting={self.waiting}"


def counts(grid: Grid, states: dict[str, str], rows: dict[str, dict[str, Any]]) -> Counts:
    """Where each cell of this spec stands; cells the queue does not know fall back to cells.csv."""
    tally = {DONE: 0, FAILED_STATE: 0, RUNNING: 0, WAITING: 0}
    for cell in grid.cells:
        state = states.get(cell.cell_id)
        if state not in tally:
            status = rows.get(cell.cell_id, {}).get("status")
            state = DONE if status == "ok" else FAILED_STATE if status == "failed" else WAITING
        tally[state] += 1
    return Counts(done=tally[DONE], failed=tally[FAILED_STATE], running=tally[RUNNING], waiting=tally[WAITING])


def duration(secs: float) -> str:
    """A human wall time: seconds, minutes or hours."""
    secs = max(0.0, secs)
    if secs < 90:
        return f"{secs:.0f} s"
    if secs < 5400:
        return f"{secs / 60:.1f} min"
    return f"{secs / 3600:.1f} h"


class Progress:
    """Shows ``Counts`` as they change; ``total`` cells in the spec, ``estimate_s`` the estimated wall time of
    what this run has to do."""

    def __init__(self, total: int, start: Counts, *, estimate_s: float, stream: TextIO | None = None,
                 quiet_every_s: float = 30.0):
        stream = stream or sys.stderr
        self.stream = stream
        self.live = stream.isatty()
        self.quiet_every_s = quiet_every_s
        self.estimate_s = estimate_s
        self._start = start
        self._began = time.monotonic()
        self._last_line = self._began
        self._last = start
        self._bar = tqdm(total=total, initial=start.finished, unit="cell", file=stream, dynamic_ncols=True,
                         disable=not self.live, smoothing=0.1)
        self._bar.set_postfix_str(start.text())
        if not self.live:
            self._line(start)

    def eta_s(self, now: Counts) -> float:
        """Seconds left: the estimate, rescaled by the pace of the cells this run finished so far."""
        to_do = self._start.running + self._start.waiting
        finished = now.finished - self._start.finished
        elapsed = time.monotonic() - self._began
        if finished <= 0 or to_do <= 0:
            return max(0.0, self.estimate_s - elapsed)
        return elapsed / finished * max(0, to_do - finished)

    def _line(self, now: Counts) -> None:
        print(f"grid: {now.finished}/{self._bar.total} cells ({now.text()}); elapsed "
              f"{duration(time.monotonic() - self._began)}, ETA {duration(self.eta_s(now))}", file=self.stream,
              flush=True)

    def update(self, now: Counts) -> None:
        if now == self._last:
            return
        self._bar.update(max(0, now.finished - self._bar.n))
        self._bar.set_postfix_str(now.text())
        self._last = now
        stamp = time.monotonic()
        if not self.live and stamp - self._last_line >= self.quiet_every_s:
            self._last_line = stamp
            self._line(now)

    def close(self) -> None:
        self._bar.close()
