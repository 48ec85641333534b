"""The top of report.md: what was run, where, with what software, when, and how long it took.

Reads ``spec.yaml`` and ``run.json`` next to cells.csv when the grid wrote them, and the provenance
columns of the rows themselves (which are always there), so a report from a bare cells.csv still says
what it can.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from pvtlab.errors import UserInputError

SPEC_FILE = "spec.yaml"
RUN_FILE = "run.json"

_MACHINE = ("device", "device_name", "cpu_model", "threads", "dtype")
_SOFTWARE = ("torch_version", "timm_version", "fvcore_version", "pvtlab_version", "git_commit")


def read_spec(folder: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The parsed spec and its text, or (None, None) when the grid did not write one."""
    path = folder / SPEC_FILE
    if not path.is_file():
        return None, None
    text = path.read_text(encoding="utf-8")
    try:
        spec = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UserInputError(f"'{path}' is not valid YAML: {str(exc).splitlines()[0]}") from None
    return (spec if isinstance(spec, dict) else None), text


def read_run(folder: Path) -> dict[str, Any] | None:
    """The grid's run record (wall time, machine, provenance, dates), or None when absent."""
    path = folder / RUN_FILE
    if not path.is_file():
        return None
    try:
        run = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UserInputError(f"'{path}' is not valid JSON: {exc}") from None
    return run if isinstance(run, dict) else None


def header(cells: pd.DataFrame, current: pd.DataFrame, folder: Path) -> str:
    """Markdown for the "What was run" section."""
    spec, spec_text = read_spec(folder)
    run = read_run(folder) or {}
    study = _first(cells, "study") or (spec or {}).get("name") or folder.name
    lines = [f"# Ablation report: {study}", "", "## What was run", ""]
    lines += _spec_lines(spec, cells, folder)
    lines += _run_lines(run)
    lines += _provenance_lines(current)
    lines += _date_lines(current, run)
    lines += _count_lines(cells, current)
    if spec_text:
        lines += ["", "<details><summary>Resolved spec</summary>", "", "```yaml", spec_text.rstrip(), "```", "</details>"]
    return "\n".join(lines) + "\n"


def _spec_lines(spec: dict[str, Any] | None, cells: pd.DataFrame, folder: Path) -> list[str]:
    hashes = sorted(set(cells["spec_hash"].dropna()) - set(cells.loc[cells["stale_spec"].eq(True), "spec_hash"].dropna()))
    where = f"`{folder / SPEC_FILE}`" if spec is not None else "no spec.yaml next to cells.csv"
    lines = [f"- **Spec**: {where}" + (f" (hash `{', '.join(hashes)}`)" if hashes else "")]
    if spec:
        for key in ("models", "resolutions", "measure"):
            if key in spec:
                lines.append(f"  - {key}: {_inline(spec[key])}")
        if spec.get("factorial"):
            lines.append(f"  - factorial: {_inline(spec['factorial'])}")
        if spec.get("variants"):
            lines.append(f"  - variants: {', '.join(map(str, spec['variants']))}")
        if spec.get("accuracy"):
            lines.append(f"  - accuracy: {_inline(spec['accuracy'])}")
    return lines


def _run_lines(run: dict[str, Any]) -> list[str]:
    """Everything run.json says, known keys first, nested dicts flattened one level."""
    if not run:
        return ["- **Run record**: no run.json next to cells.csv"]
    lines = []
    if "command" in run:
        command = run["command"] if isinstance(run["command"], str) else " ".join(map(str, run["command"]))
        lines.append(f"- **Command**: `{command}`")
    if "wall_s" in run:
        lines.append(f"- **Grid wall time**: {_duration(run['wall_s'])}")
    for key, value in run.items():
        if key in ("command", "wall_s"):
            continue
        if isinstance(value, dict):
            inner = "; ".join(f"{k}: {_inline(v)}" for k, v in value.items())
            lines.append(f"- **{key}**: {inner}")
        else:
            lines.append(f"- **{key}**: {_inline(value)}")
    return lines


def _provenance_lines(rows: pd.DataFrame) -> list[str]:
    machine = "; ".join(f"{c}: {_values(rows, c)}" for c in _MACHINE if rows[c].notna().any())
    software = "; ".join(f"{c}: {_values(rows, c)}" for c in _SOFTWARE if rows[c].notna().any())
    lines = []
    if machine:
        lines.append(f"- **Machine (from the rows)**: {machine}")
    if software:
        lines.append(f"- **Software (from the rows)**: {software}")
    workers = rows["worker"].dropna().nunique()
    if workers:
        lines.append(f"- **Workers**: {workers}")
    return lines


def _date_lines(rows: pd.DataFrame, run: dict[str, Any]) -> list[str]:
    lines = []
    started, finished = rows["started_at"].min(), rows["finished_at"].max()
    if pd.notna(started) and pd.notna(finished):
        lines.append(f"- **Cells ran**: {started:%Y-%m-%d %H:%M:%S} to {finished:%Y-%m-%d %H:%M:%S} UTC")
    cell_time = rows["wall_s"].sum(min_count=1)
    if pd.notna(cell_time):
        lines.append(f"- **Cell time**: {_duration(cell_time)} summed over cells (more than the wall time with several workers)")
    now = datetime.now(timezone.utc)
    lines.append(f"- **Report written**: {now:%Y-%m-%d %H:%M:%S} UTC")
    return lines


def _count_lines(cells: pd.DataFrame, rows: pd.DataFrame) -> list[str]:
    ok = int(rows["status"].eq("ok").sum())
    failed = len(rows) - ok
    text = f"- **Cells**: {len(rows)} ({ok} ok, {failed} failed)"
    stale = int(cells["stale_spec"].eq(True).sum())
    if stale:
        text += f"; {stale} row(s) from an older spec left out of this report"
    return [text]


def _first(rows: pd.DataFrame, column: str) -> str | None:
    values = rows[column].dropna()
    return str(values.iloc[0]) if len(values) else None


def _values(rows: pd.DataFrame, column: str) -> str:
    """The distinct values of a provenance column; counts when the rows disagree."""
    counts = rows[column].dropna().astype(str).value_counts()
    if len(counts) == 1:
        return f"`{counts.index[0]}`"
    return ", ".join(f"`{value}` ({count} cells)" for value, count in counts.items())


def _inline(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return "`" + json.dumps(value, separators=(", ", ": "), default=str) + "`"
    return f"`{value}`" if isinstance(value, str) else str(value)


def _duration(seconds: Any) -> str:
    try:
        seconds = float(seconds)
    except (TypeError, ValueError):
        return str(seconds)
    minutes, rest = divmod(seconds, 60)
    return f"{seconds:.1f} s ({int(minutes)} min {rest:.0f} s)" if minutes else f"{seconds:.1f} s"
