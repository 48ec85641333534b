"""Cost against input resolution: each cost per variant per size with its scaling exponent, and where linear
SRA starts to pay.

A cost proportional to side^k has log-log slope k: 2 for work linear in the token count, 4 for attention
quadratic in it (PVTv1's SRA), near 2 for linear SRA. The slope over the two highest sizes shows where a model is
heading better than the fit over all of them, so both are reported.

The LSRA crossover has two answers. The closed form (``pvtlab.measure.crossover.lsra_crossover``) gives per
stage the input side from which linear SRA's two attention matmuls, and its whole attention layer with the
reducer, cost fewer MACs than SRA's. The measured one is the smallest side at which an LSRA variant's inference
throughput beats its SRA twin's (same other toggles) on this machine.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pvtlab.columns import COLUMNS
from pvtlab.measure.crossover import lsra_crossover
from pvtlab.models import PVTConfig
from pvtlab.report.catalog import Catalog, Line, short_label
from pvtlab.report.speed import UNRESOLVED, pair_ratio
from pvtlab.report.table import Col, Entry, Table, label, missing

CURVE_COLUMNS = ["panel", "label", "model", "variant", "resolution", "value", "note"]
PAIR_IGNORES = ("attention", "ffn_relu")  # B2-Li's FFN ReLU comes with its linear SRA in the official code


@dataclass(frozen=True)
class Curve:
    """A cost measured across resolutions: which group and column, its title and unit."""

    name: str
    group: str
    column: str
    title: str
    unit: str
    plot: bool = True  # False: a table only
    spread: str | None = None


CURVES: dict[str, Curve] = {
    "gmacs": Curve("gmacs", "flops", "gmacs", "Compute", "GMACs"),
    "attn_gmacs": Curve("attn_gmacs", "flops", "attn_gmacs", "Attention matmuls", "GMACs"),
    "peak_mem": Curve("peak_mem", "memory", "peak_mem_over_idle_mib", "Inference memory over idle", "MiB"),
    "train_peak_mem": Curve("train_peak_mem", "memory", "train_peak_mem_over_idle_mib", "Training memory over idle",
                            "MiB", plot=False),
    "peak_mem_total": Curve("peak_mem_total", "memory", "peak_mem_mib", "Inference memory, absolute peak", "MiB",
                            plot=False),
    "throughput": Curve("throughput", "throughput", "infer_img_per_s_median", "Inference throughput", "img/s",
                        spread="infer_img_per_s_iqr"),
    "train_throughput": Curve("train_throughput", "throughput", "train_img_per_s_median", "Training throughput",
                              "img/s", plot=False, spread="train_img_per_s_iqr"),
}


def metric_words(metric: str) -> tuple[str, str]:
    """(name in words, unit) of a cost column: the report's curve title ("Compute", "GMACs"), else the first
    clause of its cells.csv meaning, else the column name itself."""
    for curve in CURVES.values():
        if curve.column == metric:
            return curve.title, curve.unit
    column = COLUMNS.get(metric)
    if column is None:
        return metric, ""
    return column.meaning.split(",")[0].split(":")[0].capitalize(), column.unit


EXPONENT_NOTE = (" Exponent k: the cost grows as (side length)^k, the slope of a least-squares line in log-log "
                 "space; 'top two' uses only the two highest resolutions that ran. For compute, k = 2 is linear "
                 "in the token count and k = 4 quadratic; a constant part (weights, the process) pulls k down.")
CROSSOVER_NOTE = (
    "Closed form: the smallest input side from which LSRA's two attention matmuls (N x P^2 keys against SRA's "
    "N x (H/(s_i R_i))^2), and its whole attention layer (reducer included), take fewer MACs than SRA's; "
    "'never' where SRA stays cheaper at every side. Measured: the smallest side from which an LSRA variant's "
    "inference is faster than its SRA twin's (same other toggles) on this machine: paired by round, the 95% CI "
    "of the ratio above 1 (else its median img/s above the twin's).")
WHY_CROSSOVERS_DIFFER = (
    "Why the measured crossover differs from the closed form: the closed form counts multiply-accumulates only. "
    "Linear SRA adds work that MACs do not see (adaptive average pooling of the whole token map, a GELU and a "
    "LayerNorm on the pooled keys), and at small sides its matmuls against 49 pooled keys are small, so they run "
    "far below the machine's matmul peak while SRA's strided-conv reducer and larger matmuls use it better. Which "
    "attention kernel runs (the sdpa_backend column), the batch size and the thread count shift the point further; "
    "on a GPU, launch overheads dominate small inputs. So the measured side is usually larger than the MAC "
    "crossover, and it belongs to this machine, not to the architecture.")


def fit_exponent(resolutions: Sequence[float], values: Sequence[float]) -> float:
    """Least-squares slope of log(value) against log(resolution); NaN with fewer than two usable points."""
    points = _usable(resolutions, values)
    if len(points) < 2:
        return math.nan
    slope, _ = np.polyfit(np.log([p[0] for p in points]), np.log([p[1] for p in points]), 1)
    return float(slope)


def end_exponent(resolutions: Sequence[float], values: Sequence[float]) -> float:
    """Slope between the two highest resolutions with a usable value; NaN when there are not two."""
    points = _usable(resolutions, values)
    if len(points) < 2:
        return math.nan
    (r0, v0), (r1, v1) = points[-2], points[-1]
    return math.log(v1 / v0) / math.log(r1 / r0)


def _usable(resolutions: Sequence[float], values: Sequence[float]) -> list[tuple[float, float]]:
    """Positive, finite (resolution, value) pairs sorted by resolution, one per resolution."""
    if len(resolutions) != len(values):
        raise ValueError(f"{len(resolutions)} resolutions for {len(values)} values")
    points = {}
    for r, v in zip(resolutions, values):
        if r is not None and v is not None and math.isfinite(float(r)) and math.isfinite(float(v)) and r > 0 < v:
            points[float(r)] = float(v)
    return sorted(points.items())


def curve_data(catalog: Catalog, curve: Curve) -> pd.DataFrame:
    """Tidy rows (panel, label, model, variant, resolution, value, note) of one curve; ``variant`` is the
    architecture's display name, ``label`` its short name in the panel, value NaN with a note where the cell
    failed or did not run; an architecture in the path and in a factorial appears in both panels."""
    resolutions = catalog.resolutions(curve.group)
    out = []
    for title, members in catalog.panels():
        labels = {m.line: short_label(m) for m in reversed(members) if m.line}
        for line in dict.fromkeys(m.line for m in members if m.line):
            entries = [catalog.measured(line, curve.group, curve.column, r) for r in resolutions]
            if all(e.note == "not run" for e in entries):
                continue
            for resolution, entry in zip(resolutions, entries):
                out.append({"panel": title, "label": labels[line], "model": line.model, "variant": line.name,
                            "resolution": resolution,
                            "value": entry.value if entry.has_value else float("nan"),
                            "note": None if entry.has_value else entry.note})
    return pd.DataFrame(out, columns=CURVE_COLUMNS)


def complexity_tables(catalog: Catalog) -> list[Table]:
    """One table per curve with data: variants as rows, resolutions as columns, then the two exponents."""
    tables = []
    for curve in CURVES.values():
        data = curve_data(catalog, curve)
        if data["value"].notna().any() or data["note"].fillna("").str.startswith("failed").any():
            tables.append(_table(catalog, curve, data))
    return tables


def _table(catalog: Catalog, curve: Curve, data: pd.DataFrame) -> Table:
    resolutions = sorted(data["resolution"].unique())
    fitted = len(resolutions) > 1  # one resolution has no exponent: leave the columns out rather than n/a
    columns = [Col("model", "Model"), Col("variant", "Variant")]
    columns += [Col(f"{curve.name}_{r}px", f"{r} px") for r in resolutions]
    if fitted:
        columns += [Col("exponent_fit", "Exponent (fit, all px)"), Col("exponent_end", "Exponent (top two px)")]
    title = f"{curve.title} by input resolution{catalog.batch_text(curve.group)} ({curve.unit})"
    table = Table(f"complexity_{curve.name}", title, columns)
    lines = {(line.model, line.name): line for line in catalog.lines}
    unique = data.drop_duplicates(["model", "variant", "resolution"])  # a line in two panels is one table row
    for (model, variant), part in unique.groupby(["model", "variant"], sort=False):
        row = [label(model), label(variant)]
        for r, value, note in zip(part["resolution"], part["value"], part["note"]):
            spread = catalog.measured(lines[model, variant], curve.group, curve.spread, r) if curve.spread else None
            iqr = ("IQR", spread.value) if spread is not None and spread.has_value else None
            row.append(Entry(value=float(value), spread=iqr) if pd.notna(value) else Entry(note=note))
        if fitted:
            res, val = part["resolution"].tolist(), part["value"].tolist()
            row += [_slope(fit_exponent(res, val)), _slope(end_exponent(res, val))]
        table.add(row)
    note = f"Values in {curve.unit}" + (", median with its interquartile range (IQR)." if curve.spread else ".")
    table.notes.append(note + (EXPONENT_NOTE if fitted else " One resolution only, so no scaling exponent."))
    return table


def _slope(value: float) -> Entry:
    return Entry(value=float(value)) if pd.notna(value) else Entry(note="n/a (fewer than 2 points)")


def crossover_tables(catalog: Catalog, closed_form: Callable | None = None) -> list[Table]:
    """``lsra_crossover`` (per stage of each model: the closed-form sides and the measured one) and
    ``lsra_crossover_measured`` (per SRA/LSRA pair: the speed ratio at each side and where LSRA overtakes).

    ``closed_form(config) -> [{stage, stride, sr_ratio, pool_size, matmul_side_px, layer_side_px}, ...]``;
    the measure package's ``lsra_crossover`` unless one is given.
    """
    closed_form = closed_form or lsra_crossover
    pairs = sra_pairs(catalog)
    tables = []
    lines: dict[str, list[Line]] = {}
    for line in catalog.ordered_lines():
        lines.setdefault(line.model, []).append(line)
    if lines:
        tables.append(_closed_form_table(catalog, closed_form, lines, pairs))
    if pairs:
        tables.append(_measured_table(catalog, pairs))
    if tables:
        tables[-1].notes += [CROSSOVER_NOTE, WHY_CROSSOVERS_DIFFER]
    return tables


def _closed_form_table(catalog: Catalog, closed_form: Callable, lines: dict[str, list[Line]],
                       pairs: list[tuple[Line, Line]]) -> Table:
    """Per stage of each model: the closed-form sides, and the measured side of the model's own SRA/LSRA pair."""
    columns = [Col("model", "Model"), Col("stage", "Stage"), Col("stride", "Stride s_i"),
               Col("sr_ratio", "SR ratio R_i"), Col("pool_size", "Pool P"),
               Col("matmul_side_px", "Matmuls cheaper from (px)"),
               Col("layer_side_px", "Whole layer cheaper from (px)"),
               Col("measured_side_px", "Measured: LSRA faster from (px)")]
    table = Table("lsra_crossover", "Where linear SRA starts to pay: input side from which it costs less than SRA",
                  columns)
    for model, found in lines.items():
        line = next((x for x in found if (catalog.config_of(x) or {}).get("attention") == "sra"), found[0])
        pair = next((p for p in pairs if p[0] == line), next((p for p in pairs if p[0].model == model), None))
        side, text = measured_crossover(catalog, *pair) if pair else (None, "no SRA/LSRA pair timed")
        measured = Entry(value=float(side)) if side is not None else missing(text)
        for stage in closed_form(_config(catalog, line)):
            table.add([label(model), label(stage.get("stage", "-"))]
                      + [_side(stage.get(k)) for k in ("stride", "sr_ratio", "pool_size", "matmul_side_px",
                                                       "layer_side_px")] + [measured])
    table.notes.append("Measured: the model's own SRA variant against its LSRA twin (all pairs: the next table).")
    return table


