"""A worker: claim a cell, run it under Optuna's heartbeat, store its row, repeat until the grid is finished.

A worker stays until no cell is waiting or running anywhere, so that if another worker dies it is there to
take the dead worker's cell once it is back in the queue. Ctrl-C (or SIGTERM) gives the cell in flight back
to the queue and exits 130. Storage calls are retried on operational database errors only.

Running one cell: the worker runs the cell's resolved job as it is (nothing is re-planned). A measurement that fails becomes a row with ``status=failed`` and the reason in ``error``;
the grid goes on. ``pvtlab.measure.run_measure_job`` and ``pvtlab.train.run_job`` already report their own
failures that way; anything they raise anyway (a bug in a measurement) is caught and recorded the same way. A
timed cell runs alone on the machine (hostlock.py) and its row says so (``timed_alone``, ``concurrent_cells``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TextIO

from pvtlab.files import CHECKPOINTS_DIR
from pvtlab.measure.provenance import worker_name

from pvtlab.measure.job import BlockJob
from pvtlab.train.job import TrainJob

from .blocks import arm_id
from .cell import Cell, canonical_json
from .cells import Grid
from .hostlock import cell_slot
from .plan import Options, Plan
from .queue import Claim, Queue
from .results import ResultsFile
from .slurm.env import slurm_columns
from .storage import retrying
from .variants import position_of

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
            kept = retrying(partial(queue.finish, claim, row), log=log)
            claim = None
            retrying(lambda: results.follow(queue.rows(), labels), log=log)
            ok = row.get("status") == "ok"
            done, failed = done + ok, failed + (not ok)
            note = "" if kept else " (not kept: the heartbeat had gone stale and another worker has the cell)"
            status = "ok" if ok else f"FAILED: {row.get('error')}"
            print(f"[{queue.owner}] {row['group']} {row['model']}:{row['variant']} @{row['resolution']}px "
                  f"-> {status} in {float(row.get('wall_s') or 0):.1f}s{note}", file=log, flush=True)
    except KeyboardInterrupt as stopped:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if claim is not None:
            retrying(partial(queue.release, claim), log=log)
        why = f" ({stopped})" if str(stopped) else ""
        print(f"[{queue.owner}] interrupted{why}; the cell in flight went back to the queue", file=log, flush=True)
        return EXIT_INTERRUPTED
    print(f"[{queue.owner}] finished: {done} ok, {failed} failed", file=log, flush=True)
    return 0


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


def measure_cell(cell: Cell, *, threads: int, checkpoint: Path | None = None) -> dict[str, Any]:
    """Run the cell's job as it is: the measurement's own result dict (its columns, status, error, provenance)."""
    job = cell.built_job()
    if isinstance(job, TrainJob):
        from pvtlab.train import run_job

        return run_job(job, threads=threads, checkpoint_path=checkpoint)
    if isinstance(job, BlockJob):
        return measure_arms(cell, job, threads=threads)
    from pvtlab.measure import run_measure_job

    return run_measure_job(job, threads=threads)


def measure_arms(cell: Cell, job: BlockJob, *, threads: int) -> dict[str, Any]:
    """A paired timing block: {"arm_results": arm cell id -> that arm's result dict} (see blocks.py)."""
    from pvtlab.measure.block import run_block_job

    rows = run_block_job(job, threads=threads)
    ref_name = next(arm.variant for arm in cell.arm_cells() if arm.cell_id == arm_id(cell.cell_id, job.ref))
    for row in rows.values():
        row.update(ref_variant=ref_name, timing_block=cell.cell_id)
    return {"arm_results": {arm_id(cell.cell_id, member): row for member, row in rows.items()}}


def labels(cell: Cell) -> dict[str, Any]:
    """The columns that name a cell in its spec; they follow the spec (``ResultsFile.refresh``)."""
    return {"model": cell.model, "variant": cell.variant, "task": cell.task, "path_step": cell.path_step,
            "base_model": cell.base_model, "in_factorial": cell.in_factorial, "aliases": ";".join(cell.aliases)}


def identity(cell: Cell, *, study: str, spec_hash: str) -> dict[str, Any]:
    """The columns that say which cell a row is, from the cell alone."""
    config = cell.pvt_config()
    return {
        "cell_id": cell.cell_id, "study": study, "spec_hash": spec_hash, "stale_spec": False,
        "group": cell.group, **labels(cell), "patch_embed": config.patch_embed, "pos_embed": config.pos_embed,
        "ffn": config.ffn, "attention": config.attention, "position": position_of(config),
        "resolution": cell.resolution, "seed": cell.seed, "config_json": canonical_json(cell.config),
        "job_json": canonical_json(cell.job),
    }


def run_cell(cell: Cell, *, study: str, spec_hash: str, device: str, threads: int,
             workers: int | None, checkpoint: Path | None = None) -> dict[str, Any]:
    """Measure ``cell`` and return its full row; never raises for a failed measurement."""
    with cell_slot(study, timed=cell.timed) as seen:
        started = _now()
        clock = time.perf_counter()
        try:
            result = dict(measure_cell(cell, threads=threads, checkpoint=checkpoint))
        except Exception as exc:  # noqa: BLE001  (any failure of one cell is recorded, the grid goes on)
            result = {"status": "failed", "error": f"{type(exc).__name__}: {exc}".strip()}
        wall = time.perf_counter() - clock
    place = dict(study=study, spec_hash=spec_hash, device=device, threads=threads, workers=workers, seen=seen,
                 started=started, wall=wall)
    if not cell.arms:
        return _row(cell, result, **place)
    arm_results = result.get("arm_results") or {arm.cell_id: result for arm in cell.arm_cells()}
    arm_rows = [_row(arm, arm_results[arm.cell_id], **place) for arm in cell.arm_cells()]
    failed = [row for row in arm_rows if row["status"] != "ok"]
    block = {**arm_rows[0], **identity(cell, study=study, spec_hash=spec_hash),
             "status": "failed" if failed else "ok", "error": failed[0]["error"] if failed else None}
    return {**block, "arm_rows": json.dumps(arm_rows, default=str)}


def _row(cell: Cell, result: dict[str, Any], *, study: str, spec_hash: str, device: str, threads: int,
         workers: int | None, seen: Any, started: str, wall: float) -> dict[str, Any]:
    """The full cells.csv row of one measured cell (or arm of a block)."""
    result = dict(result)
    if cell.timed:
        result.update(timed_alone=seen.timed_alone, concurrent_cells=seen.concurrent_cells)
    result.setdefault("status", "ok" if not result.get("error") else "failed")
    if result["status"] != "ok" and not result.get("error"):
        result["error"] = "the measurement reported a failure without a reason"
    row = {**_provenance(device, threads), **result, **identity(cell, study=study, spec_hash=spec_hash)}
    row["error"] = _one_line(result.get("error"))
    row.update(worker=worker_name(), workers=workers, **slurm_columns(), started_at=started, finished_at=_now())
    row.setdefault("wall_s", round(wall, 4))
    if row.get("wall_s") is None:
        row["wall_s"] = round(wall, 4)
    return {k: (json.dumps(v, default=str) if isinstance(v, (dict, list, tuple)) else v) for k, v in row.items()}


def _provenance(device: str, threads: int) -> dict[str, Any]:
    """pvtlab.measure's provenance columns, for rows whose runner did not fill them (accuracy, a crash)."""
    try:
        from pvtlab.measure import provenance

        return dict(provenance(device, threads=threads, dtype="float32"))
    except Exception:  # noqa: BLE001  (provenance must never cost a result)
        return {"device": device, "threads": threads}


def _one_line(error: Any) -> str | None:
    if not error:
        return None
    return " ".join(str(error).split())[:2000]


def current_labels(grid: Grid) -> dict[str, dict[str, Any]]:
    """Cell id -> the names this spec gives the cell (cells.csv shows the current names)."""
    return {arm.cell_id: labels(arm) for cell in grid.cells for arm in (cell.arm_cells() or (cell,))}


def cell_runner(study: str, *, device: str, threads: int, timed_threads: int, checkpoints: Path,
                workers: int | None) -> Callable[[Claim], dict[str, Any]]:
    """What a worker does with a claim: run the cell on this machine; an accuracy cell checkpoints to
    ``checkpoints/<cell_id>.pt`` (a path every machine of the grid sees resumes there after a kill)."""

    def run_one(claim: Claim) -> dict[str, Any]:
        checkpoint = checkpoints / f"{claim.cell.cell_id}.pt" if claim.cell.group == "accuracy" else None
        if checkpoint is not None:
            checkpoints.mkdir(parents=True, exist_ok=True)
        try:
            return run_cell(claim.cell, study=study, spec_hash=claim.spec_hash, device=device,
                            threads=timed_threads if claim.cell.timed else threads, workers=workers,
                            checkpoint=checkpoint)
        finally:
            if checkpoint is not None:
                _remove_if_empty(checkpoints)

    return run_one


def _remove_if_empty(folder: Path) -> None:
    """Remove ``folder`` when no checkpoint (of an interrupted or running cell) is left in it."""
    try:
        folder.rmdir()
    except OSError:
        pass  # not empty, or already gone


def plan_runner(the_plan: Plan, opts: Options, workers: int | None) -> Callable[[Claim], dict[str, Any]]:
    """``cell_runner`` for a planned grid: checkpoints under results/<name>/."""
    return cell_runner(the_plan.grid.spec.name, device=opts.device, threads=the_plan.threads,
                       timed_threads=the_plan.timed_threads, checkpoints=the_plan.results_dir / CHECKPOINTS_DIR,
                       workers=workers)
