"""The three PVTv2 toggles: all 8 combinations run, and each toggle changes exactly the modules it names."""

import itertools

import pytest
import torch
from torch import nn

import pvtlab
from pvtlab.models.ffn import ConvFfn, Mlp
from pvtlab.models.kv_reducers import LinearSpatialReduction, NoReduction, SpatialReduction
from pvtlab.models.position import AbsolutePositionEmbed, NoPositionEmbed

# The paper's three choices; "position" pairs pos_embed with the FFN as in grid specs.
POSITION = {"pos_embed": dict(pos_embed=True, ffn="mlp"), "conv_ffn": dict(pos_embed=False, ffn="conv_ffn")}
COMBOS = list(itertools.product(["non_overlap", "overlap"], POSITION, ["sra", "linear_sra"]))
SMALL = dict(embed_dims=(16, 32, 80, 64), depths=(1, 1, 1, 1), num_classes=10)


@pytest.mark.parametrize("patch_embed,position,attention", COMBOS)
@pytest.mark.parametrize("base", ["pvt_v1_small", "pvt_v2_b2"])
def test_combination_runs_forward_and_backward(base, patch_embed, position, attention):
    model = pvtlab.create_model(base, patch_embed=patch_embed, attention=attention, **POSITION[position], **SMALL)
    for size in [(224, 224), (200, 152)]:
        model.zero_grad()
        out = model(torch.randn(2, 3, *size))
        assert out.shape == (2, 10) and torch.isfinite(out).all()
        out.square().mean().backward()
        grads = [p.grad for p in model.parameters()]
        assert all(g is not None and torch.isfinite(g).all() for g in grads)


def _shapes(model: nn.Module) -> dict[str, tuple]:
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def _diff(a: dict, b: dict) -> set[str]:
    return {k for k in set(a) | set(b) if a.get(k) != b.get(k)}


def test_patch_embed_toggle_changes_only_patch_embed_convs():
    base = pvtlab.create_model("pvt_v1_small", **SMALL)
    ope = pvtlab.create_model("pvt_v1_small", patch_embed="overlap", **SMALL)
    changed = _diff(_shapes(base), _shapes(ope))
    assert changed == {f"stages.{i}.patch_embed.proj.weight" for i in range(4)}
    kernels = [(s.patch_embed.proj.kernel_size, s.patch_embed.proj.stride, s.patch_embed.proj.padding) for s in ope.stages]
    assert kernels == [((7, 7), (4, 4), (3, 3))] + [((3, 3), (2, 2), (1, 1))] * 3  # 2S-1 / S / S-1
    assert [s.patch_embed.proj.kernel_size for s in base.stages] == [(4, 4)] + [(2, 2)] * 3


def test_pos_embed_toggle_adds_exactly_the_tables():
    on = pvtlab.create_model("pvt_v2_b2", pos_embed=True, **SMALL)
    off = pvtlab.create_model("pvt_v2_b2", **SMALL)
    assert _diff(_shapes(on), _shapes(off)) == {f"stages.{i}.pos_embed.table" for i in range(4)}
    assert all(isinstance(s.pos_embed, AbsolutePositionEmbed) for s in on.stages)
    assert all(isinstance(s.pos_embed, NoPositionEmbed) for s in off.stages)
    v1 = pvtlab.create_model("pvt_v1_small")
    assert [tuple(s.pos_embed.table.shape) for s in v1.stages] == [(1, 3136, 64), (1, 784, 128), (1, 196, 320),
                                                                    (1, 50, 512)]


def test_ffn_toggle_adds_exactly_the_depthwise_convs():
    mlp = pvtlab.create_model("pvt_v2_b2", ffn="mlp", **SMALL)
    conv = pvtlab.create_model("pvt_v2_b2", **SMALL)
    changed = _diff(_shapes(mlp), _shapes(conv))
    assert changed and all(".mlp.dwconv." in k for k in changed)
    block = conv.stages[0].blocks[0].mlp
    assert isinstance(block, ConvFfn) and block.dwconv.groups == block.dwconv.in_channels
    assert type(mlp.stages[0].blocks[0].mlp) is Mlp


