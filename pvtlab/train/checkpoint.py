"""Training checkpoints that survive a kill at any moment and never run code when read.

- Written atomically: ``torch.save`` to a temp file beside the target, fsync, ``os.replace``; a kill leaves the
  previous checkpoint or the new one, never half a file.
- Read with ``torch.load(weights_only=True)`` only: tensors and plain containers. Everything a resume needs
  is stored in those terms, RNG states included (python's and numpy's Mersenne Twister keys as int64 tensors).
  A file holding any other pickled object (one that could run code when loaded) is refused with
  ``CheckpointError``, and nothing in it is executed.
- ``fingerprint`` (the resolved recipe, model config and data) must match, so a file left by another run
  setup is refused instead of silently mixed in.
"""

from __future__ import annotations

import glob
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import UserInputError
from ..files import RefusedFile, load_plain

FORMAT = 1


class CheckpointError(UserInputError):
    """A checkpoint file that cannot be used: unsafe, unreadable, or from another run setup."""


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        torch.save({"format": FORMAT, **state}, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def load_checkpoint(path: str | os.PathLike, fingerprint: str) -> dict[str, Any]:
    """The state saved at ``path``; CheckpointError if it is unsafe, unreadable or from another setup."""
    try:
        state = load_plain(path)
    except RefusedFile as err:
        raise CheckpointError(f"checkpoint {path} holds pickled objects other than tensors and plain values "
                              f"(they could run code), so it is refused: {err}. Delete the file to start "
                              f"the cell again from scratch") from None
    except (OSError, RuntimeError, EOFError) as err:
        raise CheckpointError(f"checkpoint {path} is unreadable ({type(err).__name__}: {err}); "
                              f"delete it to start the cell again from scratch") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {path} is not a pvtlab training checkpoint (format {FORMAT}); "
                              f"delete it to start the cell again from scratch")
    if state.get("fingerprint") != fingerprint:
        raise CheckpointError(f"checkpoint {path} was written by a run with other settings (recipe, model, data "
                              f"or processes); delete it to start this cell from scratch")
    return state


def remove_checkpoint(path: str | os.PathLike | None) -> None:
    """Delete the checkpoint and any temp file a killed writer left beside it."""
    if path is None:
        return
    path = Path(path)
    path.unlink(missing_ok=True)
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        stale.unlink(missing_ok=True)


def rng_state() -> dict[str, Any]:
    """Every generator a training step draws from, as tensors and plain values (weights_only-loadable)."""
    version, keys, gauss = random.getstate()
    kind, mt, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": {"version": version, "keys": torch.tensor(keys, dtype=torch.int64), "gauss": gauss},
        "numpy": {"kind": kind, "keys": torch.from_numpy(mt.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached": float(cached)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state()  # this process's device (one per process under DDP)
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    py = state["python"]
    random.setstate((py["version"], tuple(int(k) for k in py["keys"].tolist()), py["gauss"]))
    npy = state["numpy"]
    np.random.set_state((npy["kind"], npy["keys"].numpy().astype(np.uint32), npy["pos"], npy["has_gauss"],
                         npy["cached"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])
