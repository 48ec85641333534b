"""Does every shipped spec's PVTv1 row leave chance at the spec's own settings? (issue 17, item 5)

For each spec (default: every ablations/*.yaml) and each of its accuracy tasks, trains the PVTv1 rows exactly as
the grid would (the same cells: ``pvtlab.grid.expand``, run by the grid worker's ``measure_cell``): the path's
first row, or without a path every variant with PVTv1's non-overlapping patches and position tables. Prints
top-1 against chance and exits 1 when one stays below chance + ``--margin`` pp. Tasks whose data needs a local
root that is missing (CIFAR-10, ImageNet) are listed as skipped.

    python benchmarks/specs_learn.py                                  # every shipped spec, first seed: minutes
    python benchmarks/specs_learn.py --spec ablations/paper_table6.yaml --all-seeds

The cheap proxy that runs with the tests is tests/test_shipped_specs_learn.py (no training). Timings are not
the point; on a shared machine this takes longer, never gives other numbers (seeded, CPU).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from pvtlab.grid.cells import Cell, expand
from pvtlab.grid.spec import AccuracySpec, Spec, read_spec
from pvtlab.grid.worker import measure_cell

ROOT = Path(__file__).resolve().parents[1]


def pvtv1_cells(spec: Spec, all_seeds: bool) -> list[Cell]:
    """The accuracy cells of the spec's PVTv1 rows, first seed only unless ``all_seeds``."""
    if not spec.accuracy:
        return []
    cells = [c for c in expand(spec, "cpu").cells if c.group == "accuracy"]
    if spec.path:
        chosen = [c for c in cells if c.path_step == 0]
    else:
        chosen = [c for c in cells if c.config["patch_embed"] == "non_overlap" and c.config["pos_embed"]]
    first = {task.task: task.seeds[0] for task in spec.accuracy}
    return [c for c in chosen if all_seeds or c.seed == first[c.task]]


def data_missing(task: AccuracySpec) -> bool:
    root = task.data.get("root")
    return root is not None and not Path(root).expanduser().is_dir()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--spec", type=Path, action="append", help="spec file (repeatable; default: ablations/*.yaml)")
    p.add_argument("--all-seeds", action="store_true", help="every seed of each task, not only its first")
    p.add_argument("--margin", type=float, default=20.0, help="pp above chance a PVTv1 row must reach")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    failures, rows = 0, {}  # rows by cell id: specs that share a cell (paper_table6 and default) train it once
    print(f"{'spec':<22} {'task':<12} {'variant':<28} {'seed':>4} {'top-1 %':>8} {'chance %':>8}  verdict")
    for path in args.spec or sorted((ROOT / "ablations").glob("*.yaml")):
        spec = read_spec(path)
        for task in (task for task in spec.accuracy if data_missing(task)):  # its cells cannot even be built
            print(f"{spec.name:<22} {task.task:<12} {'':<28} {'':>4} {'':>8} {'':>8}  skipped: no data at "
                  f"{task.data['root']}")
        present = dataclasses.replace(spec, accuracy=tuple(t for t in spec.accuracy if not data_missing(t)))
        for cell in pvtv1_cells(present, args.all_seeds):
            head = f"{spec.name:<22} {cell.task:<12} {cell.variant:<28} {cell.seed:>4}"
            if cell.cell_id not in rows:
                rows[cell.cell_id] = measure_cell(cell, threads=args.threads)
            row = rows[cell.cell_id]
            chance = 100.0 / row["num_classes"]
            ok = row["top1_acc"] >= chance + args.margin
            failures += not ok
            print(f"{head} {row['top1_acc']:>8.1f} {chance:>8.1f}  {'learns' if ok else 'AT CHANCE'}", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