def test_attention_toggle_changes_only_the_reducers():
    sra = pvtlab.create_model("pvt_v2_b2", **SMALL)
    lsra = pvtlab.create_model("pvt_v2_b2", attention="linear_sra", **SMALL)
    changed = _diff(_shapes(sra), _shapes(lsra))
    assert changed and all(".attn.reducer." in k for k in changed)
    assert [type(s.blocks[0].attn.reducer) for s in sra.stages] == [SpatialReduction] * 3 + [NoReduction]
    assert all(isinstance(s.blocks[0].attn.reducer, LinearSpatialReduction) for s in lsra.stages)
    assert all(s.blocks[0].attn.reducer.pool.output_size == 7 for s in lsra.stages)
    # ffn_relu is its own field: linear SRA alone adds no ReLU
    assert isinstance(lsra.stages[0].blocks[0].mlp.relu, nn.Identity)
    li = pvtlab.create_model("pvt_v2_b2_li", **SMALL)
    assert isinstance(li.stages[0].blocks[0].mlp.relu, nn.ReLU)


def test_linear_sra_keys_are_pool_squared_at_any_size():
    model = pvtlab.create_model("pvt_v2_b2_li", **SMALL)
    reducer = model.stages[0].blocks[0].attn.reducer
    for hw in [(56, 56), (80, 64), (5, 9)]:
        x = torch.randn(1, hw[0] * hw[1], 16)
        assert reducer(x, hw).shape == (1, 49, 16)


def test_class_token_with_v2_parts_keeps_its_place():
    """v1 head with conv_ffn and linear SRA (factorial corners): the class token skips conv and pooling."""
    model = pvtlab.create_model("pvt_v1_small", ffn="conv_ffn", pos_embed=False, attention="linear_sra", **SMALL)
    tokens = model.forward_features(torch.randn(1, 3, 224, 224))
    assert tokens.shape == (1, 1 + 49, 64)


def test_too_small_input_is_a_clear_error():
    model = pvtlab.create_model("pvt_v2_b0")
    assert model.min_input_size > 1
    out = model(torch.randn(1, 3, model.min_input_size, model.min_input_size + 3))
    assert out.shape == (1, 1000)
    with pytest.raises(ValueError, match=rf"input size .* too small.*at least {model.min_input_size} px"):
        model(torch.randn(1, 3, model.min_input_size - 1, 64))


def test_stage_maps_have_strides_4_8_16_32():
    model = pvtlab.create_model("pvt_v1_small", **SMALL)
    maps = model.forward_stages(torch.randn(1, 3, 256, 192))
    assert [tuple(m.shape[1:]) for m in maps] == [(16, 64, 48), (32, 32, 24), (80, 16, 12), (64, 8, 6)]
    assert [f["reduction"] for f in model.feature_info] == [4, 8, 16, 32]


def test_position_embedding_is_resized_bilinearly():
    model = pvtlab.create_model("pvt_v1_small", **SMALL)
    pos = model.stages[1].pos_embed
    with torch.no_grad():
        pos.table.fill_(0.5)
    x = torch.zeros(1, 20 * 24, 32)
    out = pos(x, (20, 24))  # 28x28 table resized to 20x24: constant stays constant
    assert out.shape == (1, 480, 32) and torch.allclose(out, torch.full_like(out, 0.5))


def test_reset_classifier_and_head_api():
    model = pvtlab.create_model("pvt_v2_b0")
    model.reset_classifier(5)
    assert model.config.num_classes == 5 and model(torch.randn(1, 3, 64, 64)).shape == (1, 5)
    feats = model.forward_features(torch.randn(1, 3, 64, 64))
    assert model.forward_head(feats, pre_logits=True).shape == (1, 256)
    model.reset_classifier(0)
    assert model(torch.randn(1, 3, 64, 64)).shape == (1, 256)
