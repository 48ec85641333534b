"""Accuracy against compute: what each variant buys for what it costs, with 95% CIs over seeds.

Accuracy comes from the small training model; compute from the variant's full-size model at the
reference resolution, so the plot reads "what the change costs at full size vs what it gains in training".
"""

from __future__ import annotations

import math

import pandas as pd
from matplotlib.figure import Figure

from pvtlab.report.catalog import accuracy_for_combo, accuracy_for_step, factorials, paths
from pvtlab.report.figures import combo_label, new_figure
from pvtlab.report.metrics import accuracy_source
from pvtlab.report.schema import PATH_LABELS
from pvtlab.report.select import measured, reference_resolution, seed_entry, seed_values


def tradeoff_points(cells: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Per panel (the path, each factorial): rows (label, model, variant, gmacs, acc, ci, n)."""
    resolution = reference_resolution(cells, "flops")
    panels = []
    for title, steps in paths(cells).items():
        rows = [_point(cells, f"{s.step} {PATH_LABELS.get(s.step, '')}", s.model, s.variant, resolution,
                       accuracy_for_step(cells, s)) for s in sorted(steps, key=lambda s: s.step)]
        panels.append(("Paper's path" + (f" ({title})" if title else ""), pd.DataFrame(rows)))
    for model, combos in factorials(cells).items():
        rows = [_point(cells, combo_label(c), model, v, resolution, accuracy_for_combo(cells, c))
                for c, v in combos.items()]
        panels.append((f"Factorial on {model}", pd.DataFrame(rows)))
    return [(t, p) for t, p in panels if len(p) and p["acc"].notna().any() and p["gmacs"].notna().any()]


def tradeoff_figure(cells: pd.DataFrame) -> Figure | None:
    """Top-1 (mean ± 95% CI over seeds) against GMACs per panel; None when nothing has both."""
    panels = tradeoff_points(cells)
    if not panels:
        return None
    resolution = reference_resolution(cells, "flops")
    fig, axes = new_figure(len(panels))
    for ax, (title, points) in zip(axes, panels):
        ok = points[points["acc"].notna() & points["gmacs"].notna()]
        if title.startswith("Paper's path"):
            ax.plot(ok["gmacs"], ok["acc"], color="0.7", linestyle="--", zorder=1, label="path order")
        for row in ok.itertuples(index=False):
            error = row.ci if pd.notna(row.ci) else None
            ax.errorbar([row.gmacs], [row.acc], yerr=None if error is None else [error], fmt="o", capsize=4,
                        label=f"{row.label} (n={row.n})", zorder=2)
            ax.annotate(row.label, (row.gmacs, row.acc), textcoords="offset points", xytext=(5, 5), fontsize=8)
        ax.set_xlabel(f"Compute of the full-size model @{resolution} px (GMACs)")
        ax.set_ylabel(f"Top-1, {accuracy_source(cells)} (%)")
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small", title="error bars: 95% CI over seeds", title_fontsize="small")
    fig.suptitle("Accuracy vs compute")
    return fig


def _point(cells: pd.DataFrame, name: str, model: str, variant: str, resolution: int | None,
           accuracy: pd.DataFrame) -> dict[str, object]:
    cost = measured(cells, "flops", "gmacs", model=model, variant=variant, resolution=resolution)
    acc = seed_entry(*seed_values(accuracy, "top1_acc"))
    ci = acc.ci if acc.ci is not None and not math.isnan(acc.ci) else float("nan")
    return {"label": name, "model": model, "variant": variant,
            "gmacs": cost.value if cost.has_value else float("nan"),
            "acc": acc.value if acc.has_value else float("nan"), "ci": ci, "n": acc.n or 0}

