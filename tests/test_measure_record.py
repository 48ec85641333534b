"""measure(): one flat row per call with exactly the cells.csv columns, and failures recorded, never raised.

The failure paths are real: a too-small input makes the model itself raise, a timeout kills a real child process,
and out-of-memory comes from the CPU allocator under an address-space limit set in a child process.
"""

from __future__ import annotations

import inspect
import re
import resource

import pytest
import torch

import pvtlab
from pvtlab.errors import UserInputError
from pvtlab import columns
from pvtlab.measure import COMPLEXITY_GROUPS, GROUP_COLUMNS, PROVENANCE_COLUMNS, analytic_count, measure, provenance
from pvtlab.measure.child import run_in_child

NANO = pvtlab.get_config("pvt_nano")
MIB = 2**20
FAST = dict(threads=1, warmup=0, repeats=1, time_budget_s=0.01)  # timing details are test_measure_timing's job


def expected_keys(group: str) -> set[str]:
    return {"group", "resolution", "status", "error"} | set(GROUP_COLUMNS[group]) | set(PROVENANCE_COLUMNS)


def test_columns_come_from_the_one_schema():
    assert COMPLEXITY_GROUPS == ("params", "flops", "memory", "throughput")
    for group in COMPLEXITY_GROUPS:
        assert GROUP_COLUMNS[group] == columns.group_columns(group)
        assert set(GROUP_COLUMNS[group]) <= set(columns.MEASUREMENTS)
    assert PROVENANCE_COLUMNS == tuple(columns.PROVENANCE)
    assert all(columns.COLUMNS[name].groups == () for name in PROVENANCE_COLUMNS)


def test_defaults_come_from_the_defaults_module():
    """measure's keyword defaults are pvtlab.defaults' values, and its job resolves the batch per device."""
    from pvtlab import defaults
    from pvtlab.measure import measure_job

    params = inspect.signature(measure).parameters
    assert params["time_budget_s"].default == defaults.TIME_BUDGET_S and params["repeats"].default == defaults.REPEATS
    assert params["batch_size"].default is None
    config = pvtlab.get_config("pvt_v2_b0")
    assert measure_job("memory", config, 224).options["batch_size"] == defaults.BATCH_BY_DEVICE["cpu"] == 8
    assert measure_job("throughput", config, 224, device="cuda").options["batch_size"] == 64
    assert measure_job("flops", config, 224, batch_size=3).options == {}  # a count carries no step options
    assert set(measure_job("memory", config, 224).options) == {"batch_size", "amp_dtype", "channels_last", "compile"}


def test_params_row():
    row = measure("params", pvtlab.get_config("pvt_v2_b0"), 224)
    assert set(row) == expected_keys("params")
    assert row["group"] == "params" and row["resolution"] == 224
    assert row["wall_s"] > 0 and row["started_at"] <= row["finished_at"] and row["worker"]
    assert row["status"] == "ok" and row["error"] == ""
    assert round(row["params_m"], 2) == 3.67  # PVTv2 paper: B0 with the 1000-class head
    assert row["trainable_params_m"] == row["params_m"]


def test_flops_row_carries_traced_analytic_and_counter():
    row = measure("flops", pvtlab.get_config("pvt_v2_b0"), 224, threads=1)
    assert set(row) == expected_keys("flops")
    assert row["status"] == "ok"
    assert round(row["gmacs"], 3) == 0.572  # fvcore with the attention matmuls counted, B0
    assert row["gflops"] == pytest.approx(2 * row["gmacs"])
    assert row["analytic_gmacs"] == analytic_count(pvtlab.get_config("pvt_v2_b0"), 224).gmacs
    assert row["attn_gmacs"] == pytest.approx(0.038, abs=5e-4)  # B0's attention matmuls at 224
    assert row["flop_counter"].startswith("fvcore ")
    assert row["uncounted_ops"] == ""


def test_throughput_row():
    row = measure("throughput", NANO, (64, 48), batch_size=2, **FAST)
    assert set(row) == expected_keys("throughput")
    assert row["status"] == "ok", row["error"]
    assert row["group"] == "throughput" and row["resolution"] == (64, 48)
    assert row["batch_size"] == 2 and row["threads"] == 1
    assert all(row[k] > 0 for k in ("infer_img_per_s_median", "train_img_per_s_median", "infer_batch_ms_median",
                                     "latency_b1_ms_p50", "matmul_peak_gflop_per_s"))
    assert row["latency_b1_ms_p90"] >= row["latency_b1_ms_p50"]
    assert 0 < row["mfu_infer"] < 1 and 0 < row["mfu_train"] < 1
    assert row["infer_gflop_per_s"] == pytest.approx(row["mfu_infer"] * row["matmul_peak_gflop_per_s"])
    assert row["train_gflop_per_s"] == pytest.approx(row["mfu_train"] * row["matmul_peak_gflop_per_s"])
    assert row["sdpa_backend"] in ("cpu-flash", "math")
    assert (row["tf32"], row["amp_dtype"], row["channels_last"], row["compile_mode"]) == (False, "", False, "")
    assert row["cudnn_benchmark"] == torch.backends.cudnn.benchmark
    assert row["timed_alone"] is None and row["concurrent_cells"] is None  # only a grid knows what else ran


