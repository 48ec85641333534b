"""Can a speed ratio be repeated? The same comparison timed twice, paired (interleaved rounds) and, as the baseline
in the same run, as separately timed medians, with training processes running beside it the whole time.

Prints, per arm and step kind, each run's ratio to the reference (paired: with its 95% CI), then:

- the worst difference between the two runs' ratios, paired and separately timed (goals: paired within 3 %
  for inference and 5 % for training);
- how many of each run's paired CIs hold the other run's ratio (goal: all);
- each run's A/A ratio and CI, the noise floor (goal: CI within +-3 %).

    python benchmarks/paired_speed.py                               # pvt_v2_b0: SRA/LSRA x non-overlap/overlap
    python benchmarks/paired_speed.py --preset pvt_v2_b2 --size 224 --repeats 15 --budget 2
    python benchmarks/paired_speed.py --background 0                # nothing running beside it

The background is ``--background`` processes each training pvt_nano in a loop on one thread (an accuracy cell
of a grid), started before the first run and stopped after the last, so the machine's speed moves under both.
"""

from __future__ import annotations

import argparse
import itertools
import math
import multiprocessing as mp
import time
from typing import Any

import torch

from pvtlab.measure import measure
from pvtlab.measure.block import measure_block
from pvtlab.models import get_config

KINDS = ("infer", "train")
GOAL_PCT = {"infer": 3.0, "train": 5.0}


def background_training(stop: Any) -> None:
    """Train pvt_nano on random batches until ``stop`` is set (a grid's accuracy cell, roughly)."""
    from pvtlab.measure.steps import Workload, make_step, prepare
    from pvtlab.models import build_model

    torch.set_num_threads(1)
    config = get_config("pvt_nano", img_size=48, num_classes=10)
    work = Workload(build=lambda: build_model(config), height=48, width=48, batch_size=64, num_classes=10)
    step = make_step("train", prepare(work), work)
    while not stop.is_set():
        step()


def arms(preset: str) -> dict[str, Any]:
    """The preset's 2x2 of patch embedding x attention; the first is the reference."""
    out = {}
    for patch, attention in itertools.product(("non_overlap", "overlap"), ("sra", "linear_sra")):
        out[f"{patch}/{attention}"] = get_config(preset, patch_embed=patch, attention=attention)
    return out


def paired_run(configs: dict[str, Any], args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    ref = next(iter(configs))
    rows = measure_block(configs, args.size, ref=ref, threads=args.threads, batch_size=args.batch,
                         time_budget_s=args.budget, warmup=args.warmup, repeats=args.repeats)
    failed = [row["error"] for row in rows.values() if row["status"] != "ok"]
    if failed:
        raise SystemExit(f"paired run failed: {failed[0]}")
    return rows


def separate_run(configs: dict[str, Any], args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """Ratios from medians of cells timed one after another (what the grid did before pairing)."""
    medians = {}
    for name, config in configs.items():
        row = measure("throughput", config, args.size, threads=args.threads, batch_size=args.batch,
                      time_budget_s=args.budget, warmup=args.warmup, repeats=args.repeats)
        medians[name] = {kind: row[f"{kind}_img_per_s_median"] for kind in KINDS}
    ref = next(iter(configs))
    return {name: {kind: m[kind] / medians[ref][kind] for kind in KINDS} for name, m in medians.items()}


def pct(a: float, b: float) -> float:
    return 100.0 * abs(a / b - 1.0)


def report(paired: list[dict[str, dict[str, Any]]], separate: list[dict[str, dict[str, float]]]) -> None:
    first, second = paired
    print(f"\n{'arm':28s} {'kind':5s} {'run 1 (95% CI)':>24s} {'run 2 (95% CI)':>24s} {'diff':>7s} "
          f"{'separate 1':>10s} {'separate 2':>10s} {'diff':>7s}")
    worst = {kind: 0.0 for kind in KINDS}
    worst_sep = {kind: 0.0 for kind in KINDS}
    held = total = 0
    for name in first:
        for kind in KINDS:
            a, b = first[name], second[name]
            ra, rb = a[f"{kind}_vs_ref"], b[f"{kind}_vs_ref"]
            ci = lambda r: f"{r[f'{kind}_vs_ref']:.3f} ({r[f'{kind}_vs_ref_ci95_lo']:.3f}-{r[f'{kind}_vs_ref_ci95_hi']:.3f})"  # noqa: E731
            sa, sb = (s[name][kind] for s in separate) if separate else (math.nan, math.nan)
            d, ds = pct(ra, rb), pct(sa, sb)
            worst[kind] = max(worst[kind], d)
            worst_sep[kind] = max(worst_sep[kind], ds) if separate else math.nan
            if name != a["ref_variant"]:
                total += 2
                held += a[f"{kind}_vs_ref_ci95_lo"] <= rb <= a[f"{kind}_vs_ref_ci95_hi"]
                held += b[f"{kind}_vs_ref_ci95_lo"] <= ra <= b[f"{kind}_vs_ref_ci95_hi"]
            print(f"{name:28s} {kind:5s} {ci(a):>24s} {ci(b):>24s} {d:6.1f}% {sa:10.3f} {sb:10.3f} {ds:6.1f}%")
    print()
    for kind in KINDS:
        print(f"worst {kind} ratio difference between runs: paired {worst[kind]:.1f}% (goal {GOAL_PCT[kind]:.0f}%), "
              f"separately timed medians {worst_sep[kind]:.1f}%")
    print(f"paired CIs holding the other run's ratio: {held} of {total}")
    for i, rows in enumerate(paired, 1):
        row = next(iter(rows.values()))
        for kind in KINDS:
            lo, hi = row[f"aa_{kind}_ci95_lo"], row[f"aa_{kind}_ci95_hi"]
            print(f"run {i} A/A {kind}: {row[f'aa_{kind}_ratio']:.3f} (95% CI {lo:.3f}-{hi:.3f}; "
                  f"{100 * (lo - 1):+.1f}% .. {100 * (hi - 1):+.1f}%, goal within +-3%), {row['rounds']} rounds")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="pvt_v2_b0")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--threads", type=int, default=max(1, torch.get_num_threads()))
    parser.add_argument("--repeats", type=int, default=20, help="most rounds (paired) or repeats (separate)")
    parser.add_argument("--budget", type=float, default=2.0, help="seconds per arm and step kind")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--background", type=int, default=1, help="training processes running beside it")
    parser.add_argument("--no-separate", action="store_true", help="skip the separately timed baseline")
    args = parser.parse_args()
    configs = arms(args.preset)
    stop = mp.get_context("spawn").Event()
    helpers = [mp.get_context("spawn").Process(target=background_training, args=(stop,), daemon=True)
               for _ in range(args.background)]
    for proc in helpers:
        proc.start()
    started = time.perf_counter()
    try:
        paired, separate = [], []
        for run in (1, 2):
            paired.append(paired_run(configs, args))
            if not args.no_separate:
                separate.append(separate_run(configs, args))
            print(f"run {run} done at {time.perf_counter() - started:.0f} s", flush=True)
    finally:
        stop.set()
        for proc in helpers:
            proc.join(timeout=30)
    print(f"{args.preset} @{args.size} px, batch {args.batch}, {args.threads} thread(s), "
          f"{args.background} training process(es) beside it")
    report(paired, separate)


if __name__ == "__main__":
    main()
