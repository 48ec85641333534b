"""File names inside a study folder ``results/<name>/``: defined here once, used by the grid and the report."""

from __future__ import annotations

CELLS_FILE = "cells.csv"  # one row per cell (see pvtlab.columns)
GRID_FILE = "grid.json"  # the grid's spec hash and its last run (wall time, workers, threads)
SPEC_COPY = "spec.yaml"  # the spec as it was last run
JOURNAL_FILE = "optuna.journal"  # the default Optuna storage that dispatches cells
REPORT_FILE = "report.md"
LOGS_DIR = "logs"  # per-worker logs
CHECKPOINTS_DIR = "checkpoints"  # <cell_id>.pt of accuracy cells in flight; removed once the row is written