def test_at_batch_one_the_inference_timing_is_the_latency_run():
    """Batch 1 times inference once and reads the latency percentiles off those steps; a larger batch times a
    separate batch-1 run, so its latency is not its per-batch time."""
    row = measure("throughput", NANO, 48, batch_size=1, **FAST)
    assert row["status"] == "ok", row["error"]
    assert row["latency_b1_ms_p50"] == row["infer_batch_ms_median"]  # the same steps' median
    assert row["sdpa_backend"] in ("cpu-flash", "math")


def test_provenance_names_versions_device_and_commit():
    row = provenance("cpu", threads=3, dtype="bfloat16")
    assert set(row) == set(PROVENANCE_COLUMNS)
    assert row["torch_version"] == torch.__version__
    assert row["fvcore_version"].startswith("0.1.5") and row["timm_version"]
    assert row["device"] == "cpu" and row["device_name"] == row["cpu_model"] != ""
    assert row["threads"] == 3 and row["dtype"] == "bfloat16"
    assert row["pvtlab_version"] == pvtlab.__version__
    assert re.fullmatch(r"[0-9a-f]{40}", row["git_commit"]), row["git_commit"]


@pytest.mark.parametrize("group", ["flops", "throughput"])
def test_model_error_becomes_a_failed_row(group):
    row = measure(group, NANO, NANO.min_input_size() - 1, batch_size=2, **FAST)  # below the model's minimum
    assert set(row) == expected_keys(group)
    assert row["status"] == "failed"
    assert "ValueError" in row["error"] and "too small" in row["error"]
    assert all(row[k] is None for k in GROUP_COLUMNS[group])


@pytest.mark.parametrize("group", ["throughput", "memory"])
def test_timeout_becomes_a_failed_row(group):
    # Building B2 (25 M weights, initialised) alone takes longer than 0.2 s: the child is killed mid-measurement.
    row = measure(group, pvtlab.get_config("pvt_v2_b2"), 512, batch_size=2, timeout_s=0.2, **FAST)
    assert row["status"] == "failed"
    assert row["error"] == "timeout: timed out after 0.2 s"
    assert row["batch_size"] is None


def _vm_size() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("VmSize missing")


def measure_with_memory_cap(extra_mib: int, **kwargs) -> dict:
    """Runs in a child: cap the address space a little above what is mapped now, then measure.

    oneDNN is switched off so every allocation goes through torch's CPU allocator: under a tight address-space cap
    oneDNN's own buffers (JIT code, scratchpads) fail first, at any batch, which makes the test depend on its
    kernel choice rather than on the batch.
    """
    torch.backends.mkldnn.enabled = False
    resource.setrlimit(resource.RLIMIT_AS, (_vm_size() + extra_mib * MIB, resource.RLIM_INFINITY))
    return measure(**kwargs)


def test_oom_retries_at_half_batch_and_records_the_batch_that_ran():
    requested = 256
    row = run_in_child(measure_with_memory_cap, dict(extra_mib=100, group="throughput", config=NANO, resolution=64,
                                                     batch_size=requested, **FAST))
    assert row["status"] == "ok", row["error"]
    assert 1 <= row["batch_size"] < requested
    assert requested % row["batch_size"] == 0  # halved, never guessed
    assert row["infer_img_per_s_median"] > 0


def test_oom_at_batch_one_becomes_a_failed_row():
    row = run_in_child(measure_with_memory_cap, dict(extra_mib=100, group="throughput", config=NANO,
                                                     resolution=4096, batch_size=2, **FAST))
    assert row["status"] == "failed"
    assert row["error"].startswith("OutOfMemory: out of memory at every batch tried [2, 1]: RuntimeError:")
    assert "can't allocate memory" in row["error"]


@pytest.mark.parametrize("kwargs,match", [
    (dict(group="speed"), "group='speed' is not allowed; choose one of"),
    (dict(batch_size=0), "batch_size=0 is not allowed"),
    (dict(amp_dtype="fp8"), "amp_dtype='fp8' is not allowed"),
    (dict(device="tpu"), "device='tpu' is not allowed"),
    (dict(threads=0), "threads=0 is not allowed"),
    (dict(timeout_s=-1), "timeout_s=-1 is not allowed"),
    (dict(resolution=(64, 0)), r"image_size=\(64, 0\) is not allowed"),
    (dict(config="pvt_nano"), "config='str' is not allowed"),
])
def test_bad_arguments_raise_user_input_error(kwargs, match):
    call = dict(group="params", config=NANO, resolution=64) | kwargs
    with pytest.raises(UserInputError, match=match):
        measure(**call)
