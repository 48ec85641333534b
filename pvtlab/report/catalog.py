"""Find the paper's path and the factorial among a grid's variants.

The path is the rows with a ``path_step``; the factorial is every (model, toggle combination) whose three
toggles take their PVTv1 or PVTv2 values. A path variant that coincides with a factorial combination on
the same model fills that combination when the factorial itself has no row for it, so a grid that ran
each distinct config once still has a full factorial.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pandas as pd

from pvtlab.report.schema import TOGGLES

Combo = tuple[str, str, str]  # (patch_embed, position, attention)

COMBOS: list[Combo] = list(itertools.product(*[(old, new) for old, new, _ in TOGGLES.values()]))


@dataclass(frozen=True)
class Step:
    """One row of the paper's path: its step and the (model, variant) measured for it."""

    step: int
    model: str
    variant: str


def complexity_rows(cells: pd.DataFrame) -> pd.DataFrame:
    """Rows of the cost groups (everything but accuracy)."""
    return cells[cells["group"].ne("accuracy")]


def paths(cells: pd.DataFrame) -> dict[str, list[Step]]:
    """The path(s) in the grid, keyed by a title; one path unless several models each carry their own."""
    rows = complexity_rows(cells)
    rows = rows[rows["path_step"].notna()]
    pairs = rows[["path_step", "model", "variant"]].drop_duplicates().sort_values(["path_step", "model", "variant"])
    if pairs.empty:
        return {}
    if not pairs["path_step"].duplicated().any():
        return {"": [Step(int(s), m, v) for s, m, v in pairs.itertuples(index=False)]}
    out: dict[str, list[Step]] = {}
    for model, part in pairs.groupby("model", sort=True):
        out[str(model)] = [Step(int(s), m, v) for s, m, v in part.itertuples(index=False)]
    return out


def combo_of(row: pd.Series) -> Combo | None:
    """The factorial combination a row is, or None when a toggle has a value outside the factorial."""
    combo = tuple(row[t] for t in TOGGLES)
    return combo if combo in COMBOS else None  # type: ignore[return-value]


def factorials(cells: pd.DataFrame) -> dict[str, dict[Combo, str]]:
    """For each model with factorial rows: combination -> variant, for the combinations it has."""
    rows = complexity_rows(cells)
    out: dict[str, dict[Combo, str]] = {}
    for prefer_path in (False, True):  # factorial rows first, path rows only fill gaps
        part = rows[rows["path_step"].notna() == prefer_path]
        for model, variant, *combo in part[["model", "variant", *TOGGLES]].drop_duplicates().itertuples(index=False):
            key = tuple(combo)
            if key in COMBOS and (prefer_path is False or model in out):
                out.setdefault(model, {}).setdefault(key, variant)  # type: ignore[arg-type]
    return {model: combos for model, combos in sorted(out.items()) if len(combos) > 1}


def accuracy_rows(cells: pd.DataFrame) -> pd.DataFrame:
    return cells[cells["group"].eq("accuracy")]


def accuracy_for_combo(cells: pd.DataFrame, combo: Combo) -> pd.DataFrame:
    """Accuracy rows of one factorial combination (factorial rows first; path rows if there are none)."""
    rows = accuracy_rows(cells)
    mask = pd.Series(True, index=rows.index)
    for toggle, value in zip(TOGGLES, combo):
        mask &= rows[toggle].eq(value).fillna(False)
    match = rows[mask]
    own = match[match["path_step"].isna()]
    if len(own):
        return own[own["variant"].eq(own["variant"].iloc[0])]
    return match[match["variant"].eq(match["variant"].iloc[0])] if len(match) else match


def accuracy_for_step(cells: pd.DataFrame, step: Step) -> pd.DataFrame:
    """Accuracy rows of a path variant: same variant name; failing that, same path step."""
    rows = accuracy_rows(cells)
    match = rows[rows["variant"].eq(step.variant)]
    if match.empty:
        match = rows[rows["path_step"].eq(step.step).fillna(False)]
    return match


def variant_order(cells: pd.DataFrame) -> list[tuple[str, str]]:
    """Every (model, variant) with cost rows: path first by step, then factorials by model, then the rest."""
    order: list[tuple[str, str]] = []
    for steps in paths(cells).values():
        order += [(s.model, s.variant) for s in steps]
    for model, combos in factorials(cells).items():
        order += [(model, combos[c]) for c in COMBOS if c in combos]
    rows = complexity_rows(cells)
    order += sorted(map(tuple, rows[["model", "variant"]].drop_duplicates().itertuples(index=False)))
    return list(dict.fromkeys(order))
