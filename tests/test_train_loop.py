"""The loop's parts: schedule, metrics, weight-decay groups, loss-curve buckets, non-finite loss."""

import math

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import pvtlab
from pvtlab.models import build_model
from pvtlab.train import TrainSettings, evaluate, lr_factor, topk_correct, train
from pvtlab.train.accuracy import default_settings
from pvtlab.train.loop import curve_steps, downsample_curve, parameter_groups
from pvtlab.train.schedule import warmup_steps


def test_warmup_rises_linearly_to_the_peak():
    factors = [lr_factor(s, total_steps=100, warmup=10) for s in range(10)]
    assert factors == pytest.approx([(s + 1) / 10 for s in range(10)])
    assert lr_factor(10, 100, 10) == pytest.approx(1.0)


def test_cosine_falls_monotonically_to_the_floor():
    factors = [lr_factor(s, total_steps=100, warmup=10, min_factor=0.01) for s in range(10, 101)]
    assert all(a >= b for a, b in zip(factors, factors[1:]))
    assert factors[-1] == pytest.approx(0.01)
    midpoint = 10 + 90 // 2  # half-way through the decay the cosine is at half height
    assert lr_factor(midpoint, 100, 10, min_factor=0.0) == pytest.approx(0.5)


def test_no_warmup_starts_at_the_peak():
    assert lr_factor(0, 50, 0) == pytest.approx(1.0)


@pytest.mark.parametrize("warmup, total, expected", [(0.1, 200, 20), (0.25, 10, 2), (7, 100, 7), (500, 100, 100)])
def test_warmup_steps_from_fraction_or_count(warmup, total, expected):
    assert warmup_steps(warmup, total) == expected


@pytest.mark.parametrize("warmup", [-1, 1.0, "10", True])
def test_warmup_rejects_nonsense(warmup):
    with pytest.raises(ValueError, match="warmup="):
        warmup_steps(warmup, 10)


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
        train(model, data, default_settings(steps=2, batch_size=2), progress=False)


def test_train_updates_the_model_with_the_scheduled_lr():
    model = torch.nn.Linear(3, 2)
    data = TensorDataset(torch.randn(8, 3), torch.randint(0, 2, (8,)))
    before = model.weight.detach().clone()
    result = train(model, data, default_settings(steps=5, batch_size=4, warmup=2), progress=False)
    assert result.steps == 5 and result.images_seen == 20 and result.epochs == 2.5
    assert not torch.equal(before, model.weight)


def test_settings_have_one_set_of_defaults_the_quick_recipe():
    import inspect

    from pvtlab.train.recipe import QUICK

    with pytest.raises(TypeError):
        TrainSettings(steps=1)  # no second set of defaults
    defaults = inspect.signature(pvtlab.train.run_accuracy).parameters
    settings = default_settings(seed=3)
    for name in ("batch_size", "lr", "weight_decay", "warmup", "label_smoothing", "clip_grad"):
        assert getattr(settings, name) == getattr(QUICK, name), name
        assert name not in defaults or defaults[name].default is None, name  # None: "the recipe's value"
    assert settings.epochs == pvtlab.train.DEFAULT_EPOCHS == QUICK.epochs and settings.steps is None
    assert settings.seed == 3


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
    train(plain, data, default_settings(steps=10, batch_size=4), progress=False)
    result = train(probed, data, default_settings(steps=10, batch_size=4), progress=False, probe=probe,
                   curve_points=5)
    assert result.val_curve == [[8, 1.0], [16, 2.0], [24, 3.0], [32, 4.0]]  # the 5th point is the caller's
    assert seen == [False] * 4 and probed.training
    assert torch.equal(plain.weight, probed.weight)
