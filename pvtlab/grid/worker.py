"""A worker: claim a cell, run it under a heartbeat, write its row, repeat until the grid is finished.

A worker stays until no cell is waiting or running anywhere, so that if another worker dies it is
there to take the dead worker's cell once that lease runs out. Ctrl-C (or SIGTERM) gives the cell in
flight back to the queue and exits 130.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO, TypeVar

from .dispatch import RUNNING, WAITING, Claim, Queue
from .results import ResultsFile

EXIT_INTERRUPTED = 130
T = TypeVar("T")


class Heartbeat(threading.Thread):
    """Renews a claim's lease every third of the lease; stops the worker when its parent process is gone."""

    def __init__(self, queue: Queue, claim: Claim, parent_pid: int | None) -> None:
        super().__init__(daemon=True)
        self.queue, self.claim, self.parent_pid = queue, claim, parent_pid
        self._halt = threading.Event()

    def run(self) -> None:
        period = max(0.2, self.queue.lease_s / 3)
        while not self._halt.wait(period):
            try:
                self.queue.heartbeat(self.claim.trial_id)  # False once reclaimed: finish() reports that
            except Exception:  # noqa: BLE001  (a storage hiccup: the next beat tries again)
                pass
            if self.parent_pid is not None and os.getppid() != self.parent_pid:
                os.kill(os.getpid(), signal.SIGINT)  # orphaned: stop rather than run on unseen

    def stop(self) -> None:
        self._halt.set()
        self.join()


@dataclass
class WorkerStats:
    done: int = 0
    failed: int = 0


def _sigterm_as_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def work(queue: Queue, results: ResultsFile, run: Callable[[Claim], dict], *, poll_s: float = 1.0,
         parent_pid: int | None = None, log: TextIO | None = None) -> int:
    """Run cells until the grid is finished; returns the exit code (0, or 130 when interrupted)."""
    log = log or sys.stderr
    signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    stats = WorkerStats()
    claim: Claim | None = None
    try:
        while True:
            if parent_pid is not None and os.getppid() != parent_pid:
                print(f"[{queue.owner}] parent process is gone; stopping", file=log, flush=True)
                return EXIT_INTERRUPTED
            claim = _retrying(lambda: _next(queue), log)
            if claim is None:
                states = set(_retrying(queue.states, log).values())
                if not states & {RUNNING, WAITING}:
                    break
                time.sleep(poll_s)
                continue
            beat = Heartbeat(queue, claim, parent_pid)
            beat.start()
            try:
                row = run(claim)
            finally:
                beat.stop()
            ok = row.get("status") == "ok"
            results.upsert([row])
            kept = _retrying(lambda: queue.finish(claim, row, ok), log)
            claim = None
            stats.done += ok
            stats.failed += not ok
            note = "" if kept else " (lease had expired: the cell was handed to another worker too)"
            status = "ok" if ok else f"FAILED: {row.get('error')}"
            print(f"[{queue.owner}] {row['group']} {row['model']}:{row['variant']} @{row['resolution']}px "
                  f"-> {status} in {float(row.get('wall_s') or 0):.1f}s{note}", file=log, flush=True)
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if claim is not None:
            queue.release(claim)
        print(f"[{queue.owner}] interrupted; the cell in flight goes back to the queue", file=log, flush=True)
        return EXIT_INTERRUPTED
    print(f"[{queue.owner}] finished: {stats.done} ok, {stats.failed} failed", file=log, flush=True)
    return 0


def _retrying(call: Callable[[], T], log: TextIO, tries: int = 6) -> T:
    """A storage call that may hit a transient error (a busy SQLite file, a dropped connection)."""
    for attempt in range(tries):
        try:
            return call()
        except Exception as exc:  # noqa: BLE001
            if attempt == tries - 1:
                raise
            print(f"storage busy ({type(exc).__name__}: {exc}); retrying", file=log, flush=True)
            time.sleep(0.5 * 2 ** attempt)
    raise AssertionError("unreachable")


def _next(queue: Queue) -> Claim | None:
    claim = queue.claim()
    if claim is None and queue.reclaim_stale():
        claim = queue.claim()
    return claim
