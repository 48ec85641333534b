"""Accuracy against test size: each variant's top-1 at every size it was evaluated at (from ``top1_by_res``),
each change's effect there (paired by seed), and the figure.

A model trained at one size and tested at others shows how well what it learned transfers across scales; PVTv1
needs its learned position tables resized for that (bilinearly, as the official v1 code does), while OPE and CFFN
carry position in zero padding and need nothing resized.
"""

from __future__ import annotations

import math

import pandas as pd
from matplotlib.figure import Figure

from pvtlab.report.catalog import Catalog, Member
from pvtlab.report.changes import column_at, step_changes, toggle_changes
from pvtlab.report.plot_tools import MARKERS, legend_outside, new_figure
from pvtlab.report.table import Col, Entry, Table, label, missing
from pvtlab.stats import summarize

BILINEAR_NOTE = ("PVTv1's learned position tables are resized bilinearly to each test size (as the official PVTv1 "
                 "code does); variants without position embeddings (CFFN) resize nothing.")
LINESTYLES = ("-", "--", "-.", ":")


def members(catalog: Catalog) -> list[tuple[str, list[Member]]]:
    """Plot panels with accuracy rows: the path, then each factorial."""
    return [(title, [m for m in group if m.acc]) for title, group in catalog.panels()
            if title != "Other variants" and any(m.acc for m in group)]


def has_sizes(catalog: Catalog) -> bool:
    """True when some task was evaluated at more than its training size."""
    return any(len(catalog.test_sizes(task)) > 1 for task in catalog.tasks)


def resolution_tables(catalog: Catalog) -> list[Table]:
    """Per task evaluated at several sizes: top-1 per variant and size, and each change's effect per size."""
    tables = []
    several = len(catalog.tasks) > 1
    for task in (t for t in catalog.tasks if len(catalog.test_sizes(t)) > 1):
        sizes = catalog.test_sizes(task)
        suffix = f"_{task}" if several else ""
        train = catalog.train_size(task)
        top1 = Table(f"accuracy_by_resolution{suffix}", f"Top-1 by test size on {task} (trained at {train} px)",
                     [Col("variant", "Variant")] + [Col(f"top1_acc_pct_{s}px", f"Top-1 @{s} px (%)") for s in sizes])
        seen: set[tuple[int, ...]] = set()
        for _, group in members(catalog):
            for member in group:
                if member.acc in seen:
                    continue
                seen.add(member.acc)
                top1.add([label(member.label)] + [catalog.seed_entry(member, column_at(catalog, task, s), task)
                                                  for s in sizes])
        top1.notes += ["Mean ± 95% CI over seeds (n = seeds).", BILINEAR_NOTE]
        effects = Table(f"effects_by_resolution{suffix}", f"Each change's effect on top-1 by test size on {task}",
                        [Col("change", "Change")] + [c for s in sizes for c in
                                                     (Col(f"effect_pp_{s}px", f"Δ top-1 @{s} px (pp)", signed=True),
                                                      Col(f"verdict_{s}px", f"Verdict @{s} px"))])
        changes = toggle_changes(catalog, task) + step_changes(catalog, task)
        for name in dict.fromkeys(c.change for c in changes):
            by_size = {c.size: c for c in changes if c.change == name}
            row: list[Entry] = [label(name)]
            for s in sizes:
                c = by_size.get(s)
                row += [Entry(value=c.effect, ci=c.ci_half, n=c.n), label(c.verdict)] if c else \
                    [missing("not run"), label("-")]
            effects.add(row)
        effects.notes += ["OPE, CFFN, LSRA: main effects over the factorial, paired by seed; numbered rows: a path "
                          "step against the step before, paired over the seeds both trained. ± 95% CI."]
        tables += [top1, effects]
    return tables


def accuracy_vs_resolution_figure(catalog: Catalog) -> Figure | None:
    """Top-1 against test size per variant (mean, 95% CI band over seeds), one panel per task and panel."""
    panels = [(task, title, group) for task in catalog.tasks if len(catalog.test_sizes(task)) > 1
              for title, group in members(catalog)]
    if not panels:
        return None
    fig, axes = new_figure(len(panels), width=7.2, height=4.4, max_cols=2)
    for ax, (task, title, group) in zip(axes, panels):
        sizes = catalog.test_sizes(task)
        for index, member in enumerate(group):
            points = _curve(catalog, member, task, sizes)
            if points.empty:
                continue
            color = f"C{index % 10}"
            ax.plot(points["size"], points["mean"], color=color, marker=MARKERS[index % len(MARKERS)],
                    linestyle=LINESTYLES[index % len(LINESTYLES)], label=f"{member.label} (n={points['n'].max()})")
            ax.fill_between(points["size"], points["low"], points["high"], color=color, alpha=0.12, linewidth=0)
        train = catalog.train_size(task)
        if train:
            ax.axvline(train, color="0.4", linewidth=0.8, linestyle=":", label=f"training size ({train} px)")
        chance = catalog.chance_of(task)
        if chance is not None:
            ax.axhline(chance, color="0.5", linewidth=0.8, linestyle="--", label=f"chance ({chance:.3g} %)")
        ax.set_xticks(sizes, [str(s) for s in sizes])
        ax.set_xlabel("Test image size (px)")
        ax.set_ylabel("Validation top-1 (%)")
        ax.set_title(f"{task}: {title}")
        ax.grid(True, alpha=0.3)
        legend_outside(ax, title="mean, band: 95% CI over seeds")
    fig.suptitle("Accuracy vs test size (PVTv1 position tables resized bilinearly)")
    return fig


def _curve(catalog: Catalog, member: Member, task: str, sizes: list[int]) -> pd.DataFrame:
    rows = []
    for size in sizes:
        values, _ = catalog.seed_values(member, column_at(catalog, task, size), task)
        if values.empty:
            continue
        stats = summarize(values.to_numpy())
        half = 0.0 if math.isnan(stats["ci95_half"]) else stats["ci95_half"]
        rows.append({"size": size, "mean": stats["mean"], "low": stats["mean"] - half, "high": stats["mean"] + half,
                     "n": stats["n"]})
    return pd.DataFrame(rows, columns=["size", "mean", "low", "high", "n"])

