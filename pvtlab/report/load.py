"""Reading a grid's rows: ``load(path)`` types ``cells.csv`` (every row kept), ``current`` picks the rows a report
describes, ``failed_note`` says why a cell has no value.

``load`` keeps failed and stale rows: deciding what to show is the report's job, and a notebook user may want
exactly the rows the report leaves out.

Reading the grid's structure: ``load_structure(folder)`` reads it from grid.json. The grid writes it when it starts
(``pvtlab.grid.structure``): every other name of a cell measured once for several names, and each path step's
setting and paper model. Rows without one (a DataFrame passed in, or a folder whose grid.json predates it) get
``from_rows``: names from the rows' ``aliases`` column and no path entries, so the catalog names each step from
its configs (``pvtlab.naming``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from pvtlab.columns import COLUMNS, REQUIRED, Kind
from pvtlab.errors import UserInputError
from pvtlab.files import CELLS_FILE, GRID_FILE

REASON_CHARS = 80

_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


def cells_path(path: str | Path) -> Path:
    """The cells.csv a user meant: the file itself, or ``<dir>/cells.csv`` for a results folder."""
    path = Path(path)
    if path.is_dir():
        path = path / CELLS_FILE
        if not path.is_file():
            raise UserInputError(f"results folder '{path.parent}' has no {CELLS_FILE}: run the grid first")
        return path
    if not path.is_file():
        raise UserInputError(f"results path '{path}' does not exist: give a results folder or its {CELLS_FILE}")
    return path


def load(path: str | Path) -> pd.DataFrame:
    """Read ``results/<name>/`` (or a cells.csv) into one row per cell with typed columns.

    Known columns get their type from ``pvtlab.columns.COLUMNS`` (nullable ints and bools, floats, UTC datetimes,
    strings); known columns the file lacks are added empty so code can rely on them; unknown columns are
    kept, as numbers when every value parses as one.
    """
    csv = cells_path(path)
    try:
        raw = pd.read_csv(csv, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise UserInputError(f"'{csv}' is empty: it has no header row") from None
    missing = [name for name in REQUIRED if name not in raw.columns]
    if missing:
        raise UserInputError(f"'{csv}' lacks the column(s) {', '.join(missing)}; required: {', '.join(REQUIRED)}")
    frame = pd.DataFrame(index=raw.index)
    for name, column in COLUMNS.items():
        values = raw[name] if name in raw.columns else pd.Series([""] * len(raw), index=raw.index, dtype=str)
        frame[name] = _typed(values, column.kind, name, csv)
    for name in raw.columns:
        if name not in COLUMNS:
            frame[name] = _guess(raw[name])
    return frame


def _typed(values: pd.Series, kind: Kind, name: str, csv: Path) -> pd.Series:
    """Convert one column of strings; a value that does not parse is a corrupt file, named exactly."""
    text = values.str.strip()
    blank = text == ""
    if kind == "str":
        return text.where(~blank)
    if kind == "datetime":
        parsed = pd.to_datetime(text.where(~blank, None), utc=True, errors="coerce", format="ISO8601")
        _check(parsed.isna() & ~blank, text, name, csv, "an ISO 8601 date")
        return parsed
    if kind == "bool":
        lower = text.str.lower()
        bad = ~(blank | lower.isin(_TRUE | _FALSE))
        _check(bad, text, name, csv, "true or false")
        return pd.Series([None if b else (v in _TRUE) for v, b in zip(lower, blank)], index=text.index, dtype="boolean")
    numbers = pd.to_numeric(text.where(~blank, None), errors="coerce")
    _check(numbers.isna() & ~blank & ~text.str.lower().isin({"nan", "inf", "-inf"}), text, name, csv, "a number")
    if kind == "int":
        finite = numbers.where(numbers.abs() != math.inf)
        _check((finite.fillna(0) % 1 != 0) | (finite.isna() & ~blank), text, name, csv, "a whole number")
        return finite.astype("Int64")
    return numbers.astype("float64")


def _check(bad: pd.Series, text: pd.Series, name: str, csv: Path, allowed: str) -> None:
    """Raise on the first unparsable value, naming file, column, row and value."""
    if bad.any():
        row = int(bad.idxmax())
        raise UserInputError(
            f"'{csv}' row {row + 2} column '{name}' has '{text[row]}': expected {allowed} or an empty field"
        )


def _guess(values: pd.Series) -> pd.Series:
    """An unknown column: numbers when every non-empty value is one, strings otherwise."""
    text = values.str.strip()
    blank = text == ""
    numbers = pd.to_numeric(text.where(~blank, None), errors="coerce")
    if (numbers.notna() | blank).all() and not blank.all():
        return numbers.astype("float64")
    return text.where(~blank)


def current(cells: pd.DataFrame) -> pd.DataFrame:
    """The rows the report describes: no stale-spec rows, and one row per cell (an ok row wins over a failed one)."""
    rows = cells[~cells["stale_spec"].fillna(False).astype(bool)]
    order = rows.assign(_ok=rows["status"].eq("ok"), _pos=range(len(rows))).sort_values(["_ok", "_pos"])
    keep = order["cell_id"].isna() | ~order.duplicated("cell_id", keep="last")
    return order[keep].sort_values("_pos").drop(columns=["_ok", "_pos"])


def failed_note(error: object) -> str:
    """ "failed (first line of the error)", shortened to stay readable in a table."""
    text = "" if error is None or (isinstance(error, float) and math.isnan(error)) else str(error)
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    reason = lines[-1] if lines and lines[0].startswith("Traceback") else (lines[0] if lines else "no reason recorded")
    if len(reason) > REASON_CHARS:
        reason = reason[: REASON_CHARS - 3] + "..."
    return f"failed ({reason})"


@dataclass(frozen=True)
class Structure:
    """Cell id -> its other (model, variant) names; path steps as the grid wrote them."""

    aliases: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    path: list[dict[str, Any]] = field(default_factory=list)

    def other_names(self, cell_ids: list[str], model: str) -> list[str]:
        """The other variant names on ``model`` of the cells ``cell_ids``, in cell then alias order."""
        return [variant for cid in cell_ids for m, variant in self.aliases.get(cid, ()) if m == model]

    def step(self, step: int, model: str, before: int | None) -> dict[str, Any] | None:
        """Path step ``step`` on ``model`` named against step ``before``: setting, trained_setting, paper,
        trained_paper; None when unknown, or when the grid named it against another step (one without rows)."""
        found = self.path[step]["models"].get(model) if step < len(self.path) else None
        return found if found and found.get("before") == before else None


def load_structure(folder: str | Path) -> Structure | None:
    """The structure in ``folder``'s grid.json; None when there is none (re-run ``--grid`` to write it: finished
    cells are reused, nothing is measured again)."""
    path = Path(folder) / GRID_FILE
    raw = json.loads(path.read_text()).get("structure") if path.exists() else None
    if not raw:
        return None
    aliases = {cid: [(m, v) for m, v in names] for cid, names in raw.get("aliases", {}).items()}
    return Structure(aliases=aliases, path=list(raw.get("path", [])))


def from_rows(rows: pd.DataFrame) -> Structure:
    """The part of the structure the rows carry: each cell's other names from its ``aliases`` column."""
    aliases: dict[str, list[tuple[str, str]]] = {}
    for cid, text in zip(rows["cell_id"], rows["aliases"]):
        if isinstance(text, str) and text:
            aliases[str(cid)] = [tuple(alias.split(":", 1)) for alias in text.split(";")]  # type: ignore[misc]
    return Structure(aliases=aliases)
