"""Scaling exponents: how a cost grows with input side length, as the slope of a log-log fit.

A cost proportional to side^k has slope k: 2 for work linear in the token count, 4 for attention
quadratic in it (PVTv1's SRA), close to 2 for linear SRA. The slope over the two highest resolutions
shows where a model is heading better than the fit over all of them, so both are reported.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def fit_exponent(resolutions: Sequence[float], values: Sequence[float]) -> float:
    """Least-squares slope of log(value) against log(resolution); NaN with fewer than two usable points."""
    points = _usable(resolutions, values)
    if len(points) < 2:
        return math.nan
    x, y = np.log([p[0] for p in points]), np.log([p[1] for p in points])
    slope, _ = np.polyfit(x, y, 1)
    return float(slope)


def end_exponent(resolutions: Sequence[float], values: Sequence[float]) -> float:
    """Slope between the two highest resolutions with a usable value; NaN when there are not two."""
    points = _usable(resolutions, values)
    if len(points) < 2:
        return math.nan
    (r0, v0), (r1, v1) = points[-2], points[-1]
    return math.log(v1 / v0) / math.log(r1 / r0)


def _usable(resolutions: Sequence[float], values: Sequence[float]) -> list[tuple[float, float]]:
    """Positive, finite (resolution, value) pairs sorted by resolution, one per resolution."""
    if len(resolutions) != len(values):
        raise ValueError(f"{len(resolutions)} resolutions for {len(values)} values")
    points = {}
    for r, v in zip(resolutions, values):
        if r is None or v is None:
            continue
        r, v = float(r), float(v)
        if math.isfinite(r) and math.isfinite(v) and r > 0 and v > 0:
            points[r] = v
    return sorted(points.items())
