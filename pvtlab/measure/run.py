"""``measure``: one group of measurements of one model at one resolution, as one flat result row.

A measurement failure never raises: out-of-memory is retried at half the batch (the batch that ran is recorded),
and a timeout or any other error becomes ``status="failed"`` with the error text, so a grid never loses a row.
Only bad arguments (a user's mistake, not a measurement) raise ``UserInputError``. The row's columns come from
``pvtlab.columns`` (the group's columns, then the provenance columns). ``measure`` builds a ``MeasureJob`` (job.py,
where options are checked and defaults resolved from ``pvtlab.defaults``) and runs it.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any, Mapping

import torch

from pvtlab import columns
from pvtlab.columns import COMPLEXITY_GROUPS  # what measure() measures (accuracy trains: pvtlab.train)
from pvtlab.models import PVTConfig
from pvtlab import defaults
from pvtlab.defaults import default_batch
from pvtlab.errors import check_fields
from pvtlab.torch_settings import THREADS_RULE

from .child import ChildError, ChildTimeout, run_in_child
from .conventions import ImageSize, parse_image_size, resolution_of
from .groups import measure_group
from .job import TIMING_OPTIONS, MeasureJob, measure_job, option_defaults
from .provenance import provenance

GROUP_COLUMNS: dict[str, tuple[str, ...]] = {group: columns.group_columns(group) for group in COMPLEXITY_GROUPS}


def measure(group: str, config: PVTConfig, resolution: ImageSize, *, device: str = "cpu", threads: int | None = None,
            batch_size: int | None = None, time_budget_s: float = defaults.TIME_BUDGET_S,
            warmup: int = defaults.TIMING_WARMUP, repeats: int = defaults.REPEATS,
            amp_dtype: str | None = defaults.MEASURE_AMP_DTYPE, channels_last: bool = defaults.CHANNELS_LAST,
            compile: bool = defaults.COMPILE, timeout_s: float | None = defaults.TIMEOUT_S) -> dict[str, Any]:
    """Measure ``group`` ("params", "flops", "memory" or "throughput") of ``config`` at ``resolution``.

    Returns ``group``, ``resolution`` (the int side, or (H, W) when not square), the group's cells.csv columns,
    ``status`` ("ok"/"failed"), ``error`` ("" when ok) and the provenance columns. ``threads`` (default: the current
    torch setting) is fixed for the measurement and recorded. ``batch_size`` defaults to the device's
    (``pvtlab.defaults.BATCH_BY_DEVICE``: 8 on CPU, 64 on CUDA) for memory and throughput; FLOPs and params are
    per image and take no options (job.py: ``GROUP_OPTIONS``). ``time_budget_s``, ``warmup`` and ``repeats``
    apply to each timed step kind (and to the batch-1 latency run). ``timeout_s`` runs the measurement in a
    child process that is killed when time runs out. ``timed_alone`` and ``concurrent_cells`` are left empty:
    only a grid knows what else ran.
    """
    job = measure_job(group, config, resolution, device=device, timeout_s=timeout_s, batch_size=batch_size,
                      time_budget_s=time_budget_s, warmup=warmup, repeats=repeats, amp_dtype=amp_dtype,
                      channels_last=channels_last, compile=compile)
    return run_measure_job(job, threads=threads)


def check_threads(threads: Any) -> int:
    """``threads`` as given (an int >= 1), or the current torch setting for None."""
    check_fields({"threads": threads}, THREADS_RULE)
    return threads if threads is not None else torch.get_num_threads()


def step_arguments(options: Mapping[str, Any], device: str) -> dict[str, Any]:
    """The job's options over the defaults of those it does not carry: every argument a measured step takes."""
    return {**{k: v for k, v in option_defaults().items() if k in TIMING_OPTIONS}, "batch_size": default_batch(device),
            **options}


def run_measure_job(job: MeasureJob, *, threads: int | None = None) -> dict[str, Any]:
    """The result row of ``job``; a failed measurement is a row with ``status="failed"``, never an exception."""
    threads = check_threads(threads)
    started, clock = dt.datetime.now(dt.timezone.utc), time.perf_counter()
    height, width = parse_image_size(job.resolution)
    record = blank_row(job.group, job.resolution, job.device, threads, job.options.get("amp_dtype"))
    work = dict(group=job.group, config=job.config, height=height, width=width, device=job.device, threads=threads,
                **step_arguments(job.options, job.device))
    own_children = job.group == "memory" and torch.device(job.device).type == "cpu"  # one child per step kind
    try:
        if job.timeout_s is None or own_children:
            values = measure_group(**work, timeout_s=job.timeout_s)
        else:
            values = run_in_child(measure_group, work, timeout_s=job.timeout_s)
    except Exception as exc:  # noqa: BLE001 - every measurement failure becomes a failed row, never a crash
        record.update(status="failed", error=describe_error(exc))
    else:
        record.update(values)
    record.update(started_at=started.isoformat(timespec="milliseconds"),
                  finished_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"),
                  wall_s=round(time.perf_counter() - clock, 4))
    return record


def blank_row(group: str, resolution: ImageSize, device: str, threads: int, amp_dtype: str | None) -> dict[str, Any]:
    """A row before its measurement: the group's columns empty, status ok, provenance filled."""
    record: dict[str, Any] = {"group": group, "resolution": resolution_of(resolution)}
    record.update(dict.fromkeys(GROUP_COLUMNS[group]))
    record.update(status="ok", error="")
    record.update(provenance(device, threads=threads, dtype=amp_dtype or "float32"))
    return record


def describe_error(exc: BaseException) -> str:
    """One line: what failed and why."""
    if isinstance(exc, ChildTimeout):
        text = f"timeout: {exc}"
    elif isinstance(exc, ChildError):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())
