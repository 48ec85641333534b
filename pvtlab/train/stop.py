"""A request to save a checkpoint now and stop, sent by a signal (SLURM's warning before a time limit).

A signal handler cannot save a model itself: it runs between two bytecodes of the training step. So the handler
calls ``request``; a training loop that checkpoints polls ``requested`` after each step, saves, and raises
``Stopped`` (a ``KeyboardInterrupt``, so whatever hands an interrupted cell back to its queue does so). Where no
such loop is running, ``request`` raises at once: there is nothing worth saving.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

_state = {"listening": 0, "requested": False}


class Stopped(KeyboardInterrupt):
    """Training stopped on request after saving its checkpoint."""


def request() -> None:
    """Ask the running training loop to checkpoint and stop; with none listening, stop now."""
    if not _state["listening"]:
        raise Stopped("stop requested with no checkpointing training loop running")
    _state["requested"] = True


def requested() -> bool:
    return bool(_state["requested"])


@contextmanager
def listening() -> Iterator[None]:
    """Mark a checkpointing training loop as running (it polls ``requested``); clears the request on exit."""
    _state["listening"] += 1
    try:
        yield
    finally:
        _state["listening"] -= 1
        _state["requested"] = False
