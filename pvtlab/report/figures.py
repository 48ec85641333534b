"""Shared plotting pieces: headless figures, saving as PNG + PDF, and readable labels for variants.

Figures are built with ``matplotlib.figure.Figure`` directly, never pyplot, so the report draws on any
machine (no display, no global backend switch) and a notebook's own backend is left alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from pvtlab.report.catalog import COMBOS, Combo, Line, Step, factorials, ordered_lines, paths
from pvtlab.report.schema import PATH_LABELS, TOGGLES

DPI = 150
FORMATS = ("png", "pdf")


@dataclass(frozen=True)
class Member:
    """One line or point of a plot: the architecture it shows, its legend label, its combination if any."""

    line: Line
    label: str
    combo: Combo | None = None
    step: Step | None = None  # set for the paper's path


def new_figure(panels: int, width: float = 5.5, height: float = 4.3, max_cols: int = 2) -> tuple[Figure, list]:
    """A figure with ``panels`` axes, at most ``max_cols`` per row (so it stays readable on a page)."""
    cols = min(panels, max_cols)
    rows = math.ceil(panels / cols)
    fig = Figure(figsize=(width * cols, height * rows), layout="constrained")
    grid = fig.subplots(rows, cols, squeeze=False)
    axes = [ax for row in grid for ax in row]
    for spare in axes[panels:]:
        spare.remove()
    return fig, axes[:panels]


def plain_log_ticks(axis: Axis) -> None:
    """Log-axis ticks at 1, 2, 3, 5 x 10^n labelled as plain numbers (20, 50) instead of 2x10^1."""
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 3.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(NullFormatter())


def save(fig: Figure, folder: Path, stem: str) -> list[Path]:
    """Write ``<stem>.png`` (for viewing) and ``<stem>.pdf`` (for papers) into ``folder``."""
    written = []
    for fmt in FORMATS:
        path = folder / f"{stem}.{fmt}"
        fig.savefig(path, dpi=DPI, format=fmt)
        written.append(path)
    return written


def combo_label(combo: Combo) -> str:
    """ "+OPE+LSRA" for the improvements a combination switches on; "PVTv1 toggles" for none."""
    on = [name for value, (_, new, name) in zip(combo, TOGGLES.values()) if value == new]
    return "+" + "+".join(on) if on else "PVTv1 toggles"


def variant_groups(cells: pd.DataFrame) -> list[tuple[str, list[Member]]]:
    """Panels for plots: the path, each factorial, then anything else, each with its members."""
    groups: list[tuple[str, list[Member]]] = []
    seen: set[Line] = set()
    for title, steps in paths(cells).items():
        members = [Member(s.line, f"{s.step} {PATH_LABELS.get(s.step, '')} ({s.line.model})", step=s) for s in steps]
        groups.append(("Paper's path" + (f" ({title})" if title else ""), members))
        seen |= {m.line for m in members}
    for model, combos in factorials(cells).items():
        members = [Member(combos[c], combo_label(c), c) for c in COMBOS if c in combos]
        groups.append((f"Factorial on {model}", members))
        seen |= {m.line for m in members}
    rest = [Member(line, f"{line.name} ({line.model})") for line in ordered_lines(cells) if line not in seen]
    if rest:
        groups.append(("Other variants", rest))
    return groups


def line_style(member: Member, index: int) -> dict[str, object]:
    """Factorial members: one colour per (patch_embed, position); linear SRA dashed with square markers.

    Other members take the colour cycle in panel order. The same member looks the same in every plot.
    """
    if member.combo is None:
        return {"color": f"C{index % 10}", "linestyle": "-", "marker": "o"}
    linear = member.combo[2] == TOGGLES["attention"][1]
    return {"color": f"C{COMBOS.index(member.combo) // 2}", "linestyle": "--" if linear else "-",
            "marker": "s" if linear else "o"}
