"""Paired timing of a block of models at one input size: the throughput columns of every arm, plus its ratio to
the reference paired by round, and the block's A/A noise floor.

Each arm is built once and warmed up; then inference, the batch-1 latency (when the batch is larger than 1) and
the training step are each timed in randomized interleaved rounds (``time_rounds``). The reference is built twice
and timed as two arms: their ratio is what this machine's noise alone produces (the A/A arm), measured in the same
rounds as everything else. An out-of-memory error anywhere re-runs the whole block at half the batch.

Why interleaved rounds (every arm timed once per round, in a fresh random order each round): a shared machine's
speed drifts by 10-25 % over minutes (docs/measured.md), so medians timed in separate cells do not repeat. Timing
the arms of a comparison in alternating rounds (Google Benchmark's random interleaving; RMIT) puts every arm in the
same stretch of machine time, so the drift hits all arms alike and a per-round ratio cancels it; shuffling the
order each round keeps a fixed position (always first after a slow arm, say) from biasing one arm.
"""

from __future__ import annotations

import functools
import gc
import json
import random
import time
from collections.abc import Mapping
from typing import Any

from pvtlab.models import PVTConfig, build_model
from pvtlab.paired_ci import ratio_estimate

from .groups import speed_columns
from .sdpa import detect_sdpa_backend
from .steps import Prepared, Step, Workload, make_step, prepare, synchronize, with_batch_backoff
from .timing import TimingResult, matmul_peak_flops
from ..torch_settings import torch_threads

AA_ARM = "A/A"  # the reference's second copy; its name cannot be a variant's (those never contain '/A' alone)
KINDS = ("infer", "latency", "train")
MIN_ROUNDS = 6  # the fewest rounds that give a 95% CI of a median (pvtlab.paired_ci)


def measure_paired(configs: dict[str, PVTConfig], ref: str, height: int, width: int, device: str, threads: int,
                   batch_size: int, time_budget_s: float, warmup: int, repeats: int, amp_dtype: str | None,
                   channels_last: bool, compile: bool, seed: int = 0) -> dict[str, dict[str, Any]]:
    """Arm name -> its throughput columns (``ref`` must be one of ``configs``); raises on failure.

    ``repeats``: the most rounds per step kind; ``time_budget_s``: seconds per arm and step kind, so a block of
    n arms stops a kind's rounds after n x ``time_budget_s`` (but never before 6 rounds, the fewest with a CI).
    """
    if ref not in configs:
        raise ValueError(f"reference {ref!r} is not one of the block's arms {sorted(configs)}")
    arms = {**configs, AA_ARM: configs[ref]}
    base = {name: Workload(build=functools.partial(build_model, config), height=height, width=width,
                           batch_size=batch_size, in_chans=config.in_chans, num_classes=config.num_classes,
                           device=device, amp_dtype=amp_dtype, channels_last=channels_last, compile=compile)
            for name, config in arms.items()}
    dtype = amp_dtype if (device.startswith("cuda") and amp_dtype) else "float32"
    budget = time_budget_s * len(arms)

    def run(batch: int) -> tuple[dict[str, dict[str, TimingResult]], dict[str, str], float]:
        works = {name: work.with_batch(batch) for name, work in base.items()}
        prepared: dict[str, Prepared] = {name: prepare(work) for name, work in works.items()}
        try:
            timing = dict(rounds=repeats, time_budget_s=budget, device=device, seed=seed)
            infer = {name: make_step("infer", prepared[name], works[name]) for name in arms}
            backends = {name: detect_sdpa_backend(step) for name, step in infer.items()}  # one warm-up step each
            results = {"infer": time_rounds(infer, warmup=max(0, warmup - 1), **timing)}
            if batch == 1:
                results["latency"] = results["infer"]
            else:
                single = {name: Prepared(p.model, p.images[:1], p.labels[:1]) for name, p in prepared.items()}
                steps = {name: make_step("infer", single[name], works[name].with_batch(1)) for name in arms}
                results["latency"] = time_rounds(steps, warmup=warmup, **timing)
            train = {name: make_step("train", prepared[name], works[name]) for name in arms}
            results["train"] = time_rounds(train, warmup=warmup, **timing)
        finally:
            del prepared
            gc.collect()
        sizes = {"infer": batch, "latency": 1, "train": batch}
        timed = {name: {kind: TimingResult(tuple(results[kind][name]), sizes[kind],
                                           backends[name] if kind == "latency" else None) for kind in KINDS}
                 for name in arms}
        return timed, backends, matmul_peak_flops(device, dtype)

    with torch_threads(threads):
        (timed, _, peak), batch = with_batch_backoff(run, batch_size)
    return block_columns(timed, configs, ref, base, peak, batch)


def block_columns(timed: dict[str, dict[str, TimingResult]], configs: dict[str, PVTConfig], ref: str,
                  works: dict[str, Workload], peak: float, batch: int) -> dict[str, dict[str, Any]]:
    """Every arm's absolute columns, per-round lists, ratios to ``ref`` and the block's A/A columns."""
    aa = {}
    for kind in ("infer", "train"):
        est = ratio_estimate(timed[AA_ARM][kind].img_per_s, timed[ref][kind].img_per_s)
        aa.update({f"aa_{kind}_ratio": est.ratio, f"aa_{kind}_ci95_lo": est.ratio_lo,
                   f"aa_{kind}_ci95_hi": est.ratio_hi})
    out = {}
    for name, config in configs.items():
        t = timed[name]
        row = speed_columns(t["infer"], t["train"], t["latency"], peak, config, works[name].with_batch(batch), batch)
        row.update(rounds=len(t["infer"].step_s), ref_variant=ref, **aa,
                   infer_rounds_img_per_s=json.dumps([round(x, 6) for x in t["infer"].img_per_s]),
                   train_rounds_img_per_s=json.dumps([round(x, 6) for x in t["train"].img_per_s]),
                   latency_rounds_ms=json.dumps([round(1000.0 * s, 4) for s in t["latency"].step_s]))
        for kind in ("infer", "train"):
            est = ratio_estimate(t[kind].img_per_s, timed[ref][kind].img_per_s)
            row.update({f"{kind}_vs_ref": est.ratio, f"{kind}_vs_ref_ci95_lo": est.ratio_lo,
                        f"{kind}_vs_ref_ci95_hi": est.ratio_hi})
        out[name] = row
    return out


def time_rounds(steps: Mapping[str, Step], *, device: str, warmup: int, rounds: int, time_budget_s: float,
                seed: int = 0) -> dict[str, list[float]]:
    """Wall seconds of each arm's step, one per round and in round order.

    ``warmup`` untimed steps per arm first, then up to ``rounds`` rounds (at least ``min(rounds, MIN_ROUNDS)``),
    stopping early once ``time_budget_s`` is spent on the rounds. ``seed`` fixes the shuffled orders, so a block
    re-run times its arms in the same orders.
    """
    for step in steps.values():
        for _ in range(warmup):
            step()
    synchronize(device)
    times: dict[str, list[float]] = {name: [] for name in steps}
    order, rng = list(steps), random.Random(seed)
    start = time.perf_counter()
    for done in range(1, rounds + 1):
        rng.shuffle(order)
        for name in order:
            t0 = time.perf_counter()
            steps[name]()
            synchronize(device)
            times[name].append(time.perf_counter() - t0)
        if done >= min(rounds, MIN_ROUNDS) and time.perf_counter() - start >= time_budget_s:
            break
    return times
