"""CIFAR-10/100 loading from batch files the test writes in torchvision's on-disk (pickle) format."""

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from pvtlab.data import build_datasets, validate_data_spec
from pvtlab.errors import UserInputError


def _images(n: int, offset: int) -> np.ndarray:
    """n images, channel-major rows of 3072 bytes: channel c of image i is the constant (offset + 10 i + c)."""
    values = offset + 10 * np.arange(n)[:, None] + np.arange(3)[None, :]  # (n, 3)
    return np.repeat(values[:, :, None], 1024, axis=2).reshape(n, 3072).astype(np.uint8)


def _write_batch(path: Path, n: int, offset: int, label_key: str, num_classes: int) -> None:
    entry = {"data": _images(n, offset), label_key: [(offset + i) % num_classes for i in range(n)],
             "batch_label": path.name}
    with open(path, "wb") as f:
        pickle.dump(entry, f)


def _cifar10(root: Path, per_batch: int = 3) -> Path:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for i in range(1, 6):
        _write_batch(folder / f"data_batch_{i}", per_batch, offset=i, label_key="labels", num_classes=10)
    _write_batch(folder / "test_batch", 4, offset=100, label_key="labels", num_classes=10)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [f"c{i}" for i in range(10)]}, f)
    return folder


def test_cifar10_reads_every_batch_in_torchvision_layout(tmp_path):
    _cifar10(tmp_path)
    train, val, num_classes = build_datasets({"name": "cifar10", "root": str(tmp_path)}, image_size=32, seed=0)
    assert (len(train), len(val), num_classes) == (15, 4, 10)
    # batch 2, image 1: channel c holds 2 + 10 + c everywhere (channel-major bytes -> HWC pixels)
    assert (train.images[3 + 1] == np.array([12, 13, 14], dtype=np.uint8)).all()
    assert train.labels[3 + 1] == (2 + 1) % 10
    assert val.labels.tolist() == [(100 + i) % 10 for i in range(4)]
    x, y = val[2]
    assert x.shape == (3, 32, 32) and y == (100 + 2) % 10


def test_cifar_upsamples_to_the_requested_size(tmp_path):
    _cifar10(tmp_path)
    train, val, _ = build_datasets({"name": "cifar10", "root": str(tmp_path)}, image_size=64, seed=0)
    torch.manual_seed(0)
    assert train[0][0].shape == (3, 64, 64) and val[0][0].shape == (3, 64, 64)


def test_root_may_be_the_batch_folder_itself(tmp_path):
    folder = _cifar10(tmp_path)
    train, _, _ = build_datasets({"name": "cifar10", "root": str(folder)}, image_size=32, seed=0)
    assert len(train) == 15


def test_cifar100_uses_fine_labels(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    _write_batch(folder / "train", 6, offset=90, label_key="fine_labels", num_classes=100)
    _write_batch(folder / "test", 2, offset=40, label_key="fine_labels", num_classes=100)
    train, val, num_classes = build_datasets({"name": "cifar100", "root": str(tmp_path)}, image_size=32, seed=0)
    assert (len(train), len(val), num_classes) == (6, 2, 100)
    assert train.labels.tolist() == [(90 + i) % 100 for i in range(6)]


def test_folder_without_batch_files_lists_what_is_missing(tmp_path):
    folder = _cifar10(tmp_path)
    (folder / "test_batch").unlink()
    with pytest.raises(UserInputError, match=r"cifar-10-batches-py lacks batch file\(s\) \['test_batch'\]"):
        validate_data_spec({"name": "cifar10", "root": str(tmp_path)})


def test_empty_folder_is_not_cifar(tmp_path):
    with pytest.raises(UserInputError, match="cifar100 folder .* lacks batch file"):
        build_datasets({"name": "cifar100", "root": str(tmp_path)}, image_size=32, seed=0)


def test_missing_root_names_the_path(tmp_path):
    with pytest.raises(UserInputError, match="nope does not exist"):
        validate_data_spec({"name": "cifar10", "root": str(tmp_path / "nope")})


def test_corrupt_batch_names_the_file(tmp_path):
    folder = _cifar10(tmp_path)
    (folder / "data_batch_3").write_bytes(b"\x80\x04 not a pickle")
    with pytest.raises(UserInputError, match="data_batch_3 is unreadable"):
        build_datasets({"name": "cifar10", "root": str(tmp_path)}, image_size=32, seed=0)


def test_label_out_of_range_is_caught(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    _cifar10(tmp_path)
    _write_batch(folder / "data_batch_1", 3, offset=1, label_key="labels", num_classes=1000)  # labels 1..3, fine
    with open(folder / "test_batch", "wb") as f:
        pickle.dump({"data": _images(2, 0), "labels": [3, 10]}, f)
    with pytest.raises(UserInputError, match=r"test_batch .* expected one label per image in \[0, 9\]"):
        build_datasets({"name": "cifar10", "root": str(tmp_path)}, image_size=32, seed=0)
