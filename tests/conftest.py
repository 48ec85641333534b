"""Shared test settings: deterministic, CPU, small thread count so two cores stay usable."""

import pytest
import torch

import pvtlab  # noqa: F401  (first: torch and torchvision from different builds fail here, named in one line)


@pytest.fixture(autouse=True)
def _seed_and_threads():
    torch.manual_seed(0)
    yield
