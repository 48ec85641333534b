"""The per-variant tables: the paper's path (PVTv2 Table 6 format) and the full 2x2x2 factorial.

Each row is one variant with its costs (full-size model, each at a stated resolution) and its accuracy
(small training model): top-1 as mean ± 95% CI over seeds next to the per-seed values, and the sample
efficiency (mean top-1 over training, see ``curves``). On the path every value also gets its change against
the previous row; accuracy changes are paired differences over the seeds both rows trained, with their own
CI, because seed-to-seed noise cancels in a paired comparison. Warning lines below a table say where a number
rests on fewer than 3 seeds, has a CI wider than 0-100 %, or sits at chance or at the ceiling.
"""

from __future__ import annotations

import math
from dataclasses import replace

from pvtlab.report.catalog import (
    CEILING_PCT,
    COMBOS,
    EFFICIENCY,
    MIN_SEEDS,
    Catalog,
    Member,
)
from pvtlab.report.changes import paired
from pvtlab.report.table import Col, Entry, Table, label, missing, number
from pvtlab.report.verdict import near_chance
from pvtlab.stats import seeds_to_resolve
from pvtlab.toggles import TOGGLES

TOP1_KEY, SEEDS_KEY, EFFICIENCY_KEY = "top1_acc_pct", "top1_acc_pct_per_seed", "sample_efficiency_pct"
MEMORY_NOTE = ("Memory over idle: the peak of a step minus the memory held once model and batch exist, i.e. what "
               "the activations (training: also gradients and optimizer state) need.")


def path_tables(catalog: Catalog) -> list[Table]:
    """One table per path in the grid (usually one); empty when the grid has no path."""
    return [_path_table(catalog, steps, title) for title, steps in catalog.paths.items()]


def factorial_tables(catalog: Catalog) -> list[Table]:
    """One table per model with factorial rows, the eight combinations in a fixed order."""
    tables = []
    for model, combos in catalog.factorials.items():
        columns = [Col(t, f"{name} ({t})") for t, (_, _, name) in TOGGLES.items()] + [Col("variant", "Variant")]
        columns += _value_columns(catalog)
        name = "factorial" if len(catalog.factorials) == 1 else f"factorial_{model}"
        table = Table(name, f"Full factorial on {model}: every combination of the three toggles", columns)
        for combo in COMBOS:
            member = combos.get(combo)
            row = [label(value) for value in combo]
            if member is None:
                table.add(row + [missing("not in the grid")] + [missing("not run")] * (len(columns) - len(row) - 1))
                continue
            table.add(row + [label(member.variant)] + _values(catalog, member))
            table.notes += accuracy_warnings(catalog, member, member.variant)
        table.notes[:0] = [f"Cost columns: {model} itself." + _accuracy_note(catalog, model)] + _cost_notes(catalog)
        tables.append(table)
    return tables


def _path_table(catalog: Catalog, steps: list[Member], title: str) -> Table:
    columns = [Col("step", "Step"), Col("setting", "Setting"), Col("paper_model", "Paper model"),
               Col("model", "Model"), Col("variant", "Variant")] + _value_columns(catalog)
    table = Table("path" if not title else f"path_{title}",
                  "The paper's path (PVTv2 Table 6 format)" + (f": {title}" if title else ""), columns)
    previous: tuple[Member, list[Entry]] | None = None
    for member in steps:
        entries = _values(catalog, member)
        if previous is not None:
            entries = _changes(catalog, member, entries, *previous)
        table.add([label(member.step), label(member.setting), label(member.paper or "-"), label(member.model),
                   label(member.variant)] + entries)
        table.notes += accuracy_warnings(catalog, member, f"step {member.step} ({member.variant})")
        if previous is not None:
            table.notes += _delta_warning(catalog, member, previous[0])
        previous = (member, entries)
    papers = [f"step {m.step} = {m.paper}" for m in steps if m.paper]
    head = ["Each row adds what 'Setting' names to the row above (read from the two configs); (Δ ...) is the "
            "change against the previous row, in the column's unit. Paper models (config equal to the preset's): "
            + ("; ".join(papers) if papers else "none") + "."]
    table.notes[:0] = head + _cost_notes(catalog) + ([_accuracy_note(catalog, "each step's").strip()]
                                                     if catalog.accuracy_source else [])
    return table


def _value_columns(catalog: Catalog) -> list[Col]:
    columns = [Col(m.key, m.header) for m in catalog.metrics]
    if catalog.accuracy_source:
        source = catalog.accuracy_source
        columns += [Col(TOP1_KEY, f"Top-1 (%), {source}, mean ± 95% CI (n = seeds)"),
                    Col(SEEDS_KEY, "Top-1 per seed (%)"),
                    Col(EFFICIENCY_KEY, "Sample efficiency (%), mean top-1 over training ± 95% CI (n = seeds)")]
    return columns


