"""``write_report(results_dir)``: every table and plot of a grid, written next to its cells.csv.

Run at the end of every grid run and by ``run_ablation.py --report results/<name>``; it only reads
cells.csv (and spec.yaml / grid.json when present), so it can be re-run any time, also mid-grid.

report.md is the sections of ``SECTIONS`` in order: the answer first (what each change buys, with verdicts), then
the evidence behind it, the warnings, what was run, the tables, the plots and the failed cells. A section is a
function of the ``Report`` (the rows, their catalog and effects, worked out once) that returns its markdown and
writes its files through the report; add one by adding it to ``SECTIONS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from pvtlab.files import REPORT_FILE, write_text_atomic
from pvtlab.report.catalog import Catalog
from pvtlab.report.complexity import CURVES, complexity_tables, crossover_tables
from pvtlab.report.effects import EffectSet, effect_sets, effects_tables
from pvtlab.report.plot_tools import save
from pvtlab.report.header import header
from pvtlab.report.load import cells_path, current, failed_note, load, load_structure
from pvtlab.report.plots import (
    accuracy_figure,
    effects_figure,
    learning_curves_figure,
    scaling_figure,
    scaling_skip_reason,
    throughput_figure,
)
from pvtlab.report.resolution import accuracy_vs_resolution_figure, has_sizes, resolution_tables
from pvtlab.report.summary import cross_task_table, summary_section
from pvtlab.report.speed import factorial_effects, speed_tables
from pvtlab.report.table import Table, markdown, write
from pvtlab.report.variant_tables import factorial_tables, path_tables

TABLE_PREFIX = "table_"
PLOT_PREFIX = "plot_"
WARNING = "Warning: "


def catalog_of(source: pd.DataFrame | Catalog) -> Catalog:
    """The catalog of ``source``: itself, or built once from current rows (``load.current``)."""
    return source if isinstance(source, Catalog) else Catalog(source)


def build_tables(source: pd.DataFrame | Catalog, sets: list[EffectSet] | None = None) -> dict[str, list[Table]]:
    """The report's tables by section, from current rows or their catalog."""
    catalog = catalog_of(source)
    sets = effect_sets(catalog) if sets is None else sets
    return {
        "The paper's path": path_tables(catalog),
        "The full factorial": factorial_tables(catalog),
        "What each improvement buys: main effects and interactions": effects_tables(sets) if sets else [],
        "Complexity by resolution": complexity_tables(catalog),
        "Where linear SRA starts to pay": crossover_tables(catalog),
        "Speed, paired by round (noise floor first)": speed_tables(catalog.rows),
    }


def build_figures(source: pd.DataFrame | Catalog, sets: list[EffectSet] | None = None) -> dict[str, Figure]:
    """The report's figures by file stem (without the plot_ prefix); plots without data are left out."""
    catalog = catalog_of(source)
    figures: dict[str, Figure | None] = {
        f"{name}_vs_resolution": scaling_figure(catalog, name) for name, curve in CURVES.items() if curve.plot}
    figures["throughput_vs_gmacs"] = throughput_figure(catalog)
    figures["accuracy_vs_gmacs"] = accuracy_figure(catalog)
    figures["accuracy_vs_resolution"] = accuracy_vs_resolution_figure(catalog)
    figures["learning_curves"] = learning_curves_figure(catalog)
    figures["main_effects"] = effects_figure(effect_sets(catalog) if sets is None else sets,
                                             factorial_effects(catalog.rows))
    return {name: fig for name, fig in figures.items() if fig is not None}


@dataclass
class Report:
    """One report being written: the rows and what is derived from them once, and the files written so far."""

    folder: Path
    cells: pd.DataFrame
    catalog: Catalog
    written: list[Path] = field(default_factory=list)

    @cached_property
    def sets(self) -> list[EffectSet]:
        return effect_sets(self.catalog)

    @cached_property
    def header(self) -> str:
        """The title and "What was run" (see ``header``); the report shows them apart."""
        return header(self.cells, self.catalog.rows, self.folder)

    @cached_property
    def tables(self) -> dict[str, list[Table]]:
        return build_tables(self.catalog, self.sets)

    def table(self, table: Table) -> str:
        """A table's markdown, its .csv and .tex written."""
        if not table.rows:
            return f"### {table.title}\n\nNothing to show. " + " ".join(table.notes) + "\n"
        table.name = TABLE_PREFIX + table.name
        self.written.extend(write(table, self.folder))
        return markdown(table) + f"\nFiles: `{table.name}.csv`, `{table.name}.tex`\n"

    def figure(self, stem: str, fig: Figure) -> str:
        """A figure's markdown link, its .png and .pdf written."""
        self.written.extend(save(fig, self.folder, PLOT_PREFIX + stem))
        return f"![{stem}]({PLOT_PREFIX}{stem}.png)\n\n(PDF: `{PLOT_PREFIX}{stem}.pdf`)\n"


