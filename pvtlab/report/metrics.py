"""The numbers the path and factorial tables show per variant, each at a stated resolution with its unit.

Single-number columns use 224 px (the papers' ImageNet size) when the grid measured it, else its smallest
resolution; the "high" columns use the highest resolution the group ran at, where SRA's quadratic cost shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pvtlab.report.select import highest_resolution, reference_resolution, rows_of

# Peak memory column the tables and plots use: the increase over the memory held before the step is the
# activation memory that grows with resolution; the absolute peak also counts the process and the weights.
MEMORY_COLUMN = "peak_mem_mib"


@dataclass(frozen=True)
class Metric:
    """One per-variant number: which group and column it comes from, at which resolution."""

    key: str  # CSV column name, unit included
    header: str  # markdown / LaTeX header, unit included
    group: str
    column: str
    resolution: int | None
    unit: str
    decimals: int = 2


def cost_metrics(cells: pd.DataFrame) -> list[Metric]:
    """Params, GMACs (reference and high resolution), peak memory (high) and throughput (reference)."""
    out = []
    params_res = reference_resolution(cells, "params")
    if params_res is not None:
        out.append(Metric("params_m", "Params (M)", "params", "params_m", params_res, "M", 2))
    ref, high = reference_resolution(cells, "flops"), highest_resolution(cells, "flops")
    if ref is not None:
        out.append(Metric(f"gmacs_{ref}px", f"Compute @{ref} px (GMACs)", "flops", "gmacs", ref, "GMACs", 2))
    if high is not None and high != ref:
        out.append(Metric(f"gmacs_{high}px", f"Compute @{high} px (GMACs)", "flops", "gmacs", high, "GMACs", 2))
    mem = highest_resolution(cells, "memory")
    if mem is not None:
        out.append(Metric(f"peak_mem_mib_{mem}px", f"Peak memory @{mem} px (MiB)", "memory", MEMORY_COLUMN, mem, "MiB", 0))
    speed = reference_resolution(cells, "throughput")
    if speed is not None:
        header = f"Throughput @{speed} px (img/s)"
        out.append(Metric(f"infer_img_per_s_{speed}px", header, "throughput", "infer_img_per_s_median", speed, "img/s", 1))
    return out


def accuracy_source(cells: pd.DataFrame) -> str | None:
    """ "pvt_nano @64 px": the model(s) and resolution(s) accuracy was trained at; None when nothing trained."""
    rows = rows_of(cells, "accuracy")
    if rows.empty:
        return None
    models = ", ".join(sorted(rows["model"].dropna().astype(str).unique()))
    sizes = ", ".join(str(int(r)) for r in sorted(rows["resolution"].dropna().unique()))
    return f"{models} @{sizes} px"


def accuracy_header(cells: pd.DataFrame) -> str | None:
    """ "Top-1 (%), pvt_nano @64 px" for the accuracy column, or None when the grid trained nothing."""
    source = accuracy_source(cells)
    return None if source is None else f"Top-1 (%), {source}"
