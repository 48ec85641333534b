"""Test sizes around the training size, and the resize that feeds a trained model another input size."""

import torch
from torch import nn

from pvtlab.train.resolution import ResizeInput, default_eval_sizes


def test_default_test_sizes_surround_the_training_size_and_skip_what_a_model_cannot_take():
    assert default_eval_sizes(48, smallest=32) == (32, 48, 64)
    assert default_eval_sizes(32, smallest=32) == (32, 40, 56)  # 24 px is below PVTv1's smallest input
    assert default_eval_sizes(224) == (152, 224, 296)


class _Shape(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen = x
        return x.mean(dim=(2, 3))


def test_resize_is_bilinear_and_antialiased_when_shrinking():
    stripes = torch.zeros(1, 1, 16, 16)
    stripes[..., ::2] = 1.0  # 1 px stripes: a plain bilinear 4x shrink samples them, an antialiased one averages
    probe = _Shape()
    ResizeInput(probe, 4)(stripes)
    assert probe.seen.shape[-2:] == (4, 4)
    assert torch.allclose(probe.seen, torch.full_like(probe.seen, 0.5), atol=0.05)
    ResizeInput(probe, 32)(stripes)
    assert probe.seen.shape[-2:] == (32, 32)
    assert probe.seen.min() >= 0.0 and probe.seen.max() <= 1.0
