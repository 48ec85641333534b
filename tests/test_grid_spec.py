"""Grid specs: parsing, factorial and variant expansion, cell ids, and the shipped ablations/*.yaml."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from pvtlab import get_config
from pvtlab.errors import UserInputError
from pvtlab.grid.cells import expand
from pvtlab.grid.spec import TOP_KEYS, parse_spec, read_spec
from pvtlab.grid.variants import resolve_entries
from pvtlab.models import SIZE_FIELDS, STYLE_FIELDS

ROOT = Path(__file__).resolve().parents[1]
ABLATIONS = ROOT / "ablations"


def spec_of(**raw):
    return parse_spec(raw, where="test.yaml", default_name="test")


def test_factorial_is_every_combination_named_in_axis_order():
    spec = spec_of(models=["pvt_v2_b0"], measure=["params"], resolutions=[64],
                   factorial={"patch_embed": ["non_overlap", "overlap"], "position": ["pos_embed", "conv_ffn"],
                              "attention": ["sra", "linear_sra"]})
    entries = resolve_entries(spec)
    assert len(entries) == 8
    by_name = {e.variant: e.config for e in entries}
    assert "overlap/conv_ffn/linear_sra" in by_name
    config = by_name["non_overlap/conv_ffn/linear_sra"]
    assert (config.patch_embed, config.pos_embed, config.ffn, config.attention) == \
        ("non_overlap", False, "conv_ffn", "linear_sra")
    config = by_name["overlap/pos_embed/sra"]
    assert (config.patch_embed, config.pos_embed, config.ffn, config.attention) == ("overlap", True, "mlp", "sra")
    # sizes come from the model, untouched by the toggles
    assert all(getattr(c, f) == getattr(get_config("pvt_v2_b0"), f) for c in by_name.values() for f in SIZE_FIELDS)


def test_variant_with_preset_is_not_crossed_with_models():
    spec = spec_of(models=["pvt_v2_b0", "pvt_v1_tiny"], measure=["params"], resolutions=[64],
                   variants={"li": {"preset": "pvt_v2_b2_li"}, "ope": {"patch_embed": "overlap"}})
    entries = resolve_entries(spec)
    assert [(e.model, e.variant) for e in entries] == [
        ("pvt_v2_b2_li", "li"), ("pvt_v2_b0", "ope"), ("pvt_v1_tiny", "ope")]
    assert entries[0].config == get_config("pvt_v2_b2_li")
    assert entries[2].config == get_config("pvt_v1_tiny", patch_embed="overlap")


def test_same_measurement_twice_is_one_cell_with_both_names():
    spec = spec_of(models=["pvt_v1_tiny"], measure=["params", "flops"], resolutions=[64, 96],
                   factorial={"patch_embed": ["non_overlap", "overlap"]},
                   variants={"base": {"preset": "pvt_v1_tiny"}}, path=["base", "overlap"])
    grid = expand(spec, "cpu")
    assert len(grid.cells) == 2 * 2 * 2  # base == non_overlap on pvt_v1_tiny: 2 configs, not 3
    assert len({c.cell_id for c in grid.cells}) == len(grid.cells)
    merged = [c for c in grid.cells if c.variant == "non_overlap"]
    assert all(c.aliases == ("pvt_v1_tiny:base",) and c.path_step == 0 and c.in_factorial for c in merged)
    assert all(c.path_step == 1 for c in grid.cells if c.variant == "overlap")


def test_cell_ids_are_stable_and_hash_the_measurement_not_the_names():
    raw = dict(models=["pvt_v2_b0"], measure=["params"], resolutions=[64], variants={"a": {"attention": "linear_sra"}})
    first = expand(spec_of(**raw), "cpu")
    renamed = expand(spec_of(**{**raw, "variants": {"renamed": {"attention": "linear_sra"}}}), "cpu")
    assert [c.cell_id for c in first.cells] == [c.cell_id for c in renamed.cells]
    assert first.spec_hash == renamed.spec_hash
    other = expand(spec_of(**{**raw, "resolutions": [96]}), "cpu")
    assert other.cells[0].cell_id != first.cells[0].cell_id and other.spec_hash != first.spec_hash


def test_device_is_part_of_timed_cells_only():
    raw = dict(models=["pvt_v2_b0"], measure=["params", "throughput"], resolutions=[64])
    cpu, cuda = expand(spec_of(**raw), "cpu"), expand(spec_of(**raw), "cuda")
    ids = {(c.group, c.cell_id) for c in cpu.cells}, {(c.group, c.cell_id) for c in cuda.cells}
    params_ids = [{cid for g, cid in s if g == "params"} for s in ids]
    timed_ids = [{cid for g, cid in s if g == "throughput"} for s in ids]
    assert params_ids[0] == params_ids[1]
    assert not timed_ids[0] & timed_ids[1]


def test_only_throughput_cells_run_alone_and_memory_keeps_its_settings():
    raw = dict(models=["pvt_v2_b0"], measure=["params", "memory", "throughput"], resolutions=[64])
    cells = {c.group: c for c in expand(spec_of(**raw), "cpu").cells}
    assert [group for group, cell in cells.items() if cell.timed] == ["throughput"]
    assert cells["memory"].job["options"]["batch_size"] == 8 and cells["memory"].job["device"] == "cpu"
    assert "warmup" not in cells["memory"].job["options"]  # a memory job carries no timing options
    assert cells["params"].job["options"] == {}


def test_accuracy_cells_use_the_training_size_with_the_variant_style():
    spec = spec_of(models=["pvt_v1_small"], factorial={"attention": ["sra", "linear_sra"]},
                   variants={"b2": {"preset": "pvt_v2_b2"}},
                   accuracy={"data": {"name": "synthetic"}, "model": "pvt_nano", "image_size": 64, "seeds": [0, 1, 2]})
    grid = expand(spec, "cpu", {"name": "synthetic"})
    assert len(grid.cells) == 3 * 3 and {c.seed for c in grid.cells} == {0, 1, 2}
    nano = get_config("pvt_nano")
    for cell in grid.cells:
        config = cell.pvt_config()
        source = get_config(cell.base_model, **({} if cell.variant == "b2" else {"attention": cell.variant}))
        assert cell.model == "pvt_nano" and cell.resolution == 64 and config.img_size == 64
        assert all(getattr(config, f) == getattr(nano, f) for f in SIZE_FIELDS)
        assert all(getattr(config, f) == getattr(source, f) for f in STYLE_FIELDS)


def test_only_limits_a_group_to_the_path():
    spec = spec_of(models=["pvt_v2_b0"], factorial={"attention": ["sra", "linear_sra"]}, path=["sra"],
                   measure=["params", "memory"], resolutions=[64], only={"memory": "path"})
    grid = expand(spec, "cpu")
    assert sorted((c.group, c.variant) for c in grid.cells) == [
        ("memory", "sra"), ("params", "linear_sra"), ("params", "sra")]


@pytest.mark.parametrize("raw, needle", [
    (dict(models=["pvt_v2_b0"], measure=["params"], resolutions=[64], colour=1), "'colour'"),
    (dict(models=["pvt_v9"], measure=["params"], resolutions=[64]), "models='pvt_v9'"),
    (dict(models=["pvt_v2_b0"], measure=["params"], resolutions=[64], factorial={"attention": ["sra", "fast"]}),
     "'fast'"),
    (dict(models=["pvt_v2_b0"], measure=["params"], resolutions=[64], factorial={"position": ["none"]}),
     "factorial.position='none'"),
    (dict(models=["pvt_v2_b0"], measure=["params"], resolutions=[0]), "resolutions=0"),
    (dict(models=["pvt_v1_small"], measure=["params"], resolutions=[20]), "at least"),
    (dict(models=[], measure=["params"], resolutions=[64]), "models=[]"),
    (dict(models=["pvt_v2_b0"], measure=[], resolutions=[64]), "measure=[]"),
    (dict(models=["pvt_v2_b0"], measure=["speed"], resolutions=[64]), "measure='speed'"),
    (dict(models=["pvt_v2_b0"], measure=["params"], resolutions={"flops": [64]}), "resolutions='flops'"),
    (dict(models=["pvt_v2_b0"], measure=["params"], resolutions=[64], variants={"v": {"depth": 3}}), "'depth'"),
    (dict(models=["pvt_v2_b0"], measure=["params"], resolutions=[64], path=["nope"]), "path='nope'"),
    (dict(models=["pvt_v2_b0"], accuracy={"data": {"name": "synthetic"}, "seeds": []}), "accuracy.seeds=[]"),
    (dict(models=["pvt_v2_b0"], accuracy={"data": {"name": "synthetic"}, "epochs": 0}), "accuracy.epochs=0"),
    (dict(models=["pvt_v2_b0"]), "neither 'measure' nor 'accuracy'"),
])
def test_bad_spec_names_the_key_and_value(raw, needle):
    with pytest.raises(UserInputError) as info:
        expand(spec_of(**raw), "cpu", {"name": "synthetic"})
    message = str(info.value)
    assert needle in message and "\n" not in message and message.startswith("test.yaml")


GOOD = dict(models=["pvt_v2_b0"], measure=["params"], resolutions=[64])
# One bad value per top-level key, and what the message must show of it (the key and the value as written).
BAD_VALUE = {
    "name": ("my run", "name='my run'"),
    "description": (["text"], "description=['text']"),
    "models": ("pvt_v2_b0", "models='pvt_v2_b0'"),
    "factorial": ({"attention": []}, "factorial.attention=[]"),
    "variants": ({"v": "overlap"}, "variants.v='overlap'"),
    "path": (["a", "a"], "path=['a', 'a']"),
    "resolutions": ([64, -1], "resolutions=-1"),
    "measure": (["params", "speed"], "measure='speed'"),
    "measure_options": ({"params": {"batch_size": [2]}}, "measure_options.params.batch_size=[2]"),
    "only": ({"params": []}, "only.params=[]"),
    "accuracy": (["synthetic"], "accuracy=['synthetic']"),
    "slurm": ("gpu", "slurm='gpu'"),
    "ref_variant": (3, "ref_variant=3"),
}


def test_every_top_level_key_has_a_bad_value_case():
    assert set(BAD_VALUE) == set(TOP_KEYS)


@pytest.mark.parametrize("key", TOP_KEYS)
def test_a_bad_value_of_each_top_level_key_is_named_with_its_value(key):
    value, shown = BAD_VALUE[key]
    spec_of(**GOOD)  # the spec is fine without the bad value
    with pytest.raises(UserInputError) as info:
        spec_of(**{**GOOD, key: value})
    message = str(info.value)
    assert message.startswith(f"test.yaml: {shown} is not allowed; ") and "\n" not in message


def test_unreadable_yaml_is_a_user_error(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\nmodels: [pvt_v2_b0\n")
    with pytest.raises(UserInputError, match="not valid YAML"):
        read_spec(broken)
    with pytest.raises(UserInputError, match="cannot read spec"):
        read_spec(tmp_path / "missing.yaml")


def _path_configs(spec_file: Path) -> list:
    spec = read_spec(spec_file)
    entries = {e.variant: e for e in resolve_entries(spec)}
    return [entries[name].config for name in spec.path]


@pytest.mark.parametrize("name", ["default.yaml", "paper_table6.yaml", "cifar10.yaml", "digits.yaml"])
def test_paper_path_end_points_equal_the_presets(name):
    path = _path_configs(ABLATIONS / name)
    v1, ope, b2, b2_li = path[0], path[1], path[-2], path[-1]
    assert v1 == get_config("pvt_v1_small")
    assert ope == get_config("pvt_v1_small", patch_embed="overlap")
    assert b2 == get_config("pvt_v2_b2") and b2_li == get_config("pvt_v2_b2_li")
    # Each step's change: +OPE, (the v2 head, norms and init, where the path splits it out), +CFFN, +LSRA
    expected = [{"patch_embed"}] + ([{"head_pool", "stage_norm", "conv_init"}] if len(path) == 5 else []) + [
        {"pos_embed", "ffn"} | (set() if len(path) == 5 else {"head_pool", "stage_norm", "conv_init"}),
        {"attention", "ffn_relu"}]
    changes = [{f for f in STYLE_FIELDS + SIZE_FIELDS if getattr(a, f) != getattr(b, f)} for a, b in zip(path, path[1:])]
    assert changes == expected


def test_default_grid_has_the_full_factorial_three_seeds_and_timed_costs_for_every_variant():
    spec = read_spec(ABLATIONS / "default.yaml")
    grid = expand(spec, "cpu")
    factorial = {c.variant for c in grid.cells if c.in_factorial and c.group == "flops"}
    assert len(factorial) == 8
    assert all(len(task.seeds) >= 3 for task in spec.accuracy)
    assert max(spec.resolutions["flops"]) >= 768  # where linear SRA's advantage shows
    steps = sorted({c.path_step for c in grid.cells if c.path_step is not None})
    assert steps == [0, 1, 2, 3, 4]
    for group in ("memory", "throughput"):  # costs for every variant at two sizes: the factorial gets cost effects
        cells = [arm for c in grid.cells for arm in (c.arm_cells() or (c,))]  # throughput: arms of paired blocks
        timed = {(c.variant, c.resolution) for c in cells if c.group == group and c.in_factorial}
        assert len(timed) == 8 * len(spec.resolutions[group]) and len(spec.resolutions[group]) >= 2


@pytest.mark.parametrize("spec_file", sorted(ABLATIONS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_spec_is_valid_and_documents_its_command(spec_file):
    header = spec_file.read_text().split("\n\n")[0]
    assert "python run_ablation.py --grid" in header
    spec = read_spec(spec_file)
    if any("root" in task.data for task in spec.accuracy):
        return  # needs a local data set; its keys were checked above
    assert expand(spec, "cpu").cells
    assert yaml.safe_load(spec_file.read_text())["name"] == spec.name


def test_spelling_a_default_out_keeps_the_ids():
    from pvtlab import defaults

    warmup = defaults.TIMING_WARMUP
    raw = dict(models=["pvt_v2_b0"], measure=["params", "throughput"], resolutions=[64])
    plain = expand(spec_of(**raw), "cpu")
    spelled = expand(spec_of(**raw, measure_options={"throughput": {"warmup": warmup, "batch_size": None}}), "cpu")
    assert [c.cell_id for c in plain.cells] == [c.cell_id for c in spelled.cells]
    timed = [c for c in plain.cells if c.group == "throughput"][0]
    assert timed.job["options"]["warmup"] == warmup and timed.job["options"]["batch_size"] == 8  # the CPU's batch
    assert [c for c in expand(spec_of(**raw), "cuda").cells if c.timed][0].job["options"]["batch_size"] == 64


def test_changing_a_default_in_code_changes_the_id(monkeypatch):
    from pvtlab import defaults

    raw = dict(models=["pvt_v2_b0"], measure=["params", "throughput"], resolutions=[64],
               accuracy={"data": {"name": "synthetic"}, "seeds": [0]})
    before = {c.group: c.cell_id for c in expand(spec_of(**raw), "cpu", {"name": "synthetic"}).cells}
    monkeypatch.setattr(defaults, "TIMING_WARMUP", defaults.TIMING_WARMUP + 1)
    import dataclasses

    import pvtlab.train.recipe as recipe

    # The training values live in the recipe tables: a changed value there must re-run the cell.
    monkeypatch.setattr(recipe, "QUICK", dataclasses.replace(recipe.QUICK, lr=recipe.QUICK.lr * 2))
    after = {c.group: c.cell_id for c in expand(spec_of(**raw), "cpu", {"name": "synthetic"}).cells}
    assert after["params"] == before["params"]  # counts take no timing option
    assert after["throughput"] != before["throughput"] and after["accuracy"] != before["accuracy"]


def test_options_that_do_not_shape_a_result_stay_out_of_the_id():
    raw = dict(models=["pvt_v2_b0"], measure=["params", "flops", "memory"], resolutions=[64])
    plain = expand(spec_of(**raw), "cpu")
    other = expand(spec_of(**raw, measure_options={"flops": {"timeout_s": 5}, "memory": {"timeout_s": 9}}), "cpu")
    assert [c.cell_id for c in plain.cells] == [c.cell_id for c in other.cells]
    assert {c.group: c.job["timeout_s"] for c in other.cells} == {"params": None, "flops": 5, "memory": 9}
    with pytest.raises(UserInputError, match=re.escape("measure_options.flops='batch_size' is not allowed; choose "
                                                       "from ['timeout_s']")):
        expand(spec_of(**raw, measure_options={"flops": {"batch_size": 3}}), "cpu")  # a count takes no batch
    acc = dict(models=["pvt_v2_b0"], accuracy={"data": {"name": "synthetic"}, "seeds": [0]})
    a = expand(spec_of(**acc), "cpu", {"name": "synthetic"})
    b = expand(spec_of(**{**acc, "accuracy": {**acc["accuracy"], "checkpoint_every_s": 30, "recipe": "quick",
                                              "nproc_per_node": 1}}), "cpu", {"name": "synthetic"})
    assert [c.cell_id for c in a.cells] == [c.cell_id for c in b.cells]
    assert b.cells[0].job["checkpoint_every_s"] == 30.0 and a.cells[0].job["checkpoint_every_s"] == 600.0
    paper = expand(spec_of(**{**acc, "accuracy": {**acc["accuracy"], "recipe": "paper"}}), "cpu", {"name": "synthetic"})
    assert paper.cells[0].cell_id != a.cells[0].cell_id
    assert paper.cells[0].job["recipe"]["epochs"] == 300  # the paper budget, not the quick default
    spelled = expand(spec_of(**{**acc, "accuracy": {**acc["accuracy"], "options": {"lr": a.cells[0].job[
        "recipe"]["lr"]}}}), "cpu", {"name": "synthetic"})
    assert spelled.cells[0].cell_id == a.cells[0].cell_id


def test_accuracy_defaults_to_three_seeds_and_checks_its_new_keys():
    spec = spec_of(models=["pvt_v2_b0"], accuracy={"data": {"name": "synthetic"}})
    assert spec.accuracy[0].seeds == (0, 1, 2) and spec.accuracy[0].task == "synthetic"
    for key, value, needle in [("recipe", "slow", "accuracy.recipe='slow'"),
                               ("nproc_per_node", 0, "accuracy.nproc_per_node=0"),
                               ("checkpoint_every_s", -1, "accuracy.checkpoint_every_s=-1")]:
        with pytest.raises(UserInputError, match=re.escape(needle)):
            spec_of(models=["pvt_v2_b0"], accuracy={"data": {"name": "synthetic"}, key: value})


def test_timed_cells_get_the_whole_machine_unless_threads_are_pinned(tmp_path):
    from pvtlab.grid.plan import Options, available_cpus, plan

    spec = tmp_path / "t.yaml"
    spec.write_text("models: [pvt_nano]\nmeasure: [params]\nresolutions: [64]\n")
    assert plan(Options(spec_path=spec, workers=2)).timed_threads == available_cpus()
    pinned = plan(Options(spec_path=spec, workers=2, threads=1))
    assert (pinned.threads, pinned.timed_threads) == (1, 1)
