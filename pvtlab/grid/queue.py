"""The grid's queue and its results, kept in one Optuna study that any number of processes and machines share.

Dispatch is Optuna's own. Each cell is enqueued once as a WAITING trial (``study.enqueue_trial``) whose user
attributes hold the cell id and the whole cell; a worker claims the oldest waiting one with ``study.ask()``
(the storage moves it WAITING -> RUNNING and lets exactly one claimant win) and closes it with the storage's
``set_trial_state_values``, which refuses a trial another process finished meanwhile. A cell's resolution and seed are its
trial's params and its id, group, model and variant user attributes, so optuna-dashboard on the same storage lists
cells by name. Only Optuna's public API is used; its heartbeat is heartbeat.py's. GridSampler is never
used: it re-samples cells still running on other workers.

A dead worker's cell runs again:
- RDB storages (SQLite, PostgreSQL): Optuna's heartbeat. The claimant records heartbeats while it runs; before
  each claim ``fail_stale_trials`` fails trials whose heartbeat is older than the grace period by the
  database's clock, and the storage's ``RetryHeartbeatStaleTrialCallback`` enqueues a copy.
- The journal file (the local default): Optuna 5.0's journal storage has no heartbeat, so the machine
  stands in for it. Each claim records its worker as ``host:pid``; a RUNNING trial of this host whose
  process no longer exists is failed and re-enqueued with the same callback. The parent of local workers
  checks this every poll, so a killed child's cell is back in the queue within a second, no grace period to
  wait out and no clock compared; a resume does the same for the leftovers of a killed run. Why the journal
  and not SQLite with the heartbeat for the default: the journal is the storage Optuna names safe for many
  processes on one machine (and NFS), needs no database, and SQLite under several writers fails with
  "database is locked"; one machine is also exactly where process liveness can be checked.
  Several machines should use PostgreSQL.

One home for results: the storage is the truth while a grid runs. The worker that finishes a cell stores its
row with the trial (user attribute ``row``) in the same ``tell`` that closes it, then rewrites its
``cells.csv`` from the storage (``ResultsFile.follow``). A cell's row is its COMPLETE trial's, else its
newest finished one's by trial number: no timestamps compared. cells.csv is a view every machine rebuilds
for itself; rows it holds for cells the storage never ran (an older storage) are kept.

Exactly once: a claimed trial whose cell is already done, or running under an older trial (two starters
enqueued it at once), is dropped before it runs. Trial outcomes (user attribute ``outcome``): ok,
cell_failed (retried only with --retry-failed), interrupted (Ctrl-C; enqueued again at once), dropped;
a FAIL without an outcome is a dead worker's (enqueued again).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState

from pvtlab.errors import UserInputError
from pvtlab.measure.provenance import worker_name

from .cell import Cell
from .heartbeat import Beat, Requeue, beat_once, fail_stale, quiet
from .hostlock import file_lock
from .slurm.env import slurm_job
from .storage import StorageSpec

OK, FAILED, INTERRUPTED, DROPPED = "ok", "cell_failed", "interrupted", "dropped"
# What a cell looks like from the queue: done, failed, running, waiting, or absent (needs enqueueing).
DONE, FAILED_STATE, RUNNING, WAITING, ABSENT = "done", "failed", "running", "waiting", "absent"


@dataclass(frozen=True)
class Claim:
    """A cell this process holds: run it, then ``finish`` or ``release`` it."""

    trial_id: int
    number: int
    cell: Cell
    spec_hash: str


def deciding_trials(trials: Iterable[FrozenTrial]) -> dict[str, FrozenTrial]:
    """Cell id -> the trial that decides it: a COMPLETE one if any, else the newest (highest number)."""
    chosen: dict[str, FrozenTrial] = {}
    for trial in trials:
        cid = trial.user_attrs.get("cell_id")
        if cid is None:
            continue
        old = chosen.get(cid)
        if old is None or (old.state != TrialState.COMPLETE and
                           (trial.state == TrialState.COMPLETE or trial.number > old.number)):
            chosen[cid] = trial
    return chosen


def cell_states(trials: Iterable[FrozenTrial]) -> dict[str, str]:
    """Cell id -> done, failed, running, waiting or absent (interrupted, dropped, or a dead worker's)."""
    return {cid: state_of(trial) for cid, trial in deciding_trials(trials).items()}


def state_of(trial: FrozenTrial) -> str:
    """The cell's state as its deciding trial tells it."""
    if trial.state == TrialState.COMPLETE:
        return DONE
    if trial.state == TrialState.RUNNING:
        return RUNNING
    if trial.state == TrialState.WAITING:
        return WAITING
    return FAILED_STATE if trial.user_attrs.get("outcome") == FAILED else ABSENT


class Queue:
    """One process's handle on a study's cells."""

    def __init__(self, storage: BaseStorage, where: StorageSpec, study_name: str, *, create: bool) -> None:
        self.storage = storage
        self.where = where
        self.owner = worker_name()
        if create:
            self.study = optuna.create_study(storage=storage, study_name=study_name, load_if_exists=True)
        else:
            try:
                storage.get_study_id_from_name(study_name)
            except KeyError:
                raise UserInputError(f"no grid named {study_name!r} in {where.description} yet; start it without "
                                     f"--worker first (that enqueues its cells)") from None
            self.study = optuna.load_study(study_name=study_name, storage=storage)
        self.study_id = storage.get_study_id_from_name(study_name)
        self._requeue_copy = Requeue()

    def _id(self, number: int) -> int:
        """The storage's id of trial ``number`` of this study (Optuna's public storage API; a trial's own
        ``_trial_id`` is private)."""
        return self.storage.get_trial_id_from_study_id_trial_number(self.study_id, number)

    def trials(self) -> list[FrozenTrial]:
        return self.storage.get_all_trials(self.study_id, deepcopy=False)

    def states(self) -> dict[str, str]:
        return cell_states(self.trials())

    def enqueue(self, cells: Iterable[Cell], skip: set[str], spec_hash: str, *, retry_failed: bool = False) -> int:
        """Enqueue each cell that has no live trial and is not in ``skip`` (failed cells too with
        ``retry_failed``); waiting cells that are not listed, are in ``skip`` or finished already are dropped."""
        cells = list(cells)
        wanted = {cell.cell_id for cell in cells}
        states = self.states()
        for trial in self.trials():
            cid = trial.user_attrs.get("cell_id")
            if trial.state == TrialState.WAITING and (cid not in wanted or cid in skip or states.get(cid) == DONE):
                self._close(self._id(trial.number), DROPPED)
        states = self.states()
        added = 0
        for cell in cells:
            state = states.get(cell.cell_id, ABSENT)
            if cell.cell_id not in skip and (state == ABSENT or (retry_failed and state == FAILED_STATE)):
                # Not skip_if_exists: a dead worker's attempt has the same params, and its cell must run again.
                self.study.enqueue_trial(cell_params(cell), user_attrs={
                    "cell_id": cell.cell_id, **cell_names(cell), "cell": cell.to_json(), "spec_hash": spec_hash})
                added += 1
        return added

    def publish_labels(self, labels: dict[str, dict[str, Any]]) -> None:
        """Record the names the current spec gives its cells (cell id -> labels) with the study, for workers
        that join without the spec (a row of a cell the spec no longer has is marked stale)."""
        self.study.set_user_attr("labels", labels)

    def labels(self) -> dict[str, dict[str, Any]] | None:
        """What ``publish_labels`` recorded last, or None."""
        return self.storage.get_study_user_attrs(self.study_id).get("labels")

    def cells(self) -> dict[str, Cell]:
        """Cell id -> the cell as enqueued (its JSON, names included): what a worker needs, nothing re-planned."""
        return {trial.user_attrs["cell_id"]: Cell.from_json(trial.user_attrs["cell"])
                for trial in self.trials() if "cell" in trial.user_attrs}

    def claim(self) -> Claim | None:
        """Take the oldest waiting cell (``study.ask``), or None when nothing is waiting."""
        self.requeue_dead()
        lock = file_lock(self.where.claim_lock) if self.where.claim_lock else nullcontext()
        with lock:
            if not self.storage.get_all_trials(self.study_id, deepcopy=False, states=(TrialState.WAITING,)):
                return None
            with quiet():
                trial = self.study.ask()
        tid = self._id(trial.number)
        beat_once(self.storage, tid)  # at once: a trial with no heartbeat at all never goes stale
        attrs = trial.user_attrs
        if "cell_id" not in attrs:  # another worker took the last waiting cell first: ask() made a new trial
            self._close(tid, DROPPED)
            return None
        self.storage.set_trial_user_attr(tid, "worker", self.owner)
        if slurm_job() is not None:
            self.storage.set_trial_user_attr(tid, "slurm_job", slurm_job())
        cell = Cell.from_json(attrs["cell"])
        for name, value in cell_params(cell).items():  # the enqueued values become the trial's params
            trial.suggest_int(name, *PARAM_RANGE[name])
        if self._taken_elsewhere(attrs["cell_id"], trial.number):
            self._close(tid, DROPPED)
            return self.claim()
        return Claim(tid, trial.number, cell, attrs.get("spec_hash", ""))

    def _taken_elsewhere(self, cell_id: str, number: int) -> bool:
        """The cell is done, or an older trial of it is running (it was enqueued twice)."""
        for trial in self.trials():
            if trial.user_attrs.get("cell_id") != cell_id or trial.number == number:
                continue
            if trial.state == TrialState.COMPLETE or (trial.state == TrialState.RUNNING and trial.number < number):
                return True
        return False

    def heartbeat(self, claim: Claim) -> Beat:
        """The claim's heartbeat while its cell runs (a no-op on storages without heartbeat); use as a context."""
        return Beat(self.storage, claim.trial_id)

    def finish(self, claim: Claim, row: dict[str, Any]) -> bool:
        """Store the result row with the trial and close it; False when the trial was no longer ours (its
        heartbeat went stale and another worker has the cell)."""
        ok = row.get("status") == "ok"
        try:
            self.storage.set_trial_user_attr(claim.trial_id, "row", row)
            self.storage.set_trial_user_attr(claim.trial_id, "outcome", OK if ok else FAILED)
            if ok:
                self.storage.set_trial_state_values(claim.trial_id, TrialState.COMPLETE,
                                                    [float(row.get("wall_s") or 0.0)])
            else:
                self.storage.set_trial_state_values(claim.trial_id, TrialState.FAIL)
            return True
        except UpdateFinishedTrialError:  # another process finished the trial meanwhile
            return False

    def release(self, claim: Claim) -> None:
        """Give an interrupted cell back to the queue at once."""
        self._requeue(claim.trial_id, INTERRUPTED)

    def requeue_dead(self, dead_workers: set[str] | None = None) -> int:
        """Fail and re-enqueue the cells of dead workers: stale heartbeats (RDB), or (journal) processes of this
        host that no longer exist, plus ``dead_workers`` (names a supervising parent saw exit)."""
        if self.where.kind == "rdb":
            fail_stale(self.study, self.storage)
        dead_workers = dead_workers or set()
        host = socket.gethostname()
        requeued = 0
        for trial in self.storage.get_all_trials(self.study_id, deepcopy=False, states=(TrialState.RUNNING,)):
            name = trial.user_attrs.get("worker")
            if name is None:
                if self.where.kind == "journal" and _unsigned_for(trial) > UNSIGNED_S:
                    requeued += self._requeue(self._id(trial.number), None)  # its worker died between claim and signing
                continue  # claimed this instant; its worker is about to sign it
            if name in dead_workers or (self.where.kind == "journal" and _dead_here(name, host)):
                requeued += self._requeue(self._id(trial.number), None)
        return requeued

    def _requeue(self, trial_id: int, outcome: str | None) -> int:
        """Fail a running trial and enqueue a copy (the heartbeat's own retry callback); 0 if already finished."""
        try:
            if outcome is not None:
                self.storage.set_trial_user_attr(trial_id, "outcome", outcome)
            if not self.storage.set_trial_state_values(trial_id, TrialState.FAIL):
                return 0
        except UpdateFinishedTrialError:
            return 0
        self._requeue_copy(self.study, self.storage.get_trial(trial_id))
        return 1

    def _close(self, trial_id: int, outcome: str) -> None:
        try:
            self.storage.set_trial_user_attr(trial_id, "outcome", outcome)
            self.storage.set_trial_state_values(trial_id, TrialState.FAIL)
        except UpdateFinishedTrialError:
            pass

    def rows(self) -> dict[str, dict[str, Any]]:
        """Cell id -> the result row of its deciding trial (ok and failed cells; the storage is the truth)."""
        rows = {}
        for cid, trial in deciding_trials(t for t in self.trials() if "row" in t.user_attrs).items():
            rows[cid] = dict(trial.user_attrs["row"])
        return rows

    def unfinished(self) -> bool:
        """Any cell waiting or running anywhere."""
        return bool(set(self.states().values()) & {RUNNING, WAITING})


# A param keeps one distribution in a whole study, so only numbers are params (with fixed, wide ranges); the names
# are user attributes (a categorical param's choices would have to be every name the study will ever hold).
PARAM_RANGE = {"resolution": (1, 1 << 16), "seed": (0, (1 << 31) - 1)}


def cell_params(cell: Cell) -> dict[str, int]:
    """The trial's params: resolution, and the seed of an accuracy cell."""
    return {"resolution": cell.resolution, **({"seed": cell.seed} if cell.seed is not None else {})}


def cell_names(cell: Cell) -> dict[str, str]:
    """User attributes beside ``cell_id`` that optuna-dashboard shows in its trial table."""
    return {"group": cell.group, "model": cell.model, "variant": cell.variant}


# A journal trial claimed but never signed with its worker for this long was claimed by a process that died at
# once (the journal serves one machine, so the claim time and this check read the same clock).
UNSIGNED_S = 60.0


def _unsigned_for(trial: FrozenTrial) -> float:
    start = trial.datetime_start
    return (datetime.now() - start).total_seconds() if start is not None else 0.0


def _dead_here(name: str, host: str) -> bool:
    """``host:pid`` names a process of this machine that no longer exists."""
    worker_host, _, pid = name.rpartition(":")
    if worker_host != host or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
