"""Where an accuracy cell's time goes, pvt_nano's training images/s per variant, and the accuracy sweep of a spec.

Reads the accuracy block of a grid spec (default: ablations/default.yaml) and its variants (the factorial
combinations and the path rows, duplicates once), then prints:

1. **Input pipeline**: images/s of the training batches alone, per-item DataLoader collation (the old path)
   against slicing whole batches from the in-memory uint8 tensor (``get_batch``, what the loop uses now).
2. **Training images/s per variant** (forward, backward, AdamW on random batches at the spec's image size,
   batch 64, median of ``--speed-steps`` steps, one thread) and images per CPU-second, which other processes
   on a shared machine disturb much less than wall time.
3. **Estimated wall time of the spec's accuracy sweep** on ``--workers`` workers: for each cell, training
   images / that variant's images per CPU-second (+ the evaluation), summed and divided by the workers.
4. With ``--sweep``: runs every accuracy cell of the spec (``pvtlab.train.run_accuracy`` through ``fit``),
   then prints top-1 mean +- 95% CI per variant, per-factor and per-level accuracy on the synthetic task,
   and the wall and CPU time.

    python benchmarks/train_speed.py                             # 1-3, about a minute
    python benchmarks/train_speed.py --sweep --out /tmp/acc.json # + the sweep itself (minutes per variant)

Accuracy at this scale is a proxy for ranking variants, not an ImageNet number. Timings on a shared machine
are upper bounds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from pvtlab.data import build_datasets
from pvtlab.data.synthetic import LEVELS, factor_accuracy
from pvtlab.grid.cells import expand
from pvtlab.grid.spec import read_spec
from pvtlab.models import build_model
from pvtlab.stats import summarize
from pvtlab.train.accuracy import fit
from pvtlab.train.evaluate import EVAL_BATCH

ROOT = Path(__file__).resolve().parents[1]


def accuracy_variants(spec_path: Path) -> tuple[Any, dict[str, Any]]:
    """(spec, {variant label: [accuracy cells of the spec's first task]}) with aliases folded into one label."""
    spec = read_spec(spec_path)
    variants: dict[str, list] = {}
    for cell in expand(spec, "cpu").cells:
        if cell.group == "accuracy" and cell.task == spec.accuracy[0].task:
            label = " = ".join([cell.variant, *cell.aliases])
            variants.setdefault(label, []).append(cell)
    return spec, variants


def loader_speed(train_set: Any, batch: int) -> tuple[float, float]:
    """Images/s of one epoch of batches: DataLoader per-item collation vs ``get_batch`` slicing."""
    start = time.process_time()
    for _ in DataLoader(train_set, batch_size=batch, shuffle=True, drop_last=True):
        pass
    per_item = len(train_set) / (time.process_time() - start)
    start = time.process_time()
    order = torch.randperm(len(train_set))
    for i in range(0, len(train_set) - batch + 1, batch):
        train_set.get_batch(order[i:i + batch])
    return per_item, len(train_set) / (time.process_time() - start)


def step_speed(config: Any, image_size: int, batch: int, steps: int) -> tuple[float, float]:
    """Median training images/s (wall) and images per CPU-second over ``steps`` steps after 2 warm-up steps."""
    torch.manual_seed(0)
    model = build_model(config).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    images = torch.randn(batch, 3, image_size, image_size)
    targets = torch.randint(0, config.num_classes, (batch,))
    rates, cpu_rates = [], []
    for i in range(2 + steps):
        start, cpu = time.perf_counter(), time.process_time()
        loss = F.cross_entropy(model(images), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if i >= 2:
            rates.append(batch / (time.perf_counter() - start))
            cpu_rates.append(batch / max(1e-9, time.process_time() - cpu))
    return statistics.median(rates), statistics.median(cpu_rates)


def eval_speed(config: Any, image_size: int) -> float:
    """Forward-only images per CPU-second at the evaluation batch size."""
    model = build_model(config).eval()
    images = torch.randn(EVAL_BATCH, 3, image_size, image_size)
    with torch.no_grad():
        model(images)
        start = time.process_time()
        model(images)
    return EVAL_BATCH / max(1e-9, time.process_time() - start)


@torch.no_grad()
def factor_scores(result: Any) -> dict[str, float]:
    """Per-factor and per-level top-1 on the synthetic task's validation images."""
    model, val_set = result.model.eval(), result.val_set
    predictions = torch.cat([model(x).argmax(1) for x, _ in DataLoader(val_set, batch_size=EVAL_BATCH)])
    scores = factor_accuracy(predictions, val_set.factors)
    correct = predictions == val_set.labels
    for level in range(LEVELS):
        scores[f"level{level}"] = 100.0 * float(correct[val_set.factors["level"] == level].float().mean())
    return scores


def fmt(summary: dict) -> str:
    half = summary["ci95_half"]
    return f"{summary['mean']:.1f} +- {half:.1f}" if half == half else f"{summary['mean']:.1f} (n=1)"


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--spec", type=Path, default=ROOT / "ablations" / "default.yaml")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--workers", type=int, default=2, help="workers the sweep estimate divides by")
    p.add_argument("--speed-steps", type=int, default=8)
    p.add_argument("--sweep", action="store_true", help="also run every accuracy cell of the spec")
    p.add_argument("--out", type=Path, help="write every number as JSON here")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    spec, variants = accuracy_variants(args.spec)
    acc = spec.accuracy[0]  # the first task's data and settings
    settings = next(iter(variants.values()))[0].built_job().recipe  # the cells' resolved recipe, as they run it
    train_set, _, num_classes = build_datasets(acc.data, acc.image_size, seed=0)
    report: dict[str, Any] = {"spec": str(args.spec), "image_size": acc.image_size, "threads": args.threads}
    print(f"# {args.spec.name}: {acc.model} at {acc.image_size} px, data {acc.data}, {args.threads} thread(s), "
          f"torch {torch.__version__} (shared machine: timings are upper bounds)")

    per_item, sliced = loader_speed(train_set, settings.batch_size)
    report["loader"] = {"per_item_img_per_cpu_s": per_item, "get_batch_img_per_cpu_s": sliced}
    print(f"\n## input pipeline (one epoch of batches of {settings.batch_size}, images per CPU-s)\n")
    print(f"per-item DataLoader: {per_item:.0f}   get_batch slicing: {sliced:.0f}   ({sliced / per_item:.0f}x)")

    steps = settings.steps or settings.epochs * (len(train_set) // settings.batch_size)
    images = steps * settings.batch_size
    print(f"\n## training images/s per variant (batch {settings.batch_size}, median of {args.speed_steps} steps)\n")
    print("| variant | params (M) | img/s | img per CPU-s | est. s per cell |\n|---|---|---|---|---|")
    estimate, speed = 0.0, {}
    for label, cells in variants.items():
        config = cells[0].pvt_config().replace(num_classes=num_classes)
        rate, per_cpu = step_speed(config, acc.image_size, settings.batch_size, args.speed_steps)
        evaluated = 1024 + 9 * 256  # full val at the end, a 256-image subset at 9 curve points
        cell_s = images / per_cpu + evaluated / eval_speed(config, acc.image_size)
        estimate += cell_s * len(cells)
        params = sum(q.numel() for q in build_model(config).parameters()) / 1e6
        speed[label] = {"img_per_s": rate, "img_per_cpu_s": per_cpu, "cell_s": cell_s, "params_m": params}
        print(f"| {label} | {params:.3f} | {rate:.0f} | {per_cpu:.0f} | {cell_s:.1f} |", flush=True)
    n_cells = sum(len(c) for c in variants.values())
    report.update(speed=speed, sweep_estimate_s=estimate / args.workers)
    print(f"\n{n_cells} accuracy cells x {images} training images: estimated {estimate / args.workers / 60:.1f} min "
          f"on {args.workers} workers x {args.threads} thread(s) (CPU-seconds; an idle core each)")

    if args.sweep:
        rows: dict[str, list[dict]] = {}
        wall, cpu = time.perf_counter(), time.process_time()
        for label, cells in variants.items():
            for cell in cells:
                start = time.perf_counter()
                result = fit(cell.built_job(), threads=args.threads)
                row = {**{k: v for k, v in result.row.items() if k != "loss_curve"}, "seed": cell.seed,
                       "wall_s": time.perf_counter() - start}
                if acc.data.get("name") == "synthetic":
                    row.update(factor_scores(result))
                rows.setdefault(label, []).append(row)
                print(f"  {label} seed {cell.seed}: top-1 {row['top1_acc']:.1f} ({row['wall_s']:.0f} s)", flush=True)
        keys = [k for k in ("quadrant", "zigzag", "left", *(f"level{i}" for i in range(LEVELS))) if k in row]
        print(f"\n| variant | top-1 % (mean +- 95% CI) | {' | '.join(keys)} |\n|---|---|{'---|' * len(keys)}")
        for label, rs in rows.items():
            means = " | ".join(f"{statistics.mean(r[k] for r in rs):.0f}" for k in keys)
            print(f"| {label} | {fmt(summarize([r['top1_acc'] for r in rs]))} | {means} |")
        print(f"\nsweep: {time.perf_counter() - wall:.0f} s wall, {time.process_time() - cpu:.0f} s CPU, one process")
        report["rows"] = rows
    if args.out:
        args.out.write_text(json.dumps(report, indent=1, default=float))
    return report


if __name__ == "__main__":
    main()