def _measured_table(catalog: Catalog, pairs: list[tuple[Line, Line]]) -> Table:
    """Per SRA/LSRA pair: LSRA's inference img/s over SRA's at each side timed, and where LSRA overtakes."""
    sides = catalog.resolutions("throughput")
    columns = [Col("model", "Model"), Col("sra", "SRA variant"), Col("lsra", "LSRA variant")]
    columns += [Col(f"speed_ratio_{r}px", f"LSRA / SRA img/s @{r} px") for r in sides]
    columns.append(Col("measured_side_px", "LSRA faster from (px)"))
    table = Table("lsra_crossover_measured", "Where linear SRA starts to pay on this machine: each SRA/LSRA pair",
                  columns)
    for sra, lsra in pairs:
        ratios = []
        for r in sides:
            a = catalog.measured(sra, "throughput", "infer_img_per_s_median", r)
            b = catalog.measured(lsra, "throughput", "infer_img_per_s_median", r)
            paired = pair_ratio(catalog.rows, catalog.config_of(sra), catalog.config_of(lsra), r)
            if paired is not None:
                ratios.append(Entry(value=paired.ratio, note=None if not paired.includes_zero else UNRESOLVED))
                continue
            ratios.append(Entry(value=b.value / a.value, note="separate medians") if a.has_value and b.has_value
                          else missing(a.note if not a.has_value else b.note))
        side, text = measured_crossover(catalog, sra, lsra)
        table.add([label(sra.model), label(sra.name), label(lsra.name)] + ratios
                  + [Entry(value=float(side), note=text if "every" in text else None) if side is not None
                     else missing(text)])
    table.notes.append("A ratio above 1: LSRA is faster at that side: the median of per-round ratios of the two "
                       f"timed in the same interleaved rounds ([{UNRESOLVED}]: its 95% CI holds 1); rows timed "
                       "apart fall back to a ratio of medians, marked [separate medians].")
    return table


