"""A mistyped spec key or value names the one it resembles, at every level of the spec."""

from __future__ import annotations

import pytest

from pvtlab.errors import UserInputError, did_you_mean
from pvtlab.grid.cells import expand
from pvtlab.grid.plan import check_data
from pvtlab.grid.spec import parse_spec

BASE = {"models": ["pvt_nano"], "measure": ["params"], "resolutions": [64]}
ACCURACY = {"models": ["pvt_nano"], "accuracy": {"data": {"name": "synthetic"}}}

TYPOS = {
    "top key": ({"models": ["pvt_nano"], "measure": ["params"], "resolution": [64]}, "'resolutions'"),
    "measure group": ({**BASE, "measure": ["param"]}, "'params'"),
    "resolutions group": ({**BASE, "resolutions": {"param": [64]}}, "'params'"),
    "measure_options group": ({**BASE, "measure_options": {"param": {}}}, "'params'"),
    "measure option": ({**BASE, "measure": ["memory"], "measure_options": {"memory": {"batch_sise": 2}}}, "'batch_size'"),
    "accuracy option": ({**ACCURACY, "accuracy": {"data": {"name": "synthetic"}, "options": {"l_r": 1e-3}}}, "'lr'"),
    "only group": ({**BASE, "only": {"param": ["preset"]}}, "'params'"),
    "model": ({**BASE, "models": ["pvt_v2_b22"]}, "'pvt_v2_b2'"),
    "factorial toggle": ({**BASE, "factorial": {"atention": ["sra"]}}, "'attention'"),
    "position value": ({**BASE, "factorial": {"position": ["conv_fn"]}}, "'conv_ffn'"),
    "variant field": ({**BASE, "variants": {"v": {"preset": "pvt_nano", "atention": "sra"}}}, "'attention'"),
    "variant preset": ({**BASE, "variants": {"v": {"preset": "pvt_nan"}}}, "'pvt_nano'"),
    "path name": ({**BASE, "factorial": {"attention": ["sra"]}, "path": ["sar"]}, "'sra'"),
    "accuracy key": ({**ACCURACY, "accuracy": {"data": {"name": "synthetic"}, "epoch": 1}}, "'epochs'"),
    "accuracy recipe": ({**ACCURACY, "accuracy": {"data": {"name": "synthetic"}, "recipe": "quik"}}, "'quick'"),
    "accuracy option": ({**ACCURACY, "accuracy": {"data": {"name": "synthetic"}, "options": {"lrr": 1}}}, "'lr'"),
    "data name": ({**ACCURACY, "accuracy": {"data": {"name": "synthetc"}}}, "'synthetic'"),
    "data key": ({**ACCURACY, "accuracy": {"data": {"name": "synthetic", "num_trian": 8}}}, "'num_train'"),
}


@pytest.mark.parametrize("case", sorted(TYPOS))
def test_a_typo_names_the_key_or_value_it_resembles(case):
    raw, meant = TYPOS[case]
    with pytest.raises(UserInputError) as info:
        spec = parse_spec(raw, where="t.yaml", default_name="t")
        expand(spec, "cpu", check_data(spec))
    message = str(info.value)
    assert message.endswith(f"did you mean {meant}?") and "\n" not in message


def test_no_suggestion_when_nothing_is_close():
    assert did_you_mean("zzzz", ["params", "flops"]) == ""
    assert did_you_mean("flop", ["params", "flops"]) == "; did you mean 'flops'?"
