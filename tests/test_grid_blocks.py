"""Paired timing blocks in the grid: one block cell per timed resolution, one cells.csv row per arm."""

from __future__ import annotations

import json

import pytest

from pvtlab.errors import UserInputError
from pvtlab.grid.cells import expand
from pvtlab.grid.results import ResultsFile
from pvtlab.grid.spec import parse_spec
from pvtlab.grid.worker import current_labels, run_cell

RAW = {"models": ["pvt_nano"], "factorial": {"patch_embed": ["non_overlap", "overlap"]},
       "variants": {"nano_li": {"preset": "pvt_nano", "attention": "linear_sra"}},
       "path": ["overlap", "nano_li"], "measure": ["params", "throughput"],
       "resolutions": {"params": [64], "throughput": [64, 96]},
       "measure_options": {"throughput": {"batch_size": 1, "time_budget_s": 1e-6, "warmup": 0, "repeats": 6}}}


def grid(**overrides):
    return expand(parse_spec({**RAW, **overrides}, where="t.yaml", default_name="t"), "cpu")


def blocks_of(g):
    return [c for c in g.cells if c.arms]


def test_one_block_per_timed_resolution_with_every_variant_as_an_arm():
    g = grid()
    blocks = blocks_of(g)
    assert [b.resolution for b in blocks] == [64, 96]
    assert all(sorted(a.variant for a in b.arm_cells()) == ["nano_li", "non_overlap", "overlap"] for b in blocks)
    assert not any(c.group == "throughput" and not c.arms for c in g.cells)
    arm_ids = {a.cell_id for b in blocks for a in b.arm_cells()}
    assert len(arm_ids) == 6 and not arm_ids & {c.cell_id for c in g.cells}
    assert set(current_labels(g)) >= arm_ids


def test_the_reference_is_the_path_start_unless_the_spec_names_one():
    default, named = blocks_of(grid())[0], blocks_of(grid(ref_variant="nano_li"))[0]
    assert _ref_name(default) == "overlap" and _ref_name(named) == "nano_li"
    no_path = expand(parse_spec({k: v for k, v in RAW.items() if k != "path"}, where="t.yaml", default_name="t"),
                     "cpu")
    assert _ref_name(blocks_of(no_path)[0]) == "non_overlap"  # no path: the factorial's first combination
    assert named.cell_id != default.cell_id


def _ref_name(block):
    from pvtlab.grid.blocks import arm_id

    return next(a.variant for a in block.arm_cells() if a.cell_id == arm_id(block.cell_id, block.job["ref"]))


def test_an_unknown_reference_is_a_user_error_naming_the_choices():
    with pytest.raises(UserInputError, match=r"ref_variant='v9' is not allowed; name a timed variant: \['nano_li'"):
        grid(ref_variant="v9")


def test_a_new_arm_gives_the_block_and_every_arm_new_ids():
    more = {**RAW["variants"], "nano_li_v1": {"preset": "pvt_nano", "patch_embed": "non_overlap",
                                              "attention": "linear_sra"}}
    before, after = blocks_of(grid())[0], blocks_of(grid(variants=more))[0]
    assert len(after.arm_cells()) == len(before.arm_cells()) + 1
    assert before.cell_id != after.cell_id
    assert not {a.cell_id for a in before.arm_cells()} & {a.cell_id for a in after.arm_cells()}


def test_a_block_runs_once_and_cells_csv_gets_one_row_per_arm(tmp_path):
    g = grid(resolutions={"params": [64], "throughput": [64]})
    block = blocks_of(g)[0]
    row = run_cell(block, study="t", spec_hash=g.spec_hash, device="cpu", threads=1, workers=1)
    assert row["cell_id"] == block.cell_id and row["status"] == "ok"
    results = ResultsFile(tmp_path)
    results.follow({block.cell_id: row}, current_labels(g))
    rows = results.read()
    assert sorted(r["variant"] for r in rows) == ["nano_li", "non_overlap", "overlap"]
    assert {r["timing_block"] for r in rows} == {block.cell_id} and {r["ref_variant"] for r in rows} == {"overlap"}
    ref = next(r for r in rows if r["variant"] == "overlap")
    assert float(ref["infer_vs_ref"]) == 1.0 and ref["timed_alone"] == "true"
    assert all(r["stale_spec"] == "false" and len(json.loads(r["train_rounds_img_per_s"])) == 6 for r in rows)
    assert results.by_id()[block.cell_id]["status"] == "ok"  # resume sees the block as done


def test_a_block_is_estimated_as_one_process_timing_every_arm_and_the_a_a_arm():
    from pvtlab.grid.estimate import seconds

    block = blocks_of(grid())[0]
    arms = [seconds(arm, 2) for arm in block.arm_cells()]
    assert max(arms) < seconds(block, 2) < sum(arms) + max(arms)


def test_a_blocks_estimate_is_the_longer_of_its_time_budget_and_its_fewest_rounds():
    """Rounds go on until the budget x timed arms has passed and MIN_ROUNDS are done (pvtlab/measure/paired.py)."""
    from pvtlab.grid.estimate import COEFFICIENTS, seconds

    fixed = COEFFICIENTS["throughput"][0]
    options = RAW["measure_options"]["throughput"]
    long_budget = blocks_of(grid(measure_options={"throughput": {**options, "time_budget_s": 100.0}}))
    assert [seconds(b) for b in long_budget] == [pytest.approx(fixed + 2 * 100.0 * 4)] * 2  # 3 arms + A/A
    short = blocks_of(grid())  # a budget of 1 us: the fewest rounds decide, so bigger inputs cost more
    assert fixed < seconds(short[0]) < seconds(short[1])
