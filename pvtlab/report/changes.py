"""What each change does to accuracy, per task and test size, with its CI and verdict: the numbers the summary,
the cross-task table and the accuracy-vs-resolution section share.

A toggle's change is its main effect over the factorial (paired by seed: every seed trained all 8
combinations); a path step's change is the paired difference against the step before, over the seeds both
trained. Both come with the mean top-1 on each side, so a change from chance or onto the ceiling is caught.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from pvtlab.report import verdict
from pvtlab.report.catalog import COMBOS, Catalog, Member
from pvtlab.report.effects import accuracy_data, main_effects
from pvtlab.report.tasks import at_size
from pvtlab.stats import paired_difference
from pvtlab.toggles import TOGGLES


@dataclass(frozen=True)
class AccuracyChange:
    """One change's effect on top-1 (pp) on one task at one test size."""

    change: str  # "OPE", or a path step's "1 + OPE"
    task: str
    size: int  # test size, px
    trained: bool  # the test size is the training size
    effect: float
    ci_half: float
    n: int
    before: float  # mean top-1 (%) of the PVTv1 side / the previous step
    after: float
    verdict: str

    def text(self) -> str:
        """ "+10.5 ± 3.1 pp, n=3": the change as the report prints it (two significant digits for a CI below 1)."""
        if math.isnan(self.ci_half):
            return f"{self.effect:+.1f} pp, no CI (n={self.n})"
        ci = f"{self.ci_half:.2g}" if self.ci_half < 1 else f"{self.ci_half:.1f}"
        return f"{self.effect:+.1f} ± {ci} pp, n={self.n}"

def column_at(catalog: Catalog, task: str, size: int, column: str = "top1_acc") -> str:
    """The column holding ``column`` at test size ``size`` on ``task``: the row's own at the training size when
    the grid has no per-size values."""
    return at_size(column, size) if size in catalog.test_sizes(task, column) else column


def sizes_of(catalog: Catalog, task: str) -> list[int]:
    """The test sizes of a task: its per-size values, else the training size alone."""
    return catalog.test_sizes(task) or [s for s in (catalog.train_size(task),) if s is not None]


def toggle_changes(catalog: Catalog, task: str) -> list[AccuracyChange]:
    """Each toggle's main effect on top-1 at each test size, per factorial model; [] without a full factorial."""
    out = []
    chance = catalog.chance_of(task)
    for combos in catalog.factorials.values():
        for size in sizes_of(catalog, task):
            data = accuracy_data(catalog, combos, column_at(catalog, task, size), task)
            if data.empty or (data.groupby("seed")["value"].count() < len(COMBOS)).all():
                continue
            effects = main_effects(data).set_index("toggle")
            for toggle, (old, new, name) in TOGGLES.items():
                r = effects.loc[toggle]
                before, after = _side_mean(data, toggle, old), _side_mean(data, toggle, new)
                out.append(_change(name, task, size, catalog, r["effect"], r["ci95_half"], r["n"], before, after,
                                   chance))
        break  # the first factorial model: the one the toggles are defined on
    return out


def step_changes(catalog: Catalog, task: str) -> list[AccuracyChange]:
    """Each path step's paired change of top-1 against the step before, at each test size."""
    out = []
    chance = catalog.chance_of(task)
    for steps in catalog.paths.values():
        for before, member in zip(steps, steps[1:]):
            for size in sizes_of(catalog, task):
                found = paired(catalog, member, before, column_at(catalog, task, size), task)
                if found is None:
                    continue
                diff, now, then = found
                out.append(_change(member.label, task, size, catalog, diff["mean"], diff["ci95_half"], diff["n"],
                                   float(then.mean()), float(now.mean()), chance))
        break
    return out


def paired(catalog: Catalog, member: Member, before: Member, column: str,
           task: str | None = None) -> tuple[dict, pd.Series, pd.Series] | None:
    """``paired_difference`` of ``column`` over the seeds both members trained (with the two seed series); None
    when they share no seed."""
    now, then = catalog.seed_values(member, column, task)[0], catalog.seed_values(before, column, task)[0]
    shared = now.index.intersection(then.index)
    if shared.empty:
        return None
    now, then = now[shared], then[shared]
    return paired_difference(now.to_numpy(), then.to_numpy()), now, then


def _side_mean(data: pd.DataFrame, toggle: str, value: str) -> float:
    part = data[data[toggle] == value]["value"]
    return float(part.mean()) if len(part) else math.nan


def _change(name: str, task: str, size: int, catalog: Catalog, effect: float, half: float, n: int, before: float,
            after: float, chance: float | None) -> AccuracyChange:
    plain = verdict.seeded(float(effect), float(half))
    return AccuracyChange(name, task, int(size), size == catalog.train_size(task), float(effect), float(half),
                          int(n), before, after, verdict.qualified(plain, before, after, chance))
