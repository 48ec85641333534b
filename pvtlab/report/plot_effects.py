"""Main effects of each improvement with 95% CI bars around zero: accuracy in points, costs in percent.

Accuracy gets one panel per training style, in percentage points, CI over seeds. Costs of one model share
a panel as percent change against the PVTv1 setting, so params, compute, memory and throughput sit on one
axis; their bars are the spread over the other toggles' settings (costs are deterministic). A bar that
crosses zero means the data cannot tell the effect's sign.
"""

from __future__ import annotations

import math

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from pvtlab.report.effect_tables import EffectSet
from pvtlab.report.figures import new_figure
from pvtlab.report.schema import TOGGLES

NAMES = [name for _, _, name in TOGGLES.values()]


def effects_figure(sets: list[EffectSet]) -> Figure | None:
    """Accuracy panels, then one cost panel per model; None when no effect could be estimated."""
    usable = [s for s in sets if s.main is not None and s.main["n"].gt(0).any()]
    accuracy = [s for s in usable if s.unit == "pp"]
    models = list(dict.fromkeys(s.model for s in usable if s.unit != "pp"))
    panels = len(accuracy) + len(models)
    if panels == 0:
        return None
    fig, axes = new_figure(panels, width=4.8, height=3.6, max_cols=3)
    for ax, effect_set in zip(axes, accuracy):
        _points(ax, [(effect_set.metric, effect_set, "effect", "ci95_half")])
        ax.set_xlabel("Change in top-1 when switched on (pp)")
        ax.set_title(f"Accuracy: {effect_set.model}\n(95% CI over seeds)", fontsize="medium")
    for ax, model in zip(axes[len(accuracy):], models):
        series = [(s.metric, s, "relative_pct", "relative_ci95_half") for s in usable if s.model == model
                  and s.unit != "pp"]
        _points(ax, series)
        ax.set_xlabel("Change vs the PVTv1 setting (%)")
        ax.set_title(f"Cost: {model}\n(95% CI over the other toggles)", fontsize="medium")
    fig.suptitle("Main effect of each PVTv2 improvement (mean ± 95% CI)")
    return fig


def _points(ax: Axes, series: list[tuple[str, EffectSet, str, str]]) -> None:
    """One errorbar series per entry, offset vertically so they do not hide each other."""
    for k, (label, effect_set, value, half) in enumerate(series):
        offset = (k - (len(series) - 1) / 2) * min(0.15, 0.7 / max(len(series), 1))
        main = effect_set.main.set_index("improvement").reindex(NAMES)
        ys = [i + offset for i in range(len(NAMES))]
        errors = [0.0 if math.isnan(h) else h for h in main[half]]
        ax.errorbar(main[value], ys, xerr=errors, fmt="o", markersize=4, capsize=3, label=label)
    ax.axvline(0.0, color="0.4", linewidth=0.8)
    ax.set_yticks(range(len(NAMES)), NAMES)
    ax.set_ylim(len(NAMES) - 0.5, -0.5)
    ax.grid(True, axis="x", alpha=0.3)
    if len(series) > 1:
        ax.legend(fontsize="x-small", loc="best")
