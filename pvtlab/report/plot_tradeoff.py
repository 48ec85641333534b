"""Accuracy against compute: what each variant buys for what it costs, with 95% CIs over seeds.

Accuracy comes from the small training model; compute from the variant's full-size model at the
reference resolution, so the plot reads "what the change costs at full size vs what it gains in training".
"""

from __future__ import annotations

import math

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from pvtlab.report.catalog import accuracy_for_combo, accuracy_for_step, accuracy_rows, with_name
from pvtlab.report.figures import Member, line_style, new_figure, variant_groups
from pvtlab.report.metrics import accuracy_source
from pvtlab.report.select import measured, reference_resolution, seed_entry, seed_values

ANNOTATE_UP_TO = 4  # label points in the plot only when few enough not to overlap; the legend names all


def tradeoff_points(cells: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Per panel (the path, each factorial, other variants): one row per member with GMACs and accuracy."""
    resolution = reference_resolution(cells, "flops")
    panels = []
    for title, members in variant_groups(cells):
        points = pd.DataFrame([_point(cells, m, i, resolution) for i, m in enumerate(members)])
        usable = points[points["acc"].notna() & points["gmacs"].notna()]
        if len(usable):
            panels.append((title, usable))
    return panels


def tradeoff_figure(cells: pd.DataFrame) -> Figure | None:
    """Top-1 (mean ± 95% CI over seeds) against GMACs per panel; None when nothing has both."""
    panels = tradeoff_points(cells)
    if not panels:
        return None
    resolution = reference_resolution(cells, "flops")
    fig, axes = new_figure(len(panels), width=6.5)
    for ax, (title, points) in zip(axes, panels):
        if title.startswith("Paper's path"):
            ax.plot(points["gmacs"], points["acc"], color="0.7", linestyle=":", zorder=1, label="path order")
        for row in points.itertuples(index=False):
            error = [row.ci] if not math.isnan(row.ci) else None
            ax.errorbar([row.gmacs], [row.acc], yerr=error, capsize=4, linestyle="none", zorder=2,
                        label=f"{row.label} (n={row.n})", color=row.style["color"], marker=row.style["marker"])
        ax.margins(x=0.12)
        if len(points) <= ANNOTATE_UP_TO:
            _annotate(ax, points)
        _bound_percent(ax)
        ax.set_xlabel(f"Compute of the full-size model @{resolution} px (GMACs)")
        ax.set_ylabel(f"Top-1, {accuracy_source(cells)} (%)")
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small", title="error bars: 95% CI over seeds", title_fontsize="small",
                  loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    fig.suptitle("Accuracy vs compute")
    return fig


def _point(cells: pd.DataFrame, member: Member, index: int, resolution: int | None) -> dict[str, object]:
    cost = measured(cells, "flops", "gmacs", resolution=resolution, **member.line.select())
    acc = seed_entry(*seed_values(_accuracy(cells, member), "top1_acc"))
    ci = acc.ci if acc.ci is not None and not math.isnan(acc.ci) else float("nan")
    return {"label": member.label, "gmacs": cost.value if cost.has_value else float("nan"),
            "acc": acc.value if acc.has_value else float("nan"), "ci": ci, "n": acc.n or 0,
            "style": line_style(member, index)}


def _accuracy(cells: pd.DataFrame, member: Member) -> pd.DataFrame:
    """The accuracy rows behind a member: by path step, by combination, or by its own name."""
    if member.step is not None:
        return accuracy_for_step(cells, member.step)
    if member.combo is not None:
        return accuracy_for_combo(cells, member.line.model, member.combo)
    name = member.line.name.split(" = ")[0]
    return with_name(accuracy_rows(cells), model=member.line.model, variant=name)


def _annotate(ax: Axes, points: pd.DataFrame) -> None:
    """Short labels next to the points, on the inner side so none runs off the axes."""
    low, high = ax.get_xlim()
    for row in points.itertuples(index=False):
        right = (row.gmacs - low) / (high - low) > 0.6
        ax.annotate(row.label.split(" (")[0], (row.gmacs, row.acc), textcoords="offset points",
                    xytext=(-7, 4) if right else (7, 4), ha="right" if right else "left", fontsize=8)


def _bound_percent(ax: Axes) -> None:
    """Keep the accuracy axis within 0-100 %: a t-interval over 2 seeds can reach past either end."""
    low, high = ax.get_ylim()
    ax.set_ylim(max(low, 0.0), min(high, 100.0))
