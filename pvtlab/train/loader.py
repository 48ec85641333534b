"""The training data order: one permutation per epoch from (seed, epoch), split across processes, resumable.

Why not ``DataLoader(shuffle=True)``: a preempted run must continue the *same* permutation from the batch it
stopped at, and a DDP run must give each process its own part of it. ``EpochSampler`` is torch's
``DistributedSampler`` (the permutation is ``randperm(n, seed + epoch)``, rank r takes every world-th index)
that can start mid-epoch, so the data order needs no generator state in a checkpoint: (epoch, batches done)
is all of it.

Random augmentations: without loader workers they draw from the process's global generators, which a
checkpoint saves and restores. Worker processes' generators cannot be checkpointed, so there ``SeededSamples``
seeds each item's draws from (seed, epoch, index): the sampler hands out ``(epoch, index)`` pairs for that.
Both ways are reproducible and resume exactly; they are different augmentation streams.

In-memory data (a dataset with ``get_batch(indices)``, e.g. the synthetic task and digits) is served a whole
batch per slice when no worker processes are asked for: per-item ``__getitem__`` and collation cost as much as a
pvt_nano training step on small images. Same order, same values, no random draws either way.
"""

from __future__ import annotations

import random
from typing import Any, Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, get_worker_info


class EpochSampler(DistributedSampler):
    """DistributedSampler over ``(epoch, index)`` pairs that can skip the first ``start`` items of an epoch."""

    def __init__(self, dataset: Dataset, *, world: int, rank: int, seed: int, drop_last: bool) -> None:
        super().__init__(dataset, num_replicas=world, rank=rank, shuffle=True, seed=seed, drop_last=drop_last)
        self.start = 0

    def set_position(self, epoch: int, start: int) -> None:
        self.set_epoch(epoch)
        self.start = start

    def __iter__(self) -> Iterator[tuple[int, int]]:  # type: ignore[override]
        indices = list(super().__iter__())[self.start:]
        return iter([(self.epoch, i) for i in indices])

    def __len__(self) -> int:
        return self.num_samples - self.start


def sample_seed(seed: int, epoch: int, index: int) -> int:
    return ((seed * 1_000_003 + epoch) * 100_000_007 + index) & 0x7FFF_FFFF


class SeededSamples(Dataset):
    """``dataset[index]``; in a loader worker with python, numpy and torch seeded from (seed, epoch, index) first."""

    def __init__(self, dataset: Dataset, seed: int) -> None:
        self.dataset, self.seed = dataset, seed

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, key: tuple[int, int]) -> Any:
        epoch, index = key
        if get_worker_info() is not None:
            item_seed = sample_seed(self.seed, epoch, index)
            random.seed(item_seed)
            np.random.seed(item_seed)
            torch.default_generator.manual_seed(item_seed)  # CPU only: torch.manual_seed also seeds every GPU
        return self.dataset[index]


class SlicedLoader:
    """``loader``'s batches of ``(epoch, index)`` keys, each served by one ``dataset.get_batch`` call."""

    def __init__(self, loader: DataLoader, dataset: Dataset) -> None:
        self.loader, self.dataset = loader, dataset
        self.sampler, self.batch_size, self.drop_last = loader.sampler, loader.batch_size, loader.drop_last

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[Any]:
        for keys in self.loader.batch_sampler:  # type: ignore[union-attr]
            yield self.dataset.get_batch(torch.as_tensor([index for _, index in keys]))  # type: ignore[attr-defined]


def train_loader(dataset: Dataset, *, batch_size: int, seed: int, world: int, rank: int, num_workers: int,
                 pin_memory: bool, persistent_workers: bool) -> DataLoader | SlicedLoader:
    """Full batches only (unless the split is smaller than one), ``EpochSampler`` order, per-item seeds."""
    drop_last = len(dataset) >= batch_size * world  # type: ignore[arg-type]
    sampler = EpochSampler(dataset, world=world, rank=rank, seed=seed, drop_last=drop_last)
    # Its own generator: starting an iterator draws a worker base seed, which must not come from torch's global
    # generator (drop-path draws from that one, and a resumed run starts one more iterator than a straight one).
    loader = DataLoader(SeededSamples(dataset, seed), batch_size=batch_size, sampler=sampler, drop_last=drop_last,
                        num_workers=num_workers, pin_memory=pin_memory, generator=torch.Generator().manual_seed(seed),
                        persistent_workers=persistent_workers and num_workers > 0)
    return SlicedLoader(loader, dataset) if num_workers == 0 and hasattr(dataset, "get_batch") else loader


def steps_per_epoch(loader: DataLoader | SlicedLoader) -> int:
    """Batches in a whole epoch, whatever position the sampler was last set to."""
    sampler = loader.sampler
    assert isinstance(sampler, EpochSampler)
    n = sampler.num_samples
    return n // loader.batch_size if loader.drop_last else -(-n // loader.batch_size)  # type: ignore[operator]


def epoch_batches(loader: DataLoader | SlicedLoader, epoch: int, start_batch: int) -> DataLoader | SlicedLoader:
    """The loader positioned at batch ``start_batch`` of ``epoch`` (iterate it once for the rest of that epoch)."""
    sampler = loader.sampler
    assert isinstance(sampler, EpochSampler)
    sampler.set_position(epoch, start_batch * loader.batch_size)  # type: ignore[operator]
    return loader
