"""Several accuracy tasks in one spec: one cell per task, variant and seed; names are labels, settings identity."""

from __future__ import annotations

import re

import pytest

from pvtlab.data.spec import ALLOWED_KEYS, TASK_NOTES
from pvtlab.errors import UserInputError
from pvtlab.grid.cells import expand
from pvtlab.grid.spec import parse_spec

BASE = {"models": ["pvt_v1_small"], "factorial": {"attention": ["sra", "linear_sra"]}}


def spec_of(accuracy):
    return parse_spec({**BASE, "accuracy": accuracy}, where="test.yaml", default_name="test")


def accuracy_cells(accuracy):
    return [c for c in expand(spec_of(accuracy), "cpu").cells if c.group == "accuracy"]


TWO = {"epochs": 2, "seeds": [0, 1],
       "tasks": {"shapes": {"data": {"name": "synthetic"}, "image_size": 48},
                 "scans": {"data": {"name": "digits"}, "image_size": 32, "steps": 10, "seeds": [0, 1, 2]}}}


def test_each_task_gets_its_own_cells_with_shared_defaults_and_its_own_overrides():
    cells = accuracy_cells(TWO)
    by_task = {task: [c for c in cells if c.task == task] for task in ("shapes", "scans")}
    assert len(by_task["shapes"]) == 2 * 2 and len(by_task["scans"]) == 2 * 3
    shapes, scans = by_task["shapes"][0], by_task["scans"][0]
    assert shapes.job["recipe"]["epochs"] == 2 and shapes.job["recipe"]["steps"] is None
    assert scans.job["recipe"]["steps"] == 10 and scans.job["recipe"]["epochs"] is None  # its budget replaces the default
    assert (shapes.resolution, scans.resolution) == (48, 32)
    assert shapes.job["eval_sizes"] == [32, 48, 64] and scans.job["eval_sizes"] == [32, 40, 56]


def test_a_task_name_is_a_label_and_its_test_sizes_are_identity():
    renamed = {**TWO, "tasks": {"other": TWO["tasks"]["shapes"], "scans": TWO["tasks"]["scans"]}}
    assert {c.cell_id for c in accuracy_cells(TWO)} == {c.cell_id for c in accuracy_cells(renamed)}
    wider = {**TWO, "tasks": {**TWO["tasks"], "shapes": {**TWO["tasks"]["shapes"], "eval_sizes": [96, 32]}}}
    moved = [c for c in accuracy_cells(wider) if c.task == "shapes"]
    assert moved[0].job["eval_sizes"] == [32, 48, 96]  # sorted, the training size added
    assert not {c.cell_id for c in moved} & {c.cell_id for c in accuracy_cells(TWO)}


def test_the_single_task_form_is_named_after_its_data():
    cells = accuracy_cells({"data": {"name": "digits"}, "image_size": 32, "seeds": [0]})
    assert {c.task for c in cells} == {"digits"} and len(cells) == 2


@pytest.mark.parametrize("accuracy, needle", [
    ({"tasks": {"a": {"data": {"name": "synthetic"}}, "b": {"data": {"name": "synthetic"}}}}, "accuracy.tasks.b='b'"),
    ({"tasks": {"a": {"data": {"name": "synthetic"}, "eval_sizes": [16]}}}, "accuracy.tasks.a.eval_sizes=16"),
    ({"tasks": {"a": {"data": {"name": "synthetic"}, "epoch": 3}}}, "accuracy.tasks.a key 'epoch'"),
    ({"tasks": []}, "accuracy.tasks=[]"),
    ({"tasks": {"a b": {"data": {"name": "synthetic"}}}}, "accuracy.tasks='a b'"),
])
def test_bad_tasks_are_one_line_errors_naming_the_key(accuracy, needle):
    with pytest.raises(UserInputError, match=f"^test.yaml: .*{re.escape(needle)}"):
        accuracy_cells(accuracy)


def test_every_data_name_says_what_it_probes_and_what_it_cannot_tell():
    assert set(TASK_NOTES) == set(ALLOWED_KEYS)
    for probes, cannot in TASK_NOTES.values():
        assert probes.endswith(".") and cannot.endswith(".") and probes != cannot
    assert "OPE" in TASK_NOTES["synthetic"][0]


def test_the_estimate_counts_each_task_its_own_training_images_and_test_sizes():
    from pvtlab.grid.estimate import extra_test_work, train_images

    shapes, scans = (next(c for c in accuracy_cells(TWO) if c.task == task) for task in ("shapes", "scans"))
    assert train_images(scans) == 10 * 64 and train_images(shapes) == 2 * 2048  # steps x batch; epochs x images
    digits = accuracy_cells({"data": {"name": "digits"}, "image_size": 32, "epochs": 1, "seeds": [0]})[0]
    from pvtlab.data.digits import build_digits

    assert train_images(digits) == len(build_digits(8)[0]) == 1438  # the 80 % training split of the 1,797 scans
    alone = accuracy_cells({"data": {"name": "digits"}, "image_size": 32, "eval_sizes": [32], "seeds": [0]})[0]
    assert extra_test_work(alone) == 0 < extra_test_work(digits)
