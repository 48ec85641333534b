"""scikit-learn's real digit scans: a fixed split whatever the seed, any image size, one-line errors."""

import pytest
import torch

from pvtlab.data import build_datasets, validate_data_spec
from pvtlab.data.digits import NUM_CLASSES
from pvtlab.errors import UserInputError

pytest.importorskip("sklearn", reason="scikit-learn is a pvtlab dependency; install it with pip install -e .")


def test_split_is_fixed_across_training_seeds_and_stratified():
    train0, val0, classes = build_datasets({"name": "digits"}, 16, seed=0)
    train1, val1, _ = build_datasets({"name": "digits"}, 16, seed=7)
    assert classes == NUM_CLASSES == 10
    assert len(train0) + len(val0) == 1797 and len(val0) == pytest.approx(0.2 * 1797, abs=10)
    assert torch.equal(val0.images, val1.images) and torch.equal(train0.labels, train1.labels)
    per_class = torch.bincount(val0.labels, minlength=10).float() / torch.bincount(
        torch.cat([train0.labels, val0.labels]), minlength=10).float()
    assert ((per_class - 0.2).abs() < 0.01).all(), per_class  # 20 % of every class
    # no scan is in both splits
    train_rows = {tuple(x.flatten().tolist()) for x in train0.images[:, 0, ::2, ::2]}
    assert sum(tuple(x.flatten().tolist()) in train_rows for x in val0.images[:, 0, ::2, ::2]) < 5  # rare duplicates


@pytest.mark.parametrize("size", [8, 30, 64])
def test_any_image_size_gives_three_channel_images(size):
    train, _, _ = build_datasets({"name": "digits"}, size, seed=0)
    x, y = train.get_batch(torch.tensor([0, 1, 2]))
    assert x.shape == (3, 3, size, size) and y.dtype == torch.long
    assert torch.equal(train.images[:, 0], train.images[:, 2])  # grey: the same in every channel
    assert train.images.max() >= 250  # ink at full strength after upsampling


@pytest.mark.parametrize("size", [7, 0, 32.0, True])
def test_bad_image_size_is_a_one_line_user_error(size):
    with pytest.raises(UserInputError) as err:
        build_datasets({"name": "digits"}, size, seed=0)
    assert "\n" not in str(err.value) and "image_size" in str(err.value)


def test_digits_spec_takes_no_other_keys():
    validate_data_spec({"name": "digits"})
    with pytest.raises(UserInputError, match=r"data digits: key\(s\) \['root'\] not allowed"):
        validate_data_spec({"name": "digits", "root": "/data"})
