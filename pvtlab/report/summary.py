"""The report's first section: what each change buys, in one line per change, then one small table per change.

Each change (OPE, CFFN, LSRA: the factorial's main effects; then the path's steps) gets its accuracy per task and
test size and its cost per resolution, each with its CI (or range) and a plain verdict from ``verdict``. The
caveats that limit a claim (a task's blind spots, a baseline near chance) sit right under the numbers. The path
is set beside the paper's own numbers (PVTv2, arXiv 2106.13797, Table 6: ``TABLE6_TOP1``).

The cross-task table (``cross_task_table``): each change's effect on top-1 on every task (at its training size),
and whether the tasks agree on its sign, so a gain on one task is not read as a general one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import pandas as pd

from pvtlab.report import verdict
from pvtlab.report.catalog import Catalog, Member, Metric
from pvtlab.report.changes import AccuracyChange, step_changes, toggle_changes
from pvtlab.report.complexity import metric_words
from pvtlab.report.effects import EffectSet
from pvtlab.report.speed import factorial_effects
from pvtlab.report.table import Col, Entry, Table, label, missing
from pvtlab.report.tasks import task_notes
from pvtlab.toggles import TOGGLES

# PVTv2 Table 6: ImageNet top-1 (%) of PVTv1-Small and each step the paper adds to it.
TABLE6_TOP1 = {"PVTv1-Small": 79.8, "+ OPE": 81.1, "PVTv2-B2": 82.0, "PVTv2-B2-Li": 82.1}
TABLE6_NOTE = ("Paper: PVTv2 Table 6, ImageNet-1K top-1 of the full-size model after 300 epochs; the measured "
               "values are a small proxy on another task, so compare directions, not sizes.")

# Costs the summary names (the tables hold the rest), in this order; speed follows from the paired timing blocks.
SUMMARY_COSTS = ("params_m", "gmacs", "peak_mem_over_idle_mib")
SUMMARY_SPEED = {"infer": "inference speed", "train": "training speed"}


def summary_section(catalog: Catalog, sets: list[EffectSet]) -> str:
    """Markdown: the answer per change, the verdict rules, the task caveats and the path beside Table 6."""
    per_task = {task: toggle_changes(catalog, task) for task in catalog.tasks}
    costs = cost_items(sets)
    for name, items in speed_items(catalog.rows).items():
        costs.setdefault(name, []).extend(items)
    lines = ["## The answer: what each change buys", ""]
    if any(per_task.values()) or costs:
        for toggle, (old, new, name) in TOGGLES.items():
            accuracy = [c for changes in per_task.values() for c in changes if c.change == name]
            lines.append(f"- **{name}** ({toggle} {old} → {new}): " + headline(accuracy, costs.get(name, [])))
    else:
        lines.append("- No full factorial in this grid, so no change is judged on its own; the path below judges "
                     "each step against the one before.")
    lines += ["", verdict.RULES, ""]
    lines += _task_caveats(catalog)
    lines += _path_summary(catalog)
    lines += _details(per_task, costs)
    return "\n".join(lines) + "\n"


def headline(accuracy: list[AccuracyChange], costs: list[tuple[str, str, str]]) -> str:
    """One sentence: top-1 per task at the training size, then each summary cost at its first resolution (the
    other test sizes and resolutions are in the table below)."""
    parts = []
    for task in dict.fromkeys(c.task for c in accuracy):
        mine = [c for c in accuracy if c.task == task]
        main = next((c for c in mine if c.trained), mine[0])
        plain, _, why = main.verdict.partition(" (")
        parts.append(f"top-1 on {task}: **{plain}** ({main.text()}, @{main.size} px" + (f"; {why}" if why else ")"))
    if not accuracy:
        parts.append("top-1 not measured")
    first = {}
    for what, change, judged in costs:
        first.setdefault(what.split(" @")[0], (what, change, judged))
    parts += [f"{what.split(' @')[0]}: **{judged}** ({change}" + (f", @{what.split(' @')[1]})" if " @" in what else ")")
              for what, change, judged in first.values()]
    return "; ".join(parts) + "."


def cost_items(sets: list[EffectSet]) -> dict[str, list[tuple[str, str, str]]]:
    """Improvement name -> (what, change, verdict) per summary cost of the first factorial model."""
    usable = [s for s in sets if not s.seeded and s.main is not None and s.column in SUMMARY_COSTS]
    if not usable:
        return {}
    model = usable[0].model
    usable = sorted((s for s in usable if s.model == model), key=lambda s: SUMMARY_COSTS.index(s.column))
    out: dict[str, list[tuple[str, str, str]]] = {}
    for s in usable:
        where = s.metric.split(" (")[0].split("@")[-1].split(",")[0]
        what = metric_words(s.column)[0].lower() + (f" @{where.strip()}" if "@" in s.metric else "")
        for r in s.main.to_dict("records"):
            relative = float(r["relative_pct"])
            estimates = [e * relative / r["effect"] if r["effect"] else 0.0 for e in r["estimates"]]
            spread = "" if len(set(round(e, 6) for e in estimates)) <= 1 else \
                f", range {min(estimates):+.1f} to {max(estimates):+.1f} %"
            change = f"{relative:+.1f} %{spread}" if not math.isnan(relative) else "n/a"
            out.setdefault(r["improvement"], []).append((what, change, verdict.cost(s.column, estimates)))
    return out


def speed_items(rows: pd.DataFrame) -> dict[str, list[tuple[str, str, str]]]:
    """Improvement name -> (what, change, verdict) per resolution for inference and training speed: main effects
    paired by round in the timing blocks (first factorial model), with their 95% CI."""
    effects = factorial_effects(rows)
    if effects.empty:
        return {}
    mine = effects[(effects["model"] == effects["model"].iloc[0]) & effects["kind"].isin(list(SUMMARY_SPEED))]
    out: dict[str, list[tuple[str, str, str]]] = {}
    for kind, what in SUMMARY_SPEED.items():
        for r in mine[mine["kind"] == kind].sort_values("resolution").to_dict("records"):
            name = str(r["term"]).split(":")[0]
            if " x " in name:
                continue  # interactions: the speed section's table
            change = (f"{r['change_pct']:+.1f} %, CI {r['ci95_lo_pct']:+.1f} to {r['ci95_hi_pct']:+.1f} %"
                      if not math.isnan(r["change_pct"]) else "n/a")
            out.setdefault(name, []).append((f"{what} @{r['resolution']} px", change,
                                             verdict.paired(r["ci95_lo_pct"], r["ci95_hi_pct"], +1)))
    return out


def _task_caveats(catalog: Catalog) -> list[str]:
    """Per task: what it probes and what it cannot tell, and whether it is near chance or at the ceiling."""
    notes = task_notes()
    lines = []
    for task in catalog.tasks:
        probes, blind = notes.get(task, ("", ""))
        text = f"- **{task}**: " + (f"probes {_clause(probes)}; cannot tell {_clause(blind)}." if probes else
                                    "no note on what this task probes (pvtlab.data.spec.TASK_NOTES); read its "
                                    "effects as this task's only.")
        chance = catalog.chance_of(task)
        if chance is not None:
            text += f" Chance {chance:.3g} %."
        lines.append(text)
    return (["**What the accuracy tasks can and cannot show**", "", *lines, ""]) if lines else []


def _clause(sentence: str) -> str:
    """A note's sentence as a clause inside ours: lower-case start (unless an acronym), no final period."""
    sentence = sentence.strip().rstrip(".")
    return sentence[:1].lower() + sentence[1:] if sentence[1:2].islower() else sentence


