"""The Optuna-storage queue: exactly-once claims across processes, leases, reclaiming a dead worker's cell."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
import time
from pathlib import Path

import pytest
from optuna.trial import TrialState

from pvtlab.grid.cells import expand
from pvtlab.grid.dispatch import DONE, FAILED_STATE, LEASE_EXPIRED, Queue
from pvtlab.grid.spec import parse_spec
from pvtlab.grid.storage import open_storage, parse_storage

CTX = mp.get_context("fork")


def _cells(resolutions: list[int]):
    spec = parse_spec(dict(models=["pvt_v2_b0"], factorial={"attention": ["sra", "linear_sra"]},
                           measure=["params", "flops"], resolutions=resolutions),
                      where="t.yaml", default_name="t")
    return expand(spec, "cpu").cells


def _storage(kind: str, folder: Path):
    url = None if kind == "journal" else f"sqlite:///{folder / 'q.db'}"
    return parse_storage(url, folder)


def _queue(kind: str, folder: Path, owner: str, lease_s: float = 30.0, create: bool = False) -> Queue:
    spec = _storage(kind, folder)
    return Queue(open_storage(spec), "t", lock=spec.lock, lease_s=lease_s, owner=owner, create=create)


def _drain(kind: str, folder: str, name: str) -> None:
    """A worker that claims cells until none wait, logging each claim to its own file."""
    queue = _queue(kind, Path(folder), name)
    log = Path(folder) / f"claims-{name}.txt"
    while (claim := queue.claim()) is not None:
        with open(log, "a") as handle:
            handle.write(claim.cell.cell_id + "\n")
        time.sleep(0.01)
        queue.finish(claim, {"cell_id": claim.cell.cell_id, "status": "ok", "wall_s": 0.01}, ok=True)


@pytest.mark.parametrize("kind, workers", [("journal", 2), ("journal", 4), ("sqlite", 2), ("sqlite", 4)])
def test_each_cell_is_claimed_exactly_once_by_competing_processes(kind, workers, tmp_path):
    cells = _cells([32, 48, 64, 80, 96, 112])
    queue = _queue(kind, tmp_path, "main", create=True)
    assert queue.enqueue(cells, set(), "h") == len(cells) == 24
    assert queue.enqueue(cells, set(), "h") == 0  # enqueueing again adds nothing
    procs = [CTX.Process(target=_drain, args=(kind, str(tmp_path), f"w{i}")) for i in range(workers)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
        assert proc.exitcode == 0
    claimed = [line for log in tmp_path.glob("claims-*.txt") for line in log.read_text().split()]
    assert sorted(claimed) == sorted(c.cell_id for c in cells)
    assert set(queue.states().values()) == {DONE}
    assert len(queue.rows()) == len(cells)


def _claim_and_die(kind: str, folder: str) -> None:
    queue = _queue(kind, Path(folder), "doomed", lease_s=1.0)
    claim = queue.claim()
    (Path(folder) / "doomed.txt").write_text(claim.cell.cell_id)
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.parametrize("kind", ["journal", "sqlite"])
def test_a_dead_workers_cell_is_reclaimed_once_its_lease_runs_out(kind, tmp_path):
    cells = _cells([64])
    queue = _queue(kind, tmp_path, "survivor", lease_s=1.0, create=True)
    queue.enqueue(cells, set(), "h")
    proc = CTX.Process(target=_claim_and_die, args=(kind, str(tmp_path)))
    proc.start()
    proc.join(60)
    assert proc.exitcode == -signal.SIGKILL
    dead_cell = (tmp_path / "doomed.txt").read_text()
    assert queue.reclaim_stale() == 0  # the lease is still fresh
    time.sleep(1.3)
    assert queue.reclaim_stale() == 1
    assert queue.reclaim_stale() == 0  # reclaimed once only
    ran = []
    while (claim := queue.claim()) is not None:
        ran.append(claim.cell.cell_id)
        queue.finish(claim, {"cell_id": claim.cell.cell_id, "status": "ok"}, ok=True)
    assert sorted(ran) == sorted(c.cell_id for c in cells) and ran.count(dead_cell) == 1
    trials = queue.trials()
    expired = [t for t in trials if t.user_attrs.get("outcome") == LEASE_EXPIRED]
    assert len(expired) == 1 and expired[0].user_attrs["cell_id"] == dead_cell
    assert expired[0].user_attrs["lease_owner"] == "doomed" and expired[0].state == TrialState.FAIL


def test_failed_cells_wait_for_retry_failed_and_interrupted_ones_do_not(tmp_path):
    cells = _cells([64])
    queue = _queue("journal", tmp_path, "w", create=True)
    queue.enqueue(cells, set(), "h")
    first, second = queue.claim(), queue.claim()
    queue.finish(first, {"cell_id": first.cell.cell_id, "status": "failed", "error": "x"}, ok=False)
    queue.release(second)  # Ctrl-C
    states = queue.states()
    assert states[first.cell.cell_id] == FAILED_STATE
    assert queue.enqueue(cells, set(), "h") == 1  # the interrupted cell only
    assert queue.enqueue(cells, set(), "h", retry_failed=True) == 1  # now the failed one too
    row = json.loads([t for t in queue.trials() if t.number == first.number][0].user_attrs["row"])
    assert row == {"cell_id": first.cell.cell_id, "status": "failed", "error": "x"}


def test_waiting_cells_that_left_the_spec_are_dropped(tmp_path):
    old, new = _cells([64]), _cells([96])
    queue = _queue("journal", tmp_path, "w", create=True)
    queue.enqueue(old, set(), "old")
    queue.enqueue(new, set(), "new")
    claimed = []
    while (claim := queue.claim()) is not None:
        claimed.append(claim)
        queue.finish(claim, {"cell_id": claim.cell.cell_id, "status": "ok"}, ok=True)
    assert {c.cell.cell_id for c in claimed} == {c.cell_id for c in new}
    assert {c.spec_hash for c in claimed} == {"new"}
