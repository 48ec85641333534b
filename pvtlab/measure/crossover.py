"""Where linear SRA starts to pay: per stage, the input side from which its attention costs fewer MACs than SRA's.

Closed form only (``analytic.stage_parts``), with the token grids the models compute (``PVTConfig.stage_grids``:
integer conv arithmetic, so a side that is not a multiple of the stride rounds as the patch embedding does).
Two comparisons per stage, both per image and strict (a tie is not a win):
- ``matmul``: the two attention matmuls alone, 2*N*M*C. SRA's key count M = (h//R)(w//R) (h*w when R = 1)
  against linear SRA's M = P*P, so linear SRA wins exactly when SRA keeps more than P*P keys.
- ``layer``: the attention layer's MACs that differ: key/value projection on the M keys, the reducer (SRA: a
  conv with kernel = stride = R on the grid, none when R = 1; linear SRA: a 1x1 conv on the P*P pooled tokens)
  and the matmuls. q and the output projection cost the same in both and cancel; pooling counts zero.
The side reported is the smallest one from which linear SRA stays cheaper at every larger side searched (so a
side where it wins once by rounding and loses again is not a crossover); ``None`` when it is not cheaper at the
largest side searched.
"""

from __future__ import annotations

from math import prod

from pvtlab.models.config import NUM_STAGES, PVTConfig

from .analytic import ATTENTION_LAYER_PARTS, stage_parts

MAX_SIDE = 4096  # px; the search covers every square side from the smallest valid one up to this


def _attention_macs(config: PVTConfig, side: int) -> list[tuple[int, int]]:
    """(matmul MACs, attention-layer MACs) per stage for a ``side`` x ``side`` input."""
    out, in_chans = [], config.in_chans
    for stage, grid in enumerate(config.stage_grids(side, side)):
        parts = stage_parts(config, stage, grid, in_chans)
        out.append((parts["attention"], sum(parts[p] for p in ATTENTION_LAYER_PARTS)))
        in_chans = config.embed_dims[stage]
    return out


def _from_side(wins: list[bool], sides: range) -> int | None:
    """Smallest side from which every later entry of ``wins`` is true."""
    first = None
    for side, win in zip(reversed(sides), reversed(wins)):
        if not win:
            break
        first = side
    return first


def lsra_crossover(config: PVTConfig, *, max_side: int = MAX_SIDE) -> list[dict[str, int | None]]:
    """One dict per stage: ``stage`` (1..4), ``stride`` (the stage's total stride s_i), ``sr_ratio`` (R_i),
    ``pool_size`` (P), ``matmul_side_px`` and ``layer_side_px`` (the crossover sides, or None)."""
    sra, lsra = config.replace(attention="sra"), config.replace(attention="linear_sra")
    sides = range(max(sra.min_input_size(), lsra.min_input_size()), max_side + 1)
    if not sides:
        raise ValueError(f"max_side={max_side} is below the smallest input this config accepts")
    matmul_wins: list[list[bool]] = [[] for _ in range(NUM_STAGES)]
    layer_wins: list[list[bool]] = [[] for _ in range(NUM_STAGES)]
    for side in sides:
        for stage, ((sra_mm, sra_layer), (lsra_mm, lsra_layer)) in enumerate(
                zip(_attention_macs(sra, side), _attention_macs(lsra, side))):
            matmul_wins[stage].append(lsra_mm < sra_mm)
            layer_wins[stage].append(lsra_layer < sra_layer)
    return [{"stage": stage + 1, "stride": prod(config.patch_strides[:stage + 1]),
             "sr_ratio": config.sr_ratios[stage], "pool_size": config.pool_size,
             "matmul_side_px": _from_side(matmul_wins[stage], sides),
             "layer_side_px": _from_side(layer_wins[stage], sides)} for stage in range(NUM_STAGES)]
