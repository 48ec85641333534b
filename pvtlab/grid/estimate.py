"""A rough cost per cell, the dispatch order, and ``--dry-run``, which prints what a run would do and cost.

seconds = fixed + per_gmac * GMACs (the closed-form count at the cell's resolution; times the training images
for accuracy). A paired timing block times each step kind until its time budget x arms has passed and at least
``MIN_ROUNDS`` rounds are done, so it costs the longer of the two. The coefficients were fitted on cells.csv of the
default grid run on this project's 2-core CI machine (one thread per worker, timed cells on two), where they hold:
that grid took 7 min 33 s. A faster machine takes less, a loaded one more: a guide to minutes versus hours, not a
promise. Batch sizes, time budgets and training budgets are the cell's
resolved jobs (cells.py), so the estimate runs on the values the measurement will use.
"""

from __future__ import annotations

from typing import TextIO

from pvtlab.measure.analytic import analytic_count
from pvtlab.measure.paired import MIN_ROUNDS

from .cell import Cell
from .plan import Options, Plan
from .progress import duration
from .results import ResultsFile

# group -> (fixed seconds, seconds per GMAC of one image at the cell's resolution), 1 CPU thread; fitted on
# cells.csv of the default grid run on 2 otherwise idle cores (memory's fixed part is its two fresh processes).
COEFFICIENTS: dict[str, tuple[float, float]] = {
    "params": (0.1, 0.0),
    "flops": (0.4, 0.04),
    "memory": (1.5, 0.28),
    "throughput": (4.5, 0.08),  # per timed step (inference and training alike), per image of the batch
    "accuracy": (0.7, 0.0),
}
ACCURACY_S_PER_IMAGE_GMAC = 0.18  # forward + backward + optimizer, per training image
TRAIN_IMAGES = {"cifar10": 50000, "cifar100": 50000, "digits": 1438}
VAL_IMAGES = {"digits": 359, "cifar10": 10000, "cifar100": 10000}  # validation images scored at each test size
FORWARD_SHARE = 1 / 3  # a forward pass (scoring) as a share of a training step (forward + backward + optimizer)
UNKNOWN_TRAIN_IMAGES = 10000  # an image folder whose size the spec does not say


def gmacs(cell: Cell) -> float:
    return analytic_count(cell.pvt_config(), cell.resolution).macs / 1e9


def train_images(cell: Cell) -> int:
    """Images one accuracy cell trains on: steps x global batch, or epochs x the training set."""
    recipe, data = cell.job["recipe"], cell.data or {}
    if recipe["steps"]:
        return int(recipe["steps"]) * int(recipe["global_batch"])
    if data.get("name") == "synthetic":
        size = int(data["num_train"])
    else:
        size = TRAIN_IMAGES.get(str(data.get("name")), UNKNOWN_TRAIN_IMAGES)
    return size * int(recipe["epochs"])


