"""The SDPA kernel a throughput row names is the one the profiler saw run, on CPU; names map the same on CUDA."""

import functools

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
