"""Data specs: validation messages and the synthetic spec's seeds."""

import pytest
import torch

from pvtlab.data import DATA_NAMES, SYNTHETIC_DEFAULTS, build_datasets, validate_data_spec
from pvtlab.errors import UserInputError


def test_synthetic_defaults_and_counts():
    train, val, num_classes = build_datasets({"name": "synthetic", "num_train": 40, "num_val": 24}, 32, seed=0)
    assert (len(train), len(val), num_classes) == (40, 24, 8)
    _, default_val, _ = build_datasets({"name": "synthetic", "num_train": 1}, 16, seed=0)
    assert len(default_val) == SYNTHETIC_DEFAULTS["num_val"]


def test_seed_picks_training_images_and_val_seed_picks_validation_images():
    spec = {"name": "synthetic", "num_train": 16, "num_val": 16}
    train0, val0, _ = build_datasets(spec, 32, seed=0)
    train1, val1, _ = build_datasets(spec, 32, seed=1)
    train0_again, _, _ = build_datasets(spec, 32, seed=0)
    assert torch.equal(train0.images, train0_again.images)
    assert not torch.equal(train0.images, train1.images)
    assert torch.equal(val0.images, val1.images)  # every seed is scored on the same images
    _, val_other, _ = build_datasets({**spec, "val_seed": 3}, 32, seed=0)
    assert not torch.equal(val0.images, val_other.images)
    # training and validation streams never coincide, whatever the seeds
    assert not any(torch.equal(train0.images, v.images) for v in (val0, val_other))


@pytest.mark.parametrize("spec, message", [
    ("synthetic", "give a mapping with a 'name' key"),
    ({"root": "/data"}, r"data name None is not allowed; choose one of \['cifar10'"),
    ({"name": "imagenet"}, "data name 'imagenet' is not allowed"),
    ({"name": "synthetic", "size": 3}, r"key\(s\) \['size'\] not allowed; allowed: \['name', 'num_train'"),
    ({"name": "synthetic", "num_train": 0}, "num_train=0 is not allowed; give an integer >= 1"),
    ({"name": "synthetic", "num_val": 2.5}, "num_val=2.5 is not allowed"),
    ({"name": "synthetic", "val_seed": -1}, "val_seed=-1 is not allowed"),
    ({"name": "cifar10"}, "'root' is missing"),
    ({"name": "cifar100", "root": 5}, "root=5 is not allowed; give a folder path"),
    ({"name": "cifar10", "root": "/data", "val_fraction": 0.1}, r"key\(s\) \['val_fraction'\] not allowed"),
])
def test_bad_specs_say_what_is_allowed(spec, message):
    with pytest.raises(UserInputError, match=message):
        validate_data_spec(spec)


def test_every_name_is_listed():
    assert set(DATA_NAMES) == {"synthetic", "imagefolder", "cifar10", "cifar100", "digits"}


@pytest.mark.parametrize("size", [0, 12, "64"])
def test_bad_image_size(size):
    with pytest.raises(UserInputError, match="image_size="):
        build_datasets({"name": "synthetic", "num_train": 2, "num_val": 2}, size, seed=0)
