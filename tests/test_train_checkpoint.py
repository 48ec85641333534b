"""Preemption: a training process killed with SIGKILL mid-epoch resumes from its checkpoint to the very same
numbers; checkpoints are written atomically, read with weights_only=True, and a file that would run code is
refused without running it."""

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import pvtlab
from pvtlab.train import run_accuracy
from pvtlab.train.checkpoint import CheckpointError, load_checkpoint, rng_state, save_checkpoint, set_rng_state
from tiny_imagefolder import write_imagefolder

TINY = {"embed_dims": (16, 32, 64, 128), "depths": (1, 1, 1, 1), "mlp_ratios": (2, 2, 2, 2)}
PER_EPOCH = 6  # 4 classes x 32 images, a quarter to val -> 96 training images, batches of 16
STEPS = 60
CHILD = """
import json, sys
import pvtlab
from pvtlab.train import run_accuracy
args = json.loads(sys.argv[1])
config = pvtlab.get_config("pvt_nano", **args.pop("tiny"))
if __name__ == "__main__":
    run_accuracy(config, **args)
"""


def _args(root: Path, checkpoint: Path | None) -> dict:
    # The paper recipe exercises every random stream a resume must restore: RandAugment/erasing per image
    # (python, numpy, torch), Mixup/CutMix (numpy), drop-path (torch), EMA and timm's scheduler state.
    return {"data": {"name": "imagefolder", "root": str(root), "val_fraction": 0.25}, "image_size": 32,
            "steps": STEPS, "seed": 3, "batch_size": 16, "warmup": 1, "recipe": "paper",
            "recipe_options": {"ema": True, "ema_decay": 0.9}, "threads": 1, "progress": False,
            "checkpoint_path": None if checkpoint is None else str(checkpoint), "checkpoint_every_s": 0.0}


def _saved_step(path: Path) -> int:
    try:
        return int(torch.load(path, weights_only=True)["steps"])
    except (FileNotFoundError, EOFError, RuntimeError, pickle.UnpicklingError):
        return -1


def _kill_mid_epoch(args: dict, checkpoint: Path) -> int:
    """Run the cell in a child process; SIGKILL it once its checkpoint is mid-epoch; the step it holds."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, json.dumps({**args, "tiny": TINY})], env=env)
    try:
        while child.poll() is None:
            step = _saved_step(checkpoint)
            if step >= 4:
                child.send_signal(signal.SIGSTOP)  # freeze it, then look at what it left
                step = _saved_step(checkpoint)
                if step % PER_EPOCH:
                    child.kill()
                    child.wait()
                    return step
                child.send_signal(signal.SIGCONT)
            time.sleep(0.005)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    pytest.fail(f"the child finished (exit {child.returncode}) before it could be killed mid-epoch")


def test_a_killed_cell_resumes_mid_epoch_to_the_same_metrics(tmp_path):
    root = write_imagefolder(tmp_path / "images", classes=4, per_class=32, size=36)
    checkpoint = tmp_path / "checkpoints" / "cell.pt"
    killed_at = _kill_mid_epoch(_args(root, checkpoint), checkpoint)
    assert 4 <= killed_at < STEPS and killed_at % PER_EPOCH, killed_at

    config = pvtlab.get_config("pvt_nano", **TINY)
    resumed = run_accuracy(config, **_args(root, checkpoint))
    assert resumed["resumed_from_step"] == killed_at
    assert not checkpoint.exists()  # gone once the row is returned
    assert [p.name for p in checkpoint.parent.iterdir()] == []  # no temp files left either

    straight = run_accuracy(config, **_args(root, None))
    assert straight["resumed_from_step"] == 0
    for key in ("top1_acc", "top5_acc", "val_loss", "ema_top1_acc", "ema_top5_acc", "loss_curve", "val_curve",
                "images_seen", "epochs_done", "job_json"):
        assert resumed[key] == straight[key], key


class _RunsCode:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_checkpoint_that_would_run_code_is_refused_unrun(tmp_path):
    marker = tmp_path / "it_ran"
    path = tmp_path / "cell.pt"
    torch.save({"format": 1, "steps": 3, "payload": _RunsCode(marker)}, path)
    with pytest.raises(CheckpointError, match=r"cell\.pt holds pickled objects .* refused"):
        load_checkpoint(path, fingerprint="anything")
    assert not marker.exists()

    # The same refusal where the grid meets it: run_accuracy resuming a cell from that path.
    with pytest.raises(CheckpointError, match="refused"):
        run_accuracy(pvtlab.get_config("pvt_nano", **TINY), {"name": "synthetic", "num_train": 32, "num_val": 16},
                     image_size=32, steps=2, batch_size=16, threads=1, progress=False, checkpoint_path=str(path))
    assert not marker.exists()


def test_a_checkpoint_from_other_settings_is_refused(tmp_path):
    path = tmp_path / "cell.pt"
    save_checkpoint(path, {"fingerprint": "abc", "steps": 1})
    assert load_checkpoint(path, "abc")["steps"] == 1
    with pytest.raises(CheckpointError, match="other settings"):
        load_checkpoint(path, "xyz")


def test_rng_states_round_trip_through_a_weights_only_file(tmp_path):
    import random

    import numpy as np

    path = tmp_path / "rng.pt"
    save_checkpoint(path, {"fingerprint": "f", "rng": rng_state()})
    expected = (random.random(), float(np.random.rand()), float(torch.rand(1)))
    set_rng_state(load_checkpoint(path, "f")["rng"])
    assert (random.random(), float(np.random.rand()), float(torch.rand(1))) == expected


def test_with_loader_workers_each_image_draws_its_own_augmentation(tmp_path):
    # Worker generators cannot be checkpointed, so each item is seeded from (seed, epoch, index): the numbers do
    # not depend on which worker loaded what, hence neither on a resume that restarts the workers mid-epoch.
    root = write_imagefolder(tmp_path / "images", classes=2, per_class=12, size=36)
    args = {**_args(root, None), "steps": 4, "batch_size": 8}
    one, two = (run_accuracy(pvtlab.get_config("pvt_nano", **TINY), num_workers=n, **args) for n in (1, 2))
    for key in ("top1_acc", "val_loss", "loss_curve", "val_curve"):
        assert one[key] == two[key], key
    assert json.loads(one["job_json"])["speed"]["num_workers"] == 1
