"""cells.csv: one row per cell id, atomic swaps, many writer processes, and a kill mid-write."""

from __future__ import annotations

import csv
import multiprocessing as mp
import os
import signal
import time
from pathlib import Path

from pvtlab.grid.results import COLUMNS, ResultsFile

CTX = mp.get_context("fork")


def _row(cid: str, **extra) -> dict:
    return {"cell_id": cid, "status": "ok", "group": "params", "params_m": 1.5, **extra}


def test_upsert_replaces_by_cell_id_and_keeps_the_design_columns(tmp_path):
    results = ResultsFile(tmp_path)
    results.upsert([_row("a"), _row("b", status="failed", error="boom")])
    results.upsert([_row("a", params_m=2.5, seed=None, stale_spec=False, custom_col="x")])
    rows = results.read()
    assert [r["cell_id"] for r in rows] == ["a", "b"]
    assert rows[0]["params_m"] == "2.5" and rows[0]["seed"] == "" and rows[0]["stale_spec"] == "false"
    assert rows[1]["error"] == "boom"
    with open(results.path, newline="") as handle:
        header = next(csv.reader(handle))
    assert header[:len(COLUMNS)] == list(COLUMNS) and header[-1] == "custom_col"


def test_refresh_relabels_current_rows_and_flags_the_rest_stale(tmp_path):
    results = ResultsFile(tmp_path)
    results.upsert([_row("a", variant="old_name"), _row("b"), _row("c")])
    assert results.refresh({"a": {"variant": "new_name", "path_step": 2}, "c": {}}) == 1
    rows = results.by_id()
    assert {cid: r["stale_spec"] for cid, r in rows.items()} == {"a": "false", "b": "true", "c": "false"}
    assert rows["a"]["variant"] == "new_name" and rows["a"]["path_step"] == "2" and rows["a"]["params_m"] == "1.5"
    before = results.path.stat().st_mtime_ns
    assert results.refresh({"a": {"variant": "new_name", "path_step": 2}, "c": {}}) == 1
    assert results.path.stat().st_mtime_ns == before  # nothing changed, nothing rewritten


def _writer(folder: str, prefix: str, count: int) -> None:
    results = ResultsFile(Path(folder))
    for i in range(count):
        results.upsert([_row(f"{prefix}-{i}", worker=prefix)])


def test_concurrent_writer_processes_lose_no_row(tmp_path):
    procs = [CTX.Process(target=_writer, args=(str(tmp_path), f"w{n}", 25)) for n in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    ids = [r["cell_id"] for r in ResultsFile(tmp_path).read()]
    assert len(ids) == 100 and len(set(ids)) == 100


def _endless_writer(folder: str) -> None:
    results = ResultsFile(Path(folder))
    i = 0
    while True:
        results.upsert([_row(f"k-{i}", error="x" * 2000)])  # big rows make each swap take a while
        i += 1


def test_kill_during_writes_never_leaves_a_half_written_file(tmp_path):
    for attempt in range(3):
        proc = CTX.Process(target=_endless_writer, args=(str(tmp_path),))
        proc.start()
        time.sleep(0.4 + 0.2 * attempt)
        os.kill(proc.pid, signal.SIGKILL)
        proc.join()
        rows = ResultsFile(tmp_path).read()
        assert rows and all(r["status"] == "ok" and len(r["error"]) == 2000 for r in rows)
        ids = [r["cell_id"] for r in rows]
        assert len(ids) == len(set(ids))
    ResultsFile(tmp_path).upsert([_row("after")])  # the lock of a killed writer is not left held
    assert ResultsFile(tmp_path).by_id()["after"]["status"] == "ok"
