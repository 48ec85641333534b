"""Learning curves: the ``val_curve`` column parsed, summarized over seeds, and reduced to a sample efficiency.

Sample efficiency (the path and factorial tables' column) is the area under a cell's validation top-1 curve,
from its first to its last evaluation, divided by the images seen in between: the mean top-1 (%) over
training. Two variants that end at the same top-1 differ here when one gets there sooner, so a reader sees
whether an improvement learns faster, ends higher (the top-1 column), or both. It is in %, comparable across
variants trained on the same budget and evaluation points (the grid gives every variant of a spec the same).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from pvtlab.stats import summarize

BAND_COLUMNS = ["images_seen", "mean", "ci95_half", "n"]


def parse_curve(text: object) -> np.ndarray | None:
    """A ``val_curve`` cell as an (k, 2) array of [images_seen, top1_pct] in order; None when empty or unusable."""
    if text is None or (isinstance(text, float) and math.isnan(text)) or not str(text).strip():
        return None
    try:
        points = np.asarray(json.loads(str(text)), dtype=float)
    except (ValueError, TypeError):
        return None
    if points.ndim != 2 or points.shape[1] != 2 or len(points) < 2 or not np.isfinite(points).all():
        return None
    return points[np.argsort(points[:, 0], kind="stable")]


def sample_efficiency(curve: np.ndarray) -> float:
    """Mean top-1 over training (%): trapezoid area under the curve over its span of images, divided by the span."""
    x, y = curve[:, 0], curve[:, 1]
    span = float(x[-1] - x[0])
    if span <= 0:
        return float("nan")
    return float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2.0) / span)


def band(curves: list[np.ndarray]) -> pd.DataFrame:
    """Mean and 95% CI half-width over seeds at every evaluation point, on the span every seed covers.

    Seeds evaluated at different image counts are linearly interpolated onto the union of their points.
    """
    if not curves:
        return pd.DataFrame(columns=BAND_COLUMNS)
    low, high = max(c[0, 0] for c in curves), min(c[-1, 0] for c in curves)
    xs = np.unique(np.concatenate([c[:, 0] for c in curves]))
    xs = xs[(xs >= low) & (xs <= high)]
    rows = []
    for x in xs:
        values = [float(np.interp(x, c[:, 0], c[:, 1])) for c in curves]
        stats = summarize(values)
        rows.append({"images_seen": float(x), "mean": stats["mean"], "ci95_half": stats["ci95_half"],
                     "n": int(stats["n"])})
    return pd.DataFrame(rows, columns=BAND_COLUMNS)
