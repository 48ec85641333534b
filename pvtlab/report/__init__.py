"""Reading grid results and turning them into the tables and plots a paper needs.

``load(path)`` is the one reader notebooks and users share; ``write_report(results_dir)`` writes
report.md, a .csv and .tex per table and a .png and .pdf per plot next to cells.csv.
"""

from pvtlab.report.effects import interactions, main_effects
from pvtlab.report.load import load
from pvtlab.report.render import markdown
from pvtlab.report.select import current
from pvtlab.report.write import build_figures, build_tables, write_report

__all__ = [
    "build_figures",
    "build_tables",
    "current",
    "interactions",
    "load",
    "main_effects",
    "markdown",
    "write_report",
]
