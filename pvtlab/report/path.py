"""The paper's path table (PVTv2 Table 6 format): PVTv1 -> +OPE -> +CFFN -> +LSRA, one row each.

Each number carries its change against the previous row; the accuracy change is a paired difference over
the seeds both rows trained, with its own CI, because seed-to-seed noise cancels in a paired comparison.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from pvtlab.report.catalog import Step, accuracy_for_step, paths
from pvtlab.report.metrics import ACCURACY_KEY, MEMORY_NOTE, accuracy_header, cost_metrics
from pvtlab.report.schema import PATH_LABELS
from pvtlab.report.select import measured, seed_entry, seed_values
from pvtlab.report.table import Col, Entry, Table, label
from pvtlab.stats import paired_difference


def path_tables(cells: pd.DataFrame) -> list[Table]:
    """One table per path in the grid (usually one); empty when the grid has no path variants."""
    found = paths(cells)
    return [path_table(cells, steps, title) for title, steps in found.items()]


def path_table(cells: pd.DataFrame, steps: list[Step], model_title: str = "") -> Table:
    """The path's rows in step order with params, GMACs, memory, throughput, accuracy and their changes."""
    metrics = cost_metrics(cells)
    acc_header = accuracy_header(cells)
    columns = [Col("step", "Step"), Col("setting", "Setting"), Col("model", "Model"), Col("variant", "Variant")]
    columns += [Col(m.key, m.header, m.decimals) for m in metrics]
    if acc_header:
        columns.append(Col(ACCURACY_KEY, acc_header, 2))
    name = "path" if not model_title else f"path_{model_title}"
    title = "The paper's path (PVTv2 Table 6 format)" + (f": {model_title}" if model_title else "")
    table = Table(name, title, columns)
    previous: list[Entry] | None = None
    previous_seeds: pd.Series | None = None
    for step in sorted(steps, key=lambda s: s.step):
        entries = [measured(cells, m.group, m.column, resolution=m.resolution, **step.line.select()) for m in metrics]
        seeds = None
        if acc_header:
            seeds, failures = seed_values(accuracy_for_step(cells, step), "top1_acc")
            entries.append(seed_entry(seeds, failures))
        if previous is not None:
            entries = [_with_change(e, p) for e, p in zip(entries, previous)]
            if acc_header and seeds is not None and previous_seeds is not None:
                entries[-1] = _paired_change(entries[-1], seeds, previous_seeds)
        labels = [label(str(step.step)), label(PATH_LABELS.get(step.step, f"step {step.step}")),
                  label(step.line.model), label(step.line.name)]
        table.add(labels + entries)
        previous, previous_seeds = entries, seeds
    table.notes += _notes(any(m.group == "memory" for m in metrics), acc_header is not None)
    return table


def _with_change(entry: Entry, previous: Entry) -> Entry:
    if entry.has_value and previous.has_value:
        return replace(entry, delta=entry.value - previous.value)
    return entry


def _paired_change(entry: Entry, seeds: pd.Series, previous: pd.Series) -> Entry:
    """Accuracy change over the seeds both rows have, as a paired difference with its 95% CI."""
    if not entry.has_value:
        return entry
    shared = seeds.index.intersection(previous.index)
    if shared.empty:
        return replace(entry, delta=None)
    diff = paired_difference(seeds[shared].to_numpy(), previous[shared].to_numpy())
    return replace(entry, delta=diff["mean"], delta_ci=diff["ci95_half"])


def _notes(has_memory: bool, has_accuracy: bool) -> list[str]:
    notes = ["(Δ ...) is the change against the previous row, in the column's unit.",
             "GMACs = 10^9 multiply-accumulates per image at batch 1, attention matmuls included "
             "(the papers' 'GFLOPs'); throughput is the median over timed repeats."]
    if has_memory:
        notes.append(MEMORY_NOTE)
    if has_accuracy:
        notes.append("Top-1 is mean ± 95% CI over seeds (n = seeds); its change is a paired difference over the "
                     "seeds both rows trained, with its own 95% CI.")
    return notes
