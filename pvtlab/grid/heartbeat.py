"""Optuna's heartbeat, through its public API only: ``RDBStorage.record_heartbeat`` from a thread of ours while a
cell runs, ``optuna.storages.fail_stale_trials`` before each claim, and ``RetryHeartbeatStaleTrialCallback`` to
enqueue a dead worker's cell again.

Optuna warns about this use in exactly two ways, both filtered here (by category and message) and nowhere else:
the heartbeat pieces are marked experimental (``ExperimentalWarning``), and ``study.ask`` on a storage with a
heartbeat says the heartbeat is meant for ``Study.optimize``; the grid asks and tells by hand on purpose, each
worker claiming cells that other machines enqueued.
"""

from __future__ import annotations

import copy
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

import optuna
from optuna.exceptions import ExperimentalWarning
from optuna.storages import BaseStorage, RDBStorage, RetryHeartbeatStaleTrialCallback, fail_stale_trials
from optuna.trial import FrozenTrial

GRACE_S = 60  # --grace-s default: seconds without a heartbeat, by the database's clock


def heartbeat_s(grace_s: int) -> int:
    """Heartbeats per grace period: four, at least one a second (Optuna takes whole seconds)."""
    return max(1, grace_s // 4)


# User attributes that belong to one attempt at a cell, not to the cell: a re-queued copy starts without them.
ATTEMPT_ATTRS = ("worker", "slurm_job", "outcome", "row")


@contextmanager
def quiet() -> Iterator[None]:
    """Silence Optuna's two known warnings about the heartbeat (module docstring), nothing else."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=ExperimentalWarning)
        warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")
        yield


class Requeue(RetryHeartbeatStaleTrialCallback):
    """Optuna's retry callback (enqueue a WAITING copy of a failed trial), minus the dead attempt's own
    attributes, so the copy does not look claimed by the dead worker or finished."""

    def __init__(self) -> None:
        with quiet():
            super().__init__()

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        fresh = copy.deepcopy(trial)
        fresh.user_attrs = {k: v for k, v in trial.user_attrs.items() if k not in ATTEMPT_ATTRS}
        with quiet():
            super().__call__(study, fresh)


def enabled(storage: BaseStorage) -> bool:
    """The storage keeps heartbeats (an RDB storage opened with ``heartbeat_interval``)."""
    return isinstance(storage, RDBStorage) and storage.get_heartbeat_interval() is not None


def fail_stale(study: optuna.Study, storage: BaseStorage) -> None:
    """Fail the trials of ``study`` (kept in ``storage``) whose heartbeat is older than the grace period, and
    re-enqueue them (the storage's callback, ``Requeue``)."""
    if enabled(storage):
        with quiet():
            fail_stale_trials(study)


def beat_once(storage: BaseStorage, trial_id: int) -> None:
    if enabled(storage):
        storage.record_heartbeat(trial_id)


class Beat:
    """Record the trial's heartbeat now and every interval until the ``with`` block ends (a no-op without one)."""

    def __init__(self, storage: BaseStorage, trial_id: int) -> None:
        self.storage, self.trial_id = storage, trial_id
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Beat:
        if enabled(self.storage):
            beat_once(self.storage, self.trial_id)
            self._thread = threading.Thread(target=self._run, daemon=True, name=f"heartbeat-{self.trial_id}")
            self._thread.start()
        return self

    def _run(self) -> None:
        interval = self.storage.get_heartbeat_interval() or 1
        while not self._stop.wait(interval):
            try:
                self.storage.record_heartbeat(self.trial_id)
            except Exception:  # noqa: BLE001  (a busy database skips one beat; the grace period covers several)
                pass

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
