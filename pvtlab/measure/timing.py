"""Throughput and latency of one step: warm-up, then timed repeats until a count or a time budget, reported
as median and interquartile range, or percentiles (a mean hides the outliers a shared machine produces).

What a throughput is worth on this machine: ``matmul_peak_flops`` measures its dense matmul rate once per process,
the denominator of model FLOP utilisation. MFU = achieved FLOP/s / this peak, with achieved = 2 * MACs * images/s
for inference and 3x that for a training step (backward costs about twice the forward). fp32 on CPU; the AMP
dtype (or fp32) on CUDA.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import torch

from .sdpa import detect_sdpa_backend
from .steps import Step, Workload, make_step, prepare, synchronize

MIN_REPEATS = 3  # a spread needs a few points, whatever the budget


def latency_percentiles(step_s: Sequence[float], percentiles: Iterable[float] = (50, 90)) -> dict[float, float]:
    """Percentiles of step times, in milliseconds: numpy's linear interpolation between the closest ranks
    (e.g. for 1..10 ms: p50 = 5.5, p90 = 9.1)."""
    if not len(step_s):
        raise ValueError("no step times to take percentiles of")
    ms = 1000.0 * np.asarray(step_s, dtype=float)
    return {p: float(np.percentile(ms, p)) for p in percentiles}


@dataclass(frozen=True)
class TimingResult:
    step_s: tuple[float, ...]  # wall time of each timed step (a whole batch)
    batch_size: int
    sdpa_backend: str | None = None  # the attention kernel the step ran (sdpa.py); None when not asked

    @property
    def median_s(self) -> float:
        return float(np.median(self.step_s))

    @property
    def img_per_s(self) -> np.ndarray:
        return self.batch_size / np.asarray(self.step_s)

    @property
    def img_per_s_median(self) -> float:
        return float(np.median(self.img_per_s))

    @property
    def img_per_s_iqr(self) -> float:
        q25, q75 = np.percentile(self.img_per_s, [25, 75])
        return float(q75 - q25)

    @property
    def batch_ms_median(self) -> float:
        """Median wall time of one step of a whole batch of ``batch_size`` images (at batch 1: the latency)."""
        return 1000.0 * self.median_s


def time_step(step: Step, *, device: str, warmup: int, repeats: int, time_budget_s: float) -> list[float]:
    """Run ``warmup`` untimed steps, then time steps until ``repeats`` are done or ``time_budget_s`` is spent
    (but at least ``min(repeats, MIN_REPEATS)``). The clock is read after a device sync, so on CUDA it times the
    work, not the launch."""
    for _ in range(warmup):
        step()
    synchronize(device)
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < repeats:
        t0 = time.perf_counter()
        step()
        synchronize(device)
        times.append(time.perf_counter() - t0)
        if len(times) >= MIN_REPEATS and time.perf_counter() - start >= time_budget_s:
            break
    return times


def measure_throughput(work: Workload, kinds: tuple[str, ...] = ("infer", "train"), *, warmup: int = 2,
                       repeats: int = 10, time_budget_s: float = 5.0,
                       detect_sdpa: bool = False) -> dict[str, TimingResult]:
    """Time each step kind on one prepared model (inference first: training changes the weights).

    ``detect_sdpa``: the first warm-up step of the first kind runs under the profiler to name the attention
    kernel (with ``warmup=0`` that profiled step is still run, untimed, before the timed ones). Only the first:
    the forward pass is where attention runs, and profiling a training step of a full-size model costs seconds.
    """
    prep = prepare(work)
    try:
        results = {}
        for kind in kinds:
            step = make_step(kind, prep, work)
            profiled = detect_sdpa and kind == kinds[0]
            backend = detect_sdpa_backend(step) if profiled else None
            times = time_step(step, device=work.device, warmup=max(0, warmup - 1) if profiled else warmup,
                              repeats=repeats, time_budget_s=time_budget_s)
            results[kind] = TimingResult(tuple(times), work.batch_size, backend)
        return results
    finally:
        del prep
        gc.collect()


_CACHE: dict[tuple[str, str, int], float] = {}


def matmul_peak_flops(device: str = "cpu", dtype: str = "float32", *, min_time_s: float = 0.5) -> float:
    """Best FLOP/s (2 per MAC) of repeated square matmuls at the current thread count; cached per
    (device, dtype, threads)."""
    key = (str(torch.device(device)), dtype, torch.get_num_threads())
    if key not in _CACHE:
        _CACHE[key] = _measure(device, getattr(torch, dtype), min_time_s)
    return _CACHE[key]


def _measure(device: str, dtype: torch.dtype, min_time_s: float) -> float:
    n = 8192 if torch.device(device).type == "cuda" else 1024
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(2):  # warm-up: thread pools, kernel selection, clocks
        torch.mm(a, b)
    synchronize(device)
    best, spent, runs = float("inf"), 0.0, 0
    while runs < 5 or spent < min_time_s:
        t0 = time.perf_counter()
        torch.mm(a, b)
        synchronize(device)
        elapsed = time.perf_counter() - t0
        best, spent, runs = min(best, elapsed), spent + elapsed, runs + 1
    return 2.0 * n**3 / best


def achieved_flops(macs_per_image: int, img_per_s: float, *, train: bool = False) -> float:
    """FLOP/s a model achieved: 2 FLOPs per MAC per image; a training step counts 3x the forward FLOPs."""
    return 2.0 * macs_per_image * img_per_s * (3.0 if train else 1.0)


def mfu(macs_per_image: int, img_per_s: float, peak_flops: float, *, train: bool = False) -> float:
    """Fraction of the matmul peak achieved (``achieved_flops`` over ``peak_flops``)."""
    return achieved_flops(macs_per_image, img_per_s, train=train) / peak_flops
