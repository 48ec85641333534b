"""Which ``scaled_dot_product_attention`` kernel ran: read from the profiler's op names, on CPU and CUDA alike.

``F.scaled_dot_product_attention`` dispatches at run time to one of several kernels (flash, memory-efficient,
cuDNN or the plain math path on CUDA; a flash kernel or the math path on CPU) depending on device, dtype, shapes
and the enabled backends. Their speed differs a lot, so a throughput row names the one that ran. The dispatcher
records each kernel as its own aten op, so one profiled step tells which ran; nothing is inferred from settings.
"""

from __future__ import annotations

from typing import Callable, Iterable

import torch

# aten op -> the name a row records (exact names: the CPU flash op's name extends the CUDA one's).
SDPA_KERNELS = {
    "aten::_scaled_dot_product_flash_attention_for_cpu": "cpu-flash",
    "aten::_scaled_dot_product_flash_attention": "flash",
    "aten::_scaled_dot_product_efficient_attention": "memory-efficient",
    "aten::_scaled_dot_product_cudnn_attention": "cudnn",
    "aten::_scaled_dot_product_fused_attention_overrideable": "overrideable",
    "aten::_scaled_dot_product_attention_math": "math",
}
SDPA_OP = "aten::scaled_dot_product_attention"  # the public op every kernel above runs under


def sdpa_backend_from_ops(op_names: Iterable[str]) -> str:
    """The kernels among ``op_names``, "+"-joined in a fixed order ("" when no SDPA call ran; "unknown" when
    SDPA ran through a kernel not listed here)."""
    names = set(op_names)
    found = [label for op, label in SDPA_KERNELS.items() if op in names]
    if found:
        return "+".join(found)
    return "unknown" if SDPA_OP in names else ""


def detect_sdpa_backend(step: Callable[[], None]) -> str:
    """Run ``step`` once under torch's record-function profiler, which lists the aten ops called on either device.

    It is the autograd profiler without Kineto: Kineto, started on a CUDA build of torch on a machine without a
    GPU, logs "gpuGetDeviceCount failed" and profiler_start/stop lines to stderr in every cell. A profiler that
    cannot start (it needs threads and buffers, e.g. under a tight memory limit) gives "undetected (reason)"
    rather than failing the measurement it only annotates.
    """
    from torch.autograd.profiler_legacy import profile

    try:
        with profile() as prof:
            step()
        names = [event.name for event in prof.function_events]
    except (RuntimeError, MemoryError) as exc:
        return f"undetected ({type(exc).__name__}: {' '.join(str(exc).split())[:80]})"
    return sdpa_backend_from_ops(names)


def backend_settings(device: str) -> dict[str, bool]:
    """The global switches that change which kernels run: TF32 matmuls (CUDA only) and cudnn.benchmark."""
    on_cuda = torch.device(device).type == "cuda"
    return {"tf32": bool(on_cuda and torch.backends.cuda.matmul.allow_tf32),
            "cudnn_benchmark": bool(torch.backends.cudnn.benchmark)}
