"""The SDPA kernel a throughput row names is the one the profiler saw run, on CPU; names map the same on CUDA."""

import functools
import subprocess
import sys

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

import pvtlab
from pvtlab.measure import detect_sdpa_backend, sdpa_backend_from_ops
from pvtlab.measure.steps import Workload, make_step, prepare
from pvtlab.models import build_model


@pytest.mark.parametrize("ops,expected", [
    (["aten::linear", "aten::scaled_dot_product_attention", "aten::_scaled_dot_product_flash_attention_for_cpu"],
     "cpu-flash"),
    (["aten::scaled_dot_product_attention", "aten::_scaled_dot_product_attention_math", "aten::bmm"], "math"),
    (["aten::scaled_dot_product_attention", "aten::_scaled_dot_product_flash_attention"], "flash"),
    (["aten::_scaled_dot_product_efficient_attention"], "memory-efficient"),
    (["aten::_scaled_dot_product_cudnn_attention"], "cudnn"),
    (["aten::_scaled_dot_product_cudnn_attention", "aten::_scaled_dot_product_flash_attention"], "flash+cudnn"),
    (["aten::scaled_dot_product_attention", "aten::_some_future_kernel"], "unknown"),
    (["aten::linear", "aten::conv2d"], ""),
])
def test_op_names_map_to_kernels(ops, expected):
    assert sdpa_backend_from_ops(ops) == expected


def _inference_step():
    work = Workload(build=functools.partial(build_model, pvtlab.get_config("pvt_nano")), height=64, width=64,
                    batch_size=1)
    return make_step("infer", prepare(work), work)


def test_detects_the_cpu_kernel_and_a_forced_math_path():
    step = _inference_step()
    default = detect_sdpa_backend(step)
    assert default in ("cpu-flash", "math")  # torch picks the CPU flash kernel for fp32 without a mask
    with sdpa_kernel(SDPBackend.MATH):
        assert detect_sdpa_backend(step) == "math"
    if torch.backends.mkldnn.is_available():
        with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
            assert detect_sdpa_backend(step) == "cpu-flash"


def test_a_cpu_throughput_measurement_writes_nothing_to_stderr():
    """Kineto on a CUDA build without a GPU logs 'gpuGetDeviceCount failed' and profiler lines; none may reach a
    worker's log (the fd is captured, as a worker's log file is)."""
    code = ("import pvtlab; from pvtlab.measure import measure; "
            "row = measure('throughput', pvtlab.get_config('pvt_nano'), 48, batch_size=1, time_budget_s=0.05, "
            "warmup=1, repeats=2); print(row['status'], row['sdpa_backend'])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert done.stdout.split()[0] == "ok" and done.stdout.split()[1] in ("cpu-flash", "math")
    assert "gpuGetDeviceCount" not in done.stderr and "profiler_start" not in done.stderr
    assert done.stderr == ""
