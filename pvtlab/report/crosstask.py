"""The cross-task table: each change's effect on top-1 on every task (at its training size), and whether the
tasks agree on its sign, so a gain on one task is not read as a general one."""

from __future__ import annotations

import math

from pvtlab.report.catalog import Catalog
from pvtlab.report.changes import AccuracyChange, step_changes, toggle_changes
from pvtlab.report.table import Col, Entry, Table, label, missing
from pvtlab.report.verdict import CANNOT_TELL


def agreement(changes: list[AccuracyChange]) -> str:
    """Do the tasks agree on the sign? "yes (+)", "no", with whether every CI excludes 0."""
    if len(changes) < 2:
        return "one task only"
    signs = {math.copysign(1.0, c.effect) for c in changes}
    resolved = all(not c.verdict.startswith(CANNOT_TELL) for c in changes)
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
