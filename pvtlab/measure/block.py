"""``measure_block``: paired throughput of several models at one input size, one flat row per model.

The counterpart of ``measure("throughput", ...)`` for a comparison: the same columns and provenance per row,
timed in interleaved rounds (paired.py), plus each row's ratio to the reference with its CI and the block's A/A
noise floor. Like ``measure`` it never raises for a measurement failure: every row of the block fails with the
reason (the arms were timed together, so none of them has a result of its own).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import torch

from pvtlab.errors import UserInputError
from pvtlab.models import PVTConfig

from .child import run_in_child
from .conventions import ImageSize, parse_image_size
from .paired import AA_ARM, measure_paired
from .record import DEFAULT_BATCH, _validate, blank_row, describe_error


def measure_block(configs: dict[str, PVTConfig], resolution: ImageSize, *, ref: str, device: str = "cpu",
                  threads: int | None = None, batch_size: int | None = None, time_budget_s: float = 5.0,
                  warmup: int = 2, repeats: int = 10, amp_dtype: str | None = None, channels_last: bool = False,
                  compile: bool = False, timeout_s: float | None = None) -> dict[str, dict[str, Any]]:
    """Name -> row for every model of ``configs``, timed as one paired block against ``ref``.

    The options mean what they mean for ``measure``, except: ``repeats`` is the most interleaved rounds per step
    kind, ``time_budget_s`` is per model and step kind (the block's rounds stop after that times the arms), and
    ``timeout_s`` is per arm too (the block, run in a child process, gets ``timeout_s`` x (models + 1)).
    """
    if not configs or ref not in configs or AA_ARM in configs:
        raise UserInputError(f"ref={ref!r} is not allowed; name one of the block's models {sorted(configs)} "
                             f"(none may be called {AA_ARM!r})")
    for config in configs.values():
        _validate("throughput", config, device, threads, batch_size, time_budget_s, warmup, repeats, amp_dtype,
                  timeout_s)
    started, clock = dt.datetime.now(dt.timezone.utc), time.perf_counter()
    height, width = parse_image_size(resolution)
    threads = threads if threads is not None else torch.get_num_threads()
    rows = {name: blank_row("throughput", resolution, device, threads, amp_dtype) for name in configs}
    job = dict(configs=configs, ref=ref, height=height, width=width, device=device, threads=threads,
               batch_size=batch_size or DEFAULT_BATCH[torch.device(device).type], time_budget_s=time_budget_s,
               warmup=warmup, repeats=repeats, amp_dtype=amp_dtype, channels_last=channels_last, compile=compile)
    try:
        if timeout_s is None:
            values = measure_paired(**job)
        else:
            values = run_in_child(measure_paired, job, timeout_s=timeout_s * (len(configs) + 1))
    except Exception as exc:  # noqa: BLE001 - every measurement failure becomes failed rows, never a crash
        for row in rows.values():
            row.update(status="failed", error=describe_error(exc))
    else:
        for name, row in rows.items():
            row.update(values[name])
    finished = dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")
    for row in rows.values():
        row.update(started_at=started.isoformat(timespec="milliseconds"), finished_at=finished,
                   wall_s=round(time.perf_counter() - clock, 4))
    return rows
