"""What a CPU memory cell costs: one fresh interpreter per step kind (the old method) against one fork per step
kind of a clean, warm zygote (the method ``measure("memory", ...)`` uses), and whether the peaks agree.

Both read the kernel's VmHWM after clear_refs in a process that ran nothing else; only how that process starts
differs (the fork first maps the library pages its parent has resident, so both start from the same RSS). Runs
alternate (old, new, old, ...) so machine load hits both. The zygote's one-time start (it imports torch and
pvtlab once) is timed on its own. Prints seconds per cell, the peaks (MiB) of both methods and
their differences.

    python benchmarks/memory_cost.py [--models pvt_v2_b2] [--size 224] [--batch 8] [--threads 1] [--runs 2]
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time

import pvtlab
from pvtlab.measure.child import run_in_child
from pvtlab.measure.memory import MIB, peak_memory
from pvtlab.measure.steps import Workload
from pvtlab.models import build_model

KINDS = ("infer", "train")


def cell(work: Workload, threads: int, start: str) -> tuple[float, dict[str, float]]:
    """Seconds for one memory cell (both step kinds) and its four values in MiB."""
    clock = time.perf_counter()
    peaks = {kind: peak_memory(work, kind, threads=threads, start=start) for kind in KINDS}
    seconds = time.perf_counter() - clock
    values = {}
    for kind, peak in peaks.items():
        values[f"{kind}_peak"] = peak.peak_bytes / MIB
        values[f"{kind}_over_idle"] = peak.over_idle_bytes / MIB
    return seconds, values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["pvt_v2_b2"])
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    clock = time.perf_counter()
    run_in_child(time.time, {})  # starts the zygote
    print(f"zygote start (once per process): {time.perf_counter() - clock:.1f} s")
    for name in args.models:
        work = Workload(build=functools.partial(build_model, pvtlab.get_config(name)), height=args.size,
                        width=args.size, batch_size=args.batch)
        seconds: dict[str, list[float]] = {"spawn": [], "fork": []}
        values: dict[str, list[dict[str, float]]] = {"spawn": [], "fork": []}
        for _ in range(args.runs):
            for start in ("spawn", "fork"):
                took, got = cell(work, args.threads, start)
                seconds[start].append(took)
                values[start].append(got)
        old, new = statistics.median(seconds["spawn"]), statistics.median(seconds["fork"])
        print(f"\n{name} at {args.size} px, batch {args.batch}, {args.threads} thread(s), {args.runs} run(s) each")
        print(f"  seconds per cell: fresh interpreter per kind {old:.1f}, fork per kind {new:.1f}, "
              f"ratio old/new {old / new:.2f}")
        print(f"  {'MiB (median)':<16}{'fresh':>10}{'fork':>10}{'fork-fresh':>12}")
        for key in values["spawn"][0]:
            a = statistics.median(v[key] for v in values["spawn"])
            b = statistics.median(v[key] for v in values["fork"])
            print(f"  {key:<16}{a:>10.1f}{b:>10.1f}{b - a:>+12.1f}")


if __name__ == "__main__":
    main()
