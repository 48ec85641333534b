"""The Optuna-storage queue: exactly-once claims across processes, a dead worker's cell back in the queue
(journal: by process liveness; SQLite: by Optuna's heartbeat), and retries of operational errors only."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest
from optuna.trial import TrialState

from pvtlab.grid.cells import expand
from pvtlab.grid.queue import DONE, FAILED_STATE, WAITING, Queue
from pvtlab.grid.spec import parse_spec
from pvtlab.grid.storage import is_operational, open_storage, parse_storage, retrying

CTX = mp.get_context("fork")


def _cells(resolutions: list[int]):
    spec = parse_spec(dict(models=["pvt_v2_b0"], factorial={"attention": ["sra", "linear_sra"]},
                           measure=["params", "flops"], resolutions=resolutions),
                      where="t.yaml", default_name="t")
    return expand(spec, "cpu").cells


def _queue(kind: str, folder: Path, create: bool = False, grace_s: int = 60) -> Queue:
    where = parse_storage(None if kind == "journal" else f"sqlite:///{folder / 'q.db'}", folder)
    return Queue(open_storage(where, grace_s=grace_s), where, "t", create=create)


def _ok(cid: str) -> dict:
    return {"cell_id": cid, "status": "ok", "wall_s": 0.01}


def _drain(kind: str, folder: str, name: str) -> None:
    """A worker that claims cells until none wait, logging each claim to its own file."""
    queue = _queue(kind, Path(folder))
    log = Path(folder) / f"claims-{name}.txt"
    while (claim := retrying(queue.claim)) is not None:
        with open(log, "a") as handle:
            handle.write(claim.cell.cell_id + "\n")
        time.sleep(0.01)
        retrying(lambda: queue.finish(claim, _ok(claim.cell.cell_id)))


@pytest.mark.parametrize("kind, workers", [("journal", 2), ("journal", 4), ("sqlite", 2), ("sqlite", 4)])
def test_each_cell_is_claimed_exactly_once_by_competing_processes(kind, workers, tmp_path):
    cells = _cells([32, 48, 64, 80, 96, 112])
    queue = _queue(kind, tmp_path, create=True)
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
    assert set(queue.rows()) == {c.cell_id for c in cells}
    assert queue.claim() is None
    # ask() opens a new, empty trial when another worker took the last waiting cell a moment before: it is
    # closed at once and never runs anything
    empty = [t for t in queue.trials() if "cell_id" not in t.user_attrs]
    assert all(t.state == TrialState.FAIL and t.user_attrs["outcome"] == "dropped" for t in empty)


def _claim_and_die(kind: str, folder: str) -> None:
    queue = _queue(kind, Path(folder), grace_s=2)
    claim = queue.claim()
    queue.heartbeat(claim).__enter__()  # no heartbeat on the journal
    (Path(folder) / "doomed.txt").write_text(claim.cell.cell_id)
    time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.parametrize("kind", ["journal", "sqlite"])
def test_a_dead_workers_cell_goes_back_to_the_queue_once(kind, tmp_path):
    cells = _cells([64])
    queue = _queue(kind, tmp_path, create=True, grace_s=2)
    queue.enqueue(cells, set(), "h")
    proc = CTX.Process(target=_claim_and_die, args=(kind, str(tmp_path)))
    proc.start()
    proc.join(60)
    assert proc.exitcode == -signal.SIGKILL
    dead_cell = (tmp_path / "doomed.txt").read_text()
    if kind == "sqlite":
        assert queue.requeue_dead() == 0 and queue.states()[dead_cell] == "running"  # heartbeat still fresh
        time.sleep(3.5)  # past the grace period, by the database's clock
    queue.requeue_dead()
    assert queue.states()[dead_cell] == WAITING
    copy = [t for t in queue.trials() if t.state == TrialState.WAITING and t.user_attrs["cell_id"] == dead_cell]
    assert len(copy) == 1 and "worker" not in copy[0].user_attrs  # the copy is nobody's yet
    queue.requeue_dead()
    ran = []
    while (claim := queue.claim()) is not None:
        ran.append(claim.cell.cell_id)
        assert queue.finish(claim, _ok(claim.cell.cell_id))
    assert sorted(ran) == sorted(c.cell_id for c in cells) and ran.count(dead_cell) == 1
    dead = [t for t in queue.trials() if t.state == TrialState.FAIL]
    assert len(dead) == 1 and dead[0].user_attrs["cell_id"] == dead_cell and "outcome" not in dead[0].user_attrs
    assert dead[0].user_attrs["worker"].rsplit(":", 1)[1] == str(proc.pid)


def test_failed_cells_wait_for_retry_failed_and_interrupted_ones_go_back_at_once(tmp_path):
    cells = _cells([64])
    queue = _queue("journal", tmp_path, create=True)
    queue.enqueue(cells, set(), "h")
    first, second = queue.claim(), queue.claim()
    assert queue.finish(first, {"cell_id": first.cell.cell_id, "status": "failed", "error": "x"})
    queue.release(second)  # Ctrl-C
    states = queue.states()
    assert states[first.cell.cell_id] == FAILED_STATE and states[second.cell.cell_id] == WAITING
    assert queue.enqueue(cells, set(), "h") == 0
    assert queue.enqueue(cells, set(), "h", retry_failed=True) == 1  # now the failed one
    assert queue.rows()[first.cell.cell_id] == {"cell_id": first.cell.cell_id, "status": "failed", "error": "x"}


def test_waiting_cells_that_left_the_spec_are_dropped(tmp_path):
    old, new = _cells([64]), _cells([96])
    queue = _queue("journal", tmp_path, create=True)
    queue.enqueue(old, set(), "old")
    queue.enqueue(new, set(), "new")
    claimed = []
    while (claim := queue.claim()) is not None:
        claimed.append(claim)
        queue.finish(claim, _ok(claim.cell.cell_id))
    assert {c.cell.cell_id for c in claimed} == {c.cell_id for c in new}
    assert {c.spec_hash for c in claimed} == {"new"}


def test_a_cell_enqueued_twice_runs_once(tmp_path):
    """Two starters enqueueing at the same moment: the second copy of a cell is dropped when claimed."""
    cells = _cells([64])
    first = _queue("journal", tmp_path, create=True)
    second = _queue("journal", tmp_path, create=True)
    for queue in (first, second):
        for cell in cells:  # what enqueue() would do if both saw the cell absent
            queue.study.enqueue_trial({}, user_attrs={"cell_id": cell.cell_id, "cell": cell.to_json(),
                                                      "spec_hash": "h"})
    ran = []
    while (claim := first.claim()) is not None:
        ran.append(claim.cell.cell_id)
        first.finish(claim, _ok(claim.cell.cell_id))
    assert sorted(ran) == sorted(c.cell_id for c in cells)


def _locked_database(path: Path) -> sqlite3.OperationalError:
    holder = sqlite3.connect(path)
    holder.execute("CREATE TABLE IF NOT EXISTS t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        sqlite3.connect(path, timeout=0.05).execute("SELECT * FROM t")
    except sqlite3.OperationalError as exc:
        return exc
    finally:
        holder.rollback()
        holder.close()
    raise AssertionError("the database was not locked")


def test_only_operational_database_errors_are_retried(tmp_path):
    locked = _locked_database(tmp_path / "x.db")
    assert "locked" in str(locked) and is_operational(locked)
    calls = []

    def busy_twice() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise locked
        return "done"

    assert retrying(busy_twice, log=open(os.devnull, "w")) == "done" and len(calls) == 3

    def bug() -> None:
        calls.append(1)
        raise KeyError("a bug")

    calls.clear()
    with pytest.raises(KeyError):
        retrying(bug)
    assert len(calls) == 1 and not is_operational(KeyError("x"))


def test_public_api_claims_read_well_in_optuna_and_a_late_finish_is_refused(tmp_path):
    """On SQLite with the heartbeat on: no Optuna warning escapes, a claimed trial carries the cell's numbers as
    params and its names as attributes (what optuna-dashboard shows), and a worker whose cell was failed as dead
    meanwhile is told its row was not kept."""
    import warnings

    cells = _cells([64])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test ...
        warnings.simplefilter("ignore", ResourceWarning)  # ... but files other tests' forks left to the collector
        queue = _queue("sqlite", tmp_path, create=True, grace_s=2)
        queue.enqueue(cells, set(), "h")
        late, _ = queue.claim(), queue.claim()
        assert queue.requeue_dead({queue.owner}) == 2  # a supervisor saw this worker die: both cells go back
        assert queue.finish(late, _ok(late.cell.cell_id)) is False
        again = queue.claim()
        assert queue.finish(again, _ok(again.cell.cell_id)) is True
    trial = next(t for t in queue.trials() if t.state == TrialState.COMPLETE)
    assert trial.params == {"resolution": 64}
    assert {k: trial.user_attrs[k] for k in ("cell_id", "group", "model", "variant")} == {
        "cell_id": again.cell.cell_id, "group": again.cell.group, "model": "pvt_v2_b0",
        "variant": again.cell.variant}


def test_a_joining_worker_names_cells_as_the_last_started_spec_does(tmp_path):
    from pvtlab.grid.join import stored_labels

    cells = _cells([64])
    queue = _queue("journal", tmp_path, create=True)
    queue.enqueue(cells, set(), "h")
    enqueued = stored_labels(queue)  # nothing published: the names each cell was enqueued with
    assert set(enqueued) == {c.cell_id for c in cells} and enqueued[cells[0].cell_id]["variant"] == cells[0].variant
    renamed = {cid: {**names, "variant": "renamed"} for cid, names in enqueued.items() if cid != cells[0].cell_id}
    queue.publish_labels(renamed)  # a later start whose spec renamed the variants and dropped one cell
    assert stored_labels(_queue("journal", tmp_path)) == renamed
