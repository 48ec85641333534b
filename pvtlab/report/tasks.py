"""Which accuracy task and which test size an accuracy value belongs to.

A grid may train on several tasks (``task``: ``synthetic``, ``digits``, ...); older cells.csv files have no
``task`` column, so their rows form one task named after their data (``job_json``'s, or in older files
``data_json``'s, ``name``). A row's top-1 at other test
sizes comes as ``top1_by_res`` (JSON ``{"<px>": top-1 %}``, the training size included); it is spread into one
column per size (``top1_at_<px>px``) so every per-seed statistic reads it like ``top1_acc``.
"""

from __future__ import annotations

import json
import math

import pandas as pd

NO_TASK = "unnamed task"  # the task of rows that name none (no task column, no data name)
BY_RES = {"top1_acc": "top1_by_res", "ema_top1_acc": "ema_top1_by_res"}


def at_size(column: str, px: int) -> str:
    """The derived column of ``column`` (top1_acc, ema_top1_acc) at test size ``px``: "top1_acc_at_64px"."""
    return f"{column}_at_{int(px)}px"


def task_names(rows: pd.DataFrame) -> pd.Series:
    """Each row's task: its ``task`` value, else its data spec's ``name``, else ``accuracy``."""
    given = rows["task"] if "task" in rows.columns else pd.Series(None, index=rows.index, dtype=object)
    data = pd.Series(None, index=rows.index, dtype=object)
    for column in ("data_json", "job_json"):  # a job's data wins over an older file's data_json
        if column in rows.columns:
            data = rows[column].where(rows[column].notna(), data)
    names = [t if isinstance(t, str) and t.strip() else _data_name(d) for t, d in zip(given, data)]
    return pd.Series(names, index=rows.index, dtype=object)


def _data_name(data_json: object) -> str:
    if not isinstance(data_json, str) or not data_json.strip():
        return NO_TASK
    try:
        spec = json.loads(data_json)
    except json.JSONDecodeError:
        return NO_TASK
    if isinstance(spec, dict) and isinstance(spec.get("data"), dict):
        spec = spec["data"]  # a training job's data spec
    return str(spec.get("name") or NO_TASK) if isinstance(spec, dict) else NO_TASK


def by_resolution(rows: pd.DataFrame) -> dict[str, pd.Series]:
    """The derived per-size columns (see ``at_size``) of every row that has a ``top1_by_res``-style JSON."""
    out: dict[str, pd.Series] = {}
    for column, source in BY_RES.items():
        if source not in rows.columns:
            continue
        parsed = [_parse(text) for text in rows[source]]
        for px in sorted({px for values in parsed for px in values}):
            out[at_size(column, px)] = pd.Series([v.get(px, math.nan) for v in parsed], index=rows.index,
                                                 dtype="float64")
    return out


def _parse(text: object) -> dict[int, float]:
    """``{"64": 81.2}`` -> {64: 81.2}; an empty, unreadable or non-object value gives {}."""
    if not isinstance(text, str) or not text.strip():
        return {}
    try:
        values = json.loads(text)
    except json.JSONDecodeError:
        return {}
    if not isinstance(values, dict):
        return {}
    out = {}
    for px, value in values.items():
        try:
            out[int(px)] = float(value)
        except (TypeError, ValueError):
            continue
    return out


def task_notes() -> dict[str, tuple[str, str]]:
    """Task name -> (what it probes, what it cannot tell): ``pvtlab.data.spec.TASK_NOTES``, where each data
    source says what it can show."""
    from pvtlab.data.spec import TASK_NOTES

    return dict(TASK_NOTES)