def _values(catalog: Catalog, member: Member) -> list[Entry]:
    entries = [catalog.value(member, m) for m in catalog.metrics]
    if catalog.accuracy_source:
        values, _ = catalog.seed_values(member)
        per_seed = " / ".join(f"{number(v, 1)} (s{int(s)})" for s, v in values.items()) or "-"
        entries += [catalog.seed_entry(member), label(per_seed), catalog.seed_entry(member, EFFICIENCY)]
    return entries


def _changes(catalog: Catalog, member: Member, entries: list[Entry], before: Member,
             previous: list[Entry]) -> list[Entry]:
    """Cost changes against the previous row; accuracy changes paired over the seeds both rows trained. Speed
    changes are left to the paired speed section (pvtlab/report/speed.py): separate medians do not repeat."""
    timed = [m.group == "throughput" for m in catalog.metrics] + [False] * (len(entries) - len(catalog.metrics))
    out = [replace(e, delta=e.value - p.value) if e.has_value and p.has_value and not t else e
           for e, p, t in zip(entries, previous, timed)]
    if catalog.accuracy_source:
        for index, column in ((-3, "top1_acc"), (-1, EFFICIENCY)):
            out[index] = _paired_change(catalog, out[index], member, before, column)
    return out


def _paired_change(catalog: Catalog, entry: Entry, member: Member, before: Member, column: str) -> Entry:
    if not entry.has_value:
        return entry
    diff = _paired_diff(catalog, member, before, column)
    if diff is None:
        return replace(entry, delta=None)
    return replace(entry, delta=diff["mean"], delta_ci=diff["ci95_half"])


def _paired_diff(catalog: Catalog, member: Member, before: Member, column: str) -> dict | None:
    """``paired_difference`` of ``column`` over the seeds both rows trained; None when they share none."""
    found = paired(catalog, member, before, column)
    return found[0] if found else None


def _delta_warning(catalog: Catalog, member: Member, before: Member) -> list[str]:
    """A warning where a step's paired change of top-1 or of sample efficiency has a CI that includes 0, with the
    seeds that would resolve it (as the effects tables warn for both)."""
    out = []
    for column, metric in (("top1_acc", "top-1"), (EFFICIENCY, "sample efficiency")):
        diff = _paired_diff(catalog, member, before, column)
        if diff is None or diff["n"] < 2 or diff["ci95_half"] < abs(diff["mean"]):
            continue
        need = seeds_to_resolve(diff["std"], diff["mean"])
        seeds = f"about {need} seeds" if need else "no feasible number of seeds"
        out.append(f"Warning: step {member.step} ({member.setting}) changes {metric} by "
                   f"{number(diff['mean'], 2, signed=True)} ± {number(diff['ci95_half'], 2)} pp (paired, "
                   f"n={diff['n']}), a CI that includes 0; at the per-seed spread observed (sd "
                   f"{number(diff['std'], 2)} pp), {seeds} would give a CI half-width below the change's size.")
    return out


def accuracy_warnings(catalog: Catalog, member: Member, name: str) -> list[str]:
    """Warning lines for one variant's top-1: few seeds, a CI wider than 0-100 %, at chance, at the ceiling."""
    entry = catalog.seed_entry(member)
    if not entry.has_value:
        return []
    out = []
    if (entry.n or 0) < MIN_SEEDS:
        out.append(f"Warning: {name} top-1 rests on {entry.n} seed(s); {MIN_SEEDS} or more give a usable CI.")
    if entry.ci is not None and not math.isnan(entry.ci) and 2 * entry.ci > 100.0:
        out.append(f"Warning: {name} top-1 has a 95% CI wider than 0-100 % (± {number(entry.ci)} pp).")
    chance = catalog.chance_pct
    if near_chance(entry.value, chance):
        out.append(f"Warning: {name} sits at chance: top-1 {number(entry.value)} % against chance "
                   f"{number(chance)} % (100 / classes); it did not learn, so a change measured from it is not an "
                   "improvement.")
    if entry.value >= CEILING_PCT:
        out.append(f"Warning: {name} sits at the ceiling: top-1 {number(entry.value)} % >= {CEILING_PCT:g} %; "
                   "the task cannot show whether it is better than its neighbours.")
    return out


def _accuracy_note(catalog: Catalog, style: str) -> str:
    if not catalog.accuracy_source:
        return ""
    return (f" Top-1: {catalog.accuracy_source} with {style} toggles and style, mean ± 95% CI over seeds (Student "
            "t; n = seeds), the per-seed values next to it. Sample efficiency: the area under the validation top-1 "
            "curve divided by the images seen over it, i.e. the mean top-1 over training (%): higher = learns "
            "sooner.")


def _cost_notes(catalog: Catalog) -> list[str]:
    notes = [("GMACs = 10^9 multiply-accumulates per image at batch 1, attention matmuls included (the papers' "
              "'GFLOPs'); costs are deterministic, so they carry no CI.")]
    groups = {m.group for m in catalog.metrics}
    if "memory" in groups:
        notes.append(MEMORY_NOTE)
    if "throughput" in groups:
        notes.append("Throughput: median img/s over timed repeats with its interquartile range (IQR); GFLOP/s: "
                     "2 x MACs x img/s; MFU: achieved FLOP/s over the machine's measured matmul peak.")
    return notes
