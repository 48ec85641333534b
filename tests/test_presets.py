"""Every paper preset is the paper model: parameter counts and the config facts of the official code."""

import pytest
import torch

import pvtlab
from pvtlab.models import PVTConfig

# Millions of parameters with the 1000-class head (the papers' tables; timm's param_count for v2).
REFERENCE_PARAMS_M = {
    "pvt_v1_tiny": 13.23, "pvt_v1_small": 24.49, "pvt_v1_medium": 44.21, "pvt_v1_large": 61.37,
    "pvt_v2_b0": 3.67, "pvt_v2_b1": 14.01, "pvt_v2_b2": 25.36, "pvt_v2_b2_li": 22.55,
    "pvt_v2_b3": 45.24, "pvt_v2_b4": 62.56, "pvt_v2_b5": 81.96,
}


def test_every_paper_preset_is_registered():
    assert set(REFERENCE_PARAMS_M) <= set(pvtlab.list_models())


@pytest.mark.parametrize("name", sorted(REFERENCE_PARAMS_M))
def test_parameter_count_matches_reference(name):
    model = pvtlab.create_model(name, device="meta")  # shapes only, no memory
    assert all(p.is_meta for p in model.parameters())  # every module, v1 tables and class token included
    params_m = sum(p.numel() for p in model.parameters()) / 1e6
    assert round(params_m, 2) == pytest.approx(REFERENCE_PARAMS_M[name], abs=0.006), f"{name}: {params_m:.4f} M"


def test_b5_builds_on_meta_without_allocating_and_in_any_dtype():
    b5 = pvtlab.create_model("pvt_v2_b5", device="meta", dtype=torch.bfloat16)
    tensors = [*b5.parameters(), *b5.buffers()]
    assert all(t.is_meta and t.dtype == torch.bfloat16 for t in tensors)
    assert sum(p.numel() for p in b5.parameters()) / 1e6 == pytest.approx(81.96, abs=0.005)
    b5.reset_classifier(10)
    assert b5.head.weight.is_meta and b5.head.weight.dtype == torch.bfloat16


def test_preset_facts_from_reference():
    b5 = pvtlab.get_config("pvt_v2_b5")
    assert b5.mlp_ratios == (4, 4, 4, 4) and b5.depths == (3, 6, 40, 3)
    small = pvtlab.get_config("pvt_v1_small")
    assert small.depths == (3, 4, 6, 3)  # code's stage-2 depth 4, not Table 1's 3
    assert small.patch_embed == "non_overlap" and small.pos_embed and small.head_pool == "cls_token"
    li = pvtlab.get_config("pvt_v2_b2_li")
    b2 = pvtlab.get_config("pvt_v2_b2")
    assert li == b2.replace(attention="linear_sra", ffn_relu=True)  # B2-Li is a two-field delta from B2
    assert li.pool_size == 7


def test_paper_path_end_points_are_the_presets():
    """PVTv1-Small + OPE + CFFN (and v2 style) is exactly PVTv2-B2 (P2 Table 6 row 3)."""
    v1 = pvtlab.get_config("pvt_v1_small")
    b2 = v1.replace(patch_embed="overlap", pos_embed=False, ffn="conv_ffn", head_pool="mean", stage_norm=True,
                    conv_init="fan_out_normal")
    assert b2 == pvtlab.get_config("pvt_v2_b2")


def test_overrides_win_over_preset():
    cfg = pvtlab.get_config("pvt_v2_b0", patch_embed="non_overlap", pos_embed=True, ffn="mlp", attention="sra")
    assert (cfg.patch_embed, cfg.pos_embed, cfg.ffn, cfg.attention) == ("non_overlap", True, "mlp", "sra")
    assert cfg.embed_dims == (32, 64, 160, 256)
    model = pvtlab.create_model("pvt_v2_b0", num_classes=10)
    assert model.head.out_features == 10 and model.config.num_classes == 10


def test_unknown_preset_lists_allowed():
    with pytest.raises(ValueError, match=r"unknown model 'pvt_v3'.*pvt_v2_b0"):
        pvtlab.create_model("pvt_v3")


def test_unknown_field_lists_allowed():
    with pytest.raises(ValueError, match=r"unknown PVTConfig field\(s\) \['patch_embedding'\].*patch_embed"):
        pvtlab.create_model("pvt_v2_b0", patch_embedding="overlap")


@pytest.mark.parametrize("field,value,allowed", [
    ("patch_embed", "overlapping", "non_overlap"),
    ("ffn", "cffn", "conv_ffn"),
    ("attention", "linear", "linear_sra"),
    ("pos_embed", "yes", "True or False"),
    ("head_pool", "max", "cls_token"),
    ("depths", (1, 1, 1), "4 values"),
    ("embed_dims", (64, 128, 320, 510), "divide by its heads"),
    ("pool_size", 0, "positive integer"),
    ("drop_path_rate", 1.5, r"\[0, 1\)"),
])
def test_bad_config_value_names_field_value_and_allowed(field, value, allowed):
    with pytest.raises(ValueError, match=rf"PVTConfig\.{field}=.*{allowed}"):
        PVTConfig(**{field: value})


@pytest.mark.parametrize("name, side", [("pvt_v2_b2", 224), ("pvt_nano", 48)])
def test_linear_sra_pools_to_the_key_grid_sra_keeps(name, side):
    """P = 7 is B2's SRA key grid at 224 px in every stage; pvt_nano's P = 3 is its SRA key grid in stages 1-3 at
    the default grid's 48 px (stage 4 is 2 x 2 there), so at proxy scale the two attentions keep as many keys."""
    config = pvtlab.get_config(name)
    grids = config.stage_grids(side, side)
    sra_keys = [h // r for (h, _), r in zip(grids, config.sr_ratios)]
    assert sra_keys[:3] == [config.pool_size] * 3


def test_config_is_frozen():
    cfg = PVTConfig()
    with pytest.raises(Exception):
        cfg.patch_embed = "overlap"
