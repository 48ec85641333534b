"""The grid's structure as the report looks it up: ``load_structure(folder)`` reads it from grid.json.

The grid writes it when it starts (``pvtlab.grid.structure``): every other name of a cell measured once for
several names, and each path step's setting and paper model. Rows without one (a DataFrame passed in, or a
folder whose grid.json predates it) get ``from_rows``: names from the rows' ``aliases`` column and no path
entries, so the catalog names each step from its configs (``pvtlab.naming``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from pvtlab.files import GRID_FILE


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
