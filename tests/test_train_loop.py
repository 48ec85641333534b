"""The loop's parts: the schedule (timm's, set by the recipe's values), metrics, weight-decay groups, loss-curve buckets, non-finite loss."""

import math

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import pvtlab
from pvtlab.models import build_model
from pvtlab.errors import UserInputError
from pvtlab.train import evaluate, quick_recipe, topk_correct, train
from pvtlab.train.loop import curve_steps, downsample_curve
from pvtlab.train.timm_parts import build_parts, parameter_groups


def _lrs(recipe, total: int, per_epoch: int = 10) -> list[float]:
    """The lr each optimizer step of a ``total``-step run of ``recipe`` uses (timm's scheduler, as train() steps it)."""
    model = torch.nn.Linear(3, 2)
    parts = build_parts(model, recipe, num_classes=2, steps_per_epoch=per_epoch, total_steps=total)
    lrs = []
    for done in range(total):
        lrs.append(parts.optimizer.param_groups[0]["lr"])
        parts.advance(done + 1)
    lrs.append(parts.optimizer.param_groups[0]["lr"])  # after the last step
    return lrs


def test_quick_warmup_rises_linearly_from_warmup_lr_then_the_cosine_ends_at_min_lr():
    recipe = quick_recipe(steps=100)
    lrs = _lrs(recipe, 100)
    assert recipe.warmup_steps(100, 10) == 10  # 10 % of the run
    assert lrs[0] == pytest.approx(recipe.warmup_lr)
    assert lrs[5] == pytest.approx(recipe.warmup_lr + 5 / 10 * (recipe.peak_lr - recipe.warmup_lr))
    assert max(lrs) <= recipe.peak_lr and all(a >= b for a, b in zip(lrs[10:], lrs[11:]))
    assert lrs[-1] == pytest.approx(recipe.min_lr) == pytest.approx(1e-5)  # recorded min_lr is what it decays to


@pytest.mark.parametrize("warmup, unit, total, per_epoch, expected", [
    (0.1, "fraction", 200, 10, 20), (0.25, "fraction", 10, 5, 2), (7, "steps", 100, 10, 7), (500, "steps", 100, 10, 100),
    (2, "epochs", 100, 10, 20), (0.5, "epochs", 100, 8, 4)])
def test_warmup_counts_in_its_unit(warmup, unit, total, per_epoch, expected):
    assert quick_recipe(warmup=warmup, warmup_unit=unit).warmup_steps(total, per_epoch) == expected


@pytest.mark.parametrize("values, message", [
    ({"warmup": 1.0}, "warmup=1.0 is not allowed with warmup_unit 'fraction'"),
    ({"warmup": 2.5, "warmup_unit": "steps"}, "warmup=2.5 is not allowed with warmup_unit 'steps'"),
    ({"warmup_unit": "hours"}, "warmup_unit='hours' is not allowed"),
    ({"warmup": "10"}, "warmup='10' is not allowed"),
    ({"epochs": 2, "steps": 3}, "give exactly one budget")])
def test_bad_recipe_values_are_named(values, message):
    with pytest.raises(UserInputError, match=message):
        quick_recipe(**values)


def test_no_warmup_starts_at_the_peak():
    lrs = _lrs(quick_recipe(steps=50, warmup=0), 50)
    assert lrs[0] == pytest.approx(quick_recipe().peak_lr)


def test_topk_counts_rows_with_the_target_among_the_k_best():
    logits = torch.tensor([[0.1, 0.9, 0.0, 0.2, 0.3, 0.4, 0.5],   # target 1 ranks 1st
                           [0.9, 0.1, 0.8, 0.7, 0.6, 0.5, 0.4],   # target 1 ranks 7th
                           [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6]])  # target 2 ranks 5th
    targets = torch.tensor([1, 1, 2])
    assert topk_correct(logits, targets, ks=(1, 5)) == [1, 2]


def test_top5_with_fewer_classes_counts_every_row():
    logits, targets = torch.randn(6, 3), torch.randint(0, 3, (6,))
    assert topk_correct(logits, targets, ks=(5,)) == [6]


def test_evaluate_matches_a_hand_computation():
    model = torch.nn.Linear(4, 3, bias=False)
    x, y = torch.randn(10, 4), torch.randint(0, 3, (10,))
    metrics = evaluate(model, DataLoader(TensorDataset(x, y), batch_size=4))
    logits = model(x).detach()
    assert metrics["top1_acc"] == pytest.approx(100 * (logits.argmax(1) == y).float().mean().item())
    assert metrics["val_loss"] == pytest.approx(torch.nn.functional.cross_entropy(logits, y).item(), rel=1e-5)
    assert metrics["top5_acc"] == 100.0


