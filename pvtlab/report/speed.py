"""The report's speed section: the A/A noise floor, then paired speed ratios, main effects, interactions and path
deltas, every one from per-round log-ratios of arms timed in the same interleaved rounds (pvtlab.measure.block).

Why not differences of medians: two medians timed minutes apart on a shared machine differ by its drift (10-25 %
between runs), which dwarfs most of what the toggles change. Within a round every arm ran seconds apart, so a
per-round contrast cancels the drift; the estimate is the median over rounds with a distribution-free 95% CI
(pvtlab.paired_ci). An effect whose CI includes 0 is marked, as accuracy effects are.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterator

import numpy as np
import pandas as pd

from pvtlab.paired_ci import PairedEstimate, paired_estimate
from pvtlab.report.table import Col, Entry, Table, label, missing
from pvtlab.toggles import TOGGLES

# step kind -> (per-round column, what it is, sign: +1 when higher is faster)
KINDS = {"infer": ("infer_rounds_img_per_s", "inference img/s", 1),
         "train": ("train_rounds_img_per_s", "training img/s", 1),
         "latency": ("latency_rounds_ms", "batch-1 latency", -1)}
UNRESOLVED = "CI includes 0"


def timed_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """The ok throughput rows that were timed in a paired block."""
    if "timing_block" not in rows.columns:
        return rows.iloc[0:0]
    ok = (rows["group"] == "throughput") & (rows["status"] == "ok") & rows["timing_block"].notna()
    return rows[ok]


def log_rounds(row: pd.Series, kind: str) -> np.ndarray:
    """log of a row's per-round values of ``kind`` (empty when it has none)."""
    raw = row.get(KINDS[kind][0])
    if not isinstance(raw, str) or not raw:
        return np.array([])
    return np.log(np.asarray(json.loads(raw), dtype=float))


def blocks(rows: pd.DataFrame) -> Iterator[tuple[int, pd.DataFrame]]:
    """(resolution, rows of one timing block), by resolution."""
    timed = timed_rows(rows)
    if timed.empty:
        return
    for block, members in sorted(timed.groupby("timing_block"), key=lambda kv: int(kv[1]["resolution"].iloc[0])):
        yield int(members["resolution"].iloc[0]), members


def _contrast(members: list[tuple[float, pd.Series]], kind: str) -> PairedEstimate:
    """sum(weight x log value) round by round over rows of one block, with its median and CI."""
    logs = [log_rounds(row, kind) for _, row in members]
    if any(len(x) == 0 or len(x) != len(logs[0]) for x in logs):
        return paired_estimate([])
    return paired_estimate(sum(weight * x for (weight, _), x in zip(members, logs)))


def pair_ratio(rows: pd.DataFrame, before: dict | None, after: dict | None, size: int,
               kind: str = "infer") -> PairedEstimate | None:
    """``after``'s speed over ``before``'s (two configs) at ``size``, paired by round; None unless one block timed
    both (then the caller falls back to separately timed medians, and says so)."""
    for at, members in blocks(rows):
        if at != size:
            continue
        found = {}
        for _, row in members.iterrows():
            config = json.loads(row["config_json"]) if isinstance(row.get("config_json"), str) else None
            for name, wanted in (("before", before), ("after", after)):
                if wanted is not None and config == wanted:
                    found[name] = row
        if len(found) == 2:
            return _contrast([(1.0, found["after"]), (-1.0, found["before"])], kind)
    return None


