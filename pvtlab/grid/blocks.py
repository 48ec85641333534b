"""Paired timing blocks: every timed cell at one resolution becomes one arm of a single block cell.

Why one cell per block: the arms must be timed in the same interleaved rounds for their ratios to cancel the
machine's drift (``pvtlab.measure.block``), so they are claimed, run and re-run together; a killed block runs
again whole. The block's job (``pvtlab.measure.job.BlockJob``) names each arm by its own cell id, so the block's
id covers every arm's config and options and the reference; each arm keeps a row of its own in cells.csv, under
an id derived from the block's and its own, so a block with a new member re-times every arm instead of pairing
rows from different rounds.

The reference (what ``*_vs_ref`` divides by, timed twice for the A/A noise floor) is the spec's ``ref_variant``,
else the path's first step, else the factorial's all-first-levels combination, else the block's first arm.
"""

from __future__ import annotations

from dataclasses import asdict, replace

from pvtlab.measure.job import BlockJob

from .cell import TIMED_GROUPS, Cell, canonical_json, cell_id_of, job_id
from .spec import Spec, bad
from .variants import _factorial_combos


def names(cell: Cell) -> set[str]:
    """The variant names a cell answers to: its own and its aliases'."""
    return {cell.variant} | {alias.split(":", 1)[-1] for alias in cell.aliases}


def reference(members: list[Cell], spec: Spec) -> Cell:
    """The member the block's ratios divide by (see the module docstring)."""
    if spec.ref_variant is not None:
        match = [cell for cell in members if spec.ref_variant in names(cell)]
        if not match:
            allowed = sorted(set().union(*(names(cell) for cell in members)))
            raise bad(spec.where, "ref_variant", spec.ref_variant, f"name a timed variant: {allowed}")
        return match[0]
    wanted = [spec.path[0]] if spec.path else []
    combos = _factorial_combos(spec) if spec.factorial else []
    wanted += [combos[0][0]] if combos else []
    for name in wanted:
        for cell in members:
            if name in names(cell):
                return cell
    return members[0]


def make_block(members: list[Cell], ref: Cell) -> Cell:
    """One block cell over ``members`` (same group, resolution and options), its arms re-identified."""
    job = BlockJob(arms=tuple((cell.cell_id, cell.pvt_config()) for cell in members), ref=ref.cell_id,
                   resolution=ref.job["resolution"], device=ref.job["device"], options=ref.job["options"],
                   timeout_s=ref.job["timeout_s"])
    block_id = job_id(job)
    arms = tuple(asdict(replace(cell, cell_id=arm_id(block_id, cell.cell_id))) for cell in members)
    return replace(ref, cell_id=block_id, variant=f"{len(members)} variants, paired", aliases=(), path_step=None,
                   in_factorial=False, job=job.to_dict(), arms=arms)


def arm_id(block_id: str, cell_id: str) -> str:
    return cell_id_of({"block": block_id, "arm": cell_id})


def into_blocks(cells: dict[str, Cell], spec: Spec) -> dict[str, Cell]:
    """``cells`` with the timed ones of each (group, resolution) replaced by their block, in first-member order."""
    out: dict[str, Cell] = {}
    groups: dict[tuple[str, int], list[Cell]] = {}
    for cid, cell in cells.items():
        if cell.group not in TIMED_GROUPS:
            out[cid] = cell
            continue
        key = (cell.group, cell.resolution)
        if key not in groups:
            out[canonical_json(key)] = cell  # holds the block's place in spec order
        groups.setdefault(key, []).append(cell)
    for key, members in groups.items():
        block = make_block(members, reference(members, spec))
        out = {(block.cell_id if k == canonical_json(key) else k): (block if k == canonical_json(key) else v)
               for k, v in out.items()}
    return out
