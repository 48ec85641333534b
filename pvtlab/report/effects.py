"""Main effects and two-way interactions of the three PVTv2 toggles in the 2x2x2 factorial, and their tables.

Main effect of a toggle: the average change when it is switched from its PVTv1 to its PVTv2 value,
averaged over the settings of the other two. Interaction of A and B: what switching both buys minus the
sum of what each buys alone (y_AB - y_A - y_B + y_none), averaged over the third toggle; 0 means the two
improvements add up.

Where the CI comes from depends on the data. With a ``seed`` column (accuracy) each seed gives one
estimate and the CI is over seeds (paired: every seed trained every combination). Without one (costs,
which are deterministic) each setting of the other toggles gives one estimate and the CI is over those
settings, so it measures how much the effect depends on them, not measurement noise: the tables show a cost
effect with the range of those estimates, never as a "± 0.00" confidence interval.

Accuracy effects come with their per-seed values, and where a CI does not exclude zero, the number of seeds
that would give a CI half-width smaller than the observed effect (``pvtlab.stats.seeds_to_resolve``).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pvtlab.report.catalog import COMBOS, EFFICIENCY, MIN_SEEDS, Catalog, Member, Metric
from pvtlab.report.table import Col, Entry, Table, label, missing, number
from pvtlab.stats import paired_difference, seeds_to_resolve
from pvtlab.toggles import TOGGLES

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
    differences = (after - before).to_numpy()
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
        "std": summary.get("std", float("nan")),
        "estimates": [float(d) for d in differences],  # per seed (accuracy) or per setting of the other toggles
        "ci_over": OVER_SEEDS if _seeded(grid) else OVER_COMBOS,
    }
    if relative:
        row["relative_pct"] = 100.0 * summary["mean"] / base if base else float("nan")
        row["relative_ci95_half"] = 100.0 * summary["ci95_half"] / abs(base) if base else float("nan")
    return row


def _empty() -> dict[str, float]:
    nan = float("nan")
    return {"mean": nan, "std": nan, "ci95_low": nan, "ci95_high": nan, "ci95_half": nan, "n": 0}


@dataclass
class EffectSet:
    """The effects of the toggles on one metric (for one model, for costs)."""

    metric: str  # header with unit, e.g. "Compute @224 px (GMACs)"
    unit: str  # unit of an effect, e.g. "pp" or "GMACs"
    model: str
    main: pd.DataFrame | None  # None when the factorial is incomplete for this metric
    interactions: pd.DataFrame | None
    incomplete: str | None = None  # why there are no effects
    column: str = ""  # the cells.csv column the metric reads (top1_acc, gmacs, ...)

    @property
    def seeded(self) -> bool:
        return self.unit == "pp"


ACCURACY_METRICS = {"top1_acc": "Top-1 (pp)", EFFICIENCY: "Sample efficiency (pp)"}


def effect_sets(catalog: Catalog) -> list[EffectSet]:
    """Accuracy (top-1, sample efficiency; per training style), then each model's cost metrics.

    An effect averages over all four settings of the other toggles, so it needs all 8 combinations: a cost
    metric with a missing or failed combination, or accuracy without one seed that trained all 8, gets no
    estimate rather than an average over a different set of settings.
    """
    sets = []
    for model, combos in catalog.factorials.items():
        for task, (column, name) in itertools.product(catalog.tasks, ACCURACY_METRICS.items()):
            data = accuracy_data(catalog, combos, column, task)
            if data.empty:
                continue
            trained = f"{catalog.accuracy_source.split(' @')[0]} @{catalog.train_size(task)} px"
            style = f"{trained}{f' on {task}' if len(catalog.tasks) > 1 else ''}, {model} style"
            if (data.groupby("seed")["value"].count() < len(COMBOS)).all():
                trained = data.drop_duplicates(list(TOGGLES)).shape[0]
                reason = f"no seed trained all {len(COMBOS)} combinations ({trained} of {len(COMBOS)} have a seed)"
                sets.append(EffectSet(name, "pp", style, None, None, reason, column))
            else:
                sets.append(EffectSet(name, "pp", style, main_effects(data), interactions(data), column=column))
    for model, combos in catalog.factorials.items():
        for metric in (m for m in catalog.metrics if m.effect):
            data = cost_data(catalog, combos, metric)
            have = int(data["value"].notna().sum())
            if have == len(COMBOS):
                sets.append(EffectSet(metric.header, metric.unit, model, main_effects(data), interactions(data),
                                      column=metric.column))
            elif any(m.line for m in combos.values()):
                reason = f"{have} of {len(COMBOS)} combinations measured"
                sets.append(EffectSet(metric.header, metric.unit, model, None, None, reason, metric.column))
    return sets


def cost_data(catalog: Catalog, combos: dict, metric: Metric) -> pd.DataFrame:
    """One row per combination: the toggles and the metric's value (NaN where the cell failed or is missing)."""
    rows = []
    for combo in COMBOS:
        entry = catalog.value(combos[combo], metric) if combo in combos else missing("")
        rows.append(dict(zip(TOGGLES, combo)) | {"value": entry.value if entry.has_value else float("nan")})
    return pd.DataFrame(rows)


