"""The numbers the path and factorial tables show per variant, each at a stated resolution with its unit.

Single-number columns use 224 px (the papers' ImageNet size) when the grid measured it, else its smallest
resolution; the "high" columns use the highest resolution the group ran at, where SRA's quadratic cost shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pvtlab.report.select import highest_resolution, reference_resolution, rows_of

# Peak memory column the tables and plots use: the increase over the memory held once model and batch exist
# is the activation memory that grows with resolution. The absolute peak (peak_mem_mib) also counts the Python
# process on CPU (hundreds of MiB that flatten any scaling curve); the complexity section shows it too.
MEMORY_COLUMN = "peak_mem_over_idle_mib"
MEMORY_TITLE = "Peak memory over idle"
MEMORY_NOTE = ("Peak memory over idle: the peak of an inference step minus the memory held once model and batch "
               "exist, i.e. what the activations need (absolute peaks: table_complexity_peak_mem_total).")
ACCURACY_KEY = "top1_acc_pct"


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
        header = f"{MEMORY_TITLE} @{mem} px{batch_text(cells, 'memory')} (MiB)"
        out.append(Metric(f"{MEMORY_COLUMN}_{mem}px", header, "memory", MEMORY_COLUMN, mem, "MiB", 0))
    speed = reference_resolution(cells, "throughput")
    if speed is not None:
        header = f"Throughput @{speed} px{batch_text(cells, 'throughput')} (img/s)"
        out.append(Metric(f"infer_img_per_s_{speed}px", header, "throughput", "infer_img_per_s_median", speed,
                          "img/s", 1))
    return out


def batch_text(cells: pd.DataFrame, group: str) -> str:
    """ ", batch 8" when every cell of the group ran at one batch size, ", batch 4-8" when they differ."""
    sizes = sorted(int(b) for b in rows_of(cells, group)["batch_size"].dropna().unique())
    if not sizes:
        return ""
    return f", batch {sizes[0]}" if len(sizes) == 1 else f", batch {sizes[0]}-{sizes[-1]}"


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
