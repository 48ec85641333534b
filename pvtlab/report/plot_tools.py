"""Plotting pieces the report and users share: headless figures, PNG + PDF, labels that never overlap, and
``plot_complexity`` for any table of (model, variant, resolution, metric) rows.

Figures are built with ``matplotlib.figure.Figure`` on an Agg canvas, never pyplot, so the report draws on any
machine (no display, no global backend switch) and a notebook's own backend is left alone. Legends sit outside
the axes so they never cover data; point labels are placed where they overlap no other text, marker or title.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Annotation, Text
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, MaxNLocator, NullFormatter
from matplotlib.transforms import Bbox

from pvtlab.report.complexity import fit_exponent, metric_words

DPI = 150
FORMATS = ("png", "pdf")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h")
LINESTYLES = ("-", "--", "-.", ":")
MIN_TICKS = 4
LABEL_DISTANCES = (5, 12, 20, 30, 42, 56, 72, 90)  # points from the marker
DIRECTIONS = ((1, 1), (1, -1), (-1, 1), (-1, -1), (1, 0), (-1, 0), (0, 1), (0, -1),
              (1, 0.5), (1, -0.5), (-1, 0.5), (-1, -0.5), (0.5, 1), (-0.5, 1), (0.5, -1), (-0.5, -1))
MARKER_PAD_PX = 5.0
LEGEND_CHARS = 48  # legend entries wrap here, so a merged "a = b = c" label stays beside its panel


def new_figure(panels: int, width: float = 5.5, height: float = 4.3, max_cols: int = 2) -> tuple[Figure, list[Axes]]:
    """A figure with ``panels`` axes, at most ``max_cols`` per row (so it stays readable on a page)."""
    cols = max(1, min(panels, max_cols))
    rows = max(1, math.ceil(panels / cols))
    fig = Figure(figsize=(width * cols, height * rows), layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.subplots(rows, cols, squeeze=False)
    axes = [ax for row in grid for ax in row]
    for spare in axes[panels:]:
        spare.remove()
    return fig, axes[:panels]


def legend_outside(ax: Axes, fontsize: str = "small", **kwargs: object) -> None:
    """A legend to the right of the axes, where it cannot cover data."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=fontsize,
                  title_fontsize=fontsize, **kwargs)


def plain_log_ticks(axis: Axis) -> None:
    """Log-axis ticks at 1, 2, 3, 5 x 10^n labelled as plain numbers (20, 50) instead of 2x10^1."""
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 3.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(NullFormatter())


def readable_log_ticks(ax: Axes, which: str = "y") -> None:
    """Log-axis ticks a reader can use: 1, 2, 3, 5 x 10^n as plain numbers, or, when the data span too little
    for ``MIN_TICKS`` of those (a memory range of 40-60 MiB showed two), evenly spaced plain values."""
    axis = ax.yaxis if which == "y" else ax.xaxis
    low, high = ax.get_ylim() if which == "y" else ax.get_xlim()
    plain_log_ticks(axis)
    in_view = [t for t in axis.get_major_locator().tick_values(low, high) if low <= t <= high]
    if len(in_view) >= MIN_TICKS or low <= 0:
        return
    ticks = [t for t in MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]).tick_values(low, high) if low <= t <= high]
    axis.set_major_locator(FixedLocator(ticks))
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))


def save(fig: Figure, folder: Path, stem: str) -> list[Path]:
    """Write ``<stem>.png`` (for viewing) and ``<stem>.pdf`` (for papers) into ``folder``."""
    written = []
    for fmt in FORMATS:
        path = folder / f"{stem}.{fmt}"
        fig.savefig(path, dpi=DPI, format=fmt)
        written.append(path)
    return written


def freeze_layout(fig: Figure) -> None:
    """Run the layout once and keep it, so text placed afterwards is measured where it will be drawn."""
    fig.canvas.draw()
    fig.set_layout_engine("none")


def drawn_texts(fig: Figure) -> list[Text]:
    """Every text the figure draws: titles, axis labels, the tick labels in view, legends, annotations."""
    texts: list[Text] = [fig._suptitle] if fig._suptitle is not None else []
    for ax in fig.axes:
        texts += [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label, *ax.texts]
        for axis in (ax.xaxis, ax.yaxis):
            for tick in axis._update_ticks():
                texts += [label for label, on in ((tick.label1, tick.label1.get_visible()),
                                                  (tick.label2, tick.label2.get_visible())) if on]
        legend = ax.get_legend()
        if legend is not None:
            texts += [legend.get_title(), *legend.get_texts()]
    return [t for t in texts if t.get_visible() and t.get_text().strip()]


def text_boxes(fig: Figure, renderer: object) -> list[Bbox]:
    """Window extents of every text the figure draws (see ``drawn_texts``), labels without their leader lines."""
    return [text_box(text, renderer) for text in drawn_texts(fig)]


