"""What each measurement group measures: the columns of one group for one model at one input size.

Each function raises on failure; ``run.measure`` turns that into a failed row. Column names and units are
``pvtlab.columns``'; the values here are in those units. ``count_params`` is the params group's count, which
also serves any built model.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any

from torch import nn

from pvtlab.models import PVTConfig, build_model

from .analytic import analytic_count
from .child import ChildTimeout
from .flops import count_flops
from .memory import MIB, method_name, peak_memory
from .sdpa import backend_settings
from .steps import Workload, with_batch_backoff
from .timing import TimingResult, achieved_flops, latency_percentiles, matmul_peak_flops, measure_throughput, mfu
from ..torch_settings import torch_threads


def measure_group(group: str, config: PVTConfig, height: int, width: int, device: str, threads: int,
                  batch_size: int, time_budget_s: float, warmup: int, repeats: int, amp_dtype: str | None,
                  channels_last: bool, compile: bool, timeout_s: float | None = None) -> dict[str, Any]:
    """The group's columns (a module-level function with plain arguments, so a child process can run it)."""
    with torch_threads(threads):
        if group == "params":
            return params_columns(config)
        if group == "flops":
            return flops_columns(config, height, width)
        work = Workload(build=functools.partial(build_model, config), height=height, width=width,
                        batch_size=batch_size, in_chans=config.in_chans, num_classes=config.num_classes,
                        device=device, amp_dtype=amp_dtype, channels_last=channels_last, compile=compile)
        if group == "memory":
            return memory_columns(work, threads, timeout_s)
        return throughput_columns(work, config, warmup, repeats, time_budget_s)


def params_columns(config: PVTConfig) -> dict[str, Any]:
    counts = count_params(build_model(config, device="meta"))  # shapes only: nothing allocated
    return {"params_m": counts.total_m, "trainable_params_m": counts.trainable_m}


def flops_columns(config: PVTConfig, height: int, width: int) -> dict[str, Any]:
    traced = count_flops(build_model(config), (height, width))
    analytic = analytic_count(config, (height, width))
    return {"gmacs": traced.gmacs, "attn_gmacs": traced.attn_gmacs, "gflops": traced.flops / 1e9,
            "analytic_gmacs": analytic.gmacs, "flop_counter": traced.counter, "uncounted_ops": traced.uncounted_text()}


def memory_columns(work: Workload, threads: int, timeout_s: float | None) -> dict[str, Any]:
    """Inference then training peak, each in its own process on CPU; ``timeout_s`` covers both."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s

    def remaining() -> float | None:
        if deadline is None:
            return None
        left = deadline - time.monotonic()
        if left <= 0:
            raise ChildTimeout(f"timed out after {timeout_s:g} s")
        return left

    def run(batch: int) -> tuple:
        sized = work.with_batch(batch)
        try:
            return tuple(peak_memory(sized, kind, threads=threads, timeout_s=remaining()) for kind in ("infer", "train"))
        except ChildTimeout:
            raise ChildTimeout(f"timed out after {timeout_s:g} s") from None  # the whole limit, not the remainder

    (infer, train), batch = with_batch_backoff(run, work.batch_size)
    method = method_name(work.device)
    if infer.reserved_bytes is not None:
        method += (f" (max_memory_reserved: infer {infer.reserved_bytes / MIB:.1f} MiB,"
                   f" train {train.reserved_bytes / MIB:.1f} MiB)")
    return {"peak_mem_mib": infer.peak_bytes / MIB, "peak_mem_over_idle_mib": infer.over_idle_bytes / MIB,
            "train_peak_mem_mib": train.peak_bytes / MIB, "train_peak_mem_over_idle_mib": train.over_idle_bytes / MIB,
            "mem_method": method, "batch_size": batch}


def throughput_columns(work: Workload, config: PVTConfig, warmup: int, repeats: int,
                       time_budget_s: float) -> dict[str, Any]:
    """Images/s at the batch (halved on OOM), batch-1 latency percentiles, and the rates against the matmul peak.

    Achieved GFLOP/s use the closed-form MACs per image (``analytic_count``: the papers' count). The SDPA kernel is
    read from the profiled first warm-up step of the batch-1 latency run.

    The batch-1 run and the matmul peak are inside the unit the out-of-memory back-off retries: after a retry has
    taken the process to its limit, they allocate too, and their failure is the same out-of-memory.
    """
    dtype = work.amp_dtype if (work.device_type == "cuda" and work.amp_dtype) else "float32"

    def run(batch: int) -> tuple:
        timings = measure_throughput(work.with_batch(batch), warmup=warmup, repeats=repeats,
                                     time_budget_s=time_budget_s, detect_sdpa=batch == 1)
        # At batch 1 the inference timing is the batch-1 latency run: timing it twice would only cost time.
        single = timings["infer"] if batch == 1 else measure_throughput(
            work.with_batch(1), ("infer",), warmup=warmup, repeats=repeats, time_budget_s=time_budget_s,
            detect_sdpa=True)["infer"]
        return timings, single, matmul_peak_flops(work.device, dtype)

    (timings, single, peak), batch = with_batch_backoff(run, work.batch_size)
    return speed_columns(timings["infer"], timings["train"], single, peak, config, work, batch)


def speed_columns(infer: TimingResult, train: TimingResult, single: TimingResult, peak: float, config: PVTConfig,
                  work: Workload, batch: int) -> dict[str, Any]:
    """The absolute throughput columns of one model's timings (shared by separate and paired timing)."""
    latency = latency_percentiles(single.step_s, (50, 90))
    macs = analytic_count(config, (work.height, work.width)).macs
    return {"infer_img_per_s_median": infer.img_per_s_median, "infer_img_per_s_iqr": infer.img_per_s_iqr,
            "infer_batch_ms_median": infer.batch_ms_median,
            "latency_b1_ms_p50": latency[50], "latency_b1_ms_p90": latency[90],
            "train_img_per_s_median": train.img_per_s_median, "train_img_per_s_iqr": train.img_per_s_iqr,
            "infer_gflop_per_s": achieved_flops(macs, infer.img_per_s_median) / 1e9,
            "train_gflop_per_s": achieved_flops(macs, train.img_per_s_median, train=True) / 1e9,
            "mfu_infer": mfu(macs, infer.img_per_s_median, peak),
            "mfu_train": mfu(macs, train.img_per_s_median, peak, train=True),
            "matmul_peak_gflop_per_s": peak / 1e9, "sdpa_backend": single.sdpa_backend,
            **backend_settings(work.device), "amp_dtype": work.amp_dtype or "", "channels_last": work.channels_last,
            "compile_mode": "default" if work.compile else "", "batch_size": batch}


@dataclass(frozen=True)
class ParamCount:
    """Parameter counts, total and trainable, in the units the results table uses (millions)."""

    total: int
    trainable: int

    @property
    def total_m(self) -> float:
        return self.total / 1e6

    @property
    def trainable_m(self) -> float:
        return self.trainable / 1e6


def count_params(model: nn.Module) -> ParamCount:
    """Every parameter once (shared ones are not double counted), and those with ``requires_grad``.

    The official PVT counter is the trainable sum with the 1000-class head (B2: 25.36 M).
    """
    params = list(model.parameters())  # .parameters() already skips shared duplicates
    return ParamCount(total=sum(p.numel() for p in params),
                      trainable=sum(p.numel() for p in params if p.requires_grad))
