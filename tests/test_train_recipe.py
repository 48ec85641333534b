"""The paper recipe is timm's parts with the papers' values: augmentations, Mixup/CutMix, AdamW scaled by the
global batch, cosine with warm-up, per-size drop-path and clipping; every value can be overridden."""

import json

import pytest
import torch
from timm.data import Mixup
from timm.data.auto_augment import RandAugment
from timm.data.random_erasing import RandomErasing
from timm.loss import SoftTargetCrossEntropy
from timm.scheduler import CosineLRScheduler

import pvtlab
from pvtlab.errors import UserInputError
from pvtlab.models import build_model
from pvtlab.train import run_accuracy
from pvtlab.train.augment import paper_eval_transform, paper_train_transform
from pvtlab.train.timm_parts import build_parts
from pvtlab.train.recipe import resolve_recipe
from tiny_imagefolder import write_imagefolder

TINY = {"embed_dims": (16, 32, 64, 128), "depths": (1, 1, 1, 1), "mlp_ratios": (2, 2, 2, 2)}


def _paper(model: str, nproc: int = 1, **arguments):
    options = arguments.pop("recipe_options", None)
    return resolve_recipe("paper", pvtlab.get_config(model), arguments=arguments, recipe_options=options,
                          nproc=nproc)


def test_paper_values_and_lr_scaled_by_the_global_batch():
    recipe = _paper("pvt_v2_b2", nproc=8)
    assert (recipe.batch_size, recipe.global_batch, recipe.peak_lr) == (128, 1024, pytest.approx(1e-3))
    assert (recipe.weight_decay, recipe.warmup, recipe.epochs, recipe.label_smoothing) == (0.05, 5, 300, 0.1)
    assert (recipe.mixup, recipe.cutmix, recipe.re_prob, recipe.auto_augment) == (0.8, 1.0, 0.25,
                                                                                  "rand-m9-mstd0.5-inc1")
    assert _paper("pvt_v2_b2", nproc=2, batch_size=64).peak_lr == pytest.approx(5e-4 * 128 / 512)


@pytest.mark.parametrize("model, drop_path, clip", [
    ("pvt_v2_b0", 0.1, None), ("pvt_v2_b2_li", 0.1, None), ("pvt_v1_small", 0.1, None),
    ("pvt_v2_b3", 0.3, 1.0), ("pvt_v2_b5", 0.3, 1.0), ("pvt_v1_large", 0.3, 1.0), ("pvt_nano", 0.1, None),
])
def test_drop_path_and_clipping_follow_the_model_size(model, drop_path, clip):
    recipe = _paper(model)
    assert (recipe.drop_path, recipe.clip_grad) == (drop_path, clip)


def test_overrides_and_bad_options():
    recipe = _paper("pvt_v2_b2", lr=1e-3, recipe_options={"mixup": 0.0, "ema": True, "weight_decay": 0.1})
    assert (recipe.peak_lr, recipe.mixup, recipe.ema, recipe.weight_decay) == (pytest.approx(2.5e-4), 0.0, True, 0.1)
    with pytest.raises(UserInputError, match=r"recipe_options key\(s\) \['mixpu'\] not allowed; allowed: \["):
        _paper("pvt_v2_b2", recipe_options={"mixpu": 0.5})
    with pytest.raises(UserInputError, match="lr=0.001 and recipe_options.lr both set"):
        _paper("pvt_v2_b2", lr=1e-3, recipe_options={"lr": 2e-3})
    with pytest.raises(UserInputError, match="re_prob=1.5 is not allowed"):
        _paper("pvt_v2_b2", recipe_options={"re_prob": 1.5})
    with pytest.raises(UserInputError, match="recipe='fancy' is not allowed; choose one of"):
        resolve_recipe("fancy", pvtlab.get_config("pvt_nano"), arguments={}, recipe_options=None, nproc=1)


