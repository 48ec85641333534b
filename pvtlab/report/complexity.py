"""Complexity by resolution: each cost per variant per input size, with its fitted scaling exponent.

This is where PVTv2's linear SRA shows: SRA's attention cost grows with the square of the token count
(exponent 4 in the side length), linear SRA's with the token count (exponent 2).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pvtlab.report.catalog import complexity_rows, ordered_lines
from pvtlab.report.metrics import MEMORY_COLUMN, MEMORY_TITLE, batch_text
from pvtlab.report.scaling import end_exponent, fit_exponent
from pvtlab.report.select import measured, rows_of
from pvtlab.report.table import Col, Entry, Table, label


@dataclass(frozen=True)
class Curve:
    """A cost measured across resolutions: which group and column, its title and unit."""

    name: str
    group: str
    column: str
    title: str
    unit: str
    decimals: int
    plot: bool = True  # False: a table only


CURVES: dict[str, Curve] = {
    "gmacs": Curve("gmacs", "flops", "gmacs", "Compute", "GMACs", 2),
    "attn_gmacs": Curve("attn_gmacs", "flops", "attn_gmacs", "Attention matmuls", "GMACs", 3),
    "peak_mem": Curve("peak_mem", "memory", MEMORY_COLUMN, f"{MEMORY_TITLE} (inference)", "MiB", 0),
    "peak_mem_total": Curve("peak_mem_total", "memory", "peak_mem_mib", "Peak memory, absolute (inference)", "MiB", 0,
                            plot=False),
    "throughput": Curve("throughput", "throughput", "infer_img_per_s_median", "Inference throughput", "img/s", 1),
}

EXPONENT_NOTE = (" Exponent k: the cost grows as (side length)^k, the slope of a least-squares line in log-log "
                 "space; 'top two' uses only the two highest resolutions that ran. For compute, k = 2 is linear "
                 "in the token count and k = 4 quadratic; a constant part (weights, the process) pulls k down.")


def curve_data(cells: pd.DataFrame, curve: Curve) -> pd.DataFrame:
    """Tidy rows (model, variant, resolution, value, note) of one curve, ``variant`` being the architecture's
    display name; value NaN with a note where the cell failed or did not run."""
    rows = rows_of(complexity_rows(cells), curve.group)
    resolutions = sorted(int(r) for r in rows["resolution"].dropna().unique())
    out = []
    for line in ordered_lines(cells):
        mine = rows_of(rows, curve.group, **line.select())
        if mine.empty:
            continue
        for resolution in resolutions:
            entry = measured(mine, curve.group, curve.column, resolution=resolution)
            out.append({"model": line.model, "variant": line.name, "resolution": resolution,
                        "value": entry.value if entry.has_value else float("nan"),
                        "note": None if entry.has_value else entry.note})
    return pd.DataFrame(out, columns=["model", "variant", "resolution", "value", "note"])


def exponents(data: pd.DataFrame) -> pd.DataFrame:
    """Per (model, variant): the log-log slope over all resolutions and over the two highest."""
    out = []
    for (model, variant), part in data.groupby(["model", "variant"], sort=False):
        res, val = part["resolution"].tolist(), part["value"].tolist()
        out.append({"model": model, "variant": variant, "exponent_fit": fit_exponent(res, val),
                    "exponent_end": end_exponent(res, val)})
    return pd.DataFrame(out, columns=["model", "variant", "exponent_fit", "exponent_end"])


def complexity_tables(cells: pd.DataFrame) -> list[Table]:
    """One table per curve with data: variants as rows, resolutions as columns, then the two exponents."""
    tables = []
    for curve in CURVES.values():
        data = curve_data(cells, curve)
        if _has_content(data):
            tables.append(_table(cells, curve, data))
    return tables


def _table(cells: pd.DataFrame, curve: Curve, data: pd.DataFrame) -> Table:
    resolutions = sorted(data["resolution"].unique())
    fitted = len(resolutions) > 1  # one resolution has no exponent: leave the columns out rather than n/a
    columns = [Col("model", "Model"), Col("variant", "Variant")]
    columns += [Col(f"{curve.name}_{r}px", f"{r} px", curve.decimals) for r in resolutions]
    if fitted:
        columns += [Col("exponent_fit", "Exponent (fit, all px)", 2),
                    Col("exponent_end", "Exponent (top two px)", 2)]
    title = f"{curve.title} by input resolution{batch_text(cells, curve.group)} ({curve.unit})"
    table = Table(f"complexity_{curve.name}", title, columns)
    slopes = exponents(data).set_index(["model", "variant"])
    for (model, variant), part in data.groupby(["model", "variant"], sort=False):
        by_res = part.set_index("resolution")
        row = [label(model), label(variant)]
        for r in resolutions:
            value, note = by_res.loc[r, "value"], by_res.loc[r, "note"]
            row.append(Entry(value=float(value)) if pd.notna(value) else Entry(note=note))
        if fitted:
            row += [_slope(slopes.loc[(model, variant), "exponent_fit"]),
                    _slope(slopes.loc[(model, variant), "exponent_end"])]
        table.add(row)
    note = f"Values in {curve.unit}."
    table.notes.append(note + (EXPONENT_NOTE if fitted else " One resolution only, so no scaling exponent."))
    return table


def _has_content(data: pd.DataFrame) -> bool:
    """True when some cell has a value or failed: a column no cell recorded is left out, not shown as blanks."""
    return bool(data["value"].notna().any() or data["note"].fillna("").str.startswith("failed").any())


def _slope(value: float) -> Entry:
    return Entry(value=float(value)) if pd.notna(value) else Entry(note="n/a (fewer than 2 points)")
