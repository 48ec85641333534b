"""Run a grid: check everything, enqueue the cells, start the workers, watch them, finish with a report.

Order matters for the promise that a bad input touches nothing: ``plan`` does every check (spec, presets,
toggles, sizes, data, device, storage URL) without writing a byte; only ``run_grid`` creates
``results/<name>/``. Re-running the same command resumes: cells already in cells.csv or finished in the
storage are skipped, failed ones too unless ``--retry-failed``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from pvtlab.errors import UserInputError

from .cells import Cell, Grid, expand
from .dispatch import DONE, FAILED_STATE, RUNNING, WAITING, Queue
from .estimate import makespan, seconds
from .execute import labels, run_cell, worker_name
from .progress import Counts, Progress
from .results import ResultsFile
from .spec import read_spec
from .storage import StorageSpec, open_storage, parse_storage
from .worker import EXIT_INTERRUPTED, work

GRID_FILE = "grid.json"
SPEC_COPY = "spec.yaml"
STOP_GRACE_S = 30.0


@dataclass(frozen=True)
class Options:
    """Everything the CLI decided; ``argv`` is kept to print the exact resume command."""

    spec_path: Path
    results_root: Path = Path("results")
    storage: str | None = None
    workers: int = 1
    threads: int | None = None
    worker: bool = False
    retry_failed: bool = False
    dry_run: bool = False
    device: str = "cpu"
    lease_s: float = 60.0
    report: bool = True
    poll_s: float = 0.5
    parent_pid: int | None = None
    workers_in_run: int | None = None
    argv: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Plan:
    grid: Grid
    results_dir: Path
    storage: StorageSpec
    threads: int  # per worker


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def check_device(device: str) -> None:
    if device not in ("cpu", "cuda"):
        raise UserInputError(f"--device={device!r} is not allowed; choose cpu or cuda")
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise UserInputError(f"--device=cuda is not allowed here: torch {torch.__version__} sees no CUDA "
                                 f"device (torch.cuda.is_available() is False); use --device cpu")


def check_data(grid_spec: Any) -> dict[str, Any] | None:
    """The accuracy data spec after ``pvtlab.data.validate_data_spec`` (a missing root is an error here)."""
    if grid_spec.accuracy is None:
        return None
    from pvtlab.data import validate_data_spec

    try:
        checked = validate_data_spec(dict(grid_spec.accuracy.data))
    except UserInputError as exc:
        raise UserInputError(f"{grid_spec.where}: accuracy.data: {exc}") from None
    return dict(checked) if isinstance(checked, dict) else dict(grid_spec.accuracy.data)


def plan(opts: Options) -> Plan:
    """Every check, no side effects: a UserInputError here leaves results/ exactly as it was."""
    check_device(opts.device)
    spec = read_spec(opts.spec_path)
    grid = expand(spec, opts.device, check_data(spec))
    results_dir = opts.results_root / spec.name
    storage = parse_storage(opts.storage, results_dir)
    workers = 1 if opts.worker else opts.workers
    threads = opts.threads if opts.threads is not None else max(1, available_cpus() // workers)
    return Plan(grid=grid, results_dir=results_dir, storage=storage, threads=threads)


def run(opts: Options, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Dry run, join as a worker, or run the grid; returns the exit code."""
    out, err = out or sys.stdout, err or sys.stderr
    the_plan = plan(opts)
    if opts.dry_run:
        return dry_run(the_plan, opts, out)
    if opts.worker:
        return run_worker(the_plan, opts, err)
    return run_grid(the_plan, opts, out, err)


def ordered(cells: tuple[Cell, ...], threads: int) -> list[Cell]:
    """Longest first, so the last minutes are not one long cell on one worker while the others idle."""
    return sorted(cells, key=lambda c: -seconds(c, threads))


