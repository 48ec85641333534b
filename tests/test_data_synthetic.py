"""The synthetic task: deterministic rendering, labels that match the pixels, and the no-position blind spot."""

import pytest
import torch

import pvtlab
from pvtlab.data import SyntheticDataset, render
from pvtlab.data.synthetic import (BLUE_RGB, LEVEL_SEGMENT_PX, LEVELS, LINE_RGB, MARKER_RGB, NUM_CLASSES, RED_RGB,
                                   factor_accuracy)
from pvtlab.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from pvtlab.errors import UserInputError
from pvtlab.models import build_model


def _mask(images: torch.Tensor, rgb: tuple[int, int, int]) -> torch.Tensor:
    """(N, S, S) pixels of exactly this colour (level-0 noise is <= 60 per channel, so it never matches)."""
    return (images == torch.tensor(rgb, dtype=torch.uint8).view(1, 3, 1, 1)).all(dim=1)


def _level0(images: torch.Tensor, factors: dict) -> tuple[torch.Tensor, dict]:
    """The level-0 images (objects in their exact colours) and their factors."""
    keep = factors["level"] == 0
    return images[keep], {k: v[keep] for k, v in factors.items()}


def _line_mask(images: torch.Tensor) -> torch.Tensor:
    """Line pixels at any level: yellow +- 60 is the only colour with red and green high and blue low."""
    r, g, b = images.int().unbind(1)
    return (r >= 190) & (g >= 165) & (b <= 65)


