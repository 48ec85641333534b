"""The structure the grid writes to grid.json, and the report reading it instead of working it out again."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from pvtlab.grid.cells import expand
from pvtlab.grid.spec import parse_spec
from pvtlab.grid.structure import grid_structure
from pvtlab.report import Catalog, current, load
from pvtlab.report.load import Structure, from_rows, load_structure
from test_report_load import synthetic_rows, write_cells

RAW = {"models": ["pvt_v2_b2"],
       "factorial": {"patch_embed": ["non_overlap", "overlap"], "position": ["pos_embed", "conv_ffn"]},
       "variants": {"v1": {"preset": "pvt_v1_small"}, "v1_ope": {"preset": "pvt_v1_small", "patch_embed": "overlap"},
                    "b2": {"preset": "pvt_v2_b2"}},
       "path": ["v1", "v1_ope", "b2"], "measure": ["params", "throughput"],
       "resolutions": {"params": [224], "throughput": [224]},
       "accuracy": {"data": {"name": "synthetic"}, "image_size": 48, "epochs": 1, "seeds": [0]}}


def structure(**overrides):
    return grid_structure(expand(parse_spec({**RAW, **overrides}, where="t.yaml", default_name="t"), "cpu"))


def test_path_steps_carry_their_setting_and_paper_model():
    path = structure()["path"]
    assert [s["variant"] for s in path] == ["v1", "v1_ope", "b2"]
    steps = [s["models"][m] for s, m in zip(path, ["pvt_v1_small", "pvt_v1_small", "pvt_v2_b2"])]
    assert [s["setting"] for s in steps][:2] == ["baseline", "+ OPE"]
    assert [s["paper"] for s in steps] == ["PVTv1-Small", "", "PVTv2-B2"]
    assert "sizes" not in steps[2]["trained_setting"]


def test_factorial_levels_aliases_tasks_and_reference():
    found = structure()
    combos = found["factorial"]["combinations"]
    assert found["factorial"]["toggles"] == {"patch_embed": ["non_overlap", "overlap"],
                                            "position": ["pos_embed", "conv_ffn"]}
    assert combos[-1] == {"variant": "overlap/conv_ffn", "levels": {"patch_embed": "overlap", "position": "conv_ffn"}}
    assert ["pvt_v2_b2", "b2"] in [name for names in found["aliases"].values() for name in names]
    assert found["tasks"] == {"synthetic": {"data": "synthetic", "image_size": 48,
                                            "eval_sizes": found["tasks"]["synthetic"]["eval_sizes"]}}
    assert 48 in found["tasks"]["synthetic"]["eval_sizes"]
    assert found["reference"] == {"model": "pvt_v1_small", "variant": "v1"}
    assert [v["variant"] for v in found["variants"]][-3:] == ["v1", "v1_ope", "b2"]
    json.dumps(found)  # plain JSON data


def test_load_structure_reads_grid_json_and_none_without(tmp_path: Path):
    assert load_structure(tmp_path) is None
    (tmp_path / "grid.json").write_text(json.dumps({"spec_hash": "x"}))
    assert load_structure(tmp_path) is None
    (tmp_path / "grid.json").write_text(json.dumps({"structure": structure()}))
    loaded = load_structure(tmp_path)
    assert loaded is not None and loaded.step(1, "pvt_v1_small", 0)["setting"] == "+ OPE"
    assert loaded.step(9, "pvt_v1_small", 8) is None
    assert loaded.step(2, "pvt_v2_b2", 0) is None  # named against step 1: rows without step 1 name it anew


def test_from_rows_reads_the_aliases_column():
    rows = pd.DataFrame({"cell_id": ["a", "b"], "aliases": ["m:x;n:y", None]})
    assert from_rows(rows).other_names(["a", "b"], "m") == ["x"]


def test_the_catalog_takes_path_settings_and_names_from_the_structure(tmp_path: Path):
    write_cells(tmp_path, synthetic_rows())
    rows = current(load(tmp_path))
    plain = Catalog(rows)
    step = next(m for steps in plain.paths.values() for m in steps if m.step == 1)
    model = step.model
    path = [{"models": {}}, {"models": {model: {"setting": "+ from grid", "trained_setting": "+ t",
                                                "paper": "P", "trained_paper": "T", "before": 0}}}]
    extra = {str(rows["cell_id"].iloc[0]): [(str(rows["model"].iloc[0]), "another_name")]}
    told = Catalog(rows, Structure(aliases=extra, path=path))
    member = next(m for steps in told.paths.values() for m in steps if m.step == 1)
    assert (member.setting, member.paper) == ("+ from grid", "P") and step.setting != "+ from grid"
    assert any("another_name" in line.name for line in told.lines)
    assert not any("another_name" in line.name for line in plain.lines)
