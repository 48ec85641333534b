"""The grid's work queue, kept in an Optuna study so any number of processes and machines can share it.

Each cell is enqueued once as a WAITING trial (``study.enqueue_trial``) whose user attributes hold the
cell id and the whole cell, so a worker needs nothing but the storage to run it. A worker claims a cell by
moving its trial WAITING -> RUNNING (the storage lets exactly one claimant win) and keeps a lease on it
(``lease_expires``, renewed by a heartbeat). A RUNNING trial whose lease ran out belongs to a dead worker:
the first process to notice fails it (``outcome=lease_expired``) and enqueues the cell again. Optuna's
GridSampler is never used: it re-samples cells still running on other workers (measurement_pitfalls.md).

Trial outcomes (user attribute ``outcome``): ok (COMPLETE), cell_failed (the measurement failed; retried
only with --retry-failed), lease_expired / interrupted (re-run), dropped (left the spec, or finished
elsewhere, while waiting). Should a cell still run twice (its worker was only slow, not dead), cells.csv keeps
one row per cell id: the later result replaces the earlier.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState

from pvtlab.errors import UserInputError

from .cells import Cell
from .locking import file_lock

OK, FAILED, LEASE_EXPIRED, INTERRUPTED, DROPPED = "ok", "cell_failed", "lease_expired", "interrupted", "dropped"
# What a cell looks like from the queue: done, failed, running, waiting, or absent (needs enqueueing).
DONE, FAILED_STATE, RUNNING, WAITING, ABSENT = "done", "failed", "running", "waiting", "absent"


@dataclass(frozen=True)
class Claim:
    """A cell this process holds: run it, then ``finish`` or ``release`` it."""

    trial_id: int
    number: int
    cell: Cell
    spec_hash: str


def cell_states(trials: Iterable[FrozenTrial]) -> dict[str, str]:
    """Cell id -> state, from the trial that decides it: a COMPLETE one if any, else the newest."""
    chosen: dict[str, FrozenTrial] = {}
    for trial in trials:
        cid = trial.user_attrs.get("cell_id")
        if cid is None:
            continue
        old = chosen.get(cid)
        if old is None or (old.state != TrialState.COMPLETE and
                           (trial.state == TrialState.COMPLETE or trial.number > old.number)):
            chosen[cid] = trial
    return {cid: _state(trial) for cid, trial in chosen.items()}


def _state(trial: FrozenTrial) -> str:
    if trial.state == TrialState.COMPLETE:
        return DONE
    if trial.state == TrialState.RUNNING:
        return RUNNING
    if trial.state == TrialState.WAITING:
        return WAITING
    return FAILED_STATE if trial.user_attrs.get("outcome") == FAILED else ABSENT


class Queue:
    """One process's handle on a study's cells; ``owner`` names this process in leases."""

    def __init__(self, storage: BaseStorage, study_name: str, *, lock: Path | None, lease_s: float,
                 owner: str, create: bool) -> None:
        self.storage = storage
        self.lease_s = lease_s
        self.owner = owner
        self._lock = lock
        if create:
            self.study = optuna.create_study(storage=storage, study_name=study_name, load_if_exists=True)
        else:
            try:
                storage.get_study_id_from_name(study_name)
            except KeyError:
                raise UserInputError(f"no grid named {study_name!r} in the storage yet; start it without "
                                     f"--worker first (that enqueues its cells)") from None
            self.study = optuna.load_study(study_name=study_name, storage=storage)
        self.study_id = self.study._study_id

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with file_lock(self._lock) if self._lock is not None else nullcontext():
            yield

    def trials(self) -> list[FrozenTrial]:
        return self.storage.get_all_trials(self.study_id, deepcopy=False)

    def states(self) -> dict[str, str]:
        return cell_states(self.trials())

    def enqueue(self, cells: Iterable[Cell], skip: set[str], spec_hash: str, *, retry_failed: bool = False) -> int:
        """Enqueue each cell that has no live trial and is not in ``skip`` (failed cells too with
        ``retry_failed``); waiting cells that are not listed, are in ``skip`` or finished already are dropped."""
        cells = list(cells)
        wanted = {cell.cell_id for cell in cells}
        added = 0
        with self._locked():
            states = cell_states(self.trials())
            for trial in self.trials():
                cid = trial.user_attrs.get("cell_id")
                if trial.state == TrialState.WAITING and (cid not in wanted or cid in skip or states[cid] == DONE):
                    self._end(trial._trial_id, DROPPED, TrialState.FAIL)
            states = cell_states(self.trials())
            for cell in cells:
                state = states.get(cell.cell_id, ABSENT)
                if cell.cell_id not in skip and (state == ABSENT or (retry_failed and state == FAILED_STATE)):
                    self._add(cell, spec_hash)
                    added += 1
        return added

    def _add(self, cell: Cell, spec_hash: str) -> None:
        self.study.enqueue_trial({}, user_attrs={"cell_id": cell.cell_id, "cell": cell.to_json(),
                                                 "spec_hash": spec_hash})

    def claim(self) -> Claim | None:
        """Take the oldest waiting cell, or None when nothing is waiting."""
        with self._locked():
            waiting = self.storage.get_all_trials(self.study_id, deepcopy=False, states=(TrialState.WAITING,))
            for trial in sorted(waiting, key=lambda t: t.number):
                cid = trial.user_attrs.get("cell_id")
                if cid is None:
                    continue
                try:
                    won = self.storage.set_trial_state_values(trial._trial_id, TrialState.RUNNING)
                except UpdateFinishedTrialError:
                    continue
                if not won:
                    continue
                self.storage.set_trial_user_attr(trial._trial_id, "lease_owner", self.owner)
                self.heartbeat(trial._trial_id)
                return Claim(trial._trial_id, trial.number, Cell.from_json(trial.user_attrs["cell"]),
                             trial.user_attrs.get("spec_hash", ""))
        return None

    def heartbeat(self, trial_id: int) -> bool:
        """Extend the lease; False when the trial is no longer ours (it was reclaimed)."""
        try:
            self.storage.set_trial_user_attr(trial_id, "lease_expires", time.time() + self.lease_s)
            return True
        except UpdateFinishedTrialError:
            return False

    def finish(self, claim: Claim, row: dict[str, Any], ok: bool) -> bool:
        """Store the result row with the trial and close it; False when the lease had been lost."""
        try:
            self.storage.set_trial_user_attr(claim.trial_id, "row", json.dumps(row, default=str))
            self._end(claim.trial_id, OK if ok else FAILED, TrialState.COMPLETE if ok else TrialState.FAIL,
                      value=float(row.get("wall_s") or 0.0))
            return True
        except UpdateFinishedTrialError:
            return False

    def release(self, claim: Claim) -> None:
        """Give an interrupted cell back: it is enqueued again on the next run."""
        try:
            self._end(claim.trial_id, INTERRUPTED, TrialState.FAIL)
        except UpdateFinishedTrialError:
            pass

    def release_owned_by(self, owners: set[str]) -> int:
        """Fail the running trials of these (dead or stopped) owners so the next run re-queues them at once."""
        released = 0
        with self._locked():
            for trial in self.trials():
                if trial.state == TrialState.RUNNING and trial.user_attrs.get("lease_owner") in owners:
                    try:
                        self._end(trial._trial_id, INTERRUPTED, TrialState.FAIL)
                        released += 1
                    except UpdateFinishedTrialError:
                        pass
        return released

    def reclaim_stale(self) -> int:
        """Fail every running trial whose lease has run out and enqueue its cell again; returns how many."""
        if not self._stale(self.trials()):
            return 0  # the common case needs no lock
        reclaimed = 0
        with self._locked():
            for trial in self._stale(self.trials()):
                try:
                    self._end(trial._trial_id, LEASE_EXPIRED, TrialState.FAIL)
                except UpdateFinishedTrialError:
                    continue  # the owner finished it just now
                if "cell" in trial.user_attrs:
                    self._add(Cell.from_json(trial.user_attrs["cell"]), trial.user_attrs.get("spec_hash", ""))
                reclaimed += 1
        return reclaimed

    def _stale(self, trials: list[FrozenTrial]) -> list[FrozenTrial]:
        now = time.time()
        return [t for t in trials if t.state == TrialState.RUNNING and self._expires(t) < now]

    def _expires(self, trial: FrozenTrial) -> float:
        expires = trial.user_attrs.get("lease_expires")
        if expires is not None:
            return float(expires)
        start = trial.datetime_start.timestamp() if trial.datetime_start else time.time()
        return start + self.lease_s

    def _end(self, trial_id: int, outcome: str, state: TrialState, value: float | None = None) -> None:
        self.storage.set_trial_user_attr(trial_id, "outcome", outcome)
        self.storage.set_trial_state_values(trial_id, state, values=[value] if state == TrialState.COMPLETE else None)

    def rows(self) -> list[dict[str, Any]]:
        """Result rows stored with finished trials (ok and failed), newest last."""
        rows = []
        for trial in sorted(self.trials(), key=lambda t: t.number):
            if trial.state.is_finished() and trial.user_attrs.get("outcome") in (OK, FAILED) \
                    and "row" in trial.user_attrs:
                rows.append(json.loads(trial.user_attrs["row"]))
        return rows
