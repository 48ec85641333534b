"""Every PVTv2 preset gives timm's logits when loaded with timm's weights (random init, same weights)."""

import pytest
import timm
import torch

import pvtlab

V2 = ["pvt_v2_b0", "pvt_v2_b1", "pvt_v2_b2", "pvt_v2_b2_li", "pvt_v2_b3", "pvt_v2_b4", "pvt_v2_b5"]
BIG = {"pvt_v2_b3", "pvt_v2_b4", "pvt_v2_b5"}


@pytest.mark.parametrize("name", V2)
def test_same_logits_as_timm(name):
    torch.manual_seed(0)
    reference = timm.create_model(name, pretrained=False).eval()
    ours = pvtlab.create_model(name).eval()
    pvtlab.load_weights(ours, reference.state_dict())
    batch = 1 if name in BIG else 2
    for size in [(224, 224), (200, 152)]:  # square, and non-square not a multiple of 32
        x = torch.randn(batch, 3, *size)
        with torch.inference_mode():
            expected, got = reference(x), ours(x)
        assert got.shape == expected.shape == (batch, 1000)
        diff = (got - expected).abs().max().item()
        assert diff <= 1e-4, f"{name} at {size}: max abs diff {diff:.2e}"


def test_feature_maps_match_timm_stages():
    reference = timm.create_model("pvt_v2_b0", pretrained=False).eval()
    ours = pvtlab.create_model("pvt_v2_b0").eval()
    pvtlab.load_weights(ours, reference.state_dict())
    x = torch.randn(1, 3, 224, 160)
    with torch.inference_mode():
        theirs = reference.forward_intermediates(x, intermediates_only=True)
        mine = ours.forward_stages(x)
    assert len(mine) == len(theirs) == 4
    for a, b in zip(mine, theirs):
        assert a.shape == b.shape and (a - b).abs().max().item() <= 1e-4