def noise_floor(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per block: resolution, reference, rounds and the A/A ratio with its CI per step kind."""
    out = []
    for size, members in blocks(rows):
        first = members.iloc[0]
        out.append({"resolution": size, "ref_variant": first.get("ref_variant"), "rounds": first.get("rounds"),
                    **{f"aa_{k}{e}": first.get(f"aa_{k}{e}") for k in ("infer", "train")
                       for e in ("_ratio", "_ci95_lo", "_ci95_hi")}})
    return pd.DataFrame(out)


def factorial_effects(rows: pd.DataFrame) -> pd.DataFrame:
    """Main effects and two-way interactions of the toggles on speed, per block, model and step kind, in % change
    (latency: % change of the latency, so negative is faster). Needs all 8 combinations in the block."""
    out = []
    for size, members in blocks(rows):
        factorial = members[members["in_factorial"].fillna(False).astype(bool)]
        for model, combos in factorial.groupby("model"):
            by = {tuple(row[t] for t in TOGGLES): row for _, row in combos.iterrows()}
            if len(by) != 2 ** len(TOGGLES):
                continue
            for kind in KINDS:
                for term, weights in _terms(list(by)):
                    est = _contrast([(w, by[combo]) for combo, w in weights.items()], kind)
                    out.append(_effect_row(size, model, kind, term, est))
    return pd.DataFrame(out)


def _terms(combos: list[tuple]) -> Iterator[tuple[str, dict[tuple, float]]]:
    """(term, combination -> weight): a main effect is the mean of the PVTv2 half minus the PVTv1 half; an
    interaction A x B is y_AB - y_A - y_B + y_none, averaged over the third toggle."""
    names = list(TOGGLES)
    for i, (toggle, (old, new, name)) in enumerate(TOGGLES.items()):
        half = len(combos) / 2
        yield (f"{name}: {toggle} {old} → {new}",
               {c: (1.0 if c[i] == new else -1.0) / half for c in combos})
    for a, b in itertools.combinations(range(len(names)), 2):
        new_a, new_b = TOGGLES[names[a]][1], TOGGLES[names[b]][1]
        sign = {c: (1.0 if c[a] == new_a else -1.0) * (1.0 if c[b] == new_b else -1.0) for c in combos}
        yield (f"{TOGGLES[names[a]][2]} x {TOGGLES[names[b]][2]}", {c: s / (len(combos) / 4) for c, s in sign.items()})


def path_deltas(rows: pd.DataFrame) -> pd.DataFrame:
    """Each path step against the previous one, per block and step kind, in % change (paired by round)."""
    out = []
    for size, members in blocks(rows):
        path = members[members["path_step"].notna()].sort_values("path_step")
        steps = [row for _, row in path.iterrows()]
        for before, after in zip(steps, steps[1:]):
            for kind in KINDS:
                est = _contrast([(1.0, after), (-1.0, before)], kind)
                out.append(_effect_row(size, str(after["model"]), kind,
                                       f"{_name(before)} → {_name(after)}", est))
    return pd.DataFrame(out)


def _name(row: pd.Series) -> str:
    aliases = [a.split(":", 1)[-1] for a in str(row.get("aliases") or "").split(";") if a and a != "nan"]
    return str(row["variant"]) + (f" (= {', '.join(aliases)})" if aliases else "")


def _effect_row(size: int, model: str, kind: str, term: str, est: PairedEstimate) -> dict[str, object]:
    change, lo, hi = est.pct()
    return {"resolution": size, "model": model, "kind": kind, "term": term, "change_pct": change,
            "ci95_lo_pct": lo, "ci95_hi_pct": hi, "rounds": est.n, "resolved": not est.includes_zero}


def speed_tables(rows: pd.DataFrame) -> list[Table]:
    """The speed section: noise floor first (the yardstick for everything after it), ratios, effects, path."""
    if timed_rows(rows).empty:
        return []
    return [_noise_table(rows), _ratio_table(rows), *_effect_tables(rows)]


def _noise_table(rows: pd.DataFrame) -> Table:
    cols = [Col("resolution_px", "Side (px)"), Col("ref_variant", "Reference (timed as two arms)"),
            Col("rounds", "Rounds")]
    cols += [Col(f"aa_{k}{e}", f"A/A {k} {h}") for k in ("infer", "train")
             for e, h in (("_ratio", "ratio"), ("_ci95_lo", "CI low"), ("_ci95_hi", "CI high"))]
    table = Table("speed_noise_floor", "Noise floor: the reference against itself (A/A), in the same rounds", cols)
    for r in noise_floor(rows).to_dict("records"):
        table.add([label(r["resolution"]), label(r["ref_variant"]), _count(r["rounds"])]
                  + [_num(r[c.key]) for c in cols[3:]])
    table.notes.append("Ratio = median over rounds of (second copy's img/s / first copy's), 95% CI distribution-"
                       "free. The ideal is 1; a speed ratio or effect inside this band is noise on this machine.")
    return table


def _ratio_table(rows: pd.DataFrame) -> Table:
    cols = [Col("resolution_px", "Side (px)"), Col("variant", "Variant"), Col("ref_variant", "Reference")]
    cols += [Col(f"{k}_vs_ref{e}", f"{k} / ref {h}") for k in ("infer", "train")
             for e, h in (("", "ratio"), ("_ci95_lo", "CI low"), ("_ci95_hi", "CI high"))]
    table = Table("speed_ratios", "Speed relative to the reference, paired by round", cols)
    for size, members in blocks(rows):
        for _, row in members.iterrows():
            table.add([label(size), label(_name(row)), label(row.get("ref_variant"))]
                      + [_num(row.get(c.key)) for c in cols[3:]])
    table.notes.append("img/s over the reference's img/s in the same rounds (median of per-round ratios, 95% CI); "
                       "above 1 is faster. Absolute img/s are in the tables above and in cells.csv.")
    return table


def _effect_tables(rows: pd.DataFrame) -> list[Table]:
    out = []
    for name, title, data in (("speed_effects", "Speed main effects and interactions, paired by round",
                               factorial_effects(rows)),
                              ("speed_path", "Speed change along the path, each step against the previous one",
                               path_deltas(rows))):
        if data.empty:
            continue
        cols = [Col("resolution_px", "Side (px)"), Col("model", "Model"), Col("term", "Term"),
                Col("kind", "Step"), Col("change_pct", "Change (%)", signed=True),
                Col("ci95_lo_pct", "CI low (%)", signed=True), Col("ci95_hi_pct", "CI high (%)", signed=True),
                Col("rounds", "Rounds")]
        table = Table(name, title, cols)
        for r in data.to_dict("records"):
            note = None if r["resolved"] else UNRESOLVED
            table.add([label(r["resolution"]), label(r["model"]), label(r["term"]), label(r["kind"]),
                       Entry(value=r["change_pct"], note=note), _num(r["ci95_lo_pct"]), _num(r["ci95_hi_pct"]),
                       _count(r["rounds"])])
        table.notes.append("Median over rounds of the per-round contrast of log speeds, as a % change with a 95% CI; "
                           "infer/train: + is faster; latency: + is slower. "
                           f"[{UNRESOLVED}]: the CI holds 0, so the data do not resolve the sign.")
        out.append(table)
    return out


def _num(value: object) -> Entry:
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return missing("n/a")
    return Entry(value=x) if not math.isnan(x) else missing("n/a (fewer than 6 rounds)")


def _count(value: object) -> Entry:
    entry = _num(value)
    return label(int(entry.value)) if entry.has_value else entry
