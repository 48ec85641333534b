"""The closed-form count against the papers, and the traced count against the closed form.

Tolerance of traced vs analytic: the conv + linear + attention MACs must be EQUAL. fvcore adds only LayerNorm
(5 per element), adaptive average pooling (1 per input element, linear SRA) and bilinear resizing of v1 position
embeddings (4 per output element, at non-training sizes); nothing else may differ. Those terms are about 10*C per
token per block (two LayerNorms) against at least 10*C*C for the linears (2*C*C*(1 + E), E >= 4), so they are
bounded by 1/C1 of the total (C1 = first-stage width, the most tokens): measured 0.4-0.6% at C1 = 64, 1.05% for
B0 and 1.9% for pvt_nano (C1 = 16). Against the papers' table (2 decimals) the traced count may only be higher
(never below, which would mean a missed term) and by at most 1.1% plus rounding.

Traces of full-depth presets cost seconds on a CPU, so only the 224 check (the paper table) uses full depth; the
other sizes and the toggle combinations use one block per stage (every block of a stage has the same terms, and
the closed form multiplies by depth, which the 224 check covers) and, for the toggles, small widths.
"""

from __future__ import annotations

import itertools

import pytest
import torch

import pvtlab
from pvtlab.measure import analytic_count, count_flops
from pvtlab.models import build_model

# the papers' and timm's published GMACs at 224 (attention matmuls included) and the PVTv2 paper's 1024 px numbers.
PAPER_GMACS_224 = {
    "pvt_v1_tiny": 1.93, "pvt_v1_small": 3.82, "pvt_v1_medium": 6.66, "pvt_v1_large": 9.81,
    "pvt_v2_b0": 0.57, "pvt_v2_b1": 2.11, "pvt_v2_b2": 4.03, "pvt_v2_b2_li": 3.89, "pvt_v2_b3": 6.90,
    "pvt_v2_b4": 10.10, "pvt_v2_b5": 11.72,
}
PAPER_GMACS_1024 = {"pvt_v1_small": (138.84, 62.28), "pvt_v2_b2": (143.44, 62.28), "pvt_v2_b2_li": (76.93, 2.98)}
ROUNDING = 0.005  # the tables give two decimals
ONE_BLOCK = (1, 1, 1, 1)
FVCORE_EXTRA_OPS = {"layer_norm", "adaptive_avg_pool2d", "upsample_bilinear2d"}
PAPER_EXCESS_MAX = 0.011


def traced_vs_analytic(config: pvtlab.PVTConfig, size) -> tuple[float, float]:
    """Trace the built model and check it against the closed form; returns (traced, analytic) GMACs."""
    traced = count_flops(build_model(config), size)
    analytic = analytic_count(config, size)
    core = {op: n for op, n in traced.by_op.items() if op not in FVCORE_EXTRA_OPS}
    assert set(core) <= {"conv", "linear", "scaled_dot_product_attention"}, traced.by_op
    assert sum(core.values()) == analytic.macs, (size, traced.by_op, analytic.by_part)
    assert traced.attn_macs == analytic.attn_macs
    assert 0 <= traced.macs - analytic.macs <= analytic.macs / config.embed_dims[0]
    assert traced.uncounted == {}
    return traced.gmacs, analytic.gmacs


def test_paper_table_lists_every_paper_preset():
    assert sorted(PAPER_GMACS_224) == sorted(name for name in pvtlab.list_models() if name != "pvt_nano")


@pytest.mark.parametrize("name", sorted(PAPER_GMACS_224))
def test_preset_at_224_matches_paper_and_trace(name):
    torch.set_num_threads(1)
    paper = PAPER_GMACS_224[name]
    traced, analytic = traced_vs_analytic(pvtlab.get_config(name), 224)
    assert abs(analytic - paper) <= ROUNDING, (analytic, paper)
    assert paper - ROUNDING <= traced <= paper * (1 + PAPER_EXCESS_MAX) + ROUNDING, (traced, paper)


@pytest.mark.parametrize("name", pvtlab.list_models())
def test_preset_at_320x256_traced_equals_analytic(name):
    torch.set_num_threads(1)
    traced_vs_analytic(pvtlab.get_config(name, depths=ONE_BLOCK), (320, 256))


