"""The report's plain verdicts (helps / hurts / cannot tell), defined once so every sentence that judges a change
follows the same rule and no sentence claims more than its interval supports.

- An accuracy change (seeds): **helps** when its 95% CI excludes 0 on the good side, **hurts** when it excludes 0
  on the bad side, **cannot tell** when the CI includes 0 or there is no CI (one seed).
- A counted cost (params, GMACs): deterministic, so the sign is exact: helps / hurts, or **no change** when it
  moves by less than ``EXACT_TOLERANCE_PCT``.
- A speed change paired by round (``paired``): helps / hurts when its 95% CI excludes 0.
- A measured cost without a CI (memory: one peak per cell): helps / hurts only when every estimate over
  the other toggles' settings moves the same way by more than ``MEASURED_NOISE_PCT``; else cannot tell.
- A change measured from a variant near chance, or onto one at the ceiling, is no improvement claim: see
  ``near_chance`` and ``at_ceiling``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

HELPS, HURTS, CANNOT_TELL, NO_CHANGE = "helps", "hurts", "cannot tell", "no change"
EXACT_TOLERANCE_PCT = 0.05
MEASURED_NOISE_PCT = 5.0  # run-to-run drift of a CPU median (docs/measured.md: two runs of the default grid)
CEILING_PCT = 97.0  # mean top-1 at or above this: the task no longer separates variants
NEAR_CHANCE_FRACTION = 0.1  # within this fraction of the room between chance and 100 %: did not learn

# cells.csv column -> +1 when more is better, -1 when less is better.
BETTER = {"top1_acc": +1, "ema_top1_acc": +1, "sample_efficiency_pct": +1, "params_m": -1, "gmacs": -1,
          "attn_gmacs": -1, "peak_mem_over_idle_mib": -1, "train_peak_mem_over_idle_mib": -1,
          "infer_img_per_s_median": +1, "train_img_per_s_median": +1, "latency_b1_ms_p50": -1}
EXACT = {"params_m", "gmacs", "attn_gmacs"}


def seeded(effect: float, ci_half: float, better: int = +1) -> str:
    """Verdict of a change with a 95% CI over seeds."""
    if math.isnan(effect) or ci_half is None or math.isnan(ci_half) or abs(effect) <= ci_half:
        return CANNOT_TELL
    return HELPS if effect * better > 0 else HURTS


def counted(relative_pct: float, better: int) -> str:
    """Verdict of a deterministic cost change, from its sign (relative to the PVTv1 value, %)."""
    if math.isnan(relative_pct):
        return CANNOT_TELL
    if abs(relative_pct) < EXACT_TOLERANCE_PCT:
        return NO_CHANGE
    return HELPS if relative_pct * better > 0 else HURTS


def measured(relative_estimates_pct: Sequence[float], better: int) -> str:
    """Verdict of a measured cost from its estimates (% change) over the other toggles: all beyond the noise
    floor on one side, or cannot tell."""
    values = [v for v in relative_estimates_pct if not math.isnan(v)]
    if not values:
        return CANNOT_TELL
    if all(v * better > MEASURED_NOISE_PCT for v in values):
        return HELPS
    if all(v * better < -MEASURED_NOISE_PCT for v in values):
        return HURTS
    return CANNOT_TELL


def cost(column: str, relative_estimates_pct: Sequence[float]) -> str:
    """The verdict for a cost column: exact sign for counted costs, the noise rule for measured ones."""
    better = BETTER.get(column, -1)
    if column in EXACT:
        values = [v for v in relative_estimates_pct if not math.isnan(v)]
        return counted(sum(values) / len(values) if values else math.nan, better)
    return measured(relative_estimates_pct, better)


def paired(lo_pct: float, hi_pct: float, better: int) -> str:
    """Verdict of a speed change paired by round: its 95% CI (in % change) must exclude 0."""
    if math.isnan(lo_pct) or math.isnan(hi_pct) or lo_pct <= 0 <= hi_pct:
        return CANNOT_TELL
    return HELPS if lo_pct * better > 0 else HURTS


def near_chance(top1_pct: float, chance_pct: float | None) -> bool:
    """True when a mean top-1 sits within ``NEAR_CHANCE_FRACTION`` of the room above chance: it did not learn."""
    if chance_pct is None or math.isnan(top1_pct):
        return False
    return top1_pct < chance_pct + NEAR_CHANCE_FRACTION * (100.0 - chance_pct)


def at_ceiling(top1_pct: float) -> bool:
    return not math.isnan(top1_pct) and top1_pct >= CEILING_PCT


def qualified(verdict: str, before_pct: float, after_pct: float, chance_pct: float | None) -> str:
    """An accuracy verdict with what limits it: a change from chance is no improvement claim; at the ceiling the
    size of a gain is capped."""
    if near_chance(before_pct, chance_pct) or near_chance(after_pct, chance_pct):
        side = "baseline" if near_chance(before_pct, chance_pct) else "result"
        return f"{CANNOT_TELL} ({side} near chance: not an improvement claim)"
    if at_ceiling(before_pct) or at_ceiling(after_pct):
        return f"{verdict} (at the ceiling: size capped)"
    return verdict


RULES = ("Verdicts: **helps** / **hurts** = the 95% CI over seeds excludes 0 on the good / bad side; **cannot "
         "tell** = it includes 0. Params and GMACs are counted, so their sign is exact (**no change** below "
         f"{EXACT_TOLERANCE_PCT:g} %). Speed is paired by round (interleaved timing): helps / hurts = its 95% CI "
         "excludes 0. Measured memory carries no CI: helps / hurts only when the change exceeds "
         f"{MEASURED_NOISE_PCT:g} % the same way at every setting of the other toggles. A change from a "
         f"variant near chance (within {NEAR_CHANCE_FRACTION:.0%} of the room above it) is not an improvement claim.")
