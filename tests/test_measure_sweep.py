"""sweep: one measure() row per config x size x group, as a DataFrame with the same numbers measure() gives."""

import pytest

import pvtlab
from pvtlab.errors import UserInputError
from pvtlab.measure import GROUP_COLUMNS, measure, sweep

NANO = pvtlab.get_config("pvt_nano")


def test_one_row_per_config_size_and_group():
    configs = {"nano": NANO, "nano_lsra": NANO.replace(attention="linear_sra")}
    frame = sweep(configs, (64, 96), ["params", "flops"], threads=1)  # a tuple of sides is two sizes
    assert len(frame) == 2 * 2 * 2
    assert list(frame.columns[:4]) == ["model", "variant", "group", "resolution"]
    combos = set(zip(frame["variant"], frame["resolution"], frame["group"]))
    assert combos == {(v, s, g) for v in configs for s in (64, 96) for g in ("params", "flops")}
    assert set(frame["model"]) == {"pvt_nano", ""}  # the ablated config equals no preset
    assert (frame["status"] == "ok").all()
    assert set(GROUP_COLUMNS["flops"]) <= set(frame.columns)
    flops = frame[(frame["variant"] == "nano") & (frame["group"] == "flops")].set_index("resolution")
    assert flops.loc[96, "gmacs"] == measure("flops", NANO, 96, threads=1)["gmacs"]  # the grid's numbers
    assert flops.loc[96, "gmacs"] > flops.loc[64, "gmacs"]
    params = frame[frame["group"] == "params"]
    assert params.groupby("variant")["params_m"].nunique().eq(1).all()  # one count per config, any size


def test_non_square_size_in_a_list():
    frame = sweep("pvt_nano", [(64, 96)], "flops", threads=1)
    assert len(frame) == 1 and frame["resolution"].iloc[0] == (64, 96)
    assert frame["gmacs"].iloc[0] == measure("flops", NANO, (64, 96), threads=1)["gmacs"]


def test_preset_names_and_failed_rows():
    frame = sweep(["pvt_nano"], [NANO.min_input_size() - 1, 64], "flops", threads=1)
    assert list(frame["variant"]) == ["pvt_nano"] * 2 and list(frame["model"]) == ["pvt_nano"] * 2
    assert list(frame["status"]) == ["failed", "ok"]  # a too-small input is a failed row, not a missing one
    assert "too small" in frame["error"].iloc[0]


@pytest.mark.parametrize("kwargs,match", [
    (dict(configs=["pvt_v9"]), "model 'pvt_v9' is not allowed"),
    (dict(groups=["speed"]), "group 'speed' is not allowed"),
    (dict(configs={"x": "pvt_nano"}), r"configs\['x'\] is a str"),
])
def test_bad_input(kwargs, match):
    call = dict(configs=["pvt_nano"], sizes=[64], groups=["params"]) | kwargs
    with pytest.raises(UserInputError, match=match):
        sweep(**call)
