"""Main effects and two-way interactions of the three PVTv2 toggles in the 2x2x2 factorial.

Main effect of a toggle: the average change when it is switched from its PVTv1 to its PVTv2 value,
averaged over the settings of the other two. Interaction of A and B: what switching both buys minus the
sum of what each buys alone (y_AB - y_A - y_B + y_none), averaged over the third toggle; 0 means the two
improvements add up.

Where the CI comes from depends on the data. With a ``seed`` column (accuracy) each seed gives one
estimate and the CI is over seeds (paired: every seed trained every combination). Without one (costs,
which are deterministic) each setting of the other toggles gives one estimate and the CI is over those
settings, so it measures how much the effect depends on them, not measurement noise.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from pvtlab.report.schema import TOGGLES
from pvtlab.stats import paired_difference

OVER_SEEDS = "seeds"
OVER_COMBOS = "settings of the other toggles"


def main_effects(data: pd.DataFrame, value: str = "value") -> pd.DataFrame:
    """One row per toggle: effect, 95% CI, n, what the CI is over, and the change relative to PVTv1 (%).

    ``relative_pct`` divides the effect by the mean of the PVTv1-valued half (``relative_ci95_half`` the CI).

    ``data`` has one row per combination (and per seed, if it has a ``seed`` column) with the toggle
    columns ``patch_embed``, ``position``, ``attention`` and a numeric ``value`` column; NaN values
    (failed cells) drop the seed, or the pair, they belong to.
    """
    grid = _grid(data, value)
    rows = []
    for toggle, (old, new, name) in TOGGLES.items():
        if _seeded(grid):
            after = grid.xs(new, level=toggle).groupby(level="seed").mean()
            before = grid.xs(old, level=toggle).groupby(level="seed").mean()
        else:
            after, before = grid.xs(new, level=toggle), grid.xs(old, level=toggle)
        rows.append(_row(toggle, name, old, new, after, before, grid))
    return pd.DataFrame(rows)


def interactions(data: pd.DataFrame, value: str = "value") -> pd.DataFrame:
    """One row per pair of toggles: (both - first alone - second alone + neither), 95% CI and n."""
    grid = _grid(data, value)
    rows = []
    for a, b in itertools.combinations(TOGGLES, 2):
        (a0, a1, a_name), (b0, b1, b_name) = TOGGLES[a], TOGGLES[b]
        cells = {(i, j): grid.xs((x, y), level=(a, b)) for i, x in enumerate((a0, a1)) for j, y in enumerate((b0, b1))}
        agree = cells[1, 1] + cells[0, 0]
        differ = cells[1, 0] + cells[0, 1]
        if _seeded(grid):
            agree, differ = agree.groupby(level="seed").mean(), differ.groupby(level="seed").mean()
        rows.append(_row(f"{a} x {b}", f"{a_name} x {b_name}", None, None, agree, differ, grid, relative=False))
    return pd.DataFrame(rows)


def _grid(data: pd.DataFrame, value: str) -> pd.Series:
    """The values indexed by (toggles..., [seed]), incomplete seeds dropped, checked for duplicates."""
    missing = [c for c in (*TOGGLES, value) if c not in data.columns]
    if missing:
        raise ValueError(f"factorial data lacks column(s) {', '.join(missing)}")
    for toggle, (old, new, _) in TOGGLES.items():
        bad = set(data[toggle]) - {old, new}
        if bad:
            raise ValueError(f"column '{toggle}' has {sorted(map(str, bad))}; allowed: {old}, {new}")
    keys = [*TOGGLES] + (["seed"] if "seed" in data.columns else [])
    if data.duplicated(keys).any():
        raise ValueError(f"factorial data has more than one row for some ({', '.join(keys)})")
    grid = data.set_index(keys)[value].astype(float)
    if "seed" in keys:
        complete = grid.groupby(level="seed").apply(lambda s: s.notna().sum() == 2 ** len(TOGGLES))
        grid = grid[grid.index.get_level_values("seed").isin(complete[complete].index)]
    return grid


def _seeded(grid: pd.Series) -> bool:
    return "seed" in grid.index.names


def _row(
    toggle: str,
    name: str,
    old: str | None,
    new: str | None,
    after: pd.Series,
    before: pd.Series,
    grid: pd.Series,
    relative: bool = True,
) -> dict[str, object]:
    """Pair up the two series on their shared index, drop incomplete pairs, summarize the differences."""
    after, before = after.align(before, join="inner")
    keep = after.notna() & before.notna()
    after, before = after[keep], before[keep]
    summary = paired_difference(after.to_numpy(), before.to_numpy()) if len(after) else _empty()
    base = float(np.mean(before)) if len(before) else float("nan")
    row: dict[str, object] = {
        "toggle": toggle,
        "improvement": name,
        "from": old,
        "to": new,
        "effect": summary["mean"],
        "ci95_low": summary["ci95_low"],
        "ci95_high": summary["ci95_high"],
        "ci95_half": summary["ci95_half"],
        "n": int(summary["n"]),
        "ci_over": OVER_SEEDS if _seeded(grid) else OVER_COMBOS,
    }
    if relative:
        row["relative_pct"] = 100.0 * summary["mean"] / base if base else float("nan")
        row["relative_ci95_half"] = 100.0 * summary["ci95_half"] / abs(base) if base else float("nan")
    return row


def _empty() -> dict[str, float]:
    nan = float("nan")
    return {"mean": nan, "ci95_low": nan, "ci95_high": nan, "ci95_half": nan, "n": 0}