def extra_test_work(cell: Cell) -> float:
    """GMACs x images of scoring the validation split at the test sizes other than the training size."""
    data = cell.data or {}
    if data.get("name") == "synthetic":
        images = int(data["num_val"])
    else:
        images = VAL_IMAGES.get(str(data.get("name")), UNKNOWN_TRAIN_IMAGES // 4)
    sizes = [s for s in cell.job["eval_sizes"] if s != cell.resolution]
    return sum(analytic_count(cell.pvt_config(), s).macs / 1e9 for s in sizes) * images * FORWARD_SHARE


def seconds(cell: Cell, threads: int = 1) -> float:
    """Estimated wall seconds of one cell on ``threads`` CPU threads (a paired block: one process for its arms
    and the A/A arm)."""
    fixed, per_gmac = COEFFICIENTS[cell.group]
    speedup = max(1.0, threads ** 0.8)
    if cell.arms:
        options = cell.job["options"]
        timed = len(cell.arms) + 1  # the reference is timed twice (the A/A arm)
        step = sum(per_gmac * gmacs(arm) * options["batch_size"] for arm in cell.arm_cells()) / len(cell.arms)
        rounds = min(options["repeats"], MIN_ROUNDS) * timed * step / speedup
        warmup = options["warmup"] * timed * step / speedup
        return fixed + 2 * (max(options["time_budget_s"] * timed, rounds) + warmup)  # inference and training
    work = gmacs(cell)
    if cell.group == "accuracy":
        variable = ACCURACY_S_PER_IMAGE_GMAC * (work * train_images(cell) + extra_test_work(cell))
    elif cell.group == "throughput":
        fixed += 2 * float(cell.job["options"]["time_budget_s"])  # spent whatever the threads
        variable = per_gmac * work * int(cell.job["options"]["batch_size"])
    else:
        variable = per_gmac * work
    return fixed + variable / speedup


def wall_time(cells: list[Cell], threads: int, workers: int, timed_threads: int | None = None) -> float:
    """Estimated wall time of running ``cells``: timed cells one after another (each runs alone on the
    machine, on ``timed_threads``), the others spread over the workers."""
    timed = sum(seconds(c, timed_threads or threads) for c in cells if c.timed)
    return timed + makespan([seconds(c, threads) for c in cells if not c.timed], workers)


def makespan(costs: list[float], workers: int) -> float:
    """Wall time of running ``costs`` longest-first on ``workers`` workers (greedy list scheduling)."""
    loads = [0.0] * max(1, workers)
    for cost in sorted(costs, reverse=True):
        loads[loads.index(min(loads))] += cost
    return max(loads)


def ordered(cells: tuple[Cell, ...] | list[Cell], threads: int) -> list[Cell]:
    """Dispatch order: timed cells first (each runs alone on its machine, so they are not left to queue behind
    a stream of others), then longest first, so the last minutes are not one long cell while the others idle."""
    return sorted(cells, key=lambda c: (not c.timed, -seconds(c, threads)))


def dry_run(the_plan: Plan, opts: Options, out: TextIO) -> int:
    """One line per group (cells, to run, done, failed, estimated time), how many rows of cells.csv the spec
    no longer has (a run marks them stale), and with ``--verbose`` every cell in a table sized to its contents;
    runs and writes nothing."""
    grid, threads, timed, workers = the_plan.grid, the_plan.threads, the_plan.timed_threads, opts.slurm or opts.workers
    results = ResultsFile(the_plan.results_dir)
    rows = results.by_id()
    table: list[tuple[str, ...]] = []
    per_group: dict[str, dict[str, list[Cell] | int]] = {}
    for cell in ordered(grid.cells, threads):
        status = rows.get(cell.cell_id, {}).get("status") or "to run"
        if status == "failed" and opts.retry_failed:
            status = "retry"
        cost = seconds(cell, timed if cell.timed else threads)
        group = per_group.setdefault(cell.group, {"cells": 0, "ok": 0, "failed": 0, "to_run": []})
        group["cells"] += 1
        group["ok"] += status == "ok"
        group["failed"] += status == "failed"
        if status in ("to run", "retry"):
            group["to_run"].append(cell)
        names = "; ".join((f"{cell.model}:{cell.variant}", *cell.aliases))
        table.append((status, cell.group, names, str(cell.resolution), "" if cell.seed is None else str(cell.seed),
                      f"{cost:.1f}s"))
    print(f"{'group':12}{'cells':>6}{'to run':>8}{'done':>6}{'failed':>8}{'estimated':>12}", file=out)
    left: list[Cell] = []
    for name, group in per_group.items():
        left += group["to_run"]
        print(f"{name:12}{group['cells']:>6}{len(group['to_run']):>8}{group['ok']:>6}{group['failed']:>8}"
              f"{duration(wall_time(group['to_run'], threads, workers, timed)):>12}", file=out)
    to_run = len(left)
    done = sum(g["ok"] for g in per_group.values())
    failed = sum(g["failed"] for g in per_group.values())
    ids = {cell.cell_id for cell in grid.cells}
    stale = sum(cid not in ids for cid in rows)
    print(f"\n{len(grid.cells)} cells: {to_run} to run, {done} done, {failed} failed"
          f"{' (--retry-failed reruns them)' if failed and not opts.retry_failed else ''}; estimated "
          f"{duration(wall_time(left, threads, workers, timed))} on {workers} worker(s) x {threads} thread(s), "
          f"timed cells one at a time on {timed} thread(s) (a rough guide, fitted on a 2-core CPU)",
          file=out)
    if stale:
        print(f"{stale} row(s) of {results.path} are not cells of this spec; a run keeps them, "
              f"marked stale_spec=true", file=out)
    if opts.verbose:
        header = ("status", "group", "model:variant (= aliases)", "px", "seed", "est")
        widths = [max(len(row[i]) for row in (header, *table)) for i in range(len(header))]
        right = (False, False, False, True, True, True)
        for row in (header, *table):
            print("  ".join(v.rjust(w) if r else v.ljust(w) for v, w, r in zip(row, widths, right)).rstrip(),
                  file=out)
    else:
        print("(--verbose lists every cell)", file=out)
    print(f"results: {the_plan.results_dir}/  storage: {the_plan.storage.description}  "
          f"(--dry-run: nothing was run or written)", file=out)
    return 0
