"""The machine's dense matmul rate, measured once per process: the denominator of model FLOP utilisation.

MFU = achieved FLOP/s / this peak, with achieved = 2 * MACs * images/s for inference and 3x that for a training
step (backward costs about twice the forward). fp32 on CPU; the AMP dtype (or fp32) on CUDA.
"""

from __future__ import annotations

import time

import torch

from .steps import synchronize

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