def test_weight_decay_skips_norms_biases_and_position_tables():
    model = build_model(pvtlab.get_config("pvt_v1_tiny", embed_dims=(8, 16, 32, 64), num_heads=(1, 1, 1, 1),
                                          depths=(1, 1, 1, 1), num_classes=4, img_size=32))
    decay, free = parameter_groups(model, 0.05)
    names = {id(p): n for n, p in model.named_parameters()}
    free_names = {names[id(p)] for p in free["params"]}
    decay_names = {names[id(p)] for p in decay["params"]}
    assert decay["weight_decay"] == 0.05 and free["weight_decay"] == 0.0
    assert any("pos_embed" in n for n in free_names) and any("prefix" in n for n in free_names)
    assert all(not n.endswith(".bias") and "norm" not in n for n in decay_names)
    assert {"head.weight", "stages.0.patch_embed.proj.weight", "stages.0.blocks.0.attn.q.weight"} <= decay_names
    assert len(decay_names) + len(free_names) == len(names)


def test_loss_curve_buckets_are_means():
    values = [float(i) for i in range(250)]
    curve = downsample_curve(values, points=100)
    assert len(curve) == 100
    bounds = [round(i * 2.5) for i in range(101)]
    assert curve == [round(sum(values[a:b]) / (b - a), 5) for a, b in zip(bounds[:-1], bounds[1:])]
    assert downsample_curve([1.0, 2.0]) == [1.0, 2.0]


def test_non_finite_loss_stops_with_a_clear_error():
    model = build_model(pvtlab.get_config("pvt_nano", embed_dims=(16, 32, 64, 128), num_classes=2, img_size=32))
    data = TensorDataset(torch.full((4, 3, 32, 32), math.nan), torch.zeros(4, dtype=torch.long))
    with pytest.raises(FloatingPointError, match="training loss became nan at step 0"):
        train(model, data, quick_recipe(steps=2, batch_size=2), progress=False)


def test_train_updates_the_model_with_the_scheduled_lr():
    model = torch.nn.Linear(3, 2)
    data = TensorDataset(torch.randn(8, 3), torch.randint(0, 2, (8,)))
    before = model.weight.detach().clone()
    result = train(model, data, quick_recipe(steps=5, batch_size=4, warmup=2, warmup_unit="steps"), progress=False)
    assert result.steps == 5 and result.images_seen == 20 and result.epochs == 2.5
    assert not torch.equal(before, model.weight)


def test_training_has_one_settings_object_whose_values_live_in_the_recipe_tables():
    """run_accuracy's recipe arguments default to None ("the recipe's"); the job records the resolved recipe."""
    import inspect

    from pvtlab.train.recipe import ARGUMENTS, QUICK

    parameters = inspect.signature(pvtlab.train.train_job).parameters
    assert all(parameters[name].default is None for name in ARGUMENTS)
    job = pvtlab.train.train_job(pvtlab.get_config("pvt_nano"), {"name": "synthetic"}, image_size=48, seed=3)
    for name in ("batch_size", "lr", "weight_decay", "warmup", "warmup_unit", "label_smoothing", "clip_grad",
                 "min_lr", "epochs"):
        assert getattr(job.recipe, name) == getattr(QUICK, name), name
    assert job.recipe.steps is None and job.seed == 3 and job.data["num_train"] == 2048  # data defaults written out
    assert "train_settings" not in dir(pvtlab.train) and not hasattr(pvtlab.train, "TrainSettings")


@pytest.mark.parametrize("total, points, expected", [(100, 10, list(range(10, 101, 10))), (5, 10, [1, 2, 3, 4, 5]),
                                                     (30, 4, [8, 15, 22, 30])])
def test_curve_steps_are_even_and_end_at_the_last_step(total, points, expected):
    assert curve_steps(total, points) == expected


def test_probe_runs_in_eval_mode_at_the_curve_steps_and_leaves_training_unchanged():
    data = TensorDataset(torch.randn(16, 3), torch.randint(0, 2, (16,)))
    seen = []

    def probe(model):
        seen.append(model.training)
        return float(len(seen))

    torch.manual_seed(0)
    plain = torch.nn.Linear(3, 2)
    torch.manual_seed(0)
    probed = torch.nn.Linear(3, 2)
    train(plain, data, quick_recipe(steps=10, batch_size=4), progress=False)
    result = train(probed, data, quick_recipe(steps=10, batch_size=4), progress=False, probe=probe,
                   curve_points=5)
    assert result.val_curve == [[8, 1.0], [16, 2.0], [24, 3.0], [32, 4.0]]  # the 5th point is the caller's
    assert seen == [False] * 4 and probed.training
    assert torch.equal(plain.weight, probed.weight)
