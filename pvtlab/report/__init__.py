"""Reading grid results and turning them into the tables and plots a paper needs.

``load(path)`` is the one reader notebooks and users share; ``write_report(results_dir)`` writes report.md, a
.csv and .tex per table and a .png and .pdf per plot next to cells.csv; ``plot_complexity(frame, metric)`` draws
any cost against resolution (the report's scaling plots, or ``pvtlab.measure.sweep``'s frame).
"""

from pvtlab.report.catalog import Catalog
from pvtlab.report.effects import interactions, main_effects
from pvtlab.report.plot_tools import plot_complexity
from pvtlab.report.load import current, load
from pvtlab.report.table import markdown
from pvtlab.report.write import build_figures, build_tables, write_report

__all__ = ["Catalog", "build_figures", "build_tables", "current", "interactions", "load", "main_effects",
           "markdown", "plot_complexity", "write_report"]
