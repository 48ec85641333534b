"""Pick rows out of a loaded cells frame and turn them into table entries, failures included.

Every lookup answers with an ``Entry``: the number when the cell ran, "failed (reason)" when it failed,
"not run" when no such cell exists. The report never has to guess what an empty value meant.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from pvtlab.report.table import Entry, missing
from pvtlab.stats import summarize

REASON_CHARS = 80


def current(cells: pd.DataFrame) -> pd.DataFrame:
    """The rows the report describes: no stale-spec rows, and one row per cell (an ok row wins over a failed one)."""
    rows = cells[~cells["stale_spec"].fillna(False).astype(bool)]
    if rows["cell_id"].notna().any():
        order = rows.assign(_ok=rows["status"].eq("ok"), _pos=range(len(rows)))
        order = order.sort_values(["_ok", "_pos"])
        keep = ~order["cell_id"].notna() | ~order.duplicated("cell_id", keep="last")
        rows = order[keep].sort_values("_pos").drop(columns=["_ok", "_pos"])
    return rows


def failed_note(error: object) -> str:
    """ "failed (first line of the error)", shortened to stay readable in a table."""
    text = "" if error is None or (isinstance(error, float) and math.isnan(error)) else str(error)
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    reason = lines[-1] if lines and lines[0].startswith("Traceback") else (lines[0] if lines else "no reason recorded")
    if len(reason) > REASON_CHARS:
        reason = reason[: REASON_CHARS - 3] + "..."
    return f"failed ({reason})"


def rows_of(cells: pd.DataFrame, group: str, **keys: object) -> pd.DataFrame:
    """Rows of one measurement group matching every key (column=value); missing values match nothing."""
    return cells.iloc[_positions(cells, group, **keys)]


def _positions(cells: pd.DataFrame, group: str, **keys: object) -> np.ndarray:
    mask = _column(cells, "group") == group
    for column, value in keys.items():
        mask &= _column(cells, column) == value
    return np.flatnonzero(mask)


def _column(cells: pd.DataFrame, name: str) -> np.ndarray:
    """A column as plain Python objects, None for missing: numpy compares these far faster than pandas."""
    return cells[name].to_numpy(dtype=object, na_value=None)


def measured(cells: pd.DataFrame, group: str, column: str, **keys: object) -> Entry:
    """The value of ``column`` in the one cell of ``group`` matching ``keys``, or why there is none."""
    found = _positions(cells, group, **keys)  # positions, not a sub-frame: this runs hundreds of times
    if not len(found):
        return missing("not run")
    status = cells["status"].to_numpy(dtype=object, na_value=None)[found]
    ok = found[status == "ok"]
    if len(ok):
        value = cells[column].iloc[ok[-1]]
        if pd.isna(value):
            return missing(f"no {column} recorded")
        return Entry(value=float(value))
    return missing(failed_note(cells["error"].iloc[found[-1]]))


def seed_values(cells: pd.DataFrame, column: str, **keys: object) -> tuple[pd.Series, list[str]]:
    """Accuracy per seed (indexed by seed) for the matching cells, and the failure notes of failed seeds."""
    rows = rows_of(cells, "accuracy", **keys)
    ok = rows[rows["status"].eq("ok") & rows[column].notna()]
    values = ok.groupby("seed")[column].last().astype(float)
    failed = rows[~rows["status"].eq("ok") & ~rows["seed"].isin(values.index)]
    return values, [failed_note(e) for e in failed["error"]]


def seed_entry(values: pd.Series, failures: list[str]) -> Entry:
    """Mean ± 95% CI over seeds, with n; says so when seeds failed or none ran."""
    note = None
    if failures:
        note = f"{len(failures)} seed(s) {failures[0]}"
    if values.empty:
        return missing(failures[0] if failures else "not run")
    stats = summarize(values.to_numpy())
    return Entry(value=stats["mean"], ci=stats["ci95_half"], n=int(stats["n"]), note=note)


def reference_resolution(cells: pd.DataFrame, group: str, preferred: int = 224) -> int | None:
    """The resolution a single-number column reports: 224 px when the group has it, else its smallest."""
    values = rows_of(cells, group)["resolution"].dropna()
    if values.empty:
        return None
    return preferred if (values == preferred).any() else int(values.min())


def highest_resolution(cells: pd.DataFrame, group: str) -> int | None:
    """The highest resolution any cell of the group ran (or tried to) at."""
    values = rows_of(cells, group)["resolution"].dropna()
    return None if values.empty else int(values.max())
