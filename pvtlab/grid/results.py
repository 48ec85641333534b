"""``results/<name>/cells.csv``: one row per cell, rebuilt from the storage the moment a cell finishes.

The storage holds the truth while a grid runs (queue.py); cells.csv follows it. Several worker processes
write the same file, so every write takes a file lock, reads the current rows, replaces or appends rows
(keyed by ``cell_id``, so a cell re-run after a crash never appears twice) and swaps the whole file in with
``os.replace``: a reader or a kill at any instant sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import csv
import json
import math
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pvtlab.columns import COLUMNS as SCHEMA
from pvtlab.files import CELLS_FILE

from .hostlock import file_lock

# The schema's column order (pvtlab.columns); keys a measurement returns beyond it go last.
COLUMNS = tuple(SCHEMA)


def format_value(value: Any) -> str:
    """One CSV field: empty for missing, true/false for bools, JSON for lists and dicts, repr for floats."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def _filled(row: dict[str, str]) -> dict[str, str]:
    """A row without its empty fields: a column the file has and a row lacks reads back as empty."""
    return {key: value for key, value in row.items() if value != ""}


def expand_blocks(stored: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Cell id -> row, a paired timing block's row replaced by the rows of its arms (``arm_rows``)."""
    out: dict[str, dict[str, Any]] = {}
    for cid, row in stored.items():
        arms = row.get("arm_rows")
        if arms is None:
            out[cid] = row
            continue
        for arm in json.loads(arms) if isinstance(arms, str) else arms:
            out[arm["cell_id"]] = arm
    return out


class ResultsFile:
    """The cells.csv of one study folder; safe to use from many processes at once."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / CELLS_FILE
        self._lock = self.folder / f".{CELLS_FILE}.lock"

    def read(self) -> list[dict[str, str]]:
        """The rows as strings (empty list when there is no file yet); a reader never needs the lock."""
        if not self.path.exists():
            return []
        with open(self.path, newline="") as handle:
            return list(csv.DictReader(handle))

    def by_id(self) -> dict[str, dict[str, str]]:
        """Cell id -> row; a paired timing block's id -> the row of one of its arms (they share a status)."""
        rows = self.read()
        blocks = {row["timing_block"]: row for row in rows if row.get("timing_block")}
        return {**blocks, **{row["cell_id"]: row for row in rows}}

    def upsert(self, rows: Iterable[dict[str, Any]]) -> None:
        """Write ``rows``, each replacing any row with the same cell_id, in one atomic swap."""
        new = [{k: format_value(v) for k, v in row.items()} for row in rows]
        if not new:
            return
        with file_lock(self._lock):
            current = self.read()
            index = {row["cell_id"]: i for i, row in enumerate(current)}
            for row in new:
                if row["cell_id"] in index:
                    current[index[row["cell_id"]]] = row
                else:
                    index[row["cell_id"]] = len(current)
                    current.append(row)
            self._write(current)

    def follow(self, stored: dict[str, dict[str, Any]], current: dict[str, dict[str, Any]]) -> int:
        """Rebuild the file from the storage: each stored row replaces the file's row of its cell (rows of cells
        the storage does not hold stay), then the spec's labels apply (see ``refresh``). Written only when
        something changed; returns how many rows are stale."""
        with file_lock(self._lock):
            before = self.read()
            rows = [dict(row) for row in before]
            index = {row["cell_id"]: i for i, row in enumerate(rows)}
            for cid, row in expand_blocks(stored).items():
                text = {k: format_value(v) for k, v in row.items()}
                if cid in index:
                    rows[index[cid]] = text
                else:
                    index[cid] = len(rows)
                    rows.append(text)
            for row in rows:
                fresh = {"stale_spec": row["cell_id"] not in current, **current.get(row["cell_id"], {})}
                row.update({key: format_value(value) for key, value in fresh.items()})
            if [_filled(row) for row in rows] != [_filled(row) for row in before]:
                self._write(rows)
            return sum(row.get("stale_spec") == "true" for row in rows)

    def refresh(self, current: dict[str, dict[str, Any]]) -> int:
        """Bring rows in line with the spec being run: a row of a current cell gets that cell's labels
        (``current``: cell id -> model, variant, path_step, ...; a renamed variant or a cell that is now
        also a factorial combination shows as such), every other row is flagged ``stale_spec``.
        Returns how many rows are stale; the file is only rewritten when something changed."""
        return self.follow({}, current)

    def _write(self, rows: list[dict[str, str]]) -> None:
        extra = sorted({key for row in rows for key in row} - set(COLUMNS))
        columns = list(COLUMNS) + extra
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{CELLS_FILE}.", suffix=".tmp", dir=self.folder)
        try:
            os.fchmod(fd, 0o644)  # mkstemp's 0600 would hide the results from other users
            with os.fdopen(fd, "w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=columns, restval="")
                writer.writeheader()
                writer.writerows(rows)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
