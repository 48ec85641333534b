"""Peak memory of one inference step or one training step (forward + backward + AdamW), absolute and over idle.

CPU: the kernel's resettable high-water mark (write "5" to /proc/self/clear_refs, run the steps, read VmHWM), in a
process of its own per step kind, so nothing a previous measurement left in the allocator hides or inflates this
one (tracemalloc sees no torch tensors; one RSS reading misses the peak). That process is a fork of a clean parent
that has imported torch and pvtlab and run nothing (``child.py``), which first maps the library pages its parent
has resident (``resident.py``): the same start as a fresh interpreter after its imports, without paying for them
per measurement (benchmarks/memory_cost.py compares the two). CUDA: the caching allocator's counters
(reset_peak_memory_stats, then max_memory_allocated / max_memory_reserved). "Idle" is after the model and the
batch exist and before the first step; both step kinds run twice, so the training peak includes AdamW's state.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from pathlib import Path

import torch

from .child import Start, run_in_child
from .resident import map_parent_resident_pages
from .steps import Workload, make_step, prepare, synchronize

CPU_METHOD = "cpu VmHWM after clear_refs=5, one fresh process per step kind (fork of a clean warm zygote)"
CUDA_METHOD = "cuda max_memory_allocated after reset_peak_memory_stats"
STEPS = 2  # the second training step runs with AdamW's moment buffers in place, as every later step does

_CLEAR_REFS = Path("/proc/self/clear_refs")
_STATUS = Path("/proc/self/status")
MIB = 2**20


@dataclass(frozen=True)
class PeakMemory:
    peak_bytes: int  # absolute peak during the steps
    idle_bytes: int  # model and batch in memory, before the first step
    reserved_bytes: int | None = None  # CUDA only: peak held by the caching allocator

    @property
    def over_idle_bytes(self) -> int:
        return self.peak_bytes - self.idle_bytes


def _status_bytes(field: str) -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024  # the kernel reports kB
    raise RuntimeError(f"{field} not found in {_STATUS}")


def peak_memory_cpu_here(work: Workload, kind: str, threads: int | None = None, forked: bool = False) -> PeakMemory:
    """Measure in this process; meant to run in a fresh one (see ``peak_memory``). ``forked``: this process is a
    fork of the zygote (child.py), whose resident library pages are mapped first."""
    if not _CLEAR_REFS.exists():
        raise RuntimeError("CPU peak memory needs Linux /proc/self/clear_refs (kernel high-water-mark reset)")
    if forked:
        map_parent_resident_pages()
    if threads is not None:
        torch.set_num_threads(threads)
    prep = prepare(work)
    step = make_step(kind, prep, work)
    gc.collect()
    _CLEAR_REFS.write_text("5")  # VmHWM := current RSS
    idle = _status_bytes("VmRSS")
    for _ in range(STEPS):
        step()
    return PeakMemory(peak_bytes=_status_bytes("VmHWM"), idle_bytes=idle)


def peak_memory_cuda(work: Workload, kind: str) -> PeakMemory:
    """Measure in this process: the CUDA counters are per process and resettable, no fresh process needed."""
    device = torch.device(work.device)
    prep = prepare(work)
    step = make_step(kind, prep, work)
    synchronize(work.device)
    gc.collect()
    torch.cuda.empty_cache()
    idle = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    for _ in range(STEPS):
        step()
    synchronize(work.device)
    result = PeakMemory(peak_bytes=torch.cuda.max_memory_allocated(device), idle_bytes=idle,
                        reserved_bytes=torch.cuda.max_memory_reserved(device))
    del prep, step
    gc.collect()
    torch.cuda.empty_cache()
    return result


def peak_memory(work: Workload, kind: str, *, threads: int | None = None, timeout_s: float | None = None,
                start: Start = "fork") -> PeakMemory:
    """Peak memory of ``kind`` ("infer" or "train") steps of ``work``; on CPU in a process of its own
    (``start``: "fork" of the clean warm zygote, or "spawn" for a fresh interpreter)."""
    if kind not in ("infer", "train"):
        raise ValueError(f"step kind {kind!r} is not allowed; choose 'infer' or 'train'")
    if work.device_type == "cuda":
        return peak_memory_cuda(work, kind)
    return run_in_child(peak_memory_cpu_here, {"work": work, "kind": kind, "threads": threads,
                                                "forked": start == "fork"}, timeout_s=timeout_s, start=start)


def method_name(device: str) -> str:
    return CUDA_METHOD if torch.device(device).type == "cuda" else CPU_METHOD
