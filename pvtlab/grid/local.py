"""The workers of one ``run_ablation.py --grid`` call on this machine: start, supervise, stop on Ctrl-C.

One worker runs the cells in this process (no second start-up; the progress bar on a side thread); more are
child processes, each in its own session so that only this process sees Ctrl-C and then stops them in order:
each gives its cell in flight back to the queue, and the command that resumes is printed. The parent also
supervises: a child that dies (even by ``kill -9``) has its cell failed and enqueued again at once
(``Queue.requeue_dead``), where the surviving workers pick it up.
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import threading
import time
from functools import partial
from pathlib import Path
from typing import TextIO

from pvtlab.files import LOGS_DIR

from .join import command as join_command
from .plan import Options, Plan
from .progress import Counts, Progress, counts
from .queue import Queue
from .results import ResultsFile
from .storage import is_operational, retrying
from .worker import EXIT_INTERRUPTED, plan_runner, current_labels, work

STOP_GRACE_S = 30.0


def run_spawned(the_plan: Plan, opts: Options, queue: Queue, results: ResultsFile, start: Counts, estimate_s: float,
                err: TextIO) -> int:
    """Start the local workers and show progress until they exit; Ctrl-C stops them cleanly."""
    logs = the_plan.results_dir / LOGS_DIR
    logs.mkdir(parents=True, exist_ok=True)
    procs = [_spawn(the_plan, opts, i, logs) for i in range(opts.workers)]
    bar = Progress(len(the_plan.grid.cells), start, estimate_s=estimate_s, stream=err)
    host = socket.gethostname()
    reported: set[int] = set()
    try:
        while True:
            time.sleep(opts.poll_s)
            dead = set()
            for i, proc in enumerate(procs):
                code = proc.poll()
                if code not in (None, 0):
                    dead.add(f"{host}:{proc.pid}")
                    if i not in reported:
                        reported.add(i)
                        print(f"\nworker {i} (pid {proc.pid}) exited with code {code}; its cell went back to the "
                              f"queue; log: {logs / f'worker-{i}.log'}", file=err, flush=True)
            if dead:
                retrying(partial(queue.requeue_dead, dead))
            bar.update(counts(the_plan.grid, retrying(queue.states), results.by_id()))
            if all(proc.poll() is not None for proc in procs):
                break
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        bar.close()
        return _interrupt(the_plan, opts, queue, results, procs, err)
    bar.update(counts(the_plan.grid, retrying(queue.states), results.by_id()))
    bar.close()
    return 0


def run_inline(the_plan: Plan, opts: Options, queue: Queue, results: ResultsFile, start: Counts, estimate_s: float,
               err: TextIO) -> int:
    """One worker: run the cells in this process (no second start-up), the bar on a side thread."""
    import torch

    torch.set_num_threads(the_plan.threads)
    logs = the_plan.results_dir / LOGS_DIR
    logs.mkdir(parents=True, exist_ok=True)
    bar = Progress(len(the_plan.grid.cells), start, estimate_s=estimate_s, stream=err)
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(opts.poll_s):
            try:
                bar.update(counts(the_plan.grid, queue.states(), results.by_id()))
            except Exception as exc:
                if not is_operational(exc):  # a busy database only delays the bar; anything else is a bug
                    raise

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    with open(logs / "worker-0.log", "a") as log:
        code = work(queue, results, plan_runner(the_plan, opts, 1), current_labels(the_plan.grid),
                    poll_s=opts.poll_s, log=log)
    stop.set()
    watcher.join()
    bar.update(counts(the_plan.grid, retrying(queue.states), results.by_id()))
    bar.close()
    if code == EXIT_INTERRUPTED:
        _say_interrupted(the_plan, opts, queue, results, err)
    return code


def _spawn(the_plan: Plan, opts: Options, index: int, logs: Path) -> subprocess.Popen:
    """A worker process of this run, in its own session so that only this process sees Ctrl-C."""
    command = join_command(the_plan.storage, the_plan.grid.spec.name, the_plan.results_dir,
                           threads=the_plan.threads, timed_threads=the_plan.timed_threads, device=opts.device,
                           grace_s=opts.grace_s, workers=opts.workers, parent_pid=os.getpid())
    env = {**os.environ, "OMP_NUM_THREADS": str(the_plan.threads), "MKL_NUM_THREADS": str(the_plan.threads)}
    log = open(logs / f"worker-{index}.log", "a")
    try:
        return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True)
    finally:
        log.close()


def _interrupt(the_plan: Plan, opts: Options, queue: Queue, results: ResultsFile,
               procs: list[subprocess.Popen], err: TextIO) -> int:
    print("\nstopping: the workers give their cells in flight back to the queue ...", file=err, flush=True)
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
    deadline = time.monotonic() + STOP_GRACE_S
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    host = socket.gethostname()
    retrying(lambda: queue.requeue_dead({f"{host}:{proc.pid}" for proc in procs}))
    _say_interrupted(the_plan, opts, queue, results, err)
    return EXIT_INTERRUPTED


def _say_interrupted(the_plan: Plan, opts: Options, queue: Queue, results: ResultsFile, err: TextIO) -> None:
    results.follow(retrying(queue.rows), current_labels(the_plan.grid))
    now = counts(the_plan.grid, retrying(queue.states), results.by_id())
    command = shlex.join(["python", "run_ablation.py", *opts.argv])
    saved = f" and saved in {results.path}" if results.path.exists() else ""
    print(f"interrupted: {now.finished} of {len(the_plan.grid.cells)} cells finished{saved}. "
          f"Resume with: {command}", file=err, flush=True)