@pytest.mark.parametrize("name", sorted(PAPER_GMACS_1024))
def test_analytic_at_1024_matches_paper(name):
    total, attention = PAPER_GMACS_1024[name]
    count = analytic_count(pvtlab.get_config(name), 1024)
    assert abs(count.gmacs - total) <= ROUNDING
    assert abs(count.attn_gmacs - attention) <= ROUNDING


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PAPER_GMACS_1024))
def test_preset_at_1024_traced_equals_analytic(name):
    """Traces ~5-10 s each on one core; benchmarks/flops_scaling.py prints the same numbers."""
    torch.set_num_threads(1)
    traced, _ = traced_vs_analytic(pvtlab.get_config(name), 1024)
    paper = PAPER_GMACS_1024[name][0]
    assert paper - ROUNDING <= traced <= paper * (1 + PAPER_EXCESS_MAX)


def toggle_configs(base: pvtlab.PVTConfig) -> list[pvtlab.PVTConfig]:
    """The 8 combinations of the three PVTv2 changes (OPE, position by pos_embed or conv_ffn, linear SRA)."""
    configs = []
    for patch_embed, position, attention in itertools.product(("non_overlap", "overlap"), ("pos_embed", "conv_ffn"),
                                                              ("sra", "linear_sra")):
        configs.append(base.replace(patch_embed=patch_embed, pos_embed=position == "pos_embed",
                                    ffn="mlp" if position == "pos_embed" else "conv_ffn", attention=attention))
    return configs


# Small widths, one block per stage, otherwise the paper presets' structure (sr ratios, mlp ratios, styles).
TINY = dict(embed_dims=(16, 32, 64, 128), num_heads=(1, 1, 2, 4), depths=ONE_BLOCK)
BASES = {
    "v1_small": pvtlab.get_config("pvt_v1_small", **TINY),  # class token, per-stage position embeddings
    "v2_b2": pvtlab.get_config("pvt_v2_b2", ffn_relu=True, **TINY),  # mean pool, stage norms
}


@pytest.mark.parametrize("base,size", [
    ("v1_small", 224), ("v1_small", (320, 256)), ("v1_small", 1024),  # the paper's path starts at v1-Small
    ("v2_b2", 224), ("v2_b2", (320, 256)),
    pytest.param("v2_b2", 1024, marks=pytest.mark.slow),  # ~5 s; benchmarks/flops_scaling.py covers 1024 traces
])
def test_all_toggle_combinations_traced_equals_analytic(base, size):
    torch.set_num_threads(1)
    gmacs = [traced_vs_analytic(config, size)[1] for config in toggle_configs(BASES[base])]
    assert len(set(gmacs)) == 8, "each toggle combination must have its own count"


def test_attention_term_scales_quadratically_for_sra_and_linearly_for_linear_sra():
    """Doubling the side multiplies pixels by 4: SRA attention by 16 (stage 4 R = 1 and floors aside), LSRA by 4."""
    sra = pvtlab.get_config("pvt_v2_b2")
    lsra = pvtlab.get_config("pvt_v2_b2_li")
    assert analytic_count(sra, 2048).attn_macs == 16 * analytic_count(sra, 1024).attn_macs
    assert analytic_count(lsra, 2048).attn_macs == 4 * analytic_count(lsra, 1024).attn_macs


def test_analytic_breakdowns_add_up_and_name_stages_like_the_trace():
    count = analytic_count(pvtlab.get_config("pvt_v2_b2_li"), (320, 256))
    assert sum(count.by_stage.values()) == count.macs == sum(count.by_part.values())
    assert list(count.by_stage) == ["stages.0", "stages.1", "stages.2", "stages.3", "head"]
    assert count.flops == 2 * count.macs
    assert count.by_part["reducer"] > 0 and count.by_part["dwconv"] > 0


def test_analytic_rejects_bad_sizes():
    with pytest.raises(ValueError, match="image_size=-5"):
        analytic_count(pvtlab.get_config("pvt_v2_b0"), -5)
    with pytest.raises(ValueError, match="too small"):
        analytic_count(pvtlab.get_config("pvt_v1_small"), 2)
