"""The top of report.md: what was run, on what machine and software, when, and how long it took.

Reads ``spec.yaml`` and ``grid.json`` (the grid runner's run record) next to cells.csv when they exist, and the
provenance columns of the rows, which are always there, so a report from a bare cells.csv still says what it
can. "Wall time (last run)" is ``grid.json``'s ``last_run.wall_s``: the grid keeps it from the last run that
did work, so a resume with nothing to do does not replace it.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from pvtlab.errors import UserInputError
from pvtlab.files import GRID_FILE, SPEC_COPY

_SPEC_KEYS = ("models", "factorial", "variants", "path", "resolutions", "measure", "measure_options", "accuracy")
_MACHINE = ("device_name", "cpu_model", "device", "threads", "dtype")
_SOFTWARE = ("torch_version", "timm_version", "fvcore_version", "pvtlab_version", "git_commit")
_TIMING = ("sdpa_backend", "amp_dtype", "tf32", "cudnn_benchmark", "channels_last", "compile_mode", "timed_alone")
_RUN_SHOWN = {"spec_path", "last_run", "wall_s", "study", "spec_hash", "device", "cells",
              "structure"}  # the structure is what the tables are built from (structure.py), not a line


def read_saved_spec(folder: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The parsed spec and its text, or (None, None) when the grid did not write one."""
    path = folder / SPEC_COPY
    if not path.is_file():
        return None, None
    text = path.read_text(encoding="utf-8")
    try:
        spec = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UserInputError(f"'{path}' is not valid YAML: {str(exc).splitlines()[0]}") from None
    return (spec if isinstance(spec, dict) else None), text


def read_run(folder: Path) -> tuple[dict[str, Any] | None, Path | None]:
    """The grid's run record (spec path, storage, last run's dates and wall time) and its path."""
    path = folder / GRID_FILE
    if not path.is_file():
        return None, None
    try:
        run = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UserInputError(f"'{path}' is not valid JSON: {exc}") from None
    return (run if isinstance(run, dict) else None), path


def header(cells: pd.DataFrame, current: pd.DataFrame, folder: Path) -> str:
    """Markdown for the title and the "What was run" section."""
    spec, spec_text = read_saved_spec(folder)
    run, run_path = read_run(folder)
    run = run or {}
    study = _first(cells, "study") or (spec or {}).get("name") or folder.name
    lines = [f"# Ablation report: {study}", ""]
    if spec and spec.get("description"):
        lines += [str(spec["description"]), ""]
    lines += ["## What was run", ""]
    lines += _spec_lines(spec, cells, folder)
    lines += _command_lines(run, run_path)
    lines += _machine_lines(current)
    lines += _time_lines(current, run)
    lines += _count_lines(cells, current)
    if spec_text:
        lines += ["", "<details><summary>The spec as run</summary>", "", "```yaml", spec_text.rstrip(), "```",
                  "</details>"]
    return "\n".join(lines) + "\n"


def _spec_lines(spec: dict[str, Any] | None, cells: pd.DataFrame, folder: Path) -> list[str]:
    live = cells[~cells["stale_spec"].fillna(False).astype(bool)]
    hashes = sorted(live["spec_hash"].dropna().astype(str).unique())
    where = f"`{folder / SPEC_COPY}`" if spec is not None else "no spec.yaml next to cells.csv"
    lines = [f"- **Spec**: {where}" + (f" (spec hash `{', '.join(hashes)}`)" if hashes else "")]
    for key in _SPEC_KEYS if spec else ():
        if spec.get(key):
            value = ", ".join(map(str, spec[key])) if key == "variants" else _inline(spec[key])
            lines.append(f"  - {key}: {value}")
    return lines


def _command_lines(run: dict[str, Any], path: Path | None) -> list[str]:
    if not run:
        return [f"- **Run record**: none ({GRID_FILE} not next to cells.csv)"]
    lines = []
    if "spec_path" in run:
        lines.append(f"- **Command**: `python run_ablation.py --grid {run['spec_path']}`")
    for key, value in run.items():
        if key not in _RUN_SHOWN:
            lines.append(f"- **{key.replace('_', ' ').capitalize()}**: {_inline(value)}")
    lines.append(f"- **Run record**: `{path}`")
    return lines


def _machine_lines(rows: pd.DataFrame) -> list[str]:
    machine = "; ".join(f"{c}: {_values(rows, c)}" for c in _MACHINE if rows[c].notna().any())
    software = "; ".join(f"{c}: {_values(rows, c)}" for c in _SOFTWARE if rows[c].notna().any())
    timing = "; ".join(f"{c}: {_values(rows, c)}" for c in _TIMING if rows[c].notna().any())
    lines = []
    if machine:
        lines.append(f"- **Machine**: {machine}")
    if software:
        lines.append(f"- **Software**: {software}")
    if timing:
        lines.append(f"- **Timing settings** (memory and throughput cells): {timing}")
    peak = rows["matmul_peak_gflop_per_s"].median()
    if pd.notna(peak):
        lines.append(f"- **Matmul peak** (the MFU denominator, measured in each timed cell): median {peak:,.0f} "
                     "GFLOP/s")
    return lines


def _time_lines(rows: pd.DataFrame, run: dict[str, Any]) -> list[str]:
    lines = []
    last = run.get("last_run") if isinstance(run.get("last_run"), dict) else {}
    if last.get("started_at"):
        workers = ""
        if "workers" in last:
            per = f" x {last['threads_per_worker']} thread(s)" if "threads_per_worker" in last else ""
            workers = f"; {last['workers']} worker(s){per} on {last.get('device', run.get('device', '?'))}"
        lines.append(f"- **Last run**: {last['started_at']} to {last.get('finished_at', '?')}{workers}")
    wall = last.get("wall_s")
    if wall is not None:
        lines.append(f"- **Wall time (last run)**: {_duration(wall)}")
    started, finished = rows["started_at"].min(), rows["finished_at"].max()
    if pd.notna(started) and pd.notna(finished):
        lines.append(f"- **Cells measured**: {started:%Y-%m-%d %H:%M:%S} to {finished:%Y-%m-%d %H:%M:%S} UTC")
    cell_time = rows["wall_s"].sum(min_count=1)
    if pd.notna(cell_time):
        lines.append(f"- **Cell time**: {_duration(cell_time)}, the sum of every cell's own wall time")
    lines.append(f"- **Report written**: {datetime.now(timezone.utc):%Y-%m-%d %H:%M:%S} UTC")
    return lines


def _count_lines(cells: pd.DataFrame, rows: pd.DataFrame) -> list[str]:
    ok = int(rows["status"].eq("ok").sum())
    text = f"- **Cells**: {len(rows)} ({ok} ok, {len(rows) - ok} failed)"
    stale = int(cells["stale_spec"].fillna(False).astype(bool).sum())
    if stale:
        text += f"; {stale} row(s) from an older spec are left out of this report"
    return [text]


def _first(rows: pd.DataFrame, column: str) -> str | None:
    values = rows[column].dropna()
    return str(values.iloc[0]) if len(values) else None


def _values(rows: pd.DataFrame, column: str) -> str:
    """The distinct values of a provenance column; with counts when the rows disagree."""
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
    minutes, rest = divmod(round(seconds), 60)
    return f"{seconds:.1f} s ({minutes} min {rest} s)" if minutes else f"{seconds:.1f} s"