def dry_run(the_plan: Plan, opts: Options, out: TextIO) -> int:
    """List the cells, what is already done, and a rough cost; runs and writes nothing."""
    grid = the_plan.grid
    rows = ResultsFile(the_plan.results_dir).by_id()
    to_run, done, failed, costs = 0, 0, 0, []
    print(f"{'status':8} {'group':10} {'model':13} {'variant':32} {'px':>5} {'seed':>4} {'est':>7}", file=out)
    for cell in ordered(grid.cells, the_plan.threads):
        status = rows.get(cell.cell_id, {}).get("status") or "to run"
        if status == "failed" and opts.retry_failed:
            status = "retry"
        cost = seconds(cell, the_plan.threads)
        if status in ("to run", "retry"):
            to_run += 1
            costs.append(cost)
        done += status == "ok"
        failed += status == "failed"
        seed = "" if cell.seed is None else str(cell.seed)
        also = f" (= {', '.join(cell.aliases)})" if cell.aliases else ""
        print(f"{status:8} {cell.group:10} {cell.model:13} {cell.variant + also:32} {cell.resolution:>5} "
              f"{seed:>4} {cost:>6.1f}s", file=out)
    workers = opts.workers
    print(f"\n{len(grid.cells)} cells: {to_run} to run, {done} done, {failed} failed"
          f"{' (--retry-failed reruns them)' if failed and not opts.retry_failed else ''}; estimated "
          f"{_duration(makespan(costs, workers))} on {workers} worker(s) x {the_plan.threads} thread(s) "
          f"(a rough guide)", file=out)
    print(f"results: {the_plan.results_dir}/  storage: {the_plan.storage.description}  "
          f"(--dry-run: nothing was run or written)", file=out)
    return 0


def run_worker(the_plan: Plan, opts: Options, err: TextIO) -> int:
    """Join the grid's queue (another shell or machine) and run cells until it is finished."""
    if the_plan.storage.kind == "journal" and not Path(the_plan.storage.target).exists():
        raise UserInputError(f"no grid queue at {the_plan.storage.target}; start the grid without --worker first "
                             f"(that enqueues its cells), or pass the same --storage")
    import torch

    torch.set_num_threads(the_plan.threads)
    queue = Queue(open_storage(the_plan.storage), the_plan.grid.spec.name, lock=the_plan.storage.lock,
                  lease_s=opts.lease_s, owner=worker_name(), create=False)
    results = ResultsFile(the_plan.results_dir)
    name, device, threads = the_plan.grid.spec.name, opts.device, the_plan.threads

    def run_one(claim: Any) -> dict[str, Any]:
        return run_cell(claim.cell, study=name, spec_hash=claim.spec_hash, device=device, threads=threads,
                        workers=opts.workers_in_run)

    return work(queue, results, run_one, poll_s=max(opts.poll_s, 0.5), parent_pid=opts.parent_pid, log=err)


def counts(grid: Grid, states: dict[str, str], rows: dict[str, dict[str, str]]) -> Counts:
    """Where each cell of this spec stands; cells the queue does not know fall back to cells.csv."""
    tally = {DONE: 0, FAILED_STATE: 0, RUNNING: 0, WAITING: 0}
    for cell in grid.cells:
        state = states.get(cell.cell_id)
        if state not in tally:
            status = rows.get(cell.cell_id, {}).get("status")
            state = DONE if status == "ok" else FAILED_STATE if status == "failed" else WAITING
        tally[state] += 1
    return Counts(done=tally[DONE], failed=tally[FAILED_STATE], running=tally[RUNNING], waiting=tally[WAITING])


def run_grid(the_plan: Plan, opts: Options, out: TextIO, err: TextIO) -> int:
    grid, folder = the_plan.grid, the_plan.results_dir
    started = time.time()
    queue = Queue(open_storage(the_plan.storage), grid.spec.name, lock=the_plan.storage.lock,
                  lease_s=opts.lease_s, owner=worker_name(), create=True)
    results = ResultsFile(folder)
    sync_rows(queue, results)
    _note_spec_change(the_plan, opts, results, err)
    rows = results.by_id()
    skip = {cid for cid, row in rows.items()
            if row.get("status") == "ok" or (row.get("status") == "failed" and not opts.retry_failed)}
    queue.enqueue(ordered(grid.cells, the_plan.threads), skip, grid.spec_hash, retry_failed=opts.retry_failed)
    queue.reclaim_stale()
    start = counts(grid, queue.states(), rows)
    workers = opts.workers
    print(f"grid '{grid.spec.name}': {len(grid.cells)} cells, {start.finished} already finished, "
          f"{start.running + start.waiting} to run on {workers} worker(s) x {the_plan.threads} thread(s) "
          f"on {opts.device}; storage: {the_plan.storage.description}", file=err, flush=True)
    code = 0
    if start.running + start.waiting:
        run_here = _inline if workers == 1 else _supervise
        code = run_here(the_plan, opts, queue, results, start, err)
    if code == EXIT_INTERRUPTED:
        return code
    return _finish(the_plan, opts, queue, results, started, out, err, code)