def test_train_transform_has_randaugment_erasing_and_bicubic_crops():
    recipe = _paper("pvt_v2_b0")
    steps = paper_train_transform(recipe, 64).transforms
    assert any(isinstance(s, RandAugment) for s in steps)
    erasing = [s for s in steps if isinstance(s, RandomErasing)]
    assert len(erasing) == 1 and erasing[0].probability == 0.25 and erasing[0].mode == "pixel"
    assert "bicubic" in repr(steps[0])
    image = torch.randint(0, 255, (48, 48, 3), dtype=torch.uint8).numpy()
    from PIL import Image

    for seed in range(40):  # RandAugment's top magnitude posterizes to 0 bits; Pillow 13 would raise there
        torch.manual_seed(seed)
        assert paper_train_transform(recipe, 32)(Image.fromarray(image)).shape == (3, 32, 32)
    assert paper_eval_transform(recipe, 64)(Image.fromarray(image)).shape == (3, 64, 64)


def test_parts_are_timms_with_mixup_on_and_warmup_from_warmup_lr():
    recipe = _paper("pvt_nano", batch_size=8)
    model = build_model(pvtlab.get_config("pvt_nano", **TINY, num_classes=10))
    parts = build_parts(model, recipe, num_classes=10, steps_per_epoch=10, total_steps=100)
    assert isinstance(parts.mixup, Mixup) and isinstance(parts.loss, SoftTargetCrossEntropy)
    assert (parts.mixup.mixup_alpha, parts.mixup.cutmix_alpha, parts.mixup.label_smoothing) == (0.8, 1.0, 0.1)
    images, targets = parts.mixup(torch.randn(8, 3, 32, 32), torch.arange(8) % 10)
    assert targets.shape == (8, 10) and torch.allclose(targets.sum(1), torch.ones(8))
    assert float(targets.max()) < 1.0  # soft targets: smoothing and mixing
    assert isinstance(parts.optimizer, torch.optim.AdamW) and isinstance(parts.scheduler, CosineLRScheduler)
    assert [g["weight_decay"] for g in parts.optimizer.param_groups] == [0.05, 0.0]
    assert parts.optimizer.param_groups[0]["lr"] == pytest.approx(1e-6)  # warm-up starts at warmup_lr
    parts.advance(49)  # linear warm-up over 5 epochs x 10 steps towards the scaled peak
    assert parts.optimizer.param_groups[0]["lr"] == pytest.approx(1e-6 + 49 / 50 * (recipe.peak_lr - 1e-6))
    parts.advance(100)  # the cosine ends at min_lr
    assert parts.optimizer.param_groups[0]["lr"] == pytest.approx(1e-5)
    with pytest.raises(UserInputError, match="batch_size=7 is not allowed with Mixup"):
        build_parts(model, _paper("pvt_nano", batch_size=7), num_classes=10, steps_per_epoch=1, total_steps=1)


def test_paper_cell_row_records_the_resolved_recipe(tmp_path):
    root = write_imagefolder(tmp_path / "images", classes=2, per_class=10, size=36)
    row = run_accuracy(pvtlab.get_config("pvt_nano", **TINY), {"name": "imagefolder", "root": str(root)},
                       image_size=32, steps=2, batch_size=4, recipe="paper", recipe_options={"ema": True},
                       threads=1, progress=False)
    job = json.loads(row["job_json"])
    resolved = job["recipe"]
    assert row["status"] == "ok" and row["recipe"] == "paper" and resolved["nproc"] == 1
    assert {"ema_top1_acc", "ema_top5_acc"} <= set(row)
    assert resolved["global_batch"] == 4 and resolved["peak_lr"] == pytest.approx(5e-4 * 4 / 512)
    assert "RandAugment" in row["train_transform"] and "RandomErasing" in row["train_transform"]
    assert resolved["drop_path"] == 0.1 and job["speed"]["amp_dtype"] is None  # float32 on CPU
    assert job["config"]["drop_path_rate"] == 0.1  # the model was built with the recipe's drop-path
