"""Randomized interleaved rounds: every arm timed once per round, in a fresh random order each round.

Why: a shared machine's speed drifts by 10-25 % over minutes (docs/measured.md), so medians timed in
separate cells do not repeat. Timing the arms of a comparison in alternating rounds (Google Benchmark's random
interleaving; RMIT) puts every arm in the same stretch of machine time, so the drift hits all arms alike and a
per-round ratio cancels it; shuffling the order each round keeps a fixed position (always first after a slow
arm, say) from biasing one arm.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping

from .steps import Step, synchronize

MIN_ROUNDS = 6  # the fewest rounds that give a 95% CI of a median (pvtlab.paired_ci)


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
