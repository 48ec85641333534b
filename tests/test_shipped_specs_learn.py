"""Every shipped spec's PVTv1 rows can leave chance at the spec's own settings (issue 17, item 5).

The cheap check: no synthetic task trains a non-overlapping pyramid whose tokens are exactly the task's quadrants
(the measured trap, pvtlab/data/synthetic.py). The real check trains the rows: benchmarks/specs_learn.py.
"""

from pathlib import Path

import pytest

from pvtlab import get_config
from pvtlab.data.synthetic import tokens_are_quadrants
from pvtlab.grid.cells import expand
from pvtlab.grid.spec import read_spec

SPECS = sorted((Path(__file__).resolve().parents[1] / "ablations").glob("*.yaml"))


def test_the_trap_is_the_measured_one():
    v1 = get_config("pvt_nano", patch_embed="non_overlap", pos_embed=True, ffn="mlp")
    assert tokens_are_quadrants(v1, 64)  # 16, 8, 4, 2 tokens a side: PVTv1 stayed at chance here
    assert not tokens_are_quadrants(v1, 48) and not tokens_are_quadrants(v1, 96)  # learned position fully
    assert not tokens_are_quadrants(get_config("pvt_nano", patch_embed="overlap"), 64)


@pytest.mark.parametrize("spec_file", SPECS, ids=lambda p: p.name)
def test_no_shipped_synthetic_task_trains_pvtv1_on_quadrant_tokens(spec_file):
    spec = read_spec(spec_file)
    if not any(task.data["name"] == "synthetic" for task in spec.accuracy):
        pytest.skip("no synthetic accuracy task")
    synthetic = {task.task for task in spec.accuracy if task.data["name"] == "synthetic"}
    cells = [c for c in expand(spec, "cpu").cells if c.group == "accuracy" and c.task in synthetic]
    assert cells
    trapped = {c.variant for c in cells if tokens_are_quadrants(c.pvt_config(), c.resolution)}
    assert not trapped, f"{spec_file.name}: {sorted(trapped)} train on the task's quadrants as tokens"