def place_labels(ax: Axes, points: list[tuple[float, float, str]], fontsize: float = 7.5,
                 avoid: list[tuple[float, float, float, float]] = ()) -> list[Annotation]:
    """Label each (x, y, text) point where the label overlaps no other text, no marker, no ``avoid`` box (data
    coordinates x0, y0, x1, y1: error bars) and stays in the axes.

    Tries offsets around the point at growing distances (far ones get a thin leader line); if none is free it
    takes the one with the least overlap. Call after everything else is drawn: it freezes the figure's layout.
    Candidate boxes are computed from the label's measured size, so only the chosen label is created.
    """
    fig = ax.figure
    freeze_layout(fig)
    renderer = fig.canvas.get_renderer()
    taken = text_boxes(fig, renderer)
    frame = ax.get_window_extent(renderer)
    anchors = [ax.transData.transform((x, y)) for x, y, _ in points]
    taken += [Bbox.from_extents(px - MARKER_PAD_PX, py - MARKER_PAD_PX, px + MARKER_PAD_PX, py + MARKER_PAD_PX)
              for px, py in anchors]
    for x0, y0, x1, y1 in avoid:
        (a, b), (c, d) = ax.transData.transform((x0, y0)), ax.transData.transform((x1, y1))
        taken.append(Bbox.from_extents(min(a, c) - MARKER_PAD_PX, min(b, d) - 1, max(a, c) + MARKER_PAD_PX,
                                       max(b, d) + 1))
    per_point = fig.dpi / 72.0
    placed = []
    for (x, y, text), (px, py) in zip(points, anchors):
        probe = ax.annotate(text, (x, y), fontsize=fontsize)
        size = text_box(probe, renderer)
        probe.remove()
        best: tuple[float, float, float, float] | None = None  # (overlap, dx, dy, distance)
        for distance, (dx, dy) in ((d, u) for d in LABEL_DISTANCES for u in DIRECTIONS):
            box = _candidate(px + dx * distance * per_point, py + dy * distance * per_point, dx, dy, size)
            inside = frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
            overlap = sum(_area(box, other) for other in taken) + (0.0 if inside else 1e6)
            if best is None or overlap < best[0]:
                best = (overlap, dx * distance, dy * distance, distance)
            if overlap == 0.0:
                break
        ann = _annotation(ax, x, y, text, best[1], best[2], best[3], fontsize)
        taken.append(text_box(ann, renderer))
        placed.append(ann)
    return placed


def _candidate(x: float, y: float, dx: float, dy: float, size: Bbox) -> Bbox:
    """The box a label of ``size`` takes when anchored at (x, y) the way ``_annotation`` aligns it."""
    x0 = x if dx > 0 else (x - size.width if dx < 0 else x - size.width / 2)
    y0 = y if dy > 0 else (y - size.height if dy < 0 else y - size.height / 2)
    return Bbox.from_bounds(x0, y0, size.width, size.height)


def _annotation(ax: Axes, x: float, y: float, text: str, dx: float, dy: float, distance: float,
                fontsize: float) -> Annotation:
    near = distance <= LABEL_DISTANCES[0]  # beyond the first ring a leader line says which point a label names
    arrow = None if near else {"arrowstyle": "-", "color": "0.55", "linewidth": 0.5, "shrinkA": 0, "shrinkB": 3}
    return ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=fontsize,
                       ha="left" if dx > 0 else ("right" if dx < 0 else "center"),
                       va="bottom" if dy > 0 else ("top" if dy < 0 else "center"), arrowprops=arrow)


def text_box(text: Text, renderer: object) -> Bbox:
    """A text's window extent; for a point label the text alone, without its leader line (which ends at, and so
    always touches, its own marker)."""
    if isinstance(text, Annotation):
        text.update_positions(renderer)
        return Text.get_window_extent(text, renderer)
    return text.get_window_extent(renderer)


def _area(a: Bbox, b: Bbox) -> float:
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return width * height if width > 0 and height > 0 else 0.0


def merge_identical(series: dict[str, pd.Series]) -> dict[str, pd.Series]:
    """Series with the same values at the same x drawn once, their labels joined with " = ".

    Lines that coincide would hide each other; merged, every variant stays named in the legend.
    """
    merged: dict[str, pd.Series] = {}
    for name, values in series.items():
        for other in list(merged):
            known = merged[other]
            if list(known.index) == list(values.index) and np.allclose(known.to_numpy(), values.to_numpy(),
                                                                       rtol=1e-9, atol=0.0):
                merged[f"{other} = {name}"] = merged.pop(other)
                break
        else:
            merged[name] = values
    return merged


