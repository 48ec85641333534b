"""Main effects and interactions of the toggles on accuracy and on every cost metric, as tables.

Accuracy effects are over seeds of the small training model; cost effects are per model size, over the
settings of the other toggles (see ``effects`` for what each CI means).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from pvtlab.report.catalog import factorials
from pvtlab.report.effects import interactions, main_effects
from pvtlab.report.factorial import accuracy_data, cost_data
from pvtlab.report.metrics import accuracy_source, cost_metrics
from pvtlab.report.table import Col, Entry, Table, label, missing

MIN_ESTIMATES = 1


@dataclass
class EffectSet:
    """The effects of the toggles on one metric (for one model, for costs)."""

    metric: str  # header with unit, e.g. "GMACs @224 px"
    unit: str  # unit of an effect, e.g. "pp" or "GMACs"
    model: str
    main: pd.DataFrame
    interactions: pd.DataFrame


def effect_sets(cells: pd.DataFrame) -> list[EffectSet]:
    """Accuracy first (if trained, with at least one complete seed), then each model's cost metrics."""
    sets = []
    source = accuracy_source(cells)
    data = accuracy_data(cells)
    if source and len(data):
        sets.append(EffectSet("Top-1 (pp)", "pp", source, main_effects(data), interactions(data)))
    for model in factorials(cells):
        for metric in cost_metrics(cells):
            data = cost_data(cells, model, metric)
            if data["value"].notna().sum() < 2:
                continue
            sets.append(EffectSet(metric.header, metric.unit, model, main_effects(data), interactions(data)))
    return sets


def effects_tables(sets: list[EffectSet]) -> list[Table]:
    """The main-effects table and the interactions table."""
    main = Table("main_effects", "Main effect of each improvement (average change when switched on)", _columns(True))
    inter = Table("interactions", "Two-way interactions (0 = the two improvements add up)", _columns(False))
    for s in sets:
        for r in s.main.to_dict("records"):
            term = f"{r['improvement']}: {r['toggle']} {r['from']} → {r['to']}"
            main.add([label(s.metric), label(s.model), label(term), _effect(r), _plain(r["relative_pct"]),
                      label(r["ci_over"])])
        for r in s.interactions.to_dict("records"):
            inter.add([label(s.metric), label(s.model), label(r["improvement"]), _effect(r), label(r["ci_over"])])
    main.notes += [
        "Effect: mean change when the toggle goes from its PVTv1 to its PVTv2 value, averaged over the other two "
        "toggles, ± 95% CI (n = estimates the CI is over). Accuracy effects are in percentage points (pp).",
        "For accuracy the CI is over seeds (each seed trained all 8 combinations); for costs, which are "
        "deterministic, it is over the 4 settings of the other toggles: it says how much the effect depends on "
        "them, not measurement noise.",
    ]
    inter.notes += [
        "Interaction A x B: change from switching both, minus the changes from switching each alone "
        "(y_AB - y_A - y_B + y_none), averaged over the third toggle; ± 95% CI over seeds (accuracy) or over "
        "the 2 settings of the third toggle (costs).",
    ]
    return [main, inter]


def _columns(main: bool) -> list[Col]:
    cols = [Col("metric", "Metric"), Col("model", "Model"), Col("term", "Improvement" if main else "Pair"),
            Col("effect", "Effect ± 95% CI (unit of the metric)", 2, signed=True)]
    if main:
        cols.append(Col("relative_pct", "Change vs PVTv1 (%)", 1, signed=True))
    return cols + [Col("ci_over", "CI over")]


def _effect(row: dict[str, object]) -> Entry:
    effect, half, n = float(row["effect"]), float(row["ci95_half"]), int(row["n"])
    if n < MIN_ESTIMATES or math.isnan(effect):
        return missing("n/a (no complete set of cells)")
    return Entry(value=effect, ci=half, n=n)


def _plain(value: float) -> Entry:
    return missing("n/a") if value is None or math.isnan(value) else Entry(value=value)