def _config(catalog: Catalog, line: Line) -> PVTConfig:
    return PVTConfig(**catalog.config_of(line))


def _side(value: object) -> Entry:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return missing("never")
    return Entry(value=float(value))


def sra_pairs(catalog: Catalog) -> list[tuple[Line, Line]]:
    """(SRA line, LSRA line) pairs whose configs agree except in attention (and B2-Li's FFN ReLU)."""
    keyed: dict[str, dict[str, list[Line]]] = {}
    for line in catalog.lines:
        config = catalog.config_of(line) or {}
        rest = repr(sorted((k, v) for k, v in config.items() if k not in PAIR_IGNORES))
        keyed.setdefault(rest, {}).setdefault(str(config.get("attention")), []).append(line)
    return [(a, b) for pair in keyed.values() for a in pair.get("sra", []) for b in pair.get("linear_sra", [])]


def measured_crossover(catalog: Catalog, sra: Line, lsra: Line) -> tuple[int | None, str]:
    """(smallest side from which LSRA's inference img/s beats SRA's at every larger side timed, or None; a text:
    "512 px", "224 px (faster at every side measured)", "not within the range measured (224-512 px)")."""
    sides, faster = [], []
    for r in catalog.resolutions("throughput"):
        a = catalog.measured(sra, "throughput", "infer_img_per_s_median", r)
        b = catalog.measured(lsra, "throughput", "infer_img_per_s_median", r)
        paired = pair_ratio(catalog.rows, catalog.config_of(sra), catalog.config_of(lsra), r)
        if paired is not None and paired.n:
            sides.append(r)
            faster.append(paired.log_lo > 0)  # faster only where the CI excludes a tie
        elif a.has_value and b.has_value:
            sides.append(r)
            faster.append(b.value > a.value)
    if not sides:
        return None, "not measured (no throughput at a shared side)"
    span = f"{sides[0]}-{sides[-1]} px" if len(sides) > 1 else f"{sides[0]} px"
    for i, side in enumerate(sides):
        if all(faster[i:]):
            return side, f"{side} px" + (" (faster at every side measured)" if i == 0 else "")
    return None, f"not within the range measured ({span})"
