"""Shared test settings: deterministic, CPU, small thread count so two cores stay usable; real services
(tests/services.py) as fixtures."""

import pytest
import torch

import pvtlab  # noqa: F401  (first: torch and torchvision from different builds fail here, named in one line)
import services


@pytest.fixture(autouse=True)
def _seed_and_threads():
    torch.manual_seed(0)
    yield


@pytest.fixture(scope="module")
def postgres_url():
    """The URL of an empty database on a PostgreSQL of its own, stopped after the module."""
    with services.postgres() as url:
        yield url


@pytest.fixture(scope="module")
def slurm_env():
    """The environment (``SLURM_CONF``) of a single-node SLURM cluster of its own, stopped after the module."""
    with services.slurm_cluster() as env:
        yield env
