"""Run a grid: check everything, enqueue the cells, start the workers, watch them, finish with a report.

Order matters for the promise that a bad input touches nothing: ``plan`` (plan.py) does every check (spec,
presets, toggles, sizes, data, device, storage URL) without writing a byte; only ``run_grid`` creates
``results/<name>/``. Re-running the same command resumes: cells finished in the storage or in cells.csv are
skipped, failed ones too unless ``--retry-failed``.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from pvtlab.errors import UserInputError
from pvtlab.files import GRID_FILE, SPEC_COPY, write_text_atomic

from .cell import Cell
from .estimate import dry_run, ordered, wall_time
from .local import run_inline, run_spawned
from .plan import Options, Plan, plan
from .progress import counts, duration
from .queue import Queue
from .results import ResultsFile
from .slurm.submit import run_slurm
from .storage import open_storage, retrying
from .structure import grid_structure
from .worker import EXIT_INTERRUPTED, plan_runner, current_labels, work


def run(opts: Options, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Dry run, join as a worker, or run the grid; returns the exit code."""
    out, err = out or sys.stdout, err or sys.stderr
    the_plan = plan(opts)
    if opts.dry_run:
        return dry_run(the_plan, opts, out)
    if opts.worker:
        return run_worker(the_plan, opts, err)
    return run_grid(the_plan, opts, out, err)


def open_queue(the_plan: Plan, opts: Options, *, create: bool) -> Queue:
    storage = open_storage(the_plan.storage, grace_s=opts.grace_s)
    return retrying(lambda: Queue(storage, the_plan.storage, the_plan.grid.spec.name, create=create))


def run_worker(the_plan: Plan, opts: Options, err: TextIO) -> int:
    """Join the grid's queue (another shell or machine) and run cells until it is finished."""
    if the_plan.storage.kind == "journal" and not Path(the_plan.storage.target).exists():
        raise UserInputError(f"no grid queue at {the_plan.storage.target}; start the grid without --worker first "
                             f"(that enqueues its cells), or pass the same --storage")
    import torch

    torch.set_num_threads(the_plan.threads)
    queue = open_queue(the_plan, opts, create=False)
    results = ResultsFile(the_plan.results_dir)
    return work(queue, results, plan_runner(the_plan, opts, None), current_labels(the_plan.grid),
                poll_s=opts.poll_s, log=err)


def run_grid(the_plan: Plan, opts: Options, out: TextIO, err: TextIO) -> int:
    """Enqueue what is left of the grid, run it on the local workers, then sync rows and write the report."""
    grid, folder = the_plan.grid, the_plan.results_dir
    started = time.time()
    queue = open_queue(the_plan, opts, create=True)
    results = ResultsFile(folder)
    _note_spec_change(the_plan, opts, queue, results, err)
    rows = results.by_id()
    skip = {cid for cid, row in rows.items()
            if row.get("status") == "ok" or (row.get("status") == "failed" and not opts.retry_failed)}
    retrying(queue.requeue_dead)
    retrying(lambda: queue.enqueue(ordered(grid.cells, the_plan.threads), skip, grid.spec_hash,
                                   retry_failed=opts.retry_failed))
    retrying(lambda: queue.publish_labels(current_labels(grid)))
    start = counts(grid, queue.states(), rows)
    workers = opts.slurm or opts.workers
    where = "SLURM job(s)" if opts.slurm else "worker(s)"
    print(f"grid '{grid.spec.name}': {len(grid.cells)} cells, {start.finished} already finished, "
          f"{start.running + start.waiting} to run on {workers} {where} x {the_plan.threads} thread(s) "
          f"on {opts.device}; storage: {the_plan.storage.description}", file=err, flush=True)
    if not start.running + start.waiting:
        return _finish(the_plan, opts, queue, results, None, out, err, 0)
    estimate = wall_time(_left(grid.cells, queue), the_plan.threads, workers, the_plan.timed_threads)
    run_here = run_slurm if opts.slurm else run_inline if workers == 1 else run_spawned
    code = run_here(the_plan, opts, queue, results, start, estimate, err)
    if code == EXIT_INTERRUPTED:
        return code
    return _finish(the_plan, opts, queue, results, started, out, err, code)