def _centroids(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean row and column of the True pixels of each image."""
    S = mask.shape[-1]
    idx = torch.arange(S, dtype=torch.float32)
    count = mask.flatten(1).sum(1).float()
    rows = (mask.float().sum(2) * idx).sum(1) / count
    cols = (mask.float().sum(1) * idx).sum(1) / count
    return rows, cols


def test_same_seed_same_images_and_prefix_property():
    a_img, a_lab, a_fac = render(200, 32, seed=7)
    b_img, b_lab, _ = render(200, 32, seed=7)
    c_img, c_lab, _ = render(130, 32, seed=7)
    assert torch.equal(a_img, b_img) and torch.equal(a_lab, b_lab)
    assert torch.equal(c_img, a_img[:130]) and torch.equal(c_lab, a_lab[:130])
    d_img, _, _ = render(200, 32, seed=8)
    assert not torch.equal(a_img, d_img)
    assert torch.equal(a_lab, 2 * a_fac["quadrant"] + a_fac["left"])


def test_rendered_sets_are_kept_per_process_within_the_byte_budget(monkeypatch):
    from pvtlab.data import synthetic

    monkeypatch.setattr(synthetic, "_rendered", type(synthetic._rendered)())
    first = SyntheticDataset(64, 32, seed=11)
    again = SyntheticDataset(64, 32, seed=11)
    assert again.images is first.images  # not rendered twice
    assert torch.equal(first.images, render(64, 32, seed=11)[0])
    one_set = first.images.numel()
    monkeypatch.setattr(synthetic, "CACHE_BYTES", 2 * one_set)
    SyntheticDataset(64, 32, seed=12)
    SyntheticDataset(64, 32, seed=11)  # used last: kept when the next set pushes the oldest out
    SyntheticDataset(64, 32, seed=13)
    assert list(synthetic._rendered) == [(64, 32, 11), (64, 32, 13)]
    monkeypatch.setattr(synthetic, "CACHE_BYTES", one_set - 1)
    SyntheticDataset(64, 32, seed=14)  # bigger than the whole budget: not kept
    assert (64, 32, 14) not in synthetic._rendered


@pytest.mark.parametrize("size", [16, 33, 64, 97])
def test_any_size_renders_every_object(size):
    images, labels, factors = render(64, size, seed=1)
    assert images.shape == (64, 3, size, size) and images.dtype == torch.uint8
    assert labels.min() >= 0 and labels.max() < NUM_CLASSES
    images, _ = _level0(images, factors)
    for rgb in (MARKER_RGB, RED_RGB, BLUE_RGB, LINE_RGB):
        assert _mask(images, rgb).flatten(1).any(1).all(), f"colour {rgb} missing from some {size} px image"


def test_classes_are_balanced():
    _, labels, _ = render(2048, 16, seed=3)
    counts = torch.bincount(labels, minlength=NUM_CLASSES)
    expected = 2048 / NUM_CLASSES  # every factor is drawn uniformly and independently of the others
    assert counts.min() > 0.7 * expected and counts.max() < 1.3 * expected, counts.tolist()


def test_quadrant_factor_is_where_the_marker_is():
    images, factors = _level0(*render(512, 64, seed=2)[::2])
    rows, cols = _centroids(_mask(images, MARKER_RGB))
    quadrant = (rows >= 32).long() * 2 + (cols >= 32).long()
    assert torch.equal(quadrant, factors["quadrant"])


def test_left_factor_compares_red_and_blue_columns():
    images, factors = _level0(*render(512, 64, seed=4)[::2])
    red_rows, red_cols = _centroids(_mask(images, RED_RGB))
    blue_rows, blue_cols = _centroids(_mask(images, BLUE_RGB))
    assert torch.equal((red_cols < blue_cols).long(), factors["left"])
    # distant parts: the two squares never share a quadrant
    assert ((red_rows >= 32) != (blue_rows >= 32)).all()


def test_zigzag_lines_step_exactly_at_segment_borders():
    """From level 1 on, steps sit only on stage-1 patch borders (every 4 px); level 0 steps every 2 px."""
    images, _, factors = render(128, 64, seed=5)
    lines = _line_mask(images)  # lines are drawn last, so nothing hides them
    for mask, zigzag, level in zip(lines, factors["zigzag"], factors["level"]):
        borders = list(range(LEVEL_SEGMENT_PX[level], 64, LEVEL_SEGMENT_PX[level]))
        horizontal = mask.any(dim=0).all()  # horizontal lines cross every column
        across = mask if horizontal else mask.T  # (across, along)
        changes = ((across[:, 1:] != across[:, :-1]).any(dim=0).nonzero().flatten() + 1).tolist()
        # straight: never a change along the line; zigzag: a step at every patch border and nowhere else
        assert changes == (borders if zigzag else []), changes


def test_levels_are_balanced_and_harder_levels_add_decoys_and_noise():
    images, labels, factors = render(2048, 48, seed=6)
    counts = torch.bincount(factors["level"], minlength=LEVELS)
    assert counts.min() > 0.85 * 2048 / LEVELS, counts.tolist()
    background = images.int().amax(dim=1)  # brightest channel: noise rises with the level
    level_means = [float(background[factors["level"] == lv].float().mean()) for lv in range(LEVELS)]
    assert level_means == sorted(level_means), level_means
    # the label does not depend on the level: each level holds every class
    for lv in range(LEVELS):
        assert torch.bincount(labels[factors["level"] == lv], minlength=NUM_CLASSES).min() > 0


def test_dataset_items_are_imagenet_normalized():
    ds = SyntheticDataset(8, 32, seed=0)
    x, y = ds[3]
    assert x.shape == (3, 32, 32) and x.dtype == torch.float32 and y == int(ds.labels[3])
    restored = x * torch.tensor(IMAGENET_STD).view(3, 1, 1) + torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    assert torch.allclose(restored * 255, ds.images[3].float(), atol=1e-3)


def test_too_small_image_size_is_a_user_error():
    with pytest.raises(UserInputError, match="image_size=8"):
        render(4, 8, seed=0)


def test_factor_accuracy_decodes_predicted_classes():
    factors = {"quadrant": torch.tensor([0, 3]), "left": torch.tensor([1, 1])}
    predictions = torch.tensor([0 * 2 + 0, 2 * 2 + 1])  # image 0: left wrong; image 1: quadrant wrong
    assert factor_accuracy(predictions, factors) == {"quadrant": 50.0, "left": 50.0}


def _swap_quadrants(x: torch.Tensor) -> torch.Tensor:
    top, bottom = x[..., :32, :], x[..., 32:, :]
    return torch.cat([bottom.roll(32, dims=-1), top], dim=-2)  # a permutation of the four 32 x 32 blocks


def test_no_position_model_cannot_see_quadrants_but_pvtv2_can():
    """The premise of the quadrant factor: with no position source, permuting 32 px blocks changes nothing."""
    images = torch.randn(2, 3, 64, 64)
    blind = build_model(pvtlab.get_config("pvt_nano", patch_embed="non_overlap", pos_embed=False, ffn="mlp",
                                          num_classes=16, img_size=64)).eval()
    v2 = build_model(pvtlab.get_config("pvt_nano", num_classes=16, img_size=64)).eval()
    with torch.no_grad():
        assert torch.allclose(blind(images), blind(_swap_quadrants(images)), atol=1e-5)
        assert not torch.allclose(v2(images), v2(_swap_quadrants(images)), atol=1e-3)
