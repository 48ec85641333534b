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

from pvtlab import defaults
from pvtlab.models import PVTConfig

from .child import run_in_child
from .conventions import ImageSize, parse_image_size
from .job import BlockJob, block_job
from .paired import measure_paired
from .run import blank_row, check_threads, describe_error


def measure_block(configs: dict[str, PVTConfig], resolution: ImageSize, *, ref: str, device: str = "cpu",
                  threads: int | None = None, batch_size: int | None = None,
                  time_budget_s: float = defaults.TIME_BUDGET_S, warmup: int = defaults.TIMING_WARMUP,
                  repeats: int = defaults.REPEATS, amp_dtype: str | None = defaults.MEASURE_AMP_DTYPE,
                  channels_last: bool = defaults.CHANNELS_LAST, compile: bool = defaults.COMPILE,
                  timeout_s: float | None = defaults.TIMEOUT_S) -> dict[str, dict[str, Any]]:
    """Name -> row for every model of ``configs``, timed as one paired block against ``ref``.

    The options mean what they mean for ``measure``, except: ``repeats`` is the most interleaved rounds per step
    kind, ``time_budget_s`` is per model and step kind (the block's rounds stop after that times the arms), and
    ``timeout_s`` is per arm too (the block, run in a child process, gets ``timeout_s`` x (models + 1)).
    """
    job = block_job(configs, resolution, ref=ref, device=device, timeout_s=timeout_s, batch_size=batch_size,
                    time_budget_s=time_budget_s, warmup=warmup, repeats=repeats, amp_dtype=amp_dtype,
                    channels_last=channels_last, compile=compile)
    return run_block_job(job, threads=threads)


def run_block_job(job: BlockJob, *, threads: int | None = None) -> dict[str, dict[str, Any]]:
    """Arm name -> row of ``job``; a failure fails every arm's row (they were timed together)."""
    threads = check_threads(threads)
    started, clock = dt.datetime.now(dt.timezone.utc), time.perf_counter()
    height, width = parse_image_size(job.resolution)
    configs = dict(job.arms)
    rows = {name: blank_row("throughput", job.resolution, job.device, threads, job.options["amp_dtype"])
            for name in configs}
    work = dict(configs=configs, ref=job.ref, height=height, width=width, device=job.device, threads=threads,
                **job.options)
    try:
        if job.timeout_s is None:
            values = measure_paired(**work)
        else:
            values = run_in_child(measure_paired, work, timeout_s=job.timeout_s * (len(configs) + 1))
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
