"""ImageFolder loading on image files written by the test: both layouts, the fixed split, every bad-data error."""

from pathlib import Path

import pytest
import torch
from PIL import Image

from pvtlab.data import build_datasets, validate_data_spec
from pvtlab.errors import UserInputError


def _write_images(folder: Path, count: int, colour: tuple[int, int, int], size=(12, 9), ext="png") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        Image.new("RGB", size, colour).save(folder / f"img{i}.{ext}")


def _tree(root: Path, counts: dict[str, int]) -> Path:
    colours = [(200, 0, 0), (0, 200, 0), (0, 0, 200), (200, 200, 0)]
    for (name, count), colour in zip(counts.items(), colours):
        _write_images(root / name, count, colour)
    return root


def _spec(root: Path, **extra) -> dict:
    return {"name": "imagefolder", "root": str(root), **extra}


def test_class_tree_is_split_per_class_and_the_same_for_every_seed(tmp_path):
    root = _tree(tmp_path / "data", {"cat": 5, "dog": 5, "eel": 10})
    train, val, num_classes = build_datasets(_spec(root, val_fraction=0.4), image_size=16, seed=0)
    assert num_classes == 3
    val_counts = torch.bincount(torch.tensor([t for _, t in val.samples]), minlength=3).tolist()
    assert val_counts == [round(0.4 * 5), round(0.4 * 5), round(0.4 * 10)]
    assert len(train) + len(val) == 20
    assert not {p for p, _ in train.samples} & {p for p, _ in val.samples}
    _, val_other_seed, _ = build_datasets(_spec(root, val_fraction=0.4), image_size=16, seed=5)
    assert val.samples == val_other_seed.samples


def test_items_are_resized_to_the_requested_size_and_labelled_by_folder(tmp_path):
    root = _tree(tmp_path / "data", {"a_red": 3, "b_green": 3})
    train, val, _ = build_datasets(_spec(root), image_size=20, seed=0)
    x, y = val[0]
    assert x.shape == (3, 20, 20) and x.dtype == torch.float32
    # a uniform image stays uniform through resize + crop; its channel order tells the class
    mean = x.mean(dim=(1, 2))
    assert (mean.argmax() == 0) == (y == 0) and (mean.argmax() == 1) == (y == 1)
    torch.manual_seed(0)
    xt, _ = train[0]
    assert xt.shape == (3, 20, 20)


def test_train_and_val_folders_are_used_as_given(tmp_path):
    _tree(tmp_path / "data" / "train", {"a": 4, "b": 3})
    _tree(tmp_path / "data" / "val", {"a": 2, "b": 1})
    train, val, num_classes = build_datasets(_spec(tmp_path / "data"), image_size=8, seed=0)
    assert (len(train), len(val), num_classes) == (7, 3, 2)
    assert all("/val/" in p for p, _ in val.samples)


def test_grayscale_and_jpeg_images_load_as_rgb(tmp_path):
    root = tmp_path / "data"
    _write_images(root / "a", 2, (10, 10, 10), ext="jpg")
    (root / "b").mkdir()
    for i in range(2):
        Image.new("L", (10, 10), 128).save(root / "b" / f"g{i}.png")
    train, val, _ = build_datasets(_spec(root, val_fraction=0.5), image_size=8, seed=0)
    assert all(val[i][0].shape == (3, 8, 8) for i in range(len(val)))


def test_missing_path_names_it(tmp_path):
    with pytest.raises(UserInputError, match="nowhere.*does not exist"):
        validate_data_spec(_spec(tmp_path / "nowhere"))


def test_empty_folder_has_no_class_folders(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserInputError, match=r"empty has no class folders"):
        build_datasets(_spec(tmp_path / "empty"), image_size=8, seed=0)


def test_one_class_is_not_a_classification_task(tmp_path):
    root = _tree(tmp_path / "data", {"only": 4})
    with pytest.raises(UserInputError, match="one class folder.*'only'.*at least two"):
        validate_data_spec(_spec(root))


def test_unreadable_image_names_the_file(tmp_path):
    root = _tree(tmp_path / "data", {"a": 3, "b": 3})
    (root / "b" / "broken.jpg").write_bytes(b"this is not a jpeg")
    with pytest.raises(UserInputError, match=r"unreadable image .*broken\.jpg"):
        build_datasets(_spec(root), image_size=8, seed=0)


def test_class_folder_without_images(tmp_path):
    root = _tree(tmp_path / "data", {"a": 3})
    (root / "b").mkdir()
    (root / "b" / "notes.txt").write_text("not an image")
    with pytest.raises(UserInputError, match=r"data/b'?\]? hold no images"):
        build_datasets(_spec(root), image_size=8, seed=0)


def test_train_without_val_is_ambiguous(tmp_path):
    _tree(tmp_path / "data" / "train", {"a": 2, "b": 2})
    with pytest.raises(UserInputError, match="has train/ but no val/"):
        validate_data_spec(_spec(tmp_path / "data"))


def test_val_fraction_only_for_an_unsplit_tree(tmp_path):
    _tree(tmp_path / "data" / "train", {"a": 2, "b": 2})
    _tree(tmp_path / "data" / "val", {"a": 1, "b": 1})
    with pytest.raises(UserInputError, match="val_fraction is not allowed"):
        validate_data_spec(_spec(tmp_path / "data", val_fraction=0.3))


@pytest.mark.parametrize("fraction", [0, 1, 1.5, "half", True])
def test_val_fraction_must_be_a_fraction(tmp_path, fraction):
    root = _tree(tmp_path / "data", {"a": 2, "b": 2})
    with pytest.raises(UserInputError, match="val_fraction="):
        validate_data_spec(_spec(root, val_fraction=fraction))


def test_classes_of_one_image_leave_no_validation_split(tmp_path):
    root = _tree(tmp_path / "data", {"a": 1, "b": 1})
    with pytest.raises(UserInputError, match="leaves no validation images"):
        build_datasets(_spec(root), image_size=8, seed=0)