def plot_complexity(data: pd.DataFrame, metric: str, *, panel: str | None = None, title: str | None = None,
                    ylabel: str | None = None, fig: Figure | None = None, relative: bool = False) -> Figure:
    """A cost against input resolution, log-log, one line per (model, variant), the fitted exponent k in the legend.

    ``data`` has a ``resolution`` and a ``metric`` column and a ``model`` and/or ``variant`` column naming each
    line (``pvtlab.measure.sweep``'s frame, or ``pvtlab.report.load``'s rows of one group, fit as they are);
    rows without a value are left out, except that a ``status`` of failed is named in the legend. ``panel``
    names a column that splits the lines into panels. Lines with identical values are merged into one, named
    "a = b", so none hides another. ``relative`` adds beside each panel each line as % of the panel's first
    line: lines a few % apart, which coincide on a log axis, come apart there.
    """
    for column in ("resolution", metric):
        if column not in data.columns:
            raise ValueError(f"plot_complexity: no column '{column}' in the data; columns: {list(data.columns)}")
    frame = data.assign(_panel=data[panel] if panel else "")
    frame["_line"] = pd.concat([_line_names(part) for _, part in frame.groupby("_panel", sort=False)]) \
        if len(frame) else pd.Series(dtype=str)
    failed = frame[frame.get("status", pd.Series("ok", index=frame.index)).ne("ok")]
    frame = frame[pd.to_numeric(frame[metric], errors="coerce").notna()]
    titles = list(dict.fromkeys(frame["_panel"]))
    per_panel = 2 if relative else 1
    if fig is None:
        fig, axes = new_figure(max(1, len(titles)) * per_panel, width=9.0 if not relative else 6.4, height=4.2,
                               max_cols=per_panel)
    else:
        axes = fig.subplots(1, max(1, len(titles)) * per_panel, squeeze=False)[0].tolist()
    resolutions = sorted(int(r) for r in frame["resolution"].unique())
    words, unit = metric_words(metric)
    for k, name in enumerate(titles):
        ax = axes[k * per_panel]
        part = frame[frame["_panel"] == name]
        series = merge_identical({line: rows.groupby("resolution")[metric].last().astype(float).sort_index()
                                  for line, rows in part.groupby("_line", sort=False)})
        for index, (line, values) in enumerate(series.items()):
            slope = fit_exponent(values.index.tolist(), values.tolist())
            fitted = f" k = {slope:.2f}" if not math.isnan(slope) else " k n/a"
            text = textwrap.fill(f"{line}:", LEGEND_CHARS) + fitted
            bad = failed[failed["_panel"].eq(name) & failed["_line"].isin(line.split(" = "))]["resolution"]
            if len(bad):
                text += f" (failed @{', '.join(str(int(r)) for r in sorted(bad.unique()))} px)"
            # Earlier lines get larger markers and are drawn below later ones, so a point two lines share
            # shows both markers; line styles differ too, so close lines stay apart.
            style = {"color": f"C{index % 10}", "marker": MARKERS[index % len(MARKERS)],
                     "markersize": max(3.0, 9.0 - 1.5 * index), "zorder": 2 + index / 100,
                     "linestyle": LINESTYLES[index % len(LINESTYLES)]}
            ax.plot(values.index, values.to_numpy(), label=text, **style)
            if relative:
                first = next(iter(series.values()))
                ratio = 100.0 * values / first.reindex(values.index)
                axes[k * per_panel + 1].plot(values.index, ratio.to_numpy(), **style)
        ax.set_yscale("log")
        ax.set_ylabel(ylabel or (f"{words} ({unit}, log scale)" if unit else f"{words} (log scale)"))
        readable_log_ticks(ax)
        for shown in axes[k * per_panel:(k + 1) * per_panel]:
            shown.set_xscale("log")
            shown.set_xticks(resolutions, [str(r) for r in resolutions])
            shown.xaxis.set_minor_formatter(NullFormatter())
            shown.set_xlabel("Input side length (px, log scale)")
            shown.grid(True, which="major", alpha=0.3)
            if name:
                shown.set_title(name)
        if relative:
            other = axes[k * per_panel + 1]
            other.axhline(100.0, color="0.4", linewidth=0.8)
            other.set_ylabel("% of the legend's first line")
            other.set_title(f"{name + ': ' if name else ''}relative to the first line")
        legend_outside(axes[(k + 1) * per_panel - 1], title="line: fitted exponent k")
    if relative:
        for k in range(len(titles)):  # the legend sits beside the relative panel: give it the handles
            handles, labels = axes[k * per_panel].get_legend_handles_labels()
            axes[k * per_panel + 1].legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                                           borderaxespad=0.0, fontsize="small", title_fontsize="small",
                                           title="line: fitted exponent k")
    fig.suptitle(title or f"{words} vs input resolution (k: cost grows as side^k)")
    return fig


def _line_names(data: pd.DataFrame) -> pd.Series:
    """The variant name, "variant (model)" where one name is used on several models, the model without a variant."""
    model = data["model"].astype(str) if "model" in data.columns else None
    variant = data["variant"] if "variant" in data.columns else None
    if variant is None or variant.isna().all():
        if model is None:
            raise ValueError("plot_complexity: give a 'model' or a 'variant' column to name the lines")
        return model
    named = variant.fillna(model if model is not None else "").astype(str)
    if model is None:
        return named
    shared = named.groupby(named).transform(lambda part: model[part.index].nunique() > 1)
    return named.where(~shared | named.eq(model), named + " (" + model + ")")
