"""Traced FLOP count: fvcore's ``FlopCountAnalysis`` plus a handle for ``scaled_dot_product_attention``.

Why a handle: fvcore has none for ``aten::scaled_dot_product_attention``, so on any model that calls
``F.scaled_dot_product_attention`` (pvtlab's, timm's PVTv2) it silently drops the attention matmuls and quadratic
SRA looks linear. Here the op is counted, and any attention op
that still goes uncounted is an error, not a log line.

Convention (the papers'): one multiply-add is one MAC, ``flops = 2 * macs``. fvcore counts
conv and linear weights without bias, the attention matmuls (our handle), and adds LayerNorm (5 per element),
adaptive average pooling (1 per input element) and bilinear resizing (4 per output element). Activations,
softmax, residual adds and the token mean count zero on purpose; they are listed in ``zero_ops``, apart from
``uncounted`` (ops fvcore saw and had no rule for).
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass, field
from math import prod
from typing import Any, Callable

import torch
from torch import nn

from .conventions import ImageSize, MacUnits, parse_image_size
from .sdpa import SDPA_OP

# Ops that carry the attention matmuls in some implementation; one of them uncounted means a wrong total.
ATTENTION_OPS = frozenset({
    SDPA_OP, "aten::matmul", "aten::bmm", "aten::baddbmm", "aten::einsum", "aten::mm",
    "aten::_scaled_dot_product_flash_attention", "aten::_scaled_dot_product_flash_attention_for_cpu",
    "aten::_scaled_dot_product_efficient_attention", "aten::_scaled_dot_product_cudnn_attention",
})
# Weight ops that the papers count; missing one is as wrong as missing attention.
WEIGHT_OPS = frozenset({"aten::linear", "aten::addmm", "aten::_convolution", "aten::conv2d", "aten::conv1d",
                        "aten::convolution", "aten::conv_transpose2d"})
# Ops the papers' convention counts as zero (activations, elementwise arithmetic, softmax, reductions).
ZERO_OPS = frozenset({
    "aten::gelu", "aten::gelu_", "aten::silu", "aten::silu_", "aten::sigmoid", "aten::tanh", "aten::hardtanh",
    "aten::softmax", "aten::_softmax", "aten::log_softmax",
    "aten::add", "aten::add_", "aten::sub", "aten::sub_", "aten::rsub", "aten::mul", "aten::mul_",
    "aten::div", "aten::div_", "aten::neg", "aten::exp", "aten::sqrt", "aten::rsqrt", "aten::pow",
    "aten::mean", "aten::sum", "aten::abs", "aten::erf",
})
# by_op names (fvcore drops "aten::") whose MACs are attention matmuls in PVT: SDPA, or explicit q@k^T and attn@v
# (official code, timm with fused attention off). A model that also uses matmul for other layers would overstate.
_ATTENTION_OP_NAMES = ("scaled_dot_product_attention", "matmul", "bmm", "baddbmm", "einsum", "mm")

Handle = Callable[[list[Any], list[Any]], Any]


class UncountedOpError(RuntimeError):
    """An attention or weight op was traced but not counted: the total would be silently low."""


def _shape(value: Any) -> list[int]:
    if not value.isCompleteTensor():
        raise UncountedOpError(f"cannot count an op whose input shape is unknown: {value}")
    return list(value.type().sizes())


def sdpa_macs(inputs: list[Any], outputs: list[Any]) -> int:
    """q (..., N, d), k (..., M, d), v (..., M, dv): q@k^T is N*M*d and attn@v N*M*dv MACs per batch-head."""
    q, k, v = (_shape(value) for value in inputs[:3])
    return prod(q[:-2]) * q[-2] * k[-2] * (q[-1] + v[-1])


def baddbmm_macs(inputs: list[Any], outputs: list[Any]) -> int:
    """beta*self + alpha*(b1 @ b2) with b1 (B, n, k), b2 (B, k, m): B*n*k*m MACs (the add counts zero)."""
    b1, b2 = _shape(inputs[1]), _shape(inputs[2])
    return b1[0] * b1[1] * b1[2] * b2[2]


def _zero_handle(kind: str, seen: Counter) -> Handle:
    def handle(inputs: list[Any], outputs: list[Any]) -> int:
        seen[kind] += 1
        return 0

    return handle


def counter_name() -> str:
    from importlib.metadata import version

    return f"fvcore {version('fvcore')} + pvtlab sdpa handle"


@dataclass(frozen=True)
class FlopCount(MacUnits):
    """MACs of one forward pass at batch 1, with the breakdowns a reviewer needs to trust the total."""

    macs: int  # multiply-adds per image, attention matmuls included
    attn_macs: int  # the attention matmuls alone (q@k^T and attn@v), whatever op computed them
    by_stage: dict[str, int]  # top-level modules, containers expanded: stages.0 .. stages.3, pool, head
    by_op: dict[str, int]  # fvcore's op names: linear, conv, scaled_dot_product_attention, layer_norm, ...
    by_module: dict[str, int]  # every module (fvcore's by_module), for per-block checks
    counter: str  # e.g. "fvcore 0.1.5.post20221221 + pvtlab sdpa handle"
    uncounted: dict[str, int] = field(default_factory=dict)  # op -> times seen, no rule (not attention/weights)
    zero_ops: dict[str, int] = field(default_factory=dict)  # op -> times seen, zero by convention
    image_size: tuple[int, int] = (0, 0)

    def uncounted_text(self) -> str:
        """One cell of text: ``aten::foo x3; aten::bar x1``, empty when nothing went uncounted."""
        return "; ".join(f"{op} x{n}" for op, n in sorted(self.uncounted.items()))


def _default_in_chans(model: nn.Module) -> int:
    config = getattr(model, "config", None)
    if config is not None and hasattr(config, "in_chans"):
        return int(config.in_chans)
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            return module.in_channels
    raise ValueError("cannot tell the model's input channels; pass in_chans= or inputs=")


def _stage_names(model: nn.Module) -> list[str]:
    names = []
    for name, child in model.named_children():
        if isinstance(child, (nn.ModuleList, nn.Sequential)):
            names += [f"{name}.{sub}" for sub, _ in child.named_children()]
        else:
            names.append(name)
    return names


def _is_must_count(op: str) -> bool:
    return op in ATTENTION_OPS or op in WEIGHT_OPS or "attention" in op


def count_flops(model: nn.Module, image_size: ImageSize, *, in_chans: int | None = None,
                inputs: torch.Tensor | None = None) -> FlopCount:
    """Trace ``model`` on one ``image_size`` image (batch 1, eval mode) and count its MACs.

    Raises ``UncountedOpError`` if an attention or conv/linear op was seen but not counted.
    ``inputs`` replaces the random image (then ``image_size`` is only recorded).
    """
    height, width = parse_image_size(image_size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # fvcore.nn imports a torch.jit.script'ed loss
        from fvcore.nn import FlopCountAnalysis
    if inputs is None:
        param = next(model.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
        dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
        channels = in_chans if in_chans is not None else _default_in_chans(model)
        inputs = torch.randn(1, channels, height, width, device=device, dtype=dtype)
    zero_seen: Counter = Counter()
    analysis = FlopCountAnalysis(model, (inputs,))
    analysis.set_op_handle(SDPA_OP, sdpa_macs, "aten::baddbmm", baddbmm_macs)
    analysis.set_op_handle(**{op: _zero_handle(op, zero_seen) for op in ZERO_OPS})
    # Unsupported ops come back in .uncounted and are checked below, so fvcore's log lines are only noise.
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings("none")
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        with torch.no_grad():
            total = analysis.total()
    finally:
        for module, training in modes:  # each module back to its own mode (a frozen part stays in eval)
            module.training = training
    unsupported = dict(analysis.unsupported_ops())
    missing = sorted(op for op in unsupported if _is_must_count(op))
    if missing:
        raise UncountedOpError(f"attention/weight ops traced but not counted: {missing}; the MAC total would be "
                               "low (register a handle for each)")
    by_op = {op: int(round(n)) for op, n in analysis.by_operator().items()}
    by_module = {name: int(round(n)) for name, n in analysis.by_module().items()}
    by_stage = {name: by_module.get(name, 0) for name in _stage_names(model)}
    rest = int(round(total)) - sum(by_stage.values())
    if rest:
        by_stage["(root)"] = rest
    attn = sum(n for op, n in by_op.items() if op in _ATTENTION_OP_NAMES)
    return FlopCount(macs=int(round(total)), attn_macs=attn, by_stage=by_stage, by_op=by_op, by_module=by_module,
                     counter=counter_name(), uncounted=unsupported, zero_ops=dict(zero_seen),
                     image_size=(height, width))
