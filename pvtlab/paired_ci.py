"""Paired speed estimates: the median of per-round log-ratios with a distribution-free 95% CI.

Why the median and an order-statistic CI (``scipy.stats.quantile_test``) rather than a mean and Student's t: on a
shared machine one round now and then catches a burst of other work on one arm only, and such a round is an
outlier in the log-ratio. A mean (and its t interval) follows the outlier; the median and its binomial CI do not,
and need no normality. Why per round: every arm of a round was timed within seconds of the others, so the slow
drift of a shared machine cancels in each round's ratio (paired timing, as in randomized interleaved trials).
Fewer than 6 rounds give no 95% CI (NaN ends): 5 signs cannot exclude a coin flip at that level.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import quantile_test

CONFIDENCE = 0.95


@dataclass(frozen=True)
class PairedEstimate:
    """A paired effect on the log scale (``log``, CI ``log_lo`` .. ``log_hi``) over ``n`` rounds."""

    log: float
    log_lo: float
    log_hi: float
    n: int

    @property
    def ratio(self) -> float:
        return math.exp(self.log)

    @property
    def ratio_lo(self) -> float:
        return math.exp(self.log_lo)

    @property
    def ratio_hi(self) -> float:
        return math.exp(self.log_hi)

    def pct(self) -> tuple[float, float, float]:
        """(change, CI low, CI high) in percent: 100 x (ratio - 1)."""
        return tuple(100.0 * (math.exp(x) - 1.0) for x in (self.log, self.log_lo, self.log_hi))  # type: ignore

    @property
    def includes_zero(self) -> bool:
        """True when the CI holds "no difference" (or there is no CI): the effect is not resolved."""
        return not (self.log_lo > 0.0 or self.log_hi < 0.0)


def paired_estimate(log_values: Sequence[float]) -> PairedEstimate:
    """Median and 95% CI of per-round log values (NaN rounds dropped; all-NaN gives NaN)."""
    x = np.asarray(log_values, dtype=float)
    x = x[np.isfinite(x)]
    if not len(x):
        return PairedEstimate(math.nan, math.nan, math.nan, 0)
    ci = quantile_test(x, q=0.0, p=0.5).confidence_interval(CONFIDENCE)
    return PairedEstimate(float(np.median(x)), float(ci.low), float(ci.high), len(x))


def log_ratios(arm: Sequence[float], ref: Sequence[float]) -> np.ndarray:
    """log(arm / ref) round by round; the two lists must come from the same rounds."""
    a, b = np.asarray(arm, dtype=float), np.asarray(ref, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired rounds differ in number: {a.shape[0]} vs {b.shape[0]}")
    return np.log(a) - np.log(b)


def ratio_estimate(arm: Sequence[float], ref: Sequence[float]) -> PairedEstimate:
    """``arm`` over ``ref`` (e.g. img/s of two arms), paired by round."""
    return paired_estimate(log_ratios(arm, ref))
