"""The workers of one ``run_ablation.py --grid`` call on this machine, and stopping them on Ctrl-C.

One worker runs the cells in this process (no second start-up; the progress bar on a side thread); more are
child processes, each in its own session so that only this process sees Ctrl-C and then stops them in order:
each gives its cell in flight back to the queue, and the command that resumes is printed.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

from .dispatch import Queue
from .execute import run_cell, worker_name
from .plan import Options, Plan
from .progress import Counts, Progress
from .results import ResultsFile
from .status import counts, sync_rows
from .worker import EXIT_INTERRUPTED, work

STOP_GRACE_S = 30.0


def run_spawned(the_plan: Plan, opts: Options, queue: Queue, results: ResultsFile, start: Counts,
                err: TextIO) -> int:
    """Start the local workers and show progress until they exit; Ctrl-C stops them cleanly."""
    logs = the_plan.results_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    procs = [_spawn(the_plan, opts, i, logs) for i in range(opts.workers)]
    bar = Progress(len(the_plan.grid.cells), start, stream=err)
    reported: set[int] = set()
    try:
        while True:
            time.sleep(opts.poll_s)
            bar.update(counts(the_plan.grid, queue.states(), results.by_id()))
            for i, proc in enumerate(procs):
                code = proc.poll()
                if code not in (None, 0) and i not in reported:
                    reported.add(i)
                    print(f"\nworker {i} (pid {proc.pid}) exited with code {code}; its cell runs again once its "
                          f"lease ({opts.lease_s:g} s) expires; log: {logs / f'worker-{i}.log'}", file=err, flush=True)
            if all(proc.poll() is not None for proc in procs):
                break
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        bar.close()
        return _interrupt(the_plan, opts, queue, results, procs, err)
    bar.update(counts(the_plan.grid, queue.states(), results.by_id()))
    bar.close()
    return 0


def run_inline(the_plan: Plan, opts: Options, queue: Queue, results: ResultsFile, start: Counts,
               err: TextIO) -> int:
    """One worker: run the cells in this process (no second start-up), the bar on a side thread."""
    import torch

    torch.set_num_threads(the_plan.threads)
    logs = the_plan.results_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    bar = Progress(len(the_plan.grid.cells), start, stream=err)
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(opts.poll_s):
            try:
                bar.update(counts(the_plan.grid, queue.states(), results.by_id()))
            except Exception:  # noqa: BLE001  (a busy storage only delays the bar)
                pass

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    name, threads = the_plan.grid.spec.name, the_plan.threads

    def run_one(claim: Any) -> dict[str, Any]:
        return run_cell(claim.cell, study=name, spec_hash=claim.spec_hash, device=opts.device,
                        threads=threads, workers=1)

    with open(logs / "worker-0.log", "a") as log:
        code = work(queue, results, run_one, poll_s=opts.poll_s, log=log)
    stop.set()
    watcher.join()
    bar.update(counts(the_plan.grid, queue.states(), results.by_id()))
    bar.close()
    if code == EXIT_INTERRUPTED:
        _say_interrupted(the_plan, opts, queue, results, err)
    return code


def _spawn(the_plan: Plan, opts: Options, index: int, logs: Path) -> subprocess.Popen:
    """A worker process of this run, in its own session so that only this process sees Ctrl-C."""
    command = [sys.executable, "-m", "pvtlab.grid.cli", "--grid", str(opts.spec_path), "--worker",
               "--results-dir", str(opts.results_root), "--device", opts.device, "--threads", str(the_plan.threads),
               "--lease-s", str(opts.lease_s), "--parent-pid", str(os.getpid()),
               "--workers-in-run", str(opts.workers)]
    if opts.storage is not None:
        command += ["--storage", opts.storage]
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
    host = worker_name().rsplit(":", 1)[0]
    queue.release_owned_by({f"{host}:{proc.pid}" for proc in procs})
    _say_interrupted(the_plan, opts, queue, results, err)
    return EXIT_INTERRUPTED


def _say_interrupted(the_plan: Plan, opts: Options, queue: Queue, results: ResultsFile, err: TextIO) -> None:
    sync_rows(queue, results)
    now = counts(the_plan.grid, queue.states(), results.by_id())
    command = shlex.join(["python", "run_ablation.py", *opts.argv])
    print(f"interrupted: {now.finished} of {len(the_plan.grid.cells)} cells finished and saved in "
          f"{results.path}. Resume with: {command}", file=err, flush=True)