def accuracy_data(catalog: Catalog, combos: dict[tuple, Member], column: str = "top1_acc",
                  task: str | None = None) -> pd.DataFrame:
    """One row per (combination, seed) on ``task`` (default: the first): the toggles, ``seed`` and ``value``."""
    rows = []
    for combo, member in combos.items():
        values, _ = catalog.seed_values(member, column, task)
        rows += [dict(zip(TOGGLES, combo)) | {"seed": int(seed), "value": float(v)} for seed, v in values.items()]
    return pd.DataFrame(rows, columns=[*TOGGLES, "seed", "value"])


def effects_tables(sets: list[EffectSet]) -> list[Table]:
    """The main-effects table and the interactions table, with warnings and the seeds a wide CI needs."""
    main = Table("main_effects", "Main effect of each improvement (average change when switched on)", _columns(True))
    inter = Table("interactions", "Two-way interactions (0 = the two improvements add up)", _columns(False))
    warnings: list[str] = []
    for s in (s for s in sets if not s.incomplete):
        for r in s.main.to_dict("records"):
            term = f"{r['improvement']}: {r['toggle']} {r['from']} → {r['to']}"
            relative = missing("accuracy: the effect is in pp") if s.seeded else _plain(r["relative_pct"])
            main.add([label(s.metric), label(s.model), label(term), _effect(r, s), _spread(r, s), relative,
                      label(r["ci_over"])])
            warnings += _warnings(s, r["improvement"], r)
        for r in s.interactions.to_dict("records"):
            inter.add([label(s.metric), label(s.model), label(r["improvement"]), _effect(r, s), _spread(r, s),
                       label(r["ci_over"])])
    main.notes += [
        ("Effect: mean change when the toggle goes from its PVTv1 to its PVTv2 value, averaged over the other two "
         "toggles. Accuracy: ± 95% CI over seeds, paired (every seed trained all 8 combinations), n = seeds, and "
         "the per-seed effects; in percentage points (pp)."),
        ("Costs are deterministic (throughput: medians of repeated timings): no CI; 'Per seed / range' gives the "
         "effect's range over the 4 settings of the other toggles (one value when it does not depend on them)."),
    ]
    skipped = [f"{s.metric} on {s.model} ({s.incomplete})" for s in sets if s.incomplete]
    if skipped:
        main.notes.append("No effects (they need all 8 combinations): " + "; ".join(skipped) + ".")
    main.notes += warnings
    inter.notes.append("Interaction A x B: change from switching both, minus the changes from switching each alone "
                       "(y_AB - y_A - y_B + y_none), averaged over the third toggle; accuracy ± 95% CI over seeds, "
                       "costs with their range over the 2 settings of the third toggle.")
    return [main, inter]


def _columns(main: bool) -> list[Col]:
    cols = [Col("metric", "Metric"), Col("model", "Model"), Col("term", "Improvement" if main else "Pair"),
            Col("effect", "Effect (metric's unit; accuracy ± 95% CI, n = seeds)", signed=True),
            Col("per_estimate", "Per seed / range over the other toggles")]
    if main:
        cols.append(Col("relative_pct", "Change vs PVTv1 (%)", signed=True))
    return cols + [Col("ci_over", "Estimates over")]


def _effect(row: dict[str, object], effect_set: EffectSet) -> Entry:
    effect, half, n = float(row["effect"]), float(row["ci95_half"]), int(row["n"])
    if n < 1 or math.isnan(effect):
        return missing("n/a (no complete set of cells)")
    if effect_set.seeded:
        return Entry(value=effect, ci=half, n=n)
    return Entry(value=effect)


def _spread(row: dict[str, object], effect_set: EffectSet) -> Entry:
    """Per-seed effects for accuracy; for costs, the range over the other toggles (one value when constant)."""
    values = list(row["estimates"])
    if not values:
        return label("-")
    if effect_set.seeded:
        return label(" / ".join(number(v, 2, signed=True) for v in values))
    low, high = min(values), max(values)
    same = math.isclose(low, high, rel_tol=1e-6, abs_tol=1e-12)
    return label("same for all" if same else f"{number(low, signed=True)} to {number(high, signed=True)}")


def _warnings(effect_set: EffectSet, name: str, row: dict[str, object]) -> list[str]:
    """Warning lines for an accuracy effect: few seeds, a CI wider than the metric's range, a CI spanning zero."""
    if not effect_set.seeded:
        return []
    effect, half, n, std = float(row["effect"]), float(row["ci95_half"]), int(row["n"]), float(row["std"])
    where = f"{name} on {effect_set.metric.split(' (')[0].lower()} ({effect_set.model})"
    out = []
    if n < MIN_SEEDS:
        out.append(f"Warning: {where} rests on {n} seed(s); {MIN_SEEDS} or more give a usable CI.")
    if not math.isnan(half) and 2 * half > 100.0:
        out.append(f"Warning: {where} has a 95% CI ({number(2 * half)} pp wide) wider than the metric's range.")
    if not math.isnan(half) and half >= abs(effect) and math.isfinite(std):
        need = seeds_to_resolve(std, effect)
        seeds = f"about {need} seeds" if need else "no feasible number of seeds"
        out.append(f"Warning: {where} is {number(effect, 2, signed=True)} ± {number(half, 2)} pp (n={n}), a CI that "
                   f"includes 0; at the per-seed spread observed (sd {number(std, 2)} pp), {seeds} would give a CI "
                   "half-width below the effect's size.")
    return out


def _plain(value: float) -> Entry:
    return missing("n/a") if value is None or math.isnan(value) else Entry(value=value)
