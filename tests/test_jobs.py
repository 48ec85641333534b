"""One resolved job per cell: built once at expansion, hashed for the id, run as it is, recorded once.

Real grids, real queue files and a real worker process: nothing is mocked.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

import pvtlab
from pvtlab.errors import UserInputError
from pvtlab.grid.cell import Cell, cell_id_of, job_from_dict
from pvtlab.grid.cells import expand
from pvtlab.grid.spec import parse_spec
from pvtlab.measure import block_job, measure_job
from pvtlab.train import train_job

ROOT = Path(__file__).resolve().parents[1]
NANO = pvtlab.get_config("pvt_nano")


def spec_of(**raw):
    return parse_spec({"name": "t", **raw}, where="t.yaml", default_name="t")


@pytest.mark.parametrize("job", [
    measure_job("params", NANO, 64),
    measure_job("throughput", NANO, (48, 64), batch_size=2, timeout_s=30),
    block_job({"a": NANO, "b": NANO.replace(attention="linear_sra")}, 48, ref="a", repeats=6),
    train_job(NANO, {"name": "synthetic", "num_train": 64}, image_size=48, steps=3, seed=2, recipe="paper"),
], ids=["count", "timed", "block", "train"])
def test_every_job_round_trips_through_json_unchanged(job):
    """A worker receives the job as JSON and rebuilds exactly the job the grid built."""
    again = job_from_dict(json.loads(job.to_json()))
    assert again == job and again.to_json() == job.to_json()


def test_a_job_carries_only_what_its_measurement_uses():
    count, memory, timed = (measure_job(g, NANO, 64, time_budget_s=1.0) for g in ("flops", "memory", "throughput"))
    assert count.options == {} and "device" not in count.identity()  # a count does not depend on the device
    assert set(memory.options) == {"batch_size", "amp_dtype", "channels_last", "compile"}
    assert timed.options["time_budget_s"] == 1.0 and set(timed.options) > set(memory.options)
    assert "timeout_s" not in timed.identity() and "checkpoint_every_s" not in train_job(
        NANO, {"name": "digits"}, image_size=32).identity()


def test_the_data_specs_defaults_are_part_of_a_training_jobs_identity():
    def cid(data):
        return cell_id_of(train_job(NANO, data, image_size=48).identity())

    plain = cid({"name": "synthetic"})
    assert plain == cid({"name": "synthetic", "num_train": 2048, "num_val": 1024, "val_seed": 0})  # spelled out
    assert plain != cid({"name": "synthetic", "num_train": 1024})


def test_a_grid_cells_id_is_the_hash_of_its_jobs_identity():
    grid = expand(spec_of(models=["pvt_nano"], measure=["params", "memory", "throughput"], resolutions=[48],
                          accuracy={"data": {"name": "synthetic"}, "seeds": [0]}), "cpu", {"name": "synthetic"})
    for cell in grid.cells:
        assert cell.cell_id == cell_id_of(cell.built_job().identity()), cell.group
        assert Cell.from_json(cell.to_json()).to_json() == cell.to_json()
    accuracy = next(cell for cell in grid.cells if cell.group == "accuracy")
    recipe = accuracy.job["recipe"]
    assert (recipe["epochs"], recipe["steps"], recipe["min_lr"]) == (6, None, 1e-5)  # every value, resolved
    assert accuracy.job["config"]["img_size"] == 48 and accuracy.job["eval_sizes"] == [32, 48, 64]


@pytest.mark.parametrize("build", [lambda: measure_job("memory", NANO, 48, device="tpu"),
                                   lambda: train_job(NANO, {"name": "digits"}, image_size=32, device="tpu")],
                         ids=["measure", "train"])
def test_a_device_torch_does_not_know_is_one_line_naming_the_choices(build):
    with pytest.raises(UserInputError, match=r"^device='tpu' is not allowed; choose 'cpu', 'cuda' or 'cuda:N'$"):
        build()


def test_a_bad_option_value_is_named_under_its_spec_key_before_anything_runs():
    with pytest.raises(UserInputError, match=r"t\.yaml: measure_options\.throughput: repeats=0 is not allowed"):
        expand(spec_of(models=["pvt_nano"], measure=["throughput"], resolutions=[48],
                       measure_options={"throughput": {"repeats": 0}}), "cpu")
    with pytest.raises(UserInputError, match=r"t\.yaml: accuracy: lr=-1 is not allowed"):
        expand(spec_of(models=["pvt_nano"], accuracy={"data": {"name": "digits"}, "options": {"lr": -1}}), "cpu",
               {"name": "digits"})


def test_the_row_records_the_job_the_worker_ran_once(tmp_path):
    """End to end through run_ablation.py: each row's job_json is its cell's job and hashes to its cell_id; the
    training budget appears once (the job), besides the epochs actually completed."""
    spec = tmp_path / "jobs.yaml"
    spec.write_text(yaml.safe_dump({
        "name": "jobs", "models": ["pvt_nano"], "measure": ["params"], "resolutions": [48],
        "accuracy": {"data": {"name": "synthetic", "num_train": 64, "num_val": 32}, "image_size": 48, "steps": 2,
                     "seeds": [0], "options": {"batch_size": 16}}}))
    done = subprocess.run([sys.executable, str(ROOT / "run_ablation.py"), "--grid", str(spec), "--results-dir",
                           str(tmp_path / "results"), "--workers", "1", "--no-report"],
                          capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = pd.read_csv(tmp_path / "results" / "jobs" / "cells.csv")
    assert set(rows["status"]) == {"ok"} and len(rows) == 2
    assert not {"settings_json", "recipe_json", "data_json", "epochs"} & set(rows.columns)
    for row in rows.itertuples():
        job = job_from_dict(json.loads(row.job_json))
        assert cell_id_of(job.identity()) == row.cell_id
    trained = rows[rows["group"] == "accuracy"].iloc[0]
    recipe = json.loads(trained["job_json"])["recipe"]
    assert recipe["steps"] == 2 and recipe["batch_size"] == 16 and trained["images_seen"] == 2 * 16
    assert trained["epochs_done"] == pytest.approx(2 / (64 // 16))


def test_an_image_folder_jobs_data_says_its_split(tmp_path):
    """A folder without train/ and val/ records the validation fraction it will be split by; one with them records
    none (the split is given), and the job still trains."""
    from tiny_imagefolder import write_imagefolder

    from pvtlab.train import run_job

    flat = write_imagefolder(tmp_path / "flat", classes=2, per_class=6, size=36)
    assert train_job(NANO, {"name": "imagefolder", "root": str(flat)}, image_size=32).data["val_fraction"] == 0.2
    split = tmp_path / "split"
    write_imagefolder(split / "train", classes=2, per_class=6, size=36)
    write_imagefolder(split / "val", classes=2, per_class=3, size=36, seed=1)
    job = train_job(NANO, {"name": "imagefolder", "root": str(split)}, image_size=32, steps=1, batch_size=4)
    assert "val_fraction" not in job.data
    assert run_job(job, threads=1)["status"] == "ok"
