"""Training speed of the small ablation model, and the default accuracy sweep on the synthetic task (issue 4).

Part 1 times training steps (forward, backward, AdamW) on random 64 px batches for each of the 8 toggle
combinations: patch_embed (non_overlap | overlap) x position (pos_embed: v1 table + MLP | conv_ffn: no
table, CFFN) x attention (sra | linear_sra), on the rest of pvt_nano's PVTv2 style.
Part 2 runs the default sweep: those 8 variants x 2 seeds through ``pvtlab.train.run_accuracy``, plus a
no-position control (non_overlap, no table, MLP) that the synthetic task is built to defeat. It prints
top-1 mean +- 95% CI per variant, per-factor accuracies and the wall time of the 8 x 2 sweep (the issue's
goal: under 5 minutes on 2 cores). Runs are sequential with one torch thread each (the grid can run one
cell per core), so the sweep's wall time on one core is an upper bound for two. Wall time depends on what
else the machine runs; CPU seconds (process time) are printed next to it.

    python benchmarks/train_speed.py                  # both parts (~6 minutes on one core)
    python benchmarks/train_speed.py --skip-sweep     # images/s only (~1 minute)
    python benchmarks/train_speed.py --only overlap+conv_ffn+sra --out /tmp/nano.json

Accuracy at this scale is a proxy for ranking variants, not an ImageNet number.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

import pvtlab
from pvtlab.data.synthetic import factor_accuracy
from pvtlab.models import build_model
from pvtlab.stats import paired_difference, summarize
from pvtlab.train.accuracy import DEFAULT_EPOCHS, fit

POSITIONS = {"pos_embed": {"pos_embed": True, "ffn": "mlp"}, "conv_ffn": {"pos_embed": False, "ffn": "conv_ffn"}}
REFERENCE = "overlap+conv_ffn+sra"  # PVTv2 as published (B2 style)
CONTROL = ("no_position", {"patch_embed": "non_overlap", "pos_embed": False, "ffn": "mlp", "attention": "sra"})


def toggle_variants() -> list[tuple[str, dict[str, Any]]]:
    """The 8 (name, overrides) combinations, v1-like first."""
    out = []
    for patch, position, attention in itertools.product(("non_overlap", "overlap"), POSITIONS, ("sra", "linear_sra")):
        out.append((f"{patch}+{position}+{attention}",
                    {"patch_embed": patch, **POSITIONS[position], "attention": attention}))
    return out


def step_speed(config: pvtlab.PVTConfig, image_size: int, batch: int, steps: int) -> tuple[float, float, float]:
    """Median and IQR of training images/s over ``steps`` timed steps (after 3 warm-up steps), and the median
    of images per CPU-second (process time), which other processes on a shared machine disturb much less."""
    torch.manual_seed(0)
    model = build_model(config).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    images = torch.randn(batch, 3, image_size, image_size)
    targets = torch.randint(0, config.num_classes, (batch,))
    rates, cpu_rates = [], []
    for i in range(3 + steps):
        start, cpu = time.perf_counter(), time.process_time()
        loss = F.cross_entropy(model(images), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if i >= 3:
            rates.append(batch / (time.perf_counter() - start))
            cpu_rates.append(batch / (time.process_time() - cpu))
    q = statistics.quantiles(rates, n=4)
    return statistics.median(rates), q[2] - q[0], statistics.median(cpu_rates)


@torch.no_grad()
def predictions(model: torch.nn.Module, val_set: Any) -> torch.Tensor:
    model.eval()
    return torch.cat([model(x).argmax(1) for x, _ in DataLoader(val_set, batch_size=256)])


def run_cell(base: pvtlab.PVTConfig, overrides: dict[str, Any], seed: int, args: argparse.Namespace) -> dict:
    data = {"name": "synthetic", "num_train": args.num_train, "num_val": args.num_val}
    wall, cpu = time.perf_counter(), time.process_time()
    result = fit(base.replace(**overrides), data, image_size=args.image_size, epochs=args.epochs, steps=None,
                 seed=seed, batch_size=args.batch_size, lr=args.lr, warmup=0.1, label_smoothing=0.1,
                 clip_grad=1.0, drop_path=None, threads=args.threads, progress=False, device="cpu")
    factors = factor_accuracy(predictions(result.model, result.val_set), result.val_set.factors)
    row = {k: v for k, v in result.row.items() if k != "loss_curve"}
    return {**row, **{f"{k}_acc": v for k, v in factors.items()}, "seed": seed,
            "wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}


def fmt_ci(summary: dict) -> str:
    half = summary["ci95_half"]
    return f"{summary['mean']:.1f} +- {half:.1f}" if half == half else f"{summary['mean']:.1f} (n=1)"


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="pvt_nano")
    p.add_argument("--override", action="append", default=[], metavar="FIELD=JSON",
                   help="PVTConfig override on top of --model, e.g. --override 'depths=[1,1,1,1]' (repeatable)")
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--speed-steps", type=int, default=10)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--num-train", type=int, default=2048)
    p.add_argument("--num-val", type=int, default=1024)
    p.add_argument("--skip-speed", action="store_true")
    p.add_argument("--skip-sweep", action="store_true")
    p.add_argument("--skip-control", action="store_true", help="leave out the no-position control runs")
    p.add_argument("--only", nargs="+", metavar="VARIANT", help="sweep only these variants (names as printed)")
    p.add_argument("--out", type=Path, help="write every number as JSON here")
    args = p.parse_args(argv)
    overrides: dict[str, Any] = {}
    for item in args.override:
        key, _, value = item.partition("=")
        overrides[key] = json.loads(value)
    base = pvtlab.get_config(args.model, **overrides)
    torch.set_num_threads(args.threads)
    report: dict[str, Any] = {"model": args.model, "overrides": overrides, "threads": args.threads,
                              "torch": torch.__version__, "image_size": args.image_size}
    print(f"# {args.model} {overrides or ''} at {args.image_size} px, {args.threads} thread(s), "
          f"torch {torch.__version__}")

    if not args.skip_speed:
        print(f"\n## training images/s (batch {args.batch_size}, median of {args.speed_steps} steps, IQR)\n")
        print("| variant | params (M) | img/s | IQR | img per CPU-s |\n|---|---|---|---|---|")
        speed = {}
        for name, ov in toggle_variants() + [CONTROL]:
            cfg = base.replace(**ov, num_classes=16, img_size=args.image_size)
            median, iqr, per_cpu_s = step_speed(cfg, args.image_size, args.batch_size, args.speed_steps)
            params = sum(p.numel() for p in build_model(cfg).parameters()) / 1e6
            speed[name] = {"img_per_s": median, "iqr": iqr, "img_per_cpu_s": per_cpu_s, "params_m": params}
            print(f"| {name} | {params:.3f} | {median:.0f} | {iqr:.0f} | {per_cpu_s:.0f} |", flush=True)
        report["speed"] = speed

    if not args.skip_sweep:
        variants = toggle_variants() + ([] if args.skip_control else [CONTROL])
        if args.only:
            variants = [(name, ov) for name, ov in variants if name in args.only]
        rows: dict[str, list[dict]] = {}
        sweep_wall = sweep_cpu = 0.0
        print(f"\n## sweep: {len(variants)} variants x seeds {args.seeds}, {args.epochs} epochs of "
              f"{args.num_train} images, lr {args.lr}\n")
        for name, ov in variants:
            for seed in args.seeds:
                row = run_cell(base, ov, seed, args)
                rows.setdefault(name, []).append(row)
                if name != CONTROL[0]:
                    sweep_wall, sweep_cpu = sweep_wall + row["wall_s"], sweep_cpu + row["cpu_s"]
                print(f"  {name} seed {seed}: top1 {row['top1_acc']:.1f} (quadrant {row['quadrant_acc']:.0f}, "
                      f"zigzag {row['zigzag_acc']:.0f}, left {row['left_acc']:.0f}) {row['wall_s']:.1f} s wall, "
                      f"{row['cpu_s']:.1f} s cpu", flush=True)
        print("\n| variant | top-1 % (mean +- 95% CI) | top-5 % | quadrant % | zigzag % | left % | s/run |")
        print("|---|---|---|---|---|---|---|")
        summary = {}
        for name, rs in rows.items():
            s = {k: summarize([r[k] for r in rs]) for k in ("top1_acc", "top5_acc", "quadrant_acc", "zigzag_acc",
                                                            "left_acc", "wall_s")}
            summary[name] = s
            print(f"| {name} | {fmt_ci(s['top1_acc'])} | {s['top5_acc']['mean']:.1f} | "
                  f"{s['quadrant_acc']['mean']:.0f} | {s['zigzag_acc']['mean']:.0f} | {s['left_acc']['mean']:.0f} | "
                  f"{s['wall_s']['mean']:.1f} |")
        if REFERENCE in rows:
            print(f"\npaired top-1 differences against {REFERENCE} (same seeds):")
            ref = {r["seed"]: r["top1_acc"] for r in rows[REFERENCE]}
            for name, rs in rows.items():
                if name != REFERENCE:
                    d = paired_difference({r["seed"]: r["top1_acc"] for r in rs}, ref)
                    summary[name]["top1_vs_reference"] = d
                    print(f"  {name}: {fmt_ci(d)}")
        print(f"\n8 x {len(args.seeds)} sweep: {sweep_wall:.1f} s wall, {sweep_cpu:.1f} s cpu "
              f"({args.threads} thread(s))")
        report.update(rows=rows, summary=summary, sweep_wall_s=sweep_wall, sweep_cpu_s=sweep_cpu)
    if args.out:
        args.out.write_text(json.dumps(report, indent=1, default=float))
    return report


if __name__ == "__main__":
    main()
