"""``measure``: one group of measurements of one model at one resolution, as one flat result row.

A measurement failure never raises: out-of-memory is retried at half the batch (the batch that ran is recorded),
and a timeout or any other error becomes ``status="failed"`` with the error text, so a grid never loses a row.
Only bad arguments (a user's mistake, not a measurement) raise ``UserInputError``. The row's columns come from
``pvtlab.columns`` (the group's columns, then the provenance columns); ``measure``'s signature is the one place its
defaults live, and ``DEFAULT_BATCH`` resolves ``batch_size=None`` per device type.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import torch

from pvtlab import columns
from pvtlab.columns import COMPLEXITY_GROUPS  # what measure() measures (accuracy trains: pvtlab.train)
from pvtlab.errors import UserInputError
from pvtlab.models import PVTConfig
from pvtlab.torch_settings import AMP_DTYPES

from .child import ChildError, ChildTimeout, run_in_child
from .conventions import ImageSize, parse_image_size, resolution_of
from .groups import measure_group
from .provenance import provenance

GROUP_COLUMNS: dict[str, tuple[str, ...]] = {group: columns.group_columns(group) for group in COMPLEXITY_GROUPS}
# Images per step of memory and throughput cells when batch_size is None, by device type; the grid reads it to
# resolve a cell's settings. CPU 8: a B2 step at 512 px stays within seconds on a laptop; CUDA 64 fills a GPU better.
DEFAULT_BATCH = {"cpu": 8, "cuda": 64}


def _check(ok: bool, name: str, value: Any, allowed: str) -> None:
    if not ok:
        raise UserInputError(f"{name}={value!r} is not allowed; {allowed}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _validate(group: str, config: Any, device: str, threads: Any, batch_size: Any, time_budget_s: Any,
              warmup: Any, repeats: Any, amp_dtype: Any, timeout_s: Any) -> None:
    _check(group in COMPLEXITY_GROUPS, "group", group, f"choose one of {list(COMPLEXITY_GROUPS)}")
    _check(isinstance(config, PVTConfig), "config", type(config).__name__, "give a pvtlab PVTConfig")
    try:
        device_type = torch.device(device).type
    except (RuntimeError, TypeError):
        device_type = None
    _check(device_type in ("cpu", "cuda"), "device", device, "choose 'cpu', 'cuda' or 'cuda:N'")
    _check(threads is None or (_is_int(threads) and threads >= 1), "threads", threads, "give an int >= 1 or None")
    _check(batch_size is None or (_is_int(batch_size) and batch_size >= 1), "batch_size", batch_size,
           "give an int >= 1 or None")
    _check(isinstance(time_budget_s, (int, float)) and time_budget_s > 0, "time_budget_s", time_budget_s,
           "give a number of seconds > 0")
    _check(_is_int(warmup) and warmup >= 0, "warmup", warmup, "give an int >= 0")
    _check(_is_int(repeats) and repeats >= 1, "repeats", repeats, "give an int >= 1")
    _check(amp_dtype is None or amp_dtype in AMP_DTYPES, "amp_dtype", amp_dtype, f"choose None or one of {list(AMP_DTYPES)}")
    _check(timeout_s is None or (isinstance(timeout_s, (int, float)) and timeout_s > 0), "timeout_s", timeout_s,
           "give a number of seconds > 0 or None")


def measure(group: str, config: PVTConfig, resolution: ImageSize, *, device: str = "cpu", threads: int | None = None,
            batch_size: int | None = None, time_budget_s: float = 5.0, warmup: int = 2, repeats: int = 10,
            amp_dtype: str | None = None, channels_last: bool = False, compile: bool = False,
            timeout_s: float | None = None) -> dict[str, Any]:
    """Measure ``group`` ("params", "flops", "memory" or "throughput") of ``config`` at ``resolution``.

    Returns ``group``, ``resolution`` (the int side, or (H, W) when not square), the group's cells.csv columns,
    ``status`` ("ok"/"failed"), ``error`` ("" when ok) and the provenance columns. ``threads`` (default: the current
    torch setting) is fixed for the measurement and recorded. ``batch_size`` defaults to ``DEFAULT_BATCH`` (8 on
    CPU, 64 on CUDA) for memory and throughput; FLOPs and params are per image. ``time_budget_s``, ``warmup`` and
    ``repeats`` apply to each timed step kind (and to the batch-1 latency run). ``timeout_s`` runs the
    measurement in a child process that is killed when time runs out. ``timed_alone`` and ``concurrent_cells``
    are left empty: only a grid knows what else ran.
    """
    _validate(group, config, device, threads, batch_size, time_budget_s, warmup, repeats, amp_dtype, timeout_s)
    started, clock = dt.datetime.now(dt.timezone.utc), time.perf_counter()
    height, width = parse_image_size(resolution)
    threads = threads if threads is not None else torch.get_num_threads()
    record = blank_row(group, resolution, device, threads, amp_dtype)
    job = dict(group=group, config=config, height=height, width=width, device=device, threads=threads,
               batch_size=batch_size or DEFAULT_BATCH[torch.device(device).type], time_budget_s=time_budget_s,
               warmup=warmup, repeats=repeats, amp_dtype=amp_dtype, channels_last=channels_last, compile=compile)
    own_children = group == "memory" and torch.device(device).type == "cpu"  # already one child per step kind
    try:
        if timeout_s is None or own_children:
            values = measure_group(**job, timeout_s=timeout_s)
        else:
            values = run_in_child(measure_group, job, timeout_s=timeout_s)
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
