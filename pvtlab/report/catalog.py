"""Find the architectures of a grid, the paper's path and the factorial among them, and their accuracy rows.

An architecture (a ``Line``) is identified by its resolved config (``config_json``), not by its name: the
grid runs a measurement asked for twice only once and keeps the first name, so one architecture can carry
different names in different groups. The paper's PVTv1-Small is the factorial's non_overlap/pos_embed/sra
on pvt_v1_small: its FLOPs rows (asked for by both) carry the factorial name with the path's name in
``aliases``, its memory rows (asked for by the path only) the path's name. Selecting rows by config joins
them; a cells.csv without ``config_json`` is joined on (model, variant).

Accuracy rows are trained on the small model (``model`` = pvt_nano) with the toggles and style of a
full-size variant, named in ``base_model``; they are found by ``path_step`` or by toggles and base model.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import pandas as pd

from pvtlab.report.schema import TOGGLES

Combo = tuple[str, str, str]  # (patch_embed, position, attention)

COMBOS: list[Combo] = list(itertools.product(*[(old, new) for old, new, _ in TOGGLES.values()]))


@dataclass(frozen=True)
class Line:
    """One architecture: its model, a display name (all its names, "a = b") and how to select its cost rows."""

    model: str
    name: str
    keys: tuple[tuple[str, str], ...]

    def select(self) -> dict[str, str]:
        """Column=value pairs for ``select.measured`` / ``select.rows_of``."""
        return dict(self.keys)


@dataclass(frozen=True)
class Step:
    """One row of the paper's path: its step and its architecture."""

    step: int
    line: Line


def complexity_rows(cells: pd.DataFrame) -> pd.DataFrame:
    """Rows of the cost groups (everything but accuracy)."""
    return cells[cells["group"].ne("accuracy")]


def accuracy_rows(cells: pd.DataFrame) -> pd.DataFrame:
    return cells[cells["group"].eq("accuracy")]


def lines(cells: pd.DataFrame) -> list[Line]:
    """Every architecture with cost rows, in row order."""
    rows = complexity_rows(cells)
    by_config = rows["config_json"].notna()
    found: dict[tuple[tuple[str, str], ...], Line] = {}
    for keys, part in _grouped(rows[by_config], ["config_json"]) + _grouped(rows[~by_config], ["model", "variant"]):
        model = str(part["model"].iloc[0])
        found[keys] = Line(model, _display_name(part, model), keys)
    return list(found.values())


def _grouped(rows: pd.DataFrame, columns: list[str]) -> list[tuple[tuple[tuple[str, str], ...], pd.DataFrame]]:
    if rows.empty:
        return []
    groups = rows.groupby(columns, sort=False)
    return [(tuple(zip(columns, map(str, key if isinstance(key, tuple) else (key,)))), part) for key, part in groups]


def _display_name(rows: pd.DataFrame, model: str) -> str:
    """All names the rows give this architecture on ``model``, factorial names first: "a/b/c = v1_small"."""
    names = list(dict.fromkeys(rows.sort_values("in_factorial", ascending=False, kind="stable")["variant"]))
    for aliases in rows["aliases"].dropna():
        for alias in str(aliases).split(";"):
            alias_model, _, alias_variant = alias.partition(":")
            if alias_model == model and alias_variant not in names:
                names.append(alias_variant)
    return " = ".join(map(str, names))


def _line_of(all_lines: list[Line], row: pd.Series) -> Line:
    for line in all_lines:
        if all(str(row[k]) == v for k, v in line.keys):
            return line
    raise LookupError(f"no line for row {row.get('cell_id')}")


def paths(cells: pd.DataFrame) -> dict[str, list[Step]]:
    """The path(s) in the grid, keyed by a title: one path unless a step has several models (one per model)."""
    rows = complexity_rows(cells)
    rows = rows[rows["path_step"].notna()]
    if rows.empty:
        return _accuracy_paths(cells)
    all_lines = lines(cells)
    steps = list(dict.fromkeys(Step(int(r["path_step"]), _line_of(all_lines, r)) for _, r in rows.iterrows()))
    steps.sort(key=lambda s: (s.step, s.line.model))
    if len({s.step for s in steps}) == len(steps):
        return {"": steps}
    out: dict[str, list[Step]] = {}
    for step in steps:
        out.setdefault(step.line.model, []).append(step)
    return dict(sorted(out.items()))


