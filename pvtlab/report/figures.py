"""Shared plotting pieces: headless figures, saving as PNG + PDF, and readable labels for variants.

Figures are built with ``matplotlib.figure.Figure`` directly, never pyplot, so the report draws on any
machine (no display, no global backend switch) and a notebook's own backend is left alone.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from pvtlab.report.catalog import COMBOS, Combo, factorials, paths, variant_order
from pvtlab.report.schema import PATH_LABELS, TOGGLES

DPI = 150
FORMATS = ("png", "pdf")


def new_figure(panels: int, width: float = 5.5, height: float = 4.3) -> tuple[Figure, list]:
    """A figure with ``panels`` side-by-side axes."""
    fig = Figure(figsize=(width * panels, height), layout="constrained")
    axes = fig.subplots(1, panels, squeeze=False)[0]
    return fig, list(axes)


def save(fig: Figure, folder: Path, stem: str) -> list[Path]:
    """Write ``<stem>.png`` (for viewing) and ``<stem>.pdf`` (for papers) into ``folder``."""
    paths_out = []
    for fmt in FORMATS:
        path = folder / f"{stem}.{fmt}"
        fig.savefig(path, dpi=DPI, format=fmt)
        paths_out.append(path)
    return paths_out


def combo_label(combo: Combo) -> str:
    """ "+OPE+LSRA" for the improvements a combination switches on; "PVTv1 toggles" for none."""
    on = [name for value, (_, new, name) in zip(combo, TOGGLES.values()) if value == new]
    return "+" + "+".join(on) if on else "PVTv1 toggles"


def variant_groups(cells: pd.DataFrame) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """Panels for plots: (title, [(model, variant, label)]): the path, each factorial, then anything else."""
    groups: list[tuple[str, list[tuple[str, str, str]]]] = []
    seen: set[tuple[str, str]] = set()
    for title, steps in paths(cells).items():
        members = [(s.model, s.variant, f"{s.step} {PATH_LABELS.get(s.step, '')} ({s.model})") for s in steps]
        groups.append(("Paper's path" + (f" ({title})" if title else ""), members))
        seen |= {(m, v) for m, v, _ in members}
    for model, combos in factorials(cells).items():
        members = [(model, combos[c], combo_label(c)) for c in COMBOS if c in combos]
        groups.append((f"Factorial on {model}", members))
        seen |= {(m, v) for m, v, _ in members}
    rest = [(m, v, f"{v} ({m})") for m, v in variant_order(cells) if (m, v) not in seen]
    if rest:
        groups.append(("Other variants", rest))
    return groups
