"""Grid runner scaling: cells per minute with 1 vs 2 workers (1 thread each), and the runner's own overhead.

Runs the same complexity-only grid (params + FLOP counts of the 8 PVTv1 -> PVTv2 combinations on one model) twice
through ``run_ablation.py``, in fresh results folders, once with ``--workers 1`` and once with ``--workers 2``.

- cells/min: cells divided by the span from the first cell's start to the last cell's end (from cells.csv), so
  the fixed cost of starting Python and importing torch is left out; the end-to-end wall time is shown too.
  steady/min counts only the window in which every worker was running cells (a second worker that is still
  importing torch while the first one works is start-up, not scaling).
- overhead per cell: each worker's busy span minus the time its cells spent measuring (``wall_s``), per cell:
  claiming through the storage, the heartbeat, storing the row and rewriting cells.csv. Goal: < 5% of the mean cell time.
- Goal for scaling: 2 workers >= 1.8x the cells/min of one on a machine with >= 2 free cores (the load
  average printed before and after says how free they were). CPU s is the CPU time of the whole run (every
  process): about equal for 1 and 2 workers means the runner adds no work, and a speed-up short of 2x comes
  from cores the machine did not have free.

    python benchmarks/grid_scaling.py [--storage journal|sqlite] [--model pvt_v1_small] [--resolutions 224 320 448]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import yaml

from pvtlab.grid.results import ResultsFile

ROOT = Path(__file__).resolve().parents[1]


def spec(model: str, resolutions: list[int]) -> dict:
    return {"name": "scaling", "models": [model],
            "factorial": {"patch_embed": ["non_overlap", "overlap"], "position": ["pos_embed", "conv_ffn"],
                          "attention": ["sra", "linear_sra"]},
            "measure": ["params", "flops"], "resolutions": {"params": [224], "flops": resolutions}}


def _time(text: str) -> float:
    return dt.datetime.fromisoformat(text).timestamp()


def run(workers: int, folder: Path, spec_file: Path, storage: str) -> dict:
    args = [sys.executable, str(ROOT / "run_ablation.py"), "--grid", str(spec_file), "--workers", str(workers),
            "--threads", "1", "--results-dir", str(folder / "results"), "--no-report"]
    if storage == "sqlite":
        args += ["--storage", f"sqlite:///{folder / 'grid.db'}"]
    start, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(args, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    rows = ResultsFile(folder / "results" / "scaling").read()
    assert rows and all(r["status"] == "ok" for r in rows), "a cell failed; see the results folder"
    span = max(_time(r["finished_at"]) for r in rows) - min(_time(r["started_at"]) for r in rows)
    busy: dict[str, list[float]] = defaultdict(lambda: [float("inf"), 0.0, 0.0])
    for row in rows:
        entry = busy[row["worker"]]
        entry[0] = min(entry[0], _time(row["started_at"]))
        entry[1] = max(entry[1], _time(row["finished_at"]))
        entry[2] += float(row["wall_s"])
    overhead = sum(end - begin - measuring for begin, end, measuring in busy.values())
    measuring = sum(float(r["wall_s"]) for r in rows)
    # The window in which every worker was running cells: leaves out one worker starting up before another.
    lo, hi = max(b[0] for b in busy.values()), min(b[1] for b in busy.values())
    inside = [r for r in rows if _time(r["started_at"]) >= lo and _time(r["finished_at"]) <= hi]
    steady = 60 * len(inside) / (hi - lo) if hi > lo and inside else float("nan")
    return {"workers": workers, "cells": len(rows), "wall_s": wall, "span_s": span,
            "cells_per_min": 60 * len(rows) / span, "steady_per_min": steady, "cell_s": measuring / len(rows),
            "overhead_s": overhead / len(rows), "overhead_pct": 100 * overhead / measuring, "cpu_s": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--storage", choices=["journal", "sqlite"], default="journal")
    parser.add_argument("--model", default="pvt_v1_small", help="preset the factorial is built on")
    parser.add_argument("--resolutions", type=int, nargs="+", default=[224, 320, 448],
                        help="FLOP-count resolutions (more or larger = longer cells)")
    parser.add_argument("--rounds", type=int, default=1, help="repeat 1-then-2-worker runs, report each")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} CPUs, load average {load:.2f} before the runs; storage {args.storage}")
    print(f"{'workers':>7} {'cells':>5} {'wall s':>7} {'span s':>7} {'cells/min':>9} {'steady/min':>10} "
          f"{'cell s':>7} {'overhead s/cell':>15} {'overhead %':>10} {'CPU s':>6}")
    for _ in range(args.rounds):
        results = []
        for workers in (1, 2):
            with tempfile.TemporaryDirectory() as tmp:
                spec_file = Path(tmp) / "scaling.yaml"
                spec_file.write_text(yaml.safe_dump(spec(args.model, args.resolutions)))
                r = run(workers, Path(tmp), spec_file, args.storage)
            results.append(r)
            print(f"{r['workers']:>7} {r['cells']:>5} {r['wall_s']:>7.1f} {r['span_s']:>7.1f} "
                  f"{r['cells_per_min']:>9.1f} {r['steady_per_min']:>10.1f} "
                  f"{r['cell_s']:>7.2f} {r['overhead_s']:>15.3f} {r['overhead_pct']:>9.1f}% {r['cpu_s']:>6.1f}")
        speedup = results[1]["cells_per_min"] / results[0]["cells_per_min"]
        steady = results[1]["steady_per_min"] / results[0]["steady_per_min"]
        print(f"speed-up 2 vs 1 worker: {speedup:.2f}x over the whole span, {steady:.2f}x while both ran "
              f"(goal >= 1.8x); load average now {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
