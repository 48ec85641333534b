"""Paired, interleaved timing: rounds, the per-round ratio estimate and a block's rows (no timed assertions)."""

from __future__ import annotations

import json
import math

import pytest

from pvtlab.errors import UserInputError
from pvtlab.measure.block import measure_block
from pvtlab.measure.paired import time_rounds
from pvtlab.models import get_config
from pvtlab.paired_ci import paired_estimate, ratio_estimate


def test_rounds_warm_every_arm_then_time_each_once_per_round_in_shuffled_orders():
    calls: list[str] = []
    steps = {name: (lambda name=name: calls.append(name)) for name in "abc"}
    times = time_rounds(steps, device="cpu", warmup=2, rounds=8, time_budget_s=1e9)
    assert calls[:6] == ["a", "a", "b", "b", "c", "c"]
    rounds = [calls[6 + 3 * i: 9 + 3 * i] for i in range(8)]
    assert all(sorted(r) == ["a", "b", "c"] for r in rounds)
    assert len({tuple(r) for r in rounds}) > 1  # the order is shuffled, not fixed
    assert {name: len(t) for name, t in times.items()} == {"a": 8, "b": 8, "c": 8}


def test_rounds_stop_at_the_budget_but_not_before_six():
    times = time_rounds({"a": lambda: None}, device="cpu", warmup=0, rounds=100, time_budget_s=0.0)
    assert len(times["a"]) == 6


def test_a_constant_ratio_is_exact_whatever_the_drift():
    ref = [10.0, 8.0, 12.0, 6.0, 11.0, 9.0, 7.0]  # the machine's speed drifts round to round
    est = ratio_estimate([1.25 * x for x in ref], ref)
    assert est.ratio == pytest.approx(1.25) and est.ratio_lo == pytest.approx(1.25)
    assert est.ratio_hi == pytest.approx(1.25) and est.n == 7 and not est.includes_zero


def test_one_outlier_round_does_not_move_the_median():
    logs = [0.01, -0.01, 0.02, 0.0, -0.02, 0.01, 0.0, 0.03, -0.03, 0.01, -0.01, 5.0]
    est = paired_estimate(logs)
    assert est.log == pytest.approx(0.005) and est.includes_zero
    assert est.log_hi <= 0.02  # a mean would be 0.42, its t interval as wide as the outlier


def test_fewer_than_six_rounds_give_no_ci():
    est = paired_estimate([0.1, 0.2, 0.1])
    assert math.isnan(est.log_lo) and math.isnan(est.log_hi) and est.includes_zero


def test_unequal_rounds_are_refused():
    with pytest.raises(ValueError, match="differ in number"):
        ratio_estimate([1.0, 2.0], [1.0])


def test_block_rows_carry_rounds_ratios_and_the_a_a_floor():
    configs = {"sra": get_config("pvt_nano"), "lsra": get_config("pvt_nano", attention="linear_sra")}
    rows = measure_block(configs, 64, ref="sra", threads=1, batch_size=2, time_budget_s=1e-6, warmup=0, repeats=6)
    assert set(rows) == {"sra", "lsra"} and all(row["status"] == "ok" for row in rows.values())
    ref, other = rows["sra"], rows["lsra"]
    assert (ref["infer_vs_ref"], ref["train_vs_ref_ci95_lo"], ref["train_vs_ref_ci95_hi"]) == (1.0, 1.0, 1.0)
    assert other["infer_vs_ref_ci95_lo"] <= other["infer_vs_ref"] <= other["infer_vs_ref_ci95_hi"]
    assert ref["aa_infer_ratio"] == other["aa_infer_ratio"] > 0 and ref["rounds"] == 6
    assert len(json.loads(other["infer_rounds_img_per_s"])) == 6 and len(json.loads(other["latency_rounds_ms"])) == 6
    assert other["batch_size"] == 2 and other["latency_b1_ms_p50"] > 0


def test_block_with_an_unknown_reference_is_a_user_error():
    with pytest.raises(UserInputError, match="ref='nope' is not allowed"):
        measure_block({"a": get_config("pvt_nano")}, 64, ref="nope")


def test_a_block_that_times_out_fails_every_row_with_the_reason():
    rows = measure_block({"a": get_config("pvt_nano")}, 64, ref="a", threads=1, batch_size=1, timeout_s=0.001)
    assert rows["a"]["status"] == "failed" and "timeout" in rows["a"]["error"]
