"""The ``Catalog`` of one report: the grid's architectures, its path, its factorials and their accuracy rows.

Built once per report from the current rows (``load.current``) and the structure the grid wrote to grid.json
(``structure.load_structure``), and passed to every table and plot, so they are joined in one place, once.

An architecture (a ``Line``) is identified by its resolved config (``config_json``), not by its name: the grid
runs a measurement asked for twice only once and keeps the first name, so one architecture can carry different
names in different groups (the path's B2 is also the factorial's overlap/conv_ffn/sra on B2: its FLOPs rows
carry the factorial name, with the path's among the cell's other names in the grid's ``Structure``, its memory
rows the path's name). Selecting rows by config joins them, and a cell under two names is shown once, with both
names ("a = b").

A ``Member`` is a variant as the tables show it: its cost architecture (full-size model) and its accuracy rows
(trained on the small model, e.g. pvt_nano, with the variant's toggles and style; ``base_model`` names the
full-size preset). The path is whatever ``path_step`` order the spec gives; each step's "Setting" (what changed
against the previous step) and paper model are the grid's (``Structure.step``), named from the two configs
(``pvtlab.naming``) only for rows without a structure.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import numpy as np
import pandas as pd

from pvtlab.models import PVTConfig
from pvtlab.naming import paper_model, step_setting
from pvtlab.report.curves import parse_curve, sample_efficiency
from pvtlab.report.load import Structure, failed_note, from_rows
from pvtlab.report.table import Entry, missing
from pvtlab.report.tasks import at_size, by_resolution, task_names
from pvtlab.report.verdict import CEILING_PCT  # noqa: F401  (re-exported: the tables and plots read it here)
from pvtlab.stats import summarize
from pvtlab.toggles import TOGGLES

Combo = tuple[str, str, str]  # (patch_embed, position, attention)
COMBOS: list[Combo] = list(itertools.product(*[(old, new) for old, new, _ in TOGGLES.values()]))
ACCURACY = "accuracy"
EFFICIENCY = "sample_efficiency_pct"  # derived per accuracy row from val_curve (see curves.py)
MIN_SEEDS = 3
PREFERRED_RESOLUTION = 224  # the papers' ImageNet size, used for single-number columns when measured


@dataclass(frozen=True)
class Line:
    """One architecture with cost rows: its model, all its names ("a = b") and its resolved config."""

    model: str
    name: str
    config: str


@dataclass(frozen=True)
class Member:
    """One variant in a table or plot: cost architecture (None when only trained) and accuracy row positions."""

    label: str
    model: str
    variant: str
    line: Line | None
    acc: tuple[int, ...] = ()
    combo: Combo | None = None
    step: int | None = None
    setting: str = ""
    paper: str = ""


@dataclass(frozen=True)
class Metric:
    """A per-variant number of the tables: group, column and resolution, with header and unit."""

    key: str  # CSV column name, unit and resolution included
    header: str
    group: str
    column: str
    resolution: int
    unit: str
    scale: float = 1.0  # shown value = column value x scale (fractions as %)
    spread: str | None = None  # column holding the value's spread (IQR, or the p90 of a latency)
    spread_label: str = "IQR"
    effect: bool = True  # also gets main effects and interactions


@dataclass
class Catalog:
    """Everything a report needs to know about the grid's structure: the grid's ``Structure`` (else the part
    the rows carry) joined with the current rows, once."""

    rows: pd.DataFrame
    structure: Structure | None = None
    lines: list[Line] = field(init=False)
    paths: dict[str, list[Member]] = field(init=False)
    factorials: dict[str, dict[Combo, Member]] = field(init=False)
    others: list[Member] = field(init=False)

    def __post_init__(self) -> None:
        rows = self.rows.reset_index(drop=True)
        self._structure: Structure = self.structure or from_rows(rows)
        curves = rows["val_curve"].map(parse_curve)
        rows[EFFICIENCY] = [sample_efficiency(c) if c is not None else math.nan for c in curves]
        rows = rows.assign(**by_resolution(rows))
        self.rows = rows
        self._seed_cache: dict[tuple, tuple[pd.Series, list[str]]] = {}
        self._col = {c: rows[c].to_numpy(dtype=object, na_value=None)
                     for c in ("group", "status", "resolution", "config_json", "base_model", "model", "variant",
                               "path_step", "in_factorial", *TOGGLES)}
        self._owner = np.where(self._col["base_model"] == None, self._col["model"], self._col["base_model"])
        self._acc = self._col["group"] == ACCURACY
        self._task = np.where(self._acc, task_names(rows).to_numpy(dtype=object), None)
        self.lines = self._find_lines()
        self._by_config = {line.config: np.flatnonzero((self._col["config_json"] == line.config) & ~self._acc)
                           for line in self.lines}
        self.paths = self._find_paths()
        self.factorials = self._find_factorials()
        self.others = self._find_others()

    # ------------------------------------------------------------------ structure

    def _find_lines(self) -> list[Line]:
        cost = self.rows[~self._acc & self.rows["config_json"].notna()]
        found = []
        for config, part in cost.groupby("config_json", sort=False):
            model = str(part["model"].iloc[0])
            found.append(Line(model, self._display_name(part, model), str(config)))
        return found

    def _display_name(self, rows: pd.DataFrame, model: str) -> str:
        """All names the rows give this architecture on ``model``, factorial names first: "a/b/c = v1_small"."""
        names = list(dict.fromkeys(rows.sort_values("in_factorial", ascending=False, kind="stable")["variant"]))
        names += [n for n in self._structure.other_names(list(map(str, rows["cell_id"])), model) if n not in names]
        return " = ".join(map(str, dict.fromkeys(names)))

    def _line_at(self, positions: np.ndarray) -> Line | None:
        """The architecture of the first cost row among ``positions``."""
        for pos in positions:
            if not self._acc[pos] and self._col["config_json"][pos] is not None:
                return self._line_of[self._col["config_json"][pos]]
        return None

    @cached_property
    def _line_of(self) -> dict[str, Line]:
        return {line.config: line for line in self.lines}

    def _find_paths(self) -> dict[str, list[Member]]:
        """The path(s) keyed by a title: one path unless a step has several models (then one per model)."""
        on_path = self._col["path_step"] != None
        keys = sorted({(int(self._col["path_step"][p]), str(self._owner[p])) for p in np.flatnonzero(on_path)})
        several = len({step for step, _ in keys}) < len(keys)
        out: dict[str, list[Member]] = {}
        for step, owner in keys:
            mine = np.flatnonzero(on_path & (self._col["path_step"] == step) & (self._owner == owner))
            title = owner if several else ""
            previous = out[title][-1] if out.get(title) else None
            out.setdefault(title, []).append(self._path_member(step, owner, mine, previous))
        return out

    def _path_member(self, step: int, owner: str, positions: np.ndarray, previous: Member | None) -> Member:
        line = self._line_at(positions)
        acc = _one_variant(self, positions[self._acc[positions]])
        variant = line.name if line else str(self._col["variant"][acc[0]])
        known = self._structure.step(step, owner, previous.step if previous else None)
        if known:
            setting, paper = (known["setting"], known["paper"]) if line else (known["trained_setting"],
                                                                                known["trained_paper"])
        else:
            config = self.config_of(line, acc)
            setting = step_setting(self.config_of(previous.line, previous.acc), config) if previous else "baseline"
            paper = paper_model(config, owner, style_only=line is None)
        model = line.model if line else owner
        return Member(f"{step} {setting}", model, variant, line, acc, step=step, setting=setting, paper=paper)

    def _find_factorials(self) -> dict[str, dict[Combo, Member]]:
        """For each model with factorial rows: combination -> member, for the combinations it has."""
        flag = np.array([bool(v) for v in self._col["in_factorial"]], dtype=bool)
        out: dict[str, dict[Combo, Member]] = {}
        for owner in dict.fromkeys(sorted(map(str, self._owner[flag]))):
            combos: dict[Combo, Member] = {}
            for combo in COMBOS:
                match = flag & (self._owner == owner)
                for toggle, value in zip(TOGGLES, combo):
                    match &= self._col[toggle] == value
                positions = np.flatnonzero(match)
                if not len(positions):
                    continue
                line = self._line_at(positions)
                acc = _one_variant(self, positions[self._acc[positions]])
                variant = line.name if line else str(self._col["variant"][acc[0]])
                combos[combo] = Member(combo_label(combo), line.model if line else owner, variant, line, acc,
                                       combo=combo)
            if len(combos) > 1:
                out[owner] = combos
        return out

    def _find_others(self) -> list[Member]:
        """Architectures and trained variants in neither the path nor a factorial, each once."""
        known = {m.line for m in self.members() if m.line}
        known_acc = {p for m in self.members() for p in m.acc}
        out = []
        for line in self.lines:
            if line in known:
                continue
            names = line.name.split(" = ")
            acc = np.flatnonzero(self._acc & (self._owner == line.model) & np.isin(self._col["variant"], names))
            acc = tuple(int(p) for p in acc if p not in known_acc)
            known_acc |= set(acc)
            out.append(Member(f"{line.name} ({line.model})", line.model, line.name, line, acc))
        trained: dict[tuple[str, str], list[int]] = {}
        for p in np.flatnonzero(self._acc):
            if p not in known_acc:
                trained.setdefault((str(self._owner[p]), str(self._col["variant"][p])), []).append(int(p))
        out += [Member(f"{variant} ({owner})", owner, variant, None, tuple(acc))
                for (owner, variant), acc in trained.items()]
        return out

    def members(self) -> list[Member]:
        """The path's steps, then each factorial's combinations (the same variant may be in both)."""
        found = [m for steps in self.paths.values() for m in steps]
        return found + [m for combos in self.factorials.values() for m in combos.values()]

    def panels(self) -> list[tuple[str, list[Member]]]:
        """Plot panels: the path, each factorial, then the other variants."""
        out = [("Paper's path" + (f" ({title})" if title else ""), steps) for title, steps in self.paths.items()]
        out += [(f"Factorial on {model}", [combos[c] for c in COMBOS if c in combos])
                for model, combos in self.factorials.items()]
        if self.others:
            out.append(("Other variants", self.others))
        return out

    def ordered_lines(self) -> list[Line]:
        """Every architecture once: path first, then the factorials, then the rest."""
        order = [m.line for _, members in self.panels() for m in members if m.line]
        return list(dict.fromkeys(order + self.lines))

    def short_names(self) -> dict[Line, str]:
        """One plot label per architecture for plots that mix panels: a spec variant name ("v2_b2"), else its
        factorial combination ("+OPE+LSRA"), else its path label ("1 + OPE"), else its first name."""
        names: dict[Line, str] = {}
        path = [m for steps in self.paths.values() for m in steps if m.line]
        factorial = [m for combos in self.factorials.values() for m in combos.values() if m.line]
        for member in path:
            named = [n for n in member.variant.split(" = ") if "/" not in n]
            if named:
                names.setdefault(member.line, named[-1])
        for member in factorial + path:
            names.setdefault(member.line, member.label)
        for line in self.lines:
            names.setdefault(line, line.name.split(" = ")[0])
        return names

    def config_of(self, line: Line | None, acc: tuple[int, ...] = ()) -> dict | None:
        """The resolved config of a line, else of its first accuracy row."""
        text = line.config if line else (self._col["config_json"][acc[0]] if acc else None)
        return json.loads(text) if text else None

    # ------------------------------------------------------------------ values

    def group_rows(self, group: str) -> pd.DataFrame:
        return self.rows[self._col["group"] == group]

    def resolutions(self, group: str) -> list[int]:
        return sorted(int(r) for r in self.group_rows(group)["resolution"].dropna().unique())

    def measured(self, line: Line | None, group: str, column: str, resolution: int | None) -> Entry:
        """The value of ``column`` in the line's cell of ``group`` at ``resolution``, or why there is none."""
        if line is None:
            return missing("not run")
        found = self._by_config.get(line.config, np.array([], dtype=int))
        found = found[(self._col["group"][found] == group) & (self._col["resolution"][found] == resolution)]
        if not len(found):
            return missing("not run")
        ok = found[self._col["status"][found] == "ok"]
        if not len(ok):
            return missing(failed_note(self.rows["error"].iloc[found[-1]]))
        value = self.rows[column].iloc[ok[-1]]
        return missing(f"no {column} recorded") if pd.isna(value) else Entry(value=float(value))

    def seed_values(self, member: Member, column: str = "top1_acc",
                    task: str | None = None) -> tuple[pd.Series, list[str]]:
        """Per-seed values (indexed by seed) of a member's accuracy rows on ``task`` (default: the grid's first
        task, so two tasks never mix into one mean), and the notes of seeds that failed."""
        task = task if task is not None else (self.tasks[0] if self.tasks else None)
        key = (member.acc, column, task)
        if key not in self._seed_cache:
            self._seed_cache[key] = self._seed_values(member.acc, column, task)
        values, failures = self._seed_cache[key]
        return values.copy(), list(failures)

    def _seed_values(self, acc: tuple[int, ...], column: str, task: str | None) -> tuple[pd.Series, list[str]]:
        positions = [p for p in acc if task is None or self._task[p] == task]
        if column not in self.rows.columns:
            return pd.Series(dtype=float), []
        rows = self.rows[["status", "seed", "error", column]].iloc[positions]  # a few columns: take is costly
        ok = rows[rows["status"].eq("ok") & rows[column].notna()]
        values = ok.groupby("seed")[column].last().astype(float)
        failed = rows[~rows["status"].eq("ok") & ~rows["seed"].isin(values.index)]
        return values, [failed_note(e) for e in failed["error"]]

    def seed_entry(self, member: Member, column: str = "top1_acc", task: str | None = None) -> Entry:
        """Mean ± 95% CI over seeds, with n; says so when seeds failed or none ran."""
        values, failures = self.seed_values(member, column, task)
        if values.empty:
            return missing(failures[0] if failures else "not run")
        stats = summarize(values.to_numpy())
        note = f"{len(failures)} seed(s) {failures[0]}" if failures else None
        return Entry(value=stats["mean"], ci=stats["ci95_half"], n=int(stats["n"]), note=note)

    @cached_property
    def tasks(self) -> list[str]:
        """The accuracy tasks of the grid in the order their rows come (one for a grid without ``task``)."""
        return list(dict.fromkeys(t for t in self._task if t is not None))

    @cached_property
    def chance_pct(self) -> float | None:
        """100 / the classes the trained model had (the row's ``num_classes``: the data's, not the preset's
        1000 in ``config_json``), None when nothing trained. Several data sets: the most classes, lowest chance."""
        return self.chance_of(None)

    def chance_of(self, task: str | None) -> float | None:
        """Chance top-1 (%) of one task's rows (all accuracy rows for None); see ``chance_pct``."""
        rows = self.group_rows(ACCURACY)
        if task is not None:
            rows = rows[self._task[self._acc] == task]
        if "num_classes" not in rows:
            return None
        classes = set(pd.to_numeric(rows["num_classes"], errors="coerce").dropna().astype(int))
        return 100.0 / max(classes) if classes and max(classes) > 0 else None

    def test_sizes(self, task: str, column: str = "top1_acc") -> list[int]:
        """The test sizes (px) with a ``column`` value on ``task`` (see ``tasks.by_resolution``); [] when none."""
        rows = self.rows[self._task == task]
        prefix = at_size(column, 0)[: -len("0px")]
        found = [c for c in rows.columns if c.startswith(prefix) and c.endswith("px") and rows[c].notna().any()]
        return sorted(int(c[len(prefix):-2]) for c in found)

    def train_size(self, task: str) -> int | None:
        """The image size ``task`` trained at (the accuracy rows' ``resolution``)."""
        sizes = self.rows.loc[self._task == task, "resolution"].dropna()
        return int(sizes.iloc[0]) if len(sizes) else None

    @cached_property
    def accuracy_source(self) -> str | None:
        """ "pvt_nano @64 px": the trained model(s) and size(s); None when the grid trained nothing."""
        rows = self.group_rows(ACCURACY)
        if rows.empty:
            return None
        models = ", ".join(sorted(rows["model"].dropna().astype(str).unique()))
        sizes = ", ".join(str(r) for r in self.resolutions(ACCURACY))
        return f"{models} @{sizes} px"

    def gmacs(self, config_json: str, resolution: int) -> float:
        """GMACs of a config at a side: the counted flops row when the grid has one, else the closed form."""
        line = self._line_of.get(config_json)
        entry = self.measured(line, "flops", "gmacs", resolution) if line else missing("")
        return entry.value if entry.has_value else _analytic_gmacs(config_json, int(resolution))

    @cached_property
    def metrics(self) -> list[Metric]:
        """The per-variant cost columns, each at a stated resolution; only those the grid recorded."""
        out = []
        ref = self.reference_resolution("params")
        if ref is not None:
            out.append(Metric("params_m", "Params (M)", "params", "params_m", ref, "M"))
        flops = self.resolutions("flops")
        for r in dict.fromkeys(x for x in (self.reference_resolution("flops"), flops[-1] if flops else None) if x):
            out.append(Metric(f"gmacs_{r}px", f"Compute @{r} px (GMACs)", "flops", "gmacs", r, "GMACs"))
        for r in self.resolutions("memory"):
            batch = self.batch_text("memory")
            out.append(Metric(f"peak_mem_over_idle_mib_{r}px", f"Inference memory over idle @{r} px{batch} (MiB)",
                              "memory", "peak_mem_over_idle_mib", r, "MiB"))
            out.append(Metric(f"train_peak_mem_over_idle_mib_{r}px", f"Training memory over idle @{r} px{batch} "
                              "(MiB)", "memory", "train_peak_mem_over_idle_mib", r, "MiB"))
        for r in self.resolutions("throughput"):
            batch = self.batch_text("throughput")
            out += [Metric(f"infer_img_per_s_{r}px", f"Inference @{r} px{batch} (img/s, median)", "throughput",
                           "infer_img_per_s_median", r, "img/s", spread="infer_img_per_s_iqr", effect=False),
                    Metric(f"train_img_per_s_{r}px", f"Training @{r} px{batch} (img/s, median)", "throughput",
                           "train_img_per_s_median", r, "img/s", spread="train_img_per_s_iqr", effect=False),
                    Metric(f"latency_b1_ms_p50_{r}px", f"Batch-1 latency @{r} px (ms, median; p90)", "throughput",
                           "latency_b1_ms_p50", r, "ms", spread="latency_b1_ms_p90", spread_label="p90",
                           effect=False),  # speed effects are paired by round: pvtlab/report/speed.py
                    Metric(f"infer_gflop_per_s_{r}px", f"Inference rate @{r} px (GFLOP/s)", "throughput",
                           "infer_gflop_per_s", r, "GFLOP/s", effect=False),
                    Metric(f"mfu_infer_pct_{r}px", f"Inference MFU @{r} px (%)", "throughput", "mfu_infer", r, "%",
                           scale=100.0, effect=False),
                    Metric(f"mfu_train_pct_{r}px", f"Training MFU @{r} px (%)", "throughput", "mfu_train", r, "%",
                           scale=100.0, effect=False)]
        return [m for m in out if self._recorded(m)]

    def _recorded(self, metric: Metric) -> bool:
        """A metric is shown when some cell recorded it, or when its group only failed (to show why)."""
        rows = self.group_rows(metric.group)
        rows = rows[rows["resolution"].eq(metric.resolution)]
        core = metric.column in ("params_m", "gmacs", "peak_mem_over_idle_mib", "infer_img_per_s_median")
        return bool(rows[metric.column].notna().any() or (core and len(rows) and rows["status"].ne("ok").all()))

    def value(self, member: Member, metric: Metric) -> Entry:
        """A member's entry for a cost metric: scaled, with its IQR where the group records one."""
        entry = self.measured(member.line, metric.group, metric.column, metric.resolution)
        if not entry.has_value:
            return entry
        spread = None
        if metric.spread:
            found = self.measured(member.line, metric.group, metric.spread, metric.resolution)
            spread = (metric.spread_label, found.value * metric.scale) if found.has_value else None
        return Entry(value=entry.value * metric.scale, spread=spread)

    def reference_resolution(self, group: str) -> int | None:
        """The size a single-number column reports: 224 px when the group has it, else its smallest."""
        sizes = self.resolutions(group)
        return None if not sizes else (PREFERRED_RESOLUTION if PREFERRED_RESOLUTION in sizes else sizes[0])

    def batch_text(self, group: str) -> str:
        """ ", batch 8" when every cell of the group ran at one batch size, ", batch 4-8" when they differ."""
        sizes = sorted(int(b) for b in self.group_rows(group)["batch_size"].dropna().unique())
        if not sizes:
            return ""
        return f", batch {sizes[0]}" if len(sizes) == 1 else f", batch {sizes[0]}-{sizes[-1]}"


def short_label(member: Member) -> str:
    """A member's label within its panel: "1 + OPE" on the path, "+OPE+LSRA" in a factorial, else its name."""
    return member.label if member.combo or member.step is not None else member.variant.split(" = ")[-1]


def combo_label(combo: Combo) -> str:
    """ "+OPE+LSRA" for the improvements a combination switches on; "PVTv1 toggles" for none."""
    on = [name for value, (_, new, name) in zip(combo, TOGGLES.values()) if value == new]
    return "+" + "+".join(on) if on else "PVTv1 toggles"


def _one_variant(catalog: Catalog, positions: np.ndarray) -> tuple[int, ...]:
    """Accuracy rows of the first variant name only, so two variants never mix into one mean."""
    if not len(positions):
        return ()
    names = catalog._col["variant"][positions]
    return tuple(int(p) for p in positions[names == names[0]])


@lru_cache(maxsize=1024)
def _analytic_gmacs(config_json: str, resolution: int) -> float:
    from pvtlab.measure import (
        analytic_count,  # the measure package loads torch: only when a count is needed
    )

    return analytic_count(PVTConfig(**json.loads(config_json)), resolution).macs / 1e9
