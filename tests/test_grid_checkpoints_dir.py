"""A grid leaves no empty checkpoints/ folder behind: the folder lives only while a cell's checkpoint does."""

from __future__ import annotations

from pathlib import Path

import yaml

from pvtlab.grid.cli import main
from pvtlab.files import CELLS_FILE, CHECKPOINTS_DIR


def test_a_finished_accuracy_grid_leaves_no_checkpoints_folder(tmp_path: Path):
    spec = {"name": "tiny", "models": ["pvt_nano"],
            "accuracy": {"data": {"name": "synthetic", "num_train": 16, "num_val": 8}, "image_size": 48,
                         "steps": 2, "seeds": [0], "options": {"batch_size": 8}}}
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(spec))
    code = main(["--grid", str(path), "--results-dir", str(tmp_path / "results"), "--workers", "1",
                 "--no-report"])
    folder = tmp_path / "results" / "tiny"
    assert code == 0 and (folder / CELLS_FILE).is_file()
    assert not (folder / CHECKPOINTS_DIR).exists()