def _supervise(the_plan: Plan, opts: Options, queue: Queue, results: ResultsFile, start: Counts,
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


def _inline(the_plan: Plan, opts: Options, queue: Queue, results: ResultsFile, start: Counts,
            err: TextIO) -> int:
    """One worker: run the cells in this process (no second start-up), the bar on a side thread."""
    import torch

    torch.set_num_threads(the_plan.threads)
    logs = the_plan.results_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    bar = Progress(len(the_plan.grid.cells), start, stream=err)
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(opts.poll_s * 2):
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
        code = work(queue, results, run_one, poll_s=max(opts.poll_s, 0.5), log=log)
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


def sync_rows(queue: Queue, results: ResultsFile) -> int:
    """Copy rows finished elsewhere (other machines, or a worker killed before writing) into cells.csv."""
    current = results.by_id()
    newest: dict[str, dict[str, Any]] = {}
    for row in queue.rows():
        newest[row["cell_id"]] = row
    missing = [row for cid, row in newest.items()
               if cid not in current or str(row.get("finished_at", "")) > current[cid].get("finished_at", "")]
    results.upsert(missing)
    return len(missing)


def current_labels(grid: Grid) -> dict[str, dict[str, Any]]:
    return {cell.cell_id: labels(cell) for cell in grid.cells}


def _note_spec_change(the_plan: Plan, opts: Options, results: ResultsFile, err: TextIO) -> None:
    """Mark rows of an older spec stale and say so once (the first run after the change)."""
    grid, folder = the_plan.grid, the_plan.results_dir
    info_path = folder / GRID_FILE
    previous = json.loads(info_path.read_text()) if info_path.exists() else {}
    stale = results.refresh(current_labels(grid))
    old_hash = previous.get("spec_hash")
    if old_hash and old_hash != grid.spec_hash:
        print(f"note: the grid '{grid.spec.name}' changed since its last run (spec {opts.spec_path}, "
              f"device {opts.device}): cells with new ids will run; {stale} row(s) of the older spec stay in "
              f"{results.path} marked stale_spec=true", file=err, flush=True)
    (folder / SPEC_COPY).write_text(Path(opts.spec_path).read_text())
    _write_json(info_path, {**previous, "study": grid.spec.name, "spec_hash": grid.spec_hash,
                            "spec_path": str(opts.spec_path), "cells": len(grid.cells), "device": opts.device,
                            "storage": the_plan.storage.description})


def _finish(the_plan: Plan, opts: Options, queue: Queue, results: ResultsFile, started: float, out: TextIO,
            err: TextIO, code: int) -> int:
    sync_rows(queue, results)
    grid = the_plan.grid
    results.refresh(current_labels(grid))
    final = counts(grid, queue.states(), results.by_id())
    finished_at = time.time()
    info_path = the_plan.results_dir / GRID_FILE
    info = json.loads(info_path.read_text()) if info_path.exists() else {}
    info["last_run"] = {"started_at": _iso(started), "finished_at": _iso(finished_at),
                        "wall_s": round(finished_at - started, 2), "workers": opts.workers,
                        "threads_per_worker": the_plan.threads, "device": opts.device}
    _write_json(info_path, info)
    unfinished = final.running + final.waiting
    print(f"grid '{grid.spec.name}': {final.done} ok, {final.failed} failed"
          f"{' (reasons in the error column; --retry-failed reruns them)' if final.failed else ''}"
          f"{f', {unfinished} not finished (re-run the same command to resume)' if unfinished else ''}; "
          f"wall time {_duration(finished_at - started)}; rows: {results.path}", file=err, flush=True)
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
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def _iso(stamp: float) -> str:
    return dt.datetime.fromtimestamp(stamp, dt.timezone.utc).isoformat(timespec="seconds")


def _duration(secs: float) -> str:
    secs = max(0.0, secs)
    if secs < 90:
        return f"{secs:.0f} s"
    if secs < 5400:
        return f"{secs / 60:.1f} min"
    return f"{secs / 3600:.1f} h"
