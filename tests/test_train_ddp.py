"""Several processes for one cell, for real: torch's elastic launcher starts 2 gloo processes on the CPU."""

import json

import pvtlab
from pvtlab.train import run_accuracy
from tiny_imagefolder import write_imagefolder

TINY = {"embed_dims": (16, 32, 64, 128), "depths": (1, 1, 1, 1), "mlp_ratios": (2, 2, 2, 2)}


def test_two_process_cell_returns_one_row_with_global_batch_and_scaled_lr(tmp_path):
    root = write_imagefolder(tmp_path / "images", classes=3, per_class=20, size=36)
    row = run_accuracy(pvtlab.get_config("pvt_nano", **TINY), {"name": "imagefolder", "root": str(root), "val_fraction": 0.25},
                       image_size=32, steps=4, seed=1, batch_size=8, lr=1e-5, threads=2, progress=False,
                       nproc_per_node=2, checkpoint_path=str(tmp_path / "ck" / "cell.pt"), checkpoint_every_s=0.0)
    assert isinstance(row, dict) and row["status"] == "ok"
    resolved = json.loads(row["job_json"])["recipe"]
    assert resolved["nproc"] == 2 and row["resumed_from_step"] == 0
    assert row["images_seen"] == 4 * 8 * 2  # global batch per step
    assert resolved["global_batch"] == 16 and resolved["peak_lr"] == 2e-5  # quick: lr scaled by processes
    assert 0 <= row["top1_acc"] <= row["top5_acc"] <= 100 and row["val_loss"] > 0
    # Evaluation is gathered: 15 validation images (5 per class) scored as slices of 8 and 7; the summed counts
    # make top-1 a multiple of 1/15 (lr 1e-5 keeps the model near chance, away from 0 and 100 %). Rank 0's slice alone would give k/8, a multiple of 1/15 only at 0 or 100 %.
    correct = row["top1_acc"] * 15 / 100
    assert abs(correct - round(correct)) < 1e-9 and 0 < row["top1_acc"] < 100, row["top1_acc"]
    assert not (tmp_path / "ck" / "cell.pt").exists()
