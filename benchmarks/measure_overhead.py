"""What counting FLOPs costs per preset: the closed form (no model) against a traced count (build + fvcore trace).

The closed form is what makes resolution sweeps cheap; the trace is what makes the number trustworthy, and it
runs a real forward pass, so its cost grows with the model's MACs.

    python benchmarks/measure_overhead.py [--models ...] [--size 224] [--repeats 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import pvtlab
from pvtlab.measure import analytic_count, count_flops
from pvtlab.models import build_model


def time_closed_form(config: pvtlab.PVTConfig, size: int, calls: int = 1000) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        analytic_count(config, size)
    return (time.perf_counter() - start) / calls


def time_traced(config: pvtlab.PVTConfig, size: int, repeats: int) -> tuple[float, float, float]:
    """Median seconds to build the model and to trace-count it, and the traced GMACs."""
    builds, traces, gmacs = [], [], 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        model = build_model(config)
        builds.append(time.perf_counter() - start)
        start = time.perf_counter()
        gmacs = count_flops(model, size).gmacs
        traces.append(time.perf_counter() - start)
    return statistics.median(builds), statistics.median(traces), gmacs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=[m for m in pvtlab.list_models()])
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    count_flops(build_model(pvtlab.get_config("pvt_nano")), 64)  # first-call imports (fvcore) out of the timings
    print(f"size {args.size}, threads {args.threads}, median of {args.repeats} (closed form: mean of 1000 calls)")
    print(f"{'model':14s} {'closed form':>12s} {'build':>9s} {'trace':>9s} {'GMACs':>8s} {'trace/closed':>13s}")
    for name in args.models:
        config = pvtlab.get_config(name)
        closed = time_closed_form(config, args.size)
        build, trace, gmacs = time_traced(config, args.size, args.repeats)
        print(f"{name:14s} {closed * 1e6:9.1f} us {build:7.3f} s {trace:7.3f} s {gmacs:8.3f} {trace / closed:12.0f}x")


if __name__ == "__main__":
    main()
