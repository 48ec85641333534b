"""Several processes for one accuracy cell: torch's elastic launcher starts them, torch sets up the group.

``launch(fn, kwargs, nproc, device)`` runs ``fn(**kwargs)`` in ``nproc`` processes started by
``torch.distributed.launcher.api.elastic_launch`` (what ``torchrun --standalone`` uses: c10d rendezvous on a
free localhost port, the usual RANK / WORLD_SIZE / MASTER_ADDR environment), each inside a process group
(``init_process_group`` from that environment: nccl on CUDA, gloo on CPU), and returns rank 0's result.
``Processes`` says which process this is; ``sum_across`` / ``main_decides`` / ``gather_across`` are the few
collectives the training loop and the evaluation need.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from typing import Any, Callable

import torch
import torch.distributed as dist
from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
from timm.utils import random_seed
from torch.distributed.launcher.api import LaunchConfig, elastic_launch


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


def _in_group(fn: Callable[..., Any], kwargs: dict[str, Any], device: str) -> Any:
    """Entry point of each launched process: join the group, run, leave."""
    cuda = torch.device(device).type == "cuda"
    if cuda:
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    dist.init_process_group(backend="nccl" if cuda else "gloo")
    try:
        return fn(**kwargs)
    finally:
        dist.destroy_process_group()


def launch(fn: Callable[..., Any], kwargs: dict[str, Any], *, nproc: int, device: str) -> Any:
    """``fn(**kwargs)`` in ``nproc`` data-parallel processes on this machine; rank 0's return value.

    ``fn`` must be importable by name (a module-level function): the processes are spawned.
    """
    config = LaunchConfig(min_nodes=1, max_nodes=1, nproc_per_node=nproc, run_id=str(uuid.uuid4()),
                          rdzv_backend="c10d", rdzv_endpoint="localhost:0", max_restarts=0,
                          start_method="spawn", monitor_interval=0.1)
    try:
        results = elastic_launch(config, _in_group)(fn, kwargs, device)
    except ChildFailedError as err:
        rank, failure = err.get_first_failure()
        raise RuntimeError(f"{nproc}-process training failed in rank {rank}: "
                           f"{_first_line(failure.message) or f'exit code {failure.exitcode}'}") from None
    return results[0]


def _first_line(message: Any) -> str:
    if isinstance(message, dict):  # the error file's payload
        message = message.get("message", {}).get("message", "") if isinstance(message.get("message"), dict) \
            else message.get("message", "")
    return str(message).strip().splitlines()[0] if str(message).strip() else ""


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
