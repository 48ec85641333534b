"""``write_report(results_dir)``: every table and plot of a grid, written next to its cells.csv.

Run at the end of every grid run and by ``run_ablation.py --report results/<name>``; it only reads
cells.csv (and spec.yaml / grid.json when present), so it can be re-run any time, also mid-grid.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from pvtlab.files import write_text_atomic
from pvtlab.layout import REPORT_FILE
from pvtlab.report.catalog import Catalog
from pvtlab.report.complexity import CURVES, complexity_tables, crossover_tables
from pvtlab.report.effects import EffectSet, effect_sets, effects_tables
from pvtlab.report.figures import save
from pvtlab.report.header import header
from pvtlab.report.load import cells_path, current, failed_note, load
from pvtlab.report.plots import (
    accuracy_figure,
    effects_figure,
    learning_curves_figure,
    scaling_figure,
    scaling_skip_reason,
    throughput_figure,
)
from pvtlab.report.speed import speed_tables
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
    figures["learning_curves"] = learning_curves_figure(catalog)
    figures["main_effects"] = effects_figure(effect_sets(catalog) if sets is None else sets)
    return {name: fig for name, fig in figures.items() if fig is not None}


def write_report(results_dir: str | Path) -> Path:
    """Write report.md, a .csv and .tex per table and a .png and .pdf per plot; returns report.md's path."""
    folder = cells_path(results_dir).parent
    cells = load(folder)
    catalog = Catalog(current(cells))
    sets = effect_sets(catalog)
    written: list[Path] = []
    tables = build_tables(catalog, sets)
    parts = [header(cells, catalog.rows, folder), _warnings(tables)]
    parts += _table_sections(tables, folder, written)
    parts += _plot_section(catalog, sets, folder, written)
    parts.append(_failures(catalog.rows))
    report = folder / REPORT_FILE
    write_text_atomic(report, "\n".join(parts))
    _remove_stale(folder, set(written))
    return report


def _warnings(tables: dict[str, list[Table]]) -> str:
    """Every warning line of every table, up front: what the numbers below cannot carry."""
    lines = list(dict.fromkeys(n for group in tables.values() for t in group for n in t.notes
                               if n.startswith(WARNING)))
    body = "\n".join(f"- {line[len(WARNING):]}" for line in lines) if lines else "None."
    return f"## Read this first: warnings\n\n{body}\n"


def _table_sections(sections: dict[str, list[Table]], folder: Path, written: list[Path]) -> list[str]:
    parts = []
    for section, tables in sections.items():
        parts.append(f"## {section}\n")
        if not tables:
            parts.append("Not in this grid.\n")
        for table in tables:
            if not table.rows:
                parts.append(f"### {table.title}\n\nNothing to show. " + " ".join(table.notes) + "\n")
                continue
            table.name = TABLE_PREFIX + table.name
            parts.append(markdown(table))
            parts.append(f"Files: `{table.name}.csv`, `{table.name}.tex`\n")
            written += write(table, folder)
    return parts


def _plot_section(catalog: Catalog, sets: list[EffectSet], folder: Path, written: list[Path]) -> list[str]:
    parts = ["## Plots\n"]
    for name, curve in CURVES.items():
        reason = scaling_skip_reason(catalog, name) if curve.plot else None
        if reason and reason != "no values":
            parts.append(f"- No {curve.title.lower()} vs resolution plot: {reason}.\n")
    figures = build_figures(catalog, sets)
    for stem, fig in figures.items():
        written += save(fig, folder, PLOT_PREFIX + stem)
        parts.append(f"![{stem}]({PLOT_PREFIX}{stem}.png)\n\n(PDF: `{PLOT_PREFIX}{stem}.pdf`)\n")
    if not figures:
        parts.append("None: no cell of this grid has a value to plot.\n")
    return parts


def _remove_stale(folder: Path, written: set[Path]) -> None:
    """Delete tables and plots an earlier report wrote that this one did not, so none outlives its data."""
    for pattern in (f"{TABLE_PREFIX}*.csv", f"{TABLE_PREFIX}*.tex", f"{PLOT_PREFIX}*.png", f"{PLOT_PREFIX}*.pdf"):
        for path in folder.glob(pattern):
            if path not in written:
                path.unlink()


def _failures(rows: pd.DataFrame) -> str:
    """Every failed cell with its reason, so none hides behind a table."""
    failed = rows[rows["status"].ne("ok")]
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