def _left(cells: tuple[Cell, ...], queue: Queue) -> list[Cell]:
    states = queue.states()
    return [cell for cell in cells if states.get(cell.cell_id) in ("running", "waiting")]


def _note_spec_change(the_plan: Plan, opts: Options, queue: Queue, results: ResultsFile, err: TextIO) -> None:
    """Bring cells.csv up to the storage, mark rows of an older spec stale and say so once (the first run after
    the change)."""
    grid, folder = the_plan.grid, the_plan.results_dir
    info_path = folder / GRID_FILE
    previous = json.loads(info_path.read_text()) if info_path.exists() else {}
    stale = results.follow(retrying(queue.rows), current_labels(grid))
    old_hash = previous.get("spec_hash")
    if old_hash and old_hash != grid.spec_hash:
        print(f"note: the grid '{grid.spec.name}' changed since its last run (spec {opts.spec_path}, "
              f"device {opts.device}): cells with new ids will run; {stale} row(s) of the older spec stay in "
              f"{results.path} marked stale_spec=true", file=err, flush=True)
    (folder / SPEC_COPY).write_text(Path(opts.spec_path).read_text())
    _write_json(info_path, {**previous, "study": grid.spec.name, "spec_hash": grid.spec_hash,
                            "spec_path": str(opts.spec_path), "cells": len(grid.cells), "device": opts.device,
                            "storage": the_plan.storage.description, "structure": grid_structure(grid)})


def _finish(the_plan: Plan, opts: Options, queue: Queue, results: ResultsFile, started: float | None,
            out: TextIO, err: TextIO, code: int) -> int:
    """Bring cells.csv up to the storage, record the run in grid.json, summarize, write the report.

    ``started`` is None when there was nothing to run: grid.json then keeps the last real run's record."""
    grid = the_plan.grid
    results.follow(retrying(queue.rows), current_labels(grid))
    final = counts(grid, retrying(queue.states), results.by_id())
    finished_at = time.time()
    wall = f"; wall time {duration(finished_at - started)}" if started is not None else ""
    if started is not None:
        info_path = the_plan.results_dir / GRID_FILE
        info = json.loads(info_path.read_text()) if info_path.exists() else {}
        info["last_run"] = {"started_at": _iso(started), "finished_at": _iso(finished_at),
                            "wall_s": round(finished_at - started, 2), "workers": opts.slurm or opts.workers,
                            **({"slurm_jobs": opts.slurm} if opts.slurm else {}),
                            "threads_per_worker": the_plan.threads, "device": opts.device}
        _write_json(info_path, info)
    unfinished = final.running + final.waiting
    print(f"grid '{grid.spec.name}': {final.done} ok, {final.failed} failed"
          f"{' (reasons in the error column; --retry-failed reruns them)' if final.failed else ''}"
          f"{f', {unfinished} not finished (re-run the same command to resume)' if unfinished else ''}"
          f"{wall}; rows: {results.path}", file=err, flush=True)
    if opts.report and results.path.exists():
        try:
            from pvtlab.report import write_report

            print(f"report: {write_report(the_plan.results_dir)}", file=out, flush=True)
        except Exception as exc:  # noqa: BLE001  (the rows are safe; say what failed and how to retry)
            print(f"the report failed ({type(exc).__name__}: {exc}); the rows are intact; retry with "
                  f"python run_ablation.py --report {the_plan.results_dir}", file=err, flush=True)
            return 1
    return 1 if (code or unfinished) else 0


def _write_json(path: Path, data: dict[str, Any]) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def _iso(stamp: float) -> str:
    return dt.datetime.fromtimestamp(stamp, dt.timezone.utc).isoformat(timespec="seconds")
