"""Main effects and interactions of the toggles on accuracy and on every cost metric, as tables.

Accuracy effects are over seeds of the small training model; cost effects are per model size, over the
settings of the other toggles (see ``effects`` for what each CI means).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from pvtlab.report.catalog import COMBOS, factorials
from pvtlab.report.effects import interactions, main_effects
from pvtlab.report.factorial import accuracy_data, cost_data
from pvtlab.report.metrics import accuracy_source, cost_metrics
from pvtlab.report.schema import TOGGLES
from pvtlab.report.table import Col, Entry, Table, label, missing

MIN_ESTIMATES = 1


@dataclass
class EffectSet:
    """The effects of the toggles on one metric (for one model, for costs)."""

    metric: str  # header with unit, e.g. "Compute @224 px (GMACs)"
    unit: str  # unit of an effect, e.g. "pp" or "GMACs"
    model: str
    main: pd.DataFrame | None  # None when the factorial is incomplete for this metric
    interactions: pd.DataFrame | None
    incomplete: str | None = None  # why there are no effects


def effect_sets(cells: pd.DataFrame) -> list[EffectSet]:
    """Accuracy (per training style), then each model's cost metrics; incomplete ones say why.

    An effect averages over all four settings of the other toggles, so it needs all 8 combinations: a
    cost metric with a missing or failed combination, or accuracy without one seed that trained all 8,
    gets no estimate rather than an average over a different set of settings.
    """
    sets = []
    source = accuracy_source(cells)
    for model in factorials(cells) if source else []:
        data = accuracy_data(cells, model)
        if data.empty:
            continue
        name, style = "Top-1 (pp)", f"{source}, {model} style"
        per_seed = data.groupby("seed")["value"].count()
        if (per_seed < len(COMBOS)).all():
            trained = data.drop_duplicates(list(TOGGLES)).shape[0]
            reason = f"no seed trained all {len(COMBOS)} combinations ({trained} of {len(COMBOS)} have a seed)"
            sets.append(EffectSet(name, "pp", style, None, None, reason))
        else:
            sets.append(EffectSet(name, "pp", style, main_effects(data), interactions(data)))
    for model in factorials(cells):
        for metric in cost_metrics(cells):
            data = cost_data(cells, model, metric)
            have = int(data["value"].notna().sum())
            if have == len(COMBOS):
                sets.append(EffectSet(metric.header, metric.unit, model, main_effects(data), interactions(data)))
            else:
                reason = f"{have} of {len(COMBOS)} combinations measured"
                sets.append(EffectSet(metric.header, metric.unit, model, None, None, reason))
    return sets


def effects_tables(sets: list[EffectSet]) -> list[Table]:
    """The main-effects table and the interactions table."""
    main = Table("main_effects", "Main effect of each improvement (average change when switched on)", _columns(True))
    inter = Table("interactions", "Two-way interactions (0 = the two improvements add up)", _columns(False))
    skipped = [f"{s.metric} on {s.model} ({s.incomplete})" for s in sets if s.incomplete]
    for s in (s for s in sets if not s.incomplete):
        for r in s.main.to_dict("records"):
            term = f"{r['improvement']}: {r['toggle']} {r['from']} → {r['to']}"
            relative = missing("see pp") if s.unit == "pp" else _plain(r["relative_pct"])
            main.add([label(s.metric), label(s.model), label(term), _effect(r), relative, label(r["ci_over"])])
        for r in s.interactions.to_dict("records"):
            inter.add([label(s.metric), label(s.model), label(r["improvement"]), _effect(r), label(r["ci_over"])])
    main.notes += [
        "Effect: mean change when the toggle goes from its PVTv1 to its PVTv2 value, averaged over the other two "
        "toggles, ± 95% CI (n = estimates the CI is over). Accuracy effects are in percentage points (pp).",
        "For accuracy the CI is over seeds (each seed trained all 8 combinations); for costs, which are "
        "deterministic, it is over the 4 settings of the other toggles: it says how much the effect depends on "
        "them, not measurement noise.",
    ]
    if skipped:
        main.notes.append("No effects (they need all 8 combinations): " + "; ".join(skipped) + ".")
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
