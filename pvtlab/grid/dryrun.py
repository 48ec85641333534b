"""``--dry-run``: what a run would do, per group, and what it would cost; runs and writes nothing.

It leads with one line per group (cells, to run, done, failed, estimated time), says how many rows of
cells.csv the spec no longer has (they would be marked stale), and lists the cells one per line only with
``--verbose``, in a table whose columns are sized to their contents.
"""

from __future__ import annotations

from typing import TextIO

from .estimate import makespan, ordered, seconds
from .plan import Options, Plan
from .progress import duration
from .results import ResultsFile


def dry_run(the_plan: Plan, opts: Options, out: TextIO) -> int:
    grid, threads, workers = the_plan.grid, the_plan.threads, opts.workers
    results = ResultsFile(the_plan.results_dir)
    rows = results.by_id()
    table: list[tuple[str, ...]] = []
    per_group: dict[str, dict[str, list[float] | int]] = {}
    for cell in ordered(grid.cells, threads):
        status = rows.get(cell.cell_id, {}).get("status") or "to run"
        if status == "failed" and opts.retry_failed:
            status = "retry"
        cost = seconds(cell, threads)
        group = per_group.setdefault(cell.group, {"cells": 0, "ok": 0, "failed": 0, "costs": []})
        group["cells"] += 1
        group["ok"] += status == "ok"
        group["failed"] += status == "failed"
        if status in ("to run", "retry"):
            group["costs"].append(cost)
        names = "; ".join((f"{cell.model}:{cell.variant}", *cell.aliases))
        table.append((status, cell.group, names, str(cell.resolution), "" if cell.seed is None else str(cell.seed),
                      f"{cost:.1f}s"))
    print(f"{'group':12}{'cells':>6}{'to run':>8}{'done':>6}{'failed':>8}{'estimated':>12}", file=out)
    costs: list[float] = []
    for name, group in per_group.items():
        costs += group["costs"]
        print(f"{name:12}{group['cells']:>6}{len(group['costs']):>8}{group['ok']:>6}{group['failed']:>8}"
              f"{duration(makespan(group['costs'], workers)):>12}", file=out)
    to_run = len(costs)
    done = sum(g["ok"] for g in per_group.values())
    failed = sum(g["failed"] for g in per_group.values())
    ids = {cell.cell_id for cell in grid.cells}
    stale = sum(cid not in ids for cid in rows)
    print(f"\n{len(grid.cells)} cells: {to_run} to run, {done} done, {failed} failed"
          f"{' (--retry-failed reruns them)' if failed and not opts.retry_failed else ''}; estimated "
          f"{duration(makespan(costs, workers))} on {workers} worker(s) x {threads} thread(s) (a rough guide)",
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