def _path_summary(catalog: Catalog) -> list[str]:
    """The path's steps with the paper's Table 6 top-1 beside each measured change (first path only)."""
    if not catalog.paths:
        return []
    steps = next(iter(catalog.paths.values()))
    tasks = catalog.tasks
    per_task = {task: step_changes(catalog, task) for task in tasks}
    costs = [m for m in catalog.metrics if m.column in ("params_m", "gmacs")][:2]
    head = ["Step", "Setting", "Paper top-1 (ImageNet, %)"] + [f"Δ top-1, {t} @{catalog.train_size(t)} px (pp)"
                                                               for t in tasks]
    head += [f"Δ {m.header.split(' (')[0]} (%)" for m in costs]
    lines = ["**The paper's path, step by step** (each row against the one above)", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    previous = None
    for member in steps:
        paper = table6_top1(member, previous)
        cells = [str(member.step), member.setting, "-" if paper is None else f"{paper:.1f}"]
        for task in tasks:
            found = [c for c in per_task[task] if c.change == member.label and c.trained]
            if previous is None:
                entry = catalog.seed_entry(member, task=task)
                cells.append(f"top-1 {entry.value:.1f} %" if entry.has_value else "-")
            else:
                cells.append(f"{found[0].text()}: **{found[0].verdict}**" if found else "-")
        cells += [_cost_step(catalog, member, previous, m) for m in costs]
        lines.append("| " + " | ".join(cells) + " |")
        previous = member
    return lines + ["", TABLE6_NOTE, ""]


def _cost_step(catalog: Catalog, member: Member, previous: Member | None, metric: Metric) -> str:
    """A counted cost's change against the previous step, % and verdict; the value itself on the first step."""
    now = catalog.value(member, metric)
    if not now.has_value:
        return "-"
    if previous is None:
        return f"{now.value:.3g} {metric.unit}"
    then = catalog.value(previous, metric)
    if not then.has_value or not then.value:
        return "-"
    relative = 100.0 * (now.value - then.value) / then.value
    return f"{relative:+.1f} %: **{verdict.cost(metric.column, [relative])}**"


def _details(per_task: dict[str, list[AccuracyChange]], costs: dict[str, list[tuple[str, str, str]]]) -> list[str]:
    """One small table per toggle: every accuracy and cost change with its verdict."""
    lines = []
    for _, _, name in TOGGLES.values():
        rows = [(f"top-1, {c.task} @{c.size} px" + (" (trained size)" if c.trained else ""), c.text(), c.verdict)
                for changes in per_task.values() for c in changes if c.change == name]
        rows += costs.get(name, [])
        if rows:
            lines += [f"**{name}** (main effect: mean change when switched on, over the other two toggles)", "",
                      "| what | change | verdict |", "|---|---|---|", *_rows(rows), ""]
    return lines


def _rows(rows: Iterable[tuple[str, str, str]]) -> list[str]:
    return [f"| {a} | {b} | {c} |" for a, b, c in rows]


def table6_top1(member: Member, previous: Member | None) -> float | None:
    """The Table 6 top-1 of a path step: by the paper model it equals, or "+ OPE" right after PVTv1-Small."""
    if member.paper in TABLE6_TOP1:
        return TABLE6_TOP1[member.paper]
    if member.setting == "+ OPE" and previous is not None and previous.paper == "PVTv1-Small":
        return TABLE6_TOP1["+ OPE"]
    return None


def agreement(changes: list[AccuracyChange]) -> str:
    """Do the tasks agree on the sign? "yes (+)", "no", with whether every CI excludes 0."""
    if len(changes) < 2:
        return "one task only"
    signs = {math.copysign(1.0, c.effect) for c in changes}
    resolved = all(not c.verdict.startswith(verdict.CANNOT_TELL) for c in changes)
    if len(signs) > 1:
        return "no: opposite signs" + ("" if resolved else " (some CI includes 0)")
    sign = "+" if signs == {1.0} else "-"
    return f"yes ({sign})" + (", every CI excludes 0" if resolved else ", but some CI includes 0")


def cross_task_table(catalog: Catalog) -> Table | None:
    """One row per change, one column per task; None with fewer than two tasks."""
    tasks = catalog.tasks
    if len(tasks) < 2:
        return None
    found = {task: [c for c in toggle_changes(catalog, task) + step_changes(catalog, task) if c.trained]
             for task in tasks}
    columns = [Col("change", "Change")]
    columns += [c for t in tasks for c in (Col(f"effect_pp_{t}", f"Δ top-1, {t} @{catalog.train_size(t)} px (pp)",
                                               signed=True), Col(f"verdict_{t}", f"Verdict, {t}"))]
    table = Table("cross_task", "Each change on every task (training size)", columns + [Col("signs", "Signs agree")])
    names = list(dict.fromkeys(c.change for changes in found.values() for c in changes))
    for name in names:
        mine = [c for t in tasks for c in found[t] if c.change == name]
        row: list[Entry] = [label(name)]
        for task in tasks:
            c = next((c for c in found[task] if c.change == name), None)
            row += [Entry(value=c.effect, ci=c.ci_half, n=c.n), label(c.verdict)] if c else \
                [missing("not run"), label("-")]
        table.add(row + [label(agreement(mine))])
    table.notes.append("± 95% CI over seeds, paired. A change that helps on one task and not on another is a "
                       "property of the tasks, not of the architecture alone.")
    return table
