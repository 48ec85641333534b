"""The files a study writes and reads: their names inside ``results/<name>/``, writing one atomically, and loading
a torch file (checkpoint, weights) without running code from it. The grid, the report and training share them."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import torch

# File names inside a study folder ``results/<name>/``: defined here once, used by the grid and the report.
CELLS_FILE = "cells.csv"  # one row per cell (see pvtlab.columns)
GRID_FILE = "grid.json"  # the grid's spec hash and its last run (wall time, workers, threads)
SPEC_COPY = "spec.yaml"  # the spec as it was last run
JOURNAL_FILE = "optuna.journal"  # the default Optuna storage that dispatches cells
REPORT_FILE = "report.md"
LOGS_DIR = "logs"  # per-worker logs
CHECKPOINTS_DIR = "checkpoints"  # <cell_id>.pt of accuracy cells in flight; removed once the row is written


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a hidden temp file beside ``path``, then rename: a kill leaves the old file or the new one."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class RefusedFile(ValueError):
    """A file that holds pickled objects other than tensors and plain values (they could run code on load)."""


def load_plain(path: str | os.PathLike) -> Any:
    """``torch.load(path, weights_only=True)`` onto the CPU; RefusedFile (with the unpickler's first line as its
    message) for a file that would need anything else."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        text = str(err).strip()
        raise RefusedFile(text.splitlines()[0] if text else type(err).__name__) from None
