"""Timing: warm-up, real repeats until a count or a budget, median and spread; the matmul peak and MFU."""

from __future__ import annotations

import functools
import time

import numpy as np
import pytest
import torch

import pvtlab
from pvtlab.measure import (TimingResult, analytic_count, latency_percentiles, matmul_peak_flops, measure,
                            measure_throughput, mfu, time_step)
from pvtlab.measure.steps import Workload
from pvtlab.measure.timing import MIN_REPEATS
from pvtlab.models import build_model

NANO = pvtlab.get_config("pvt_nano")


def sleeper(calls: list[float], seconds: float):
    def step() -> None:
        calls.append(time.perf_counter())
        time.sleep(seconds)

    return step


def test_time_step_runs_warmup_then_the_requested_repeats():
    calls: list[float] = []
    times = time_step(sleeper(calls, 0.002), device="cpu", warmup=2, repeats=5, time_budget_s=60)
    assert len(calls) == 2 + 5 and len(times) == 5
    assert all(t >= 0.002 for t in times)


def test_time_budget_stops_repeats_early_but_keeps_a_minimum():
    calls: list[float] = []
    start = time.perf_counter()
    times = time_step(sleeper(calls, 0.01), device="cpu", warmup=0, repeats=10_000, time_budget_s=0.1)
    assert MIN_REPEATS <= len(times) < 100
    assert time.perf_counter() - start < 5
    times = time_step(sleeper([], 0.01), device="cpu", warmup=0, repeats=10_000, time_budget_s=1e-9)
    assert len(times) == MIN_REPEATS


def test_timing_result_median_and_iqr():
    result = TimingResult(step_s=(0.1, 0.2, 0.4, 0.5, 1.0), batch_size=4)
    rates = 4 / np.array(result.step_s)
    assert result.img_per_s_median == pytest.approx(10.0)
    assert result.batch_ms_median == pytest.approx(400.0)
    assert result.img_per_s_iqr == pytest.approx(np.percentile(rates, 75) - np.percentile(rates, 25))


def test_latency_percentiles_of_a_known_list():
    # 1..10 ms in shuffled order; numpy's linear rule: rank (n - 1) * p / 100, so p50 at rank 4.5 -> 5.5 ms and
    # p90 at rank 8.1 -> 9 + 0.1 * (10 - 9) = 9.1 ms.
    times_s = [0.007, 0.001, 0.010, 0.004, 0.002, 0.009, 0.005, 0.003, 0.008, 0.006]
    got = latency_percentiles(times_s, (50, 90))
    assert got[50] == pytest.approx(5.5) and got[90] == pytest.approx(9.1)
    assert latency_percentiles([0.02], (50, 90)) == {50: pytest.approx(20.0), 90: pytest.approx(20.0)}
    with pytest.raises(ValueError, match="no step times"):
        latency_percentiles([])


def test_real_model_repeats_give_median_and_spread():
    torch.set_num_threads(1)
    work = Workload(build=functools.partial(build_model, NANO), height=48, width=48, batch_size=2)
    results = measure_throughput(work, warmup=1, repeats=5, time_budget_s=60)
    for kind in ("infer", "train"):
        result = results[kind]
        assert len(result.step_s) == 5 and len(set(result.step_s)) > 1, "five separately timed real steps"
        assert min(result.step_s) <= result.median_s <= max(result.step_s)
        assert result.img_per_s_iqr >= 0
    assert results["train"].median_s > results["infer"].median_s  # backward + AdamW cost more than a forward


def test_throughput_row_latency_and_rate_agree_with_odd_repeats():
    row = measure("throughput", NANO, 48, batch_size=2, threads=1, warmup=1, repeats=3, time_budget_s=60)
    assert row["status"] == "ok", row["error"]
    assert row["infer_batch_ms_median"] * row["infer_img_per_s_median"] == pytest.approx(1000 * 2)  # per batch of 2
    assert row["infer_img_per_s_iqr"] >= 0 and row["train_img_per_s_iqr"] >= 0
    peak = matmul_peak_flops("cpu", "float32")
    macs = analytic_count(NANO, 48).macs
    assert row["mfu_infer"] == pytest.approx(2 * macs * row["infer_img_per_s_median"] / peak)
    assert row["mfu_train"] == pytest.approx(3 * 2 * macs * row["train_img_per_s_median"] / peak)


def test_matmul_peak_is_measured_once_per_setting():
    torch.set_num_threads(1)
    start = time.perf_counter()
    first = matmul_peak_flops("cpu", "float32")
    second = matmul_peak_flops("cpu", "float32")
    assert second == first > 1e8  # any CPU of this decade does > 0.1 GFLOP/s
    assert time.perf_counter() - start < 30


def test_mfu_counts_two_flops_per_mac_and_three_forwards_per_training_step():
    assert mfu(10**9, 50.0, 1e12) == pytest.approx(0.1)
    assert mfu(10**9, 50.0, 1e12, train=True) == pytest.approx(0.3)
