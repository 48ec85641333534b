"""Peak memory on CPU is a real kernel high-water mark from a process of its own, and it grows with the work.

Lower bounds on growth: during the forward the first-stage fc1 output (batch x tokens x hidden floats) must be in
memory at once, so a bigger batch or image must raise the peak over idle by at least that tensor's growth.
"""

from __future__ import annotations

import functools
import io

import pytest
import torch

import pvtlab
from pvtlab.measure import measure, peak_memory
from pvtlab.measure.resident import present_runs
from pvtlab.measure.steps import Workload
from pvtlab.models import build_model

NANO = pvtlab.get_config("pvt_nano")
MIB = 2**20
SMALL_BATCH, BIG_BATCH, SMALL_SIDE, BIG_SIDE = 2, 32, 64, 160


def fc1_output_bytes(batch: int, side: int) -> int:
    h, w = NANO.stage_grids(side, side)[0]
    return 4 * batch * h * w * int(NANO.embed_dims[0] * NANO.mlp_ratios[0])


def infer_over_idle(batch: int, side: int) -> int:
    work = Workload(build=functools.partial(build_model, NANO), height=side, width=side, batch_size=batch)
    return peak_memory(work, "infer", threads=1).over_idle_bytes


@pytest.fixture(scope="module")
def small_row() -> dict:
    return measure("memory", NANO, SMALL_SIDE, batch_size=SMALL_BATCH, threads=1)


def test_memory_row(small_row):
    assert small_row["status"] == "ok", small_row["error"]
    assert small_row["batch_size"] == SMALL_BATCH
    assert "VmHWM" in small_row["mem_method"] and "fresh process" in small_row["mem_method"]
    assert small_row["peak_mem_mib"] > small_row["peak_mem_over_idle_mib"] > 0
    # Training keeps activations for backward, plus gradients and AdamW's two moments (3x the weights).
    weights_mib = 4 * sum(p.numel() for p in build_model(NANO).parameters()) / MIB
    extra = small_row["train_peak_mem_over_idle_mib"] - small_row["peak_mem_over_idle_mib"]
    assert extra >= 2 * weights_mib, (extra, weights_mib)


def test_cpu_peak_grows_with_batch(small_row):
    small = small_row["peak_mem_over_idle_mib"] * MIB
    big = infer_over_idle(BIG_BATCH, SMALL_SIDE)
    growth = fc1_output_bytes(BIG_BATCH, SMALL_SIDE) - fc1_output_bytes(SMALL_BATCH, SMALL_SIDE)
    assert big - small >= growth, (big / MIB, small / MIB, growth / MIB)


def test_cpu_peak_grows_with_resolution(small_row):
    small = small_row["peak_mem_over_idle_mib"] * MIB
    big = infer_over_idle(SMALL_BATCH, BIG_SIDE)
    growth = fc1_output_bytes(SMALL_BATCH, BIG_SIDE) - fc1_output_bytes(SMALL_BATCH, SMALL_SIDE)
    assert big - small >= growth, (big / MIB, small / MIB, growth / MIB)


def test_child_starts_clean_whatever_the_caller_holds():
    """The measuring process is forked from the zygote, not from the caller: 256 MiB held here is not in it."""
    work = Workload(build=functools.partial(build_model, NANO), height=SMALL_SIDE, width=SMALL_SIDE, batch_size=1)
    before = peak_memory(work, "infer", threads=1)
    held = torch.ones(64 * MIB)  # 256 MiB, written, so resident in this process
    after = peak_memory(work, "infer", threads=1)
    assert held.sum().item() == 64 * MIB
    assert abs(after.idle_bytes - before.idle_bytes) < 64 * MIB, (before, after)


def test_present_page_runs_from_a_pagemap():
    """Bit 63 of each 8-byte pagemap entry marks a mapped page; consecutive ones become one (address, length) run."""
    page, start = 4096, 16 * 4096
    bits = [1, 1, 0, 1, 0, 0, 1, 1, 1]
    raw = b"".join(((1 << 63) | 7 if bit else 7).to_bytes(8, "little") for bit in bits)
    pagemap = io.BytesIO(b"\0" * 8 * 16 + raw)
    runs = present_runs(pagemap, start, start + len(bits) * page, page)
    assert runs == [(start, 2 * page), (start + 3 * page, page), (start + 6 * page, 3 * page)]


def test_forked_child_idle_memory_matches_a_fresh_interpreter():
    """Both start from the same imports; the fork maps its parent's resident library pages first (resident.py),
    so idle RSS agrees within a few MiB (a plain fork would sit about 300 MiB lower)."""
    work = Workload(build=functools.partial(build_model, NANO), height=SMALL_SIDE, width=SMALL_SIDE, batch_size=1)
    forked = peak_memory(work, "infer", threads=1)
    fresh = peak_memory(work, "infer", threads=1, start="spawn")
    assert abs(forked.idle_bytes - fresh.idle_bytes) < 32 * MIB, (forked.idle_bytes / MIB, fresh.idle_bytes / MIB)


def test_step_kind_is_checked():
    work = Workload(build=functools.partial(build_model, NANO), height=64, width=64, batch_size=1)
    with pytest.raises(ValueError, match="step kind 'eval' is not allowed"):
        peak_memory(work, "eval")