def _accuracy_paths(cells: pd.DataFrame) -> dict[str, list[Step]]:
    """The path of a grid that only trained: its steps named by the accuracy rows (no cost rows to select)."""
    rows = accuracy_rows(cells)
    rows = rows[rows["path_step"].notna()]
    if rows.empty:
        return {}
    steps = []
    for step, part in rows.groupby("path_step", sort=True):
        model = str(part["base_model"].fillna(part["model"]).iloc[0])
        variant = str(part["variant"].iloc[0])
        steps.append(Step(int(step), Line(model, variant, (("model", model), ("variant", variant)))))
    return {"": steps}


def accuracy_for_step(cells: pd.DataFrame, step: Step) -> pd.DataFrame:
    """Accuracy rows of a path step: same ``path_step``, narrowed to the step's model when several match."""
    rows = accuracy_rows(cells)
    rows = rows[rows["path_step"].eq(step.step).fillna(False).astype(bool)]
    narrowed = with_name(rows, model=step.line.model)
    return _one_variant(narrowed if not narrowed.empty else rows)


def factorials(cells: pd.DataFrame) -> dict[str, dict[Combo, Line]]:
    """For each model with factorial rows (cost or accuracy): combination -> architecture, for those it has."""
    all_lines = lines(cells)
    rows = _factorial_rows(cells)
    unstyled = rows["group"].eq("accuracy") & rows["base_model"].isna()
    if (~unstyled).any():  # accuracy rows that do not name their full-size model join every model's table
        rows = rows[~unstyled]
    owner = rows["base_model"].fillna(rows["model"])
    out: dict[str, dict[Combo, Line]] = {}
    for model, part in rows.groupby(owner, sort=True):
        combos: dict[Combo, Line] = {}
        for combo in COMBOS:
            match = part[_combo_mask(part, combo)]
            cost = match[match["group"].ne("accuracy")]
            if len(cost):
                combos[combo] = _line_of(all_lines, cost.iloc[0])
            elif len(match):  # trained but not measured: a name, and keys that select no cost row
                variant = str(match["variant"].iloc[0])
                combos[combo] = Line(str(model), variant, (("model", str(model)), ("variant", variant)))
        if len(combos) > 1:
            out[str(model)] = combos
    return out


def accuracy_for_combo(cells: pd.DataFrame, model: str, combo: Combo) -> pd.DataFrame:
    """Accuracy rows of one combination trained in ``model``'s style (any style when the file lacks base_model)."""
    rows = _factorial_rows(accuracy_rows(cells))
    rows = rows[_combo_mask(rows, combo)]
    if rows["base_model"].notna().any():
        rows = with_name(rows, model=model)
    return _one_variant(rows)


def ordered_lines(cells: pd.DataFrame) -> list[Line]:
    """Every architecture with cost rows: path first by step, then factorials by model, then the rest."""
    order: list[Line] = []
    for steps in paths(cells).values():
        order += [s.line for s in steps]
    for combos in factorials(cells).values():
        order += [combos[c] for c in COMBOS if c in combos]
    order += lines(cells)
    known = {line.keys for line in lines(cells)}
    return [line for line in dict.fromkeys(order) if line.keys in known]


def with_name(rows: pd.DataFrame, model: str | None = None, variant: str | None = None) -> pd.DataFrame:
    """Rows with a name matching ``model`` and/or ``variant`` (None matches anything); own name or alias."""
    if rows.empty:
        return rows
    own_model = rows["base_model"].fillna(rows["model"]).astype(str)
    mask = pd.Series(True, index=rows.index)
    if model is not None:
        mask &= own_model.eq(model)
    if variant is not None:
        mask &= rows["variant"].astype(str).eq(variant)
    aliases = ";" + rows["aliases"].fillna("").astype(str) + ";"
    m = re.escape(model) if model is not None else "[^;:]*"
    v = re.escape(variant) if variant is not None else "[^;]*"
    mask |= aliases.str.contains(f";{m}:{v};", regex=True)
    return rows[mask]


def _factorial_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows marked as factorial cells; all rows when the file does not say (no ``in_factorial`` values)."""
    flag = rows["in_factorial"]
    return rows[flag.fillna(False).astype(bool)] if flag.notna().any() else rows


def _combo_mask(rows: pd.DataFrame, combo: Combo) -> pd.Series:
    mask = pd.Series(True, index=rows.index)
    for toggle, value in zip(TOGGLES, combo):
        mask &= rows[toggle].eq(value).fillna(False).astype(bool)
    return mask


def _one_variant(rows: pd.DataFrame) -> pd.DataFrame:
    """Keep the rows of the first variant name only, so two variants never mix into one mean."""
    if rows.empty:
        return rows
    return rows[rows["variant"].eq(rows["variant"].iloc[0])]
