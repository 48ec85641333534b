"""A worker: claim a cell, run it under Optuna's heartbeat, store its row, repeat until the grid is finished.

A worker stays until no cell is waiting or running anywhere, so that if another worker dies it is there to
take the dead worker's cell once it is back in the queue. Ctrl-C (or SIGTERM) gives the cell in flight back
to the queue and exits 130. Storage calls are retried on operational database errors only.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from .queue import Claim, Queue
from .results import ResultsFile
from .storage import retrying

EXIT_INTERRUPTED = 130


def _sigterm_as_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def work(queue: Queue, results: ResultsFile, run: Callable[[Claim], dict[str, Any]],
         labels: dict[str, dict[str, Any]], *, poll_s: float = 1.0, parent_pid: int | None = None,
         log: TextIO | None = None) -> int:
    """Run cells until the grid is finished; returns the exit code (0, or 130 when interrupted)."""
    log = log or sys.stderr
    signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    done = failed = 0
    claim: Claim | None = None
    try:
        while True:
            if parent_pid is not None and os.getppid() != parent_pid:
                print(f"[{queue.owner}] parent process is gone; stopping", file=log, flush=True)
                raise KeyboardInterrupt
            claim = retrying(queue.claim, log=log)
            if claim is None:
                if not retrying(queue.unfinished, log=log):
                    break
                time.sleep(poll_s)
                continue
            with queue.heartbeat(claim):
                row = run(claim)
            kept = retrying(lambda: queue.finish(claim, row), log=log)
            claim = None
            retrying(lambda: results.follow(queue.rows(), labels), log=log)
            ok = row.get("status") == "ok"
            done, failed = done + ok, failed + (not ok)
            note = "" if kept else " (not kept: the heartbeat had gone stale and another worker has the cell)"
            status = "ok" if ok else f"FAILED: {row.get('error')}"
            print(f"[{queue.owner}] {row['group']} {row['model']}:{row['variant']} @{row['resolution']}px "
                  f"-> {status} in {float(row.get('wall_s') or 0):.1f}s{note}", file=log, flush=True)
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if claim is not None:
            retrying(lambda: queue.release(claim), log=log)
        print(f"[{queue.owner}] interrupted; the cell in flight went back to the queue", file=log, flush=True)
        return EXIT_INTERRUPTED
    print(f"[{queue.owner}] finished: {done} ok, {failed} failed", file=log, flush=True)
    return 0
