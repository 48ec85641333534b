"""The grid's progress bar: done / failed / running / waiting, with tqdm's ETA.

On a terminal it is a live tqdm bar; in a log file (not a TTY) it prints one status line at most every
``quiet_every_s`` seconds instead of a stream of carriage returns.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import TextIO

from tqdm import tqdm


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


class Progress:
    """Shows ``Counts`` as they change; ``total`` is the number of cells in the spec."""

    def __init__(self, total: int, start: Counts, *, stream: TextIO | None = None, quiet_every_s: float = 30.0):
        stream = stream or sys.stderr
        self.stream = stream
        self.live = stream.isatty()
        self.quiet_every_s = quiet_every_s
        self._last_line = 0.0
        self._last = start
        self._bar = tqdm(total=total, initial=start.finished, unit="cell", file=stream, dynamic_ncols=True,
                         disable=not self.live, smoothing=0.1)
        self._bar.set_postfix_str(start.text())

    def update(self, counts: Counts) -> None:
        if counts == self._last:
            return
        self._bar.update(max(0, counts.finished - self._bar.n))
        self._bar.set_postfix_str(counts.text())
        self._last = counts
        now = time.monotonic()
        if not self.live and now - self._last_line >= self.quiet_every_s:
            self._last_line = now
            print(f"grid: {counts.finished}/{self._bar.total} cells ({counts.text()})", file=self.stream,
                  flush=True)

    def close(self) -> None:
        self._bar.close()
