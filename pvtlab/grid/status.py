"""Where a grid stands: counts for the progress bar, rows to copy from the storage into cells.csv, labels."""

from __future__ import annotations

from typing import Any

from .cells import Grid
from .dispatch import DONE, FAILED_STATE, RUNNING, WAITING, Queue
from .execute import labels
from .progress import Counts
from .results import ResultsFile


def counts(grid: Grid, states: dict[str, str], rows: dict[str, dict[str, str]]) -> Counts:
    """Where each cell of this spec stands; cells the queue does not know fall back to cells.csv."""
    tally = {DONE: 0, FAILED_STATE: 0, RUNNING: 0, WAITING: 0}
    for cell in grid.cells:
        state = states.get(cell.cell_id)
        if state not in tally:
            status = rows.get(cell.cell_id, {}).get("status")
            state = DONE if status == "ok" else FAILED_STATE if status == "failed" else WAITING
        tally[state] += 1
    return Counts(done=tally[DONE], failed=tally[FAILED_STATE], running=tally[RUNNING], waiting=tally[WAITING])


def sync_rows(queue: Queue, results: ResultsFile) -> int:
    """Copy rows finished elsewhere (other machines, or a worker killed before writing) into cells.csv."""
    current = results.by_id()
    newest: dict[str, dict[str, Any]] = {}
    for row in queue.rows():
        newest[row["cell_id"]] = row
    missing = [row for cid, row in newest.items()
               if cid not in current or str(row.get("finished_at", "")) > current[cid].get("finished_at", "")]
    results.upsert(missing)
    return len(missing)


def current_labels(grid: Grid) -> dict[str, dict[str, Any]]:
    """Cell id -> the names this spec gives the cell (for ``ResultsFile.refresh``)."""
    return {cell.cell_id: labels(cell) for cell in grid.cells}


def duration(secs: float) -> str:
    """A human wall time: seconds, minutes or hours."""
    secs = max(0.0, secs)
    if secs < 90:
        return f"{secs:.0f} s"
    if secs < 5400:
        return f"{secs / 60:.1f} min"
    return f"{secs / 3600:.1f} h"
