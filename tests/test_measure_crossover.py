"""Where linear SRA's attention costs fewer MACs than SRA's, per stage, against sides worked out by hand.

B2 (overlapping patch embedding: each stage grid is ceil(side / stride), since kernel 2S-1, padding S-1 and stride S
give (H - 1) // S + 1). P = 7, so linear SRA keeps P^2 = 49 keys.

Matmuls (2 N M C each way; linear SRA wins when SRA keeps more than 49 keys):
- stage 1, s=4, R=8: M = (h // 8)^2 > 49 -> h // 8 >= 8 -> h >= 64; h = ceil(H / 4) >= 64 -> H >= 253.
- stage 2, s=8, R=4: h // 4 >= 8 -> h >= 32 = ceil(H / 8) -> H >= 249.
- stage 3, s=16, R=2: h // 2 >= 8 -> h >= 16 = ceil(H / 16) -> H >= 241.
- stage 4, s=32, R=1: M = h^2 > 49 -> h >= 8 = ceil(H / 32) -> H >= 225.

Whole layer (per block, divided by C): SRA M(2C + R^2 C) + 2NM (kv projection, R x R conv, matmuls);
linear SRA 49 * 3C + 2 * 49 N (kv projection and 1x1 conv on 49 tokens, matmuls). N = h^2.
- stage 1, C=64: 4224 M + 2N(M - 49) - 9408. H=188: h=47, M=25, N=2209: 105600 - 106032 - 9408 < 0.
  H=189: h=48, M=36, N=2304: 152064 - 59904 - 9408 > 0 (and stays > 0 up to h=55, then M=49) -> 189.
- stage 2, C=128: 2304 M + 2N(M - 49) - 18816. H=152: h=19, M=16, N=361: 36864 - 23826 - 18816 < 0.
  H=153: h=20, M=25, N=400: 57600 - 19200 - 18816 > 0 -> 153.
- stage 3, C=320: 1920 M + 2N(M - 49) - 47040. H=176: h=11, M=25, N=121: 48000 - 5808 - 47040 < 0.
  H=177: h=12, M=36, N=144: 69120 - 3744 - 47040 > 0 -> 177.
- stage 4, C=512, R=1 (SRA: M = N, no reducer): 2NC + 2N^2 - 147C - 98N. H=256: h=8, N=64:
  65536 + 8192 - 75264 - 6272 < 0. H=257: h=9, N=81: 82944 + 13122 - 75264 - 7938 > 0 -> 257.
"""

import pytest

import pvtlab
from pvtlab.measure import analytic_count, lsra_crossover

B2 = [(1, 4, 8, 253, 189), (2, 8, 4, 249, 153), (3, 16, 2, 241, 177), (4, 32, 1, 225, 257)]
KEYS = ("stage", "stride", "sr_ratio", "matmul_side_px", "layer_side_px")


@pytest.mark.parametrize("name", ["pvt_v2_b2", "pvt_v2_b2_li"])  # B2-Li has B2's widths, strides and ratios
def test_b2_stages_against_hand_computed_sides(name):
    table = lsra_crossover(pvtlab.get_config(name))
    assert [tuple(row[k] for k in KEYS) for row in table] == B2
    assert all(row["pool_size"] == 7 for row in table)
    assert all(isinstance(v, int) for row in table for v in row.values())  # numbers only


def test_sides_agree_with_the_closed_form_totals():
    """At 224 px every B2 stage's SRA keeps exactly 7 x 7 = 49 keys: a tie, not a win (so the first matmul side is
    225); from the last stage's side on, linear SRA's attention matmuls are cheaper in total."""
    sra, lsra = pvtlab.get_config("pvt_v2_b2"), pvtlab.get_config("pvt_v2_b2", attention="linear_sra")
    table = lsra_crossover(sra)
    first, last = min(r["matmul_side_px"] for r in table), max(r["matmul_side_px"] for r in table)
    assert first == 225
    assert analytic_count(lsra, first - 1).attn_macs == analytic_count(sra, first - 1).attn_macs
    assert analytic_count(lsra, last).attn_macs < analytic_count(sra, last).attn_macs


def test_never_within_the_searched_range_is_none():
    # A pool as large as the stage-1 SRA grid at 256 px: linear SRA keeps more keys than SRA below ~4500 px.
    config = pvtlab.get_config("pvt_v2_b0", pool_size=64)
    table = lsra_crossover(config, max_side=512)
    assert table[0]["matmul_side_px"] is None and table[0]["layer_side_px"] is None
