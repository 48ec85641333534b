"""The full 2x2x2 factorial: all eight combinations per model, and tidy data for the effect estimates.

The paper's path shows one order of adding the improvements; the factorial shows what each buys on its
own and whether they add up, which the main-effect and interaction tables (``effects_tables``) spell out.
"""

from __future__ import annotations

import pandas as pd

from pvtlab.report.catalog import COMBOS, Combo, accuracy_for_combo, factorials
from pvtlab.report.metrics import ACCURACY_KEY, Metric, accuracy_header, cost_metrics
from pvtlab.report.schema import TOGGLES
from pvtlab.report.select import measured, seed_entry, seed_values
from pvtlab.report.table import Col, Table, label, missing


def factorial_tables(cells: pd.DataFrame) -> list[Table]:
    """One table per model that has factorial rows, the eight combinations in a fixed order."""
    found = factorials(cells)
    metrics = cost_metrics(cells)
    acc_header = accuracy_header(cells)
    tables = []
    for model, combos in found.items():
        columns = [Col(t, f"{name} ({t})") for t, (_, _, name) in TOGGLES.items()] + [Col("variant", "Variant")]
        columns += [Col(m.key, m.header, m.decimals) for m in metrics]
        if acc_header:
            columns.append(Col(ACCURACY_KEY, acc_header, 2))
        name = "factorial" if len(found) == 1 else f"factorial_{model}"
        table = Table(name, f"Full factorial on {model}: every combination of the three toggles", columns)
        for combo in COMBOS:
            row = [label(value) for value in combo]
            line = combos.get(combo)
            if line is None:
                row.append(missing("not in the grid"))
                row += [missing("not run") for _ in metrics]
            else:
                row.append(label(line.name))
                row += [measured(cells, m.group, m.column, resolution=m.resolution, **line.select()) for m in metrics]
            if acc_header:
                row.append(seed_entry(*seed_values(accuracy_for_combo(cells, model, combo), "top1_acc")))
            table.add(row)
        note = f"Cost columns: {model} itself."
        if acc_header:
            note += (f" Top-1: the small training model with {model}'s toggles and style, mean ± 95% CI over "
                     "seeds (n = seeds).")
        table.notes.append(note)
        tables.append(table)
    return tables


def cost_data(cells: pd.DataFrame, model: str, metric: Metric) -> pd.DataFrame:
    """One row per combination: the toggles and the metric's value (NaN where the cell failed or is missing)."""
    combos = factorials(cells).get(model, {})
    rows = []
    for combo in COMBOS:
        value = float("nan")
        if combo in combos:
            entry = measured(cells, metric.group, metric.column, resolution=metric.resolution,
                             **combos[combo].select())
            value = entry.value if entry.has_value else float("nan")
        rows.append(_toggles(combo) | {"value": value})
    return pd.DataFrame(rows)


def accuracy_data(cells: pd.DataFrame, model: str, column: str = "top1_acc") -> pd.DataFrame:
    """One row per (combination, seed) trained in ``model``'s style: the toggles, ``seed`` and ``value``."""
    rows = []
    for combo in COMBOS:
        values, _ = seed_values(accuracy_for_combo(cells, model, combo), column)
        rows += [_toggles(combo) | {"seed": int(seed), "value": float(v)} for seed, v in values.items()]
    return pd.DataFrame(rows, columns=[*TOGGLES, "seed", "value"])


def _toggles(combo: Combo) -> dict[str, str]:
    return dict(zip(TOGGLES, combo))
