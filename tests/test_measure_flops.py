"""count_flops on tiny nets whose MACs are derived here from their shapes (fvcore's own test style).

Every net takes an image (1, C, H, W) and works on its H*W pixels as tokens, like a PVT stage.
"""

from __future__ import annotations

import logging
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import pvtlab
from pvtlab.measure import FlopCount, UncountedOpError, count_flops
from pvtlab.models.attention import SpatialReductionAttention
from pvtlab.models.kv_reducers import LinearSpatialReduction, SpatialReduction

LN_MACS_PER_ELEMENT = 5  # fvcore's affine LayerNorm rule


def tokens(x: torch.Tensor) -> torch.Tensor:
    return x.flatten(2).transpose(1, 2)  # (B, H*W, C)


class LinearNet(nn.Module):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.fc = nn.Linear(c_in, c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(tokens(x))


class ConvNet(nn.Module):
    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, groups: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, groups=groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class SdpaNet(nn.Module):
    """One F.scaled_dot_product_attention call: N queries from all pixels, M keys from the first M pixels."""

    def __init__(self, heads: int, keys: int, value_dim: int) -> None:
        super().__init__()
        self.heads, self.keys, self.value_dim = heads, keys, value_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, C = x.shape[:2]
        t = tokens(x).reshape(B, -1, self.heads, C // self.heads).transpose(1, 2)  # (B, h, N, d)
        k = t[:, :, : self.keys]  # (B, h, M, d)
        v = k[..., : self.value_dim]  # (B, h, M, dv)
        return F.scaled_dot_product_attention(t, k, v)


class AttentionNet(nn.Module):
    """One pvtlab attention layer on the image's pixels as tokens."""

    def __init__(self, attn: nn.Module) -> None:
        super().__init__()
        self.attn = attn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attn(tokens(x), (x.shape[2], x.shape[3]))


def test_linear_counts_in_times_out_per_token_without_bias():
    c_in, c_out, h, w = 6, 10, 5, 7
    count = count_flops(LinearNet(c_in, c_out), (h, w), in_chans=c_in)
    assert count.macs == h * w * c_in * c_out, count.by_op
    assert count.flops == 2 * count.macs
    assert count.attn_macs == 0


@pytest.mark.parametrize("c_in,c_out,kernel,stride,padding,groups", [
    (3, 8, 4, 4, 0, 1),  # PVTv1 patch embedding
    (3, 8, 7, 4, 3, 1),  # PVTv2 overlapping patch embedding
    (12, 12, 3, 1, 1, 12),  # conv-FFN depthwise conv
])
def test_conv_counts_kernel_area_times_channels_per_output_position(c_in, c_out, kernel, stride, padding, groups):
    h_in, w_in = 30, 22
    h = (h_in + 2 * padding - kernel) // stride + 1
    w = (w_in + 2 * padding - kernel) // stride + 1
    count = count_flops(ConvNet(c_in, c_out, kernel, stride, padding, groups), (h_in, w_in))
    assert count.macs == h * w * c_out * (c_in // groups) * kernel * kernel, (h, w, count.by_op)


@pytest.mark.parametrize("value_dim", [4, 2])
def test_one_sdpa_call_counts_both_matmuls(value_dim):
    heads, head_dim, keys, h, w = 2, 4, 6, 3, 5
    count = count_flops(SdpaNet(heads, keys, value_dim), (h, w), in_chans=heads * head_dim)
    queries = h * w
    expected = heads * queries * keys * head_dim + heads * queries * keys * value_dim  # q@k^T + attn@v
    assert count.macs == expected
    assert count.attn_macs == expected
    assert count.by_op == {"scaled_dot_product_attention": expected}


def test_one_sra_block_matches_hand_count():
    dim, heads, ratio, h, w = 16, 2, 4, 12, 8
    count = count_flops(AttentionNet(SpatialReductionAttention(dim, heads, SpatialReduction(dim, ratio))), (h, w),
                        in_chans=dim)
    n, m = h * w, (h // ratio) * (w // ratio)
    expected = {
        "linear": n * dim * dim + m * dim * 2 * dim + n * dim * dim,  # q, kv, proj
        "conv": m * dim * dim * ratio * ratio,  # reducer conv, kernel = stride = R
        "layer_norm": LN_MACS_PER_ELEMENT * m * dim,  # reducer norm
        "scaled_dot_product_attention": 2 * n * m * dim,  # the paper's SRA term 2*N*(N/R^2)*C
    }
    assert count.by_op == expected
    assert count.attn_macs == 2 * n * m * dim
    assert count.macs == sum(expected.values())


def test_one_linear_sra_block_matches_hand_count():
    dim, heads, pool, h, w = 16, 4, 3, 10, 9
    count = count_flops(AttentionNet(SpatialReductionAttention(dim, heads, LinearSpatialReduction(dim, pool))),
                        (h, w), in_chans=dim)
    n, m = h * w, pool * pool
    expected = {
        "linear": 2 * n * dim * dim + m * dim * 2 * dim,
        "conv": m * dim * dim,  # 1x1 conv on the P x P pooled map
        "adaptive_avg_pool2d": n * dim,  # fvcore: one per input element
        "layer_norm": LN_MACS_PER_ELEMENT * m * dim,
        "scaled_dot_product_attention": 2 * n * m * dim,  # the paper's linear SRA term 2*N*P^2*C
    }
    assert count.by_op == expected
    assert count.macs == sum(expected.values())


class FlashForCpuNet(nn.Module):
    """Calls a fused attention kernel directly, an op fvcore has no rule for."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = tokens(x).reshape(1, -1, 2, 4).transpose(1, 2)
        return torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(t, t, t)[0]


def test_uncounted_attention_op_is_an_error():
    with pytest.raises(UncountedOpError, match="_scaled_dot_product_flash_attention_for_cpu"):
        count_flops(FlashForCpuNet(), 4, in_chans=8)


class ZeroAndUnknownNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = F.gelu(self.fc(tokens(x)))
        return torch.cumsum(t.softmax(-1) + t, dim=1)


def test_zero_ops_are_listed_apart_from_uncounted_ones_and_nothing_is_logged(caplog):
    with warnings.catch_warnings(record=True) as seen, caplog.at_level(logging.DEBUG):
        warnings.simplefilter("always")
        count = count_flops(ZeroAndUnknownNet(), 3, in_chans=4)
    assert count.zero_ops == {"aten::gelu": 1, "aten::softmax": 1, "aten::add": 1}
    assert count.uncounted == {"aten::cumsum": 1}
    assert count.uncounted_text() == "aten::cumsum x1"
    assert count.macs == 9 * 4 * 4
    assert [str(w.message) for w in seen] == []
    assert [r.getMessage() for r in caplog.records if r.name.startswith("fvcore")] == []


def test_pvt_breakdown_by_stage_and_counter_name():
    model = pvtlab.create_model("pvt_nano")
    count = count_flops(model, 64)
    assert isinstance(count, FlopCount)
    assert list(count.by_stage) == ["stages.0", "stages.1", "stages.2", "stages.3", "pool", "head"]
    assert sum(count.by_stage.values()) == count.macs
    assert count.by_stage["head"] == model.config.embed_dims[-1] * model.config.num_classes
    assert count.attn_macs == count.by_op["scaled_dot_product_attention"] > 0
    assert count.counter.startswith("fvcore 0.1.5") and count.counter.endswith("+ pvtlab sdpa handle")
    assert count.uncounted == {}
    assert model.training, "count_flops must restore the training mode it found"


def test_bad_image_size_is_a_clear_error():
    with pytest.raises(ValueError, match="image_size=0"):
        count_flops(LinearNet(3, 3), 0)
    with pytest.raises(ValueError, match=r"image_size=\(3, 4, 5\)"):
        count_flops(LinearNet(3, 3), (3, 4, 5))
