"""Grid runner scaling: cells per minute with 1 vs 2 workers (1 thread each), and the runner's own overhead.

Runs the same complexity-only grid (params + FLOP counts of the 8 PVTv1 -> PVTv2 combinations on one model) twice
through ``run_ablation.py``, in fresh results folders, once with ``--workers 1`` and once with ``--workers 2``.

- cells/min: cells divided by the span from the first cell's start to the last cell's end (from cells.csv), so
  the fixed cost of starting Python and importing torch is left out; the end-to-end wall time is shown too.
- overhead per cell: each worker's busy span minus the time its cells spent measuring (``wall_s``), per cell:
  claiming through the storage, the lease heartbeat, writing the row. Goal: < 5% of the mean cell time.
- Goal for scaling: 2 workers >= 1.8x the cells/min of one on a machine with >= 2 free cores.

    python benchmarks/grid_scaling.py [--storage journal|sqlite] [--model pvt_v1_small] [--resolutions 224 320 448]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
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
    start = time.perf_counter()
    subprocess.run(args, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
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
    return {"workers": workers, "cells": len(rows), "wall_s": wall, "span_s": span,
            "cells_per_min": 60 * len(rows) / span, "cell_s": measuring / len(rows),
            "overhead_s": overhead / len(rows), "overhead_pct": 100 * overhead / measuring}


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
    print(f"{'workers':>7} {'cells':>5} {'wall s':>7} {'span s':>7} {'cells/min':>9} {'cell s':>7} "
          f"{'overhead s/cell':>15} {'overhead %':>10}")
    for _ in range(args.rounds):
        results = []
        for workers in (1, 2):
            with tempfile.TemporaryDirectory() as tmp:
                spec_file = Path(tmp) / "scaling.yaml"
                spec_file.write_text(yaml.safe_dump(spec(args.model, args.resolutions)))
                r = run(workers, Path(tmp), spec_file, args.storage)
            results.append(r)
            print(f"{r['workers']:>7} {r['cells']:>5} {r['wall_s']:>7.1f} {r['span_s']:>7.1f} "
                  f"{r['cells_per_min']:>9.1f} "
                  f"{r['cell_s']:>7.2f} {r['overhead_s']:>15.3f} {r['overhead_pct']:>9.1f}%")
        speedup = results[1]["cells_per_min"] / results[0]["cells_per_min"]
        print(f"speed-up 2 vs 1 worker: {speedup:.2f}x (goal >= 1.8x); load average now {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