def _title(report: Report) -> str:
    return report.header.split("\n## ", 1)[0].rstrip() + "\n"


def _setup(report: Report) -> str:
    return "## " + report.header.split("\n## ", 1)[1]


def _summary(report: Report) -> str:
    return summary_section(report.catalog, report.sets)


def _evidence(report: Report) -> str:
    """Accuracy by test size and across tasks: the tables and figure the summary's accuracy lines rest on."""
    parts = []
    cross = cross_task_table(report.catalog)
    if cross is not None:
        parts += ["## Across tasks\n", report.table(cross)]
    if has_sizes(report.catalog):
        parts += ["## Accuracy by test size\n"]
        parts += [report.table(t) for t in resolution_tables(report.catalog)]
        figure = accuracy_vs_resolution_figure(report.catalog)
        if figure is not None:
            parts.append(report.figure("accuracy_vs_resolution", figure))
    return "\n".join(parts)


def _warnings(report: Report) -> str:
    """Every warning line of every table: what the numbers below cannot carry."""
    lines = list(dict.fromkeys(n for group in report.tables.values() for t in group for n in t.notes
                               if n.startswith(WARNING)))
    body = "\n".join(f"- {line[len(WARNING):]}" for line in lines) if lines else "None."
    return f"## Warnings\n\n{body}\n"


def _tables(report: Report) -> str:
    parts = []
    for section, tables in report.tables.items():
        parts.append(f"## {section}\n")
        if not tables:
            parts.append("Not in this grid.\n")
        parts += [report.table(table) for table in tables]
    return "\n".join(parts)


def _plots(report: Report) -> str:
    parts = ["## Plots\n"]
    for name, curve in CURVES.items():
        reason = scaling_skip_reason(report.catalog, name) if curve.plot else None
        if reason and reason != "no values":
            parts.append(f"- No {curve.title.lower()} vs resolution plot: {reason}.\n")
    figures = build_figures(report.catalog, report.sets)
    figures.pop("accuracy_vs_resolution", None)  # shown with its tables (see _evidence)
    parts += [report.figure(stem, fig) for stem, fig in figures.items()]
    if not figures and not has_sizes(report.catalog):
        parts.append("None: no cell of this grid has a value to plot.\n")
    return "\n".join(parts)


def _failures(report: Report) -> str:
    """Every failed cell with its reason, so none hides behind a table."""
    failed = report.catalog.rows[report.catalog.rows["status"].ne("ok")]
    lines = ["## Failed cells\n"]
    if failed.empty:
        return "\n".join(lines + ["None.\n"])
    lines += ["| group | model | variant | resolution (px) | seed | reason |", "|:---|:---|:---|---:|---:|:---|"]
    for r in failed.itertuples(index=False):
        seed = "" if pd.isna(r.seed) else str(r.seed)
        reason = failed_note(r.error).replace("|", "\\|")
        lines.append(f"| {r.group} | {r.model} | {r.variant} | {r.resolution} | {seed or '-'} | {reason} |")
    lines.append("\nRe-run them with `python run_ablation.py --grid <spec> --retry-failed`.\n")
    return "\n".join(lines)


# report.md, top to bottom: the answer, its evidence, then what was run, the full tables and plots.
SECTIONS: list[Callable[[Report], str]] = [_title, _summary, _evidence, _warnings, _setup, _tables, _plots, _failures]


def write_report(results_dir: str | Path) -> Path:
    """Write report.md, a .csv and .tex per table and a .png and .pdf per plot; returns report.md's path."""
    folder = cells_path(results_dir).parent
    cells = load(folder)
    report = Report(folder, cells, Catalog(current(cells), load_structure(folder)))
    text = "\n".join(part for part in (section(report) for section in SECTIONS) if part)
    path = folder / REPORT_FILE
    write_text_atomic(path, text)
    _remove_stale(folder, set(report.written))
    return path


def _remove_stale(folder: Path, written: set[Path]) -> None:
    """Delete tables and plots an earlier report wrote that this one did not, so none outlives its data."""
    for pattern in (f"{TABLE_PREFIX}*.csv", f"{TABLE_PREFIX}*.tex", f"{PLOT_PREFIX}*.png", f"{PLOT_PREFIX}*.pdf"):
        for path in folder.glob(pattern):
            if path not in written:
                path.unlink()
