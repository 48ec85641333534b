"""pvtlab variants as detection/segmentation backbones: timm's intermediates API and feature wrapper, and an FPN."""

import itertools
from collections import OrderedDict

import pytest
import timm
import torch
from torchvision.ops import FeaturePyramidNetwork

import pvtlab
from pvtlab.toggles import POSITIONS, TOGGLES

COMBOS = list(itertools.product(*(values[:2] for values in TOGGLES.values())))
HEIGHT, WIDTH = 384, 512  # non-square: a swapped side would show in every map's shape


@pytest.mark.parametrize("patch_embed,position,attention", COMBOS)
def test_every_combination_feeds_an_fpn(patch_embed, position, attention):
    backbone = pvtlab.create_model("pvt_nano", features_only=True, patch_embed=patch_embed, attention=attention,
                                   **POSITIONS[position]).eval()
    assert backbone.feature_info.channels() == [16, 32, 64, 128]
    assert backbone.feature_info.reduction() == [4, 8, 16, 32]
    fpn = FeaturePyramidNetwork(backbone.feature_info.channels(), out_channels=24).eval()
    with torch.inference_mode():
        maps = backbone(torch.randn(1, 3, HEIGHT, WIDTH))
        pyramid = fpn(OrderedDict((f"p{i}", m) for i, m in enumerate(maps)))
    # overlap: ceil(side / stride); non_overlap: floor; equal here since both sides divide by 32.
    sides = [(HEIGHT // r, WIDTH // r) for r in (4, 8, 16, 32)]
    assert [tuple(m.shape) for m in maps] == [(1, c, h, w) for c, (h, w) in zip([16, 32, 64, 128], sides)]
    assert [tuple(p.shape) for p in pyramid.values()] == [(1, 24, h, w) for h, w in sides]


def test_out_indices_keep_only_the_stages_needed():
    backbone = pvtlab.create_model("pvt_v2_b0", features_only=True, out_indices=(1, 2))
    reference = timm.create_model("pvt_v2_b0", features_only=True, out_indices=(1, 2))
    assert backbone.feature_info.channels() == reference.feature_info.channels() == [64, 160]
    assert backbone.feature_info.reduction() == reference.feature_info.reduction() == [8, 16]
    assert len(backbone.model.stages) == 3 and isinstance(backbone.model.head, torch.nn.Identity)
    maps = backbone(torch.randn(1, 3, 96, 64))
    assert [tuple(m.shape) for m in maps] == [(1, 64, 12, 8), (1, 160, 6, 4)]


@pytest.mark.parametrize("indices", [None, 2, [0, -1]])
def test_forward_intermediates_equal_timms(indices):
    reference = timm.create_model("pvt_v2_b0", pretrained=False).eval()
    ours = pvtlab.create_model("pvt_v2_b0").eval()
    pvtlab.load_weights(ours, reference.state_dict())
    x = torch.randn(1, 3, 160, 224)
    with torch.inference_mode():
        their_final, theirs = reference.forward_intermediates(x, indices=indices)
        our_final, mine = ours.forward_intermediates(x, indices=indices)
        logits = ours.forward_head(our_final)
        expected_logits = reference(x)
    assert len(mine) == len(theirs) == (4 if indices is None else 2)
    for a, b in zip(mine, theirs):
        assert a.shape == b.shape and (a - b).abs().max().item() <= 1e-4
    # Our final output is forward_features' tokens (what forward_head takes); timm's is the same as a map.
    assert torch.allclose(our_final.transpose(1, 2).reshape(their_final.shape), their_final, atol=1e-4)
    assert torch.allclose(logits, expected_logits, atol=1e-4)


def test_forward_intermediates_rejects_other_formats():
    with pytest.raises(ValueError, match="output_fmt='NHWC' is not allowed"):
        pvtlab.create_model("pvt_nano").forward_intermediates(torch.randn(1, 3, 64, 64), output_fmt="NHWC")
