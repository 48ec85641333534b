"""Several processes for one accuracy cell: torch's launcher starts them, torch sets up the group.

``torchrun`` starts ``nproc`` processes with torch's own launcher (``torch.distributed.run --standalone``:
c10d rendezvous on a free localhost port, the usual RANK / WORLD_SIZE / MASTER_ADDR environment);
``process_group`` joins the group that environment describes (``init_process_group``: nccl on CUDA, gloo on
CPU). ``Processes`` says which process this is; ``sum_across`` / ``main_decides`` / ``gather_across`` are the
few collectives the training loop and the evaluation need. ranks.py runs a cell this way.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any, Iterator

import torch
import torch.distributed as dist
from timm.utils import random_seed


@dataclass(frozen=True)
class Processes:
    rank: int
    world: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0


def current_processes(device: str) -> Processes:
    """This process's rank and device (rank 0 of 1 outside a process group)."""
    if not (dist.is_available() and dist.is_initialized()):
        return Processes(0, 1, torch.device(device))
    rank, world = dist.get_rank(), dist.get_world_size()
    target = torch.device(device)
    if target.type == "cuda":
        target = torch.device("cuda", int(os.environ.get("LOCAL_RANK", rank)))
    return Processes(rank, world, target)


@contextlib.contextmanager
def process_group(device: str) -> Iterator[None]:
    """Join the group torch's launcher describes in the environment (nccl on CUDA, gloo on CPU), then leave."""
    cuda = torch.device(device).type == "cuda"
    if cuda:
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    dist.init_process_group(backend="nccl" if cuda else "gloo")
    try:
        yield
    finally:
        dist.destroy_process_group()


def torchrun(module: str, args: list[str], *, nproc: int, env: dict[str, str]) -> subprocess.CompletedProcess:
    """``python -m torch.distributed.run --standalone --nproc-per-node N -m MODULE ARGS`` (torchrun), waited for.

    A separate launcher process rather than ``elastic_launch`` in this one: spawned children re-import the
    caller's ``__main__``, and a script without a main guard (a grid command, a user's script) would run again.
    """
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes", "1",
               "--nproc-per-node", str(nproc), "--max-restarts", "0", "-m", module, *args]
    return subprocess.run(command, env=env, check=False)


def _collective_device(processes: Processes) -> torch.device:
    return processes.device if processes.device.type == "cuda" else torch.device("cpu")


def sum_across(values: list[float], processes: Processes) -> list[float]:
    """Element-wise sums over all processes (float64); the values themselves when there is one."""
    if processes.world == 1:
        return list(values)
    tensor = torch.tensor(values, dtype=torch.float64, device=_collective_device(processes))
    dist.all_reduce(tensor)
    return tensor.tolist()


def main_decides(flag: bool, processes: Processes) -> bool:
    """Rank 0's decision, the same in every process (a checkpoint must be taken by all at one step)."""
    if processes.world == 1:
        return flag
    tensor = torch.tensor([int(flag)], device=_collective_device(processes))
    dist.broadcast(tensor, src=0)
    return bool(tensor.item())


def gather_across(value: Any, processes: Processes) -> list[Any]:
    """Every process's ``value``, in rank order (plain values and tensors)."""
    if processes.world == 1:
        return [value]
    out: list[Any] = [None] * processes.world
    dist.all_gather_object(out, value)
    return out


def reseed_rank(seed: int, rank: int) -> None:
    """Give each process its own random stream after the (shared) model init; rank 0 keeps ``seed``'s."""
    if rank:
        random_seed(seed, rank)
