"""run_ablation.py end to end: real worker processes, real journal and SQLite files, kill -9, resume.

Cells are the cheapest real ones (pvt_v2_b0 parameter counts at small sizes); the failing cells are FLOP
counts given a 10 ms time limit, which the measurement's child process cannot meet.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from pvtlab.grid.cells import expand
from pvtlab.grid.plan import available_cpus
from pvtlab.grid.queue import Queue
from pvtlab.grid.results import ResultsFile
from pvtlab.grid.spec import read_spec
from pvtlab.grid.storage import open_storage, parse_storage

ROOT = Path(__file__).resolve().parents[1]


def write_spec(folder: Path, name: str = "cheap", **overrides) -> Path:
    raw = {"name": name, "models": ["pvt_v2_b0"],
           "factorial": {"patch_embed": ["non_overlap", "overlap"], "attention": ["sra", "linear_sra"]},
           "measure": ["params", "flops"], "resolutions": {"params": [64, 96], "flops": [64]},
           "measure_options": {"flops": {"timeout_s": 0.01}}}
    raw.update(overrides)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def run_cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "run_ablation.py"), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def grid_ids(spec: Path) -> set[str]:
    return {c.cell_id for c in expand(read_spec(spec), "cpu").cells}


def row_ids(spec: Path) -> set[str]:
    """The ids cells.csv holds: every cell's, a paired timing block's arms instead of the block."""
    return {arm.cell_id for c in expand(read_spec(spec), "cpu").cells for arm in (c.arm_cells() or (c,))}


def queue_of(results: Path, name: str, storage: str | None = None) -> Queue:
    where = parse_storage(storage, results / name)
    return Queue(open_storage(where), where, name, create=False)


def finished_trials_per_cell(queue: Queue) -> Counter:
    finished = [t for t in queue.trials() if t.user_attrs.get("outcome") in ("ok", "cell_failed")]
    return Counter(t.user_attrs["cell_id"] for t in finished)


# The queue itself is tested with 2 and 4 competing processes on both storages in test_grid_queue.py;
# end to end, each storage runs once, with 2 and with 4 workers.
@pytest.mark.parametrize("kind, workers", [("journal", 2), ("sqlite", 4)])
def test_every_cell_runs_exactly_once_and_failures_are_recorded(kind, workers, tmp_path):
    spec = write_spec(tmp_path)
    storage = ["--storage", f"sqlite:///{tmp_path / 'grid.db'}"] if kind == "sqlite" else []
    proc = run_cli("--grid", str(spec), "--results-dir", str(tmp_path / "results"), "--workers", str(workers),
                   "--no-report", *storage)
    assert proc.returncode == 0, proc.stderr
    rows = ResultsFile(tmp_path / "results" / "cheap").read()
    ids = [r["cell_id"] for r in rows]
    assert len(ids) == len(set(ids)) and set(ids) == grid_ids(spec) and len(ids) == 12
    ok = [r for r in rows if r["group"] == "params"]
    failed = [r for r in rows if r["group"] == "flops"]
    assert all(r["status"] == "ok" and float(r["params_m"]) > 0 and not r["error"] for r in ok)
    assert all(r["status"] == "failed" and "timed out" in r["error"] for r in failed)
    assert {r["workers"] for r in rows} == {str(workers)}
    assert {r["threads"] for r in rows} == {"1"}  # 2 cores split between the workers, at least 1 each
    queue = queue_of(tmp_path / "results", "cheap", storage[1] if storage else None)
    assert set(finished_trials_per_cell(queue).values()) == {1}
    assert "12 cells" in proc.stderr and "8 ok, 4 failed" in proc.stderr
    assert "ETA" in proc.stderr.split("grid: 0/12 cells")[1].splitlines()[0]  # a log, not a TTY, still has an ETA


def test_kill_9_a_worker_mid_cell_then_resume(tmp_path):
    slow = {"batch_size": 1, "time_budget_s": 3.0, "warmup": 0, "repeats": 100000}
    spec = write_spec(tmp_path, name="kill", measure=["params", "throughput"],
                      resolutions={"params": [64, 96], "throughput": [64]}, only={"throughput": ["non_overlap/sra"]},
                      measure_options={"throughput": slow})
    args = ["--grid", str(spec), "--results-dir", str(tmp_path / "results"), "--workers", "2", "--no-report"]
    main = subprocess.Popen([sys.executable, str(ROOT / "run_ablation.py"), *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        victim = _owner_of_running(tmp_path / "results", "kill", group="throughput")
        time.sleep(1.0)  # well inside the ~6 s cell
        rows_at_kill = ResultsFile(tmp_path / "results" / "kill").by_id()
        os.kill(victim, signal.SIGKILL)
        out, err = main.communicate(timeout=180)
    finally:
        if main.poll() is None:
            main.kill()
    assert main.returncode == 0, err
    assert f"(pid {victim}) exited with code -9" in err
    resumed = run_cli(*args)
    assert resumed.returncode == 0, resumed.stderr
    assert "0 to run" in resumed.stderr
    rows = {row["cell_id"]: row for row in ResultsFile(tmp_path / "results" / "kill").read()}
    assert set(rows) == row_ids(spec) and len(ResultsFile(tmp_path / "results" / "kill").read()) == len(rows)
    assert all(row["status"] == "ok" for row in rows.values())
    assert all(rows[cid] == row for cid, row in rows_at_kill.items())  # no row written before the kill changed
    queue = queue_of(tmp_path / "results", "kill")
    assert set(finished_trials_per_cell(queue).values()) == {1}
    dead = [t for t in queue.trials() if t.state.name == "FAIL" and "outcome" not in t.user_attrs]
    assert len(dead) == 1 and dead[0].user_attrs["worker"].endswith(f":{victim}")  # requeued by the parent
    timed = [row for row in rows.values() if row["group"] == "throughput"]
    assert len(timed) == 1 and not timed[0]["worker"].endswith(f":{victim}")
    assert timed[0]["timed_alone"] == "true" and timed[0]["concurrent_cells"] == "0"
    # Alone on the machine, a timed cell times on all of its cores; counted cells keep their worker's share.
    assert timed[0]["threads"] == str(available_cpus())
    assert {row["threads"] for row in rows.values() if row["group"] == "params"} == {str(max(1, available_cpus() // 2))}


def _owner_of_running(results: Path, name: str, group: str, timeout: float = 120) -> int:
    """The pid of the worker holding a running cell of ``group`` (from its trial in the storage)."""
    journal = results / name / "optuna.journal"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if journal.exists():
            try:
                queue = queue_of(results, name)
            except Exception:  # noqa: BLE001  (the study is being created right now)
                queue = None
            for trial in queue.trials() if queue else []:
                cell = trial.user_attrs.get("cell", "")
                if trial.state.name == "RUNNING" and f'"group":"{group}"' in cell and "worker" in trial.user_attrs:
                    return int(trial.user_attrs["worker"].rsplit(":", 1)[1])
        time.sleep(0.2)
    raise AssertionError(f"no {group} cell started within {timeout} s")


def test_resume_skips_failures_until_retry_failed_and_a_changed_spec_marks_old_rows(tmp_path):
    results = tmp_path / "results"
    first = write_spec(tmp_path, name="grow", resolutions={"params": [64], "flops": [64]},
                       factorial={"attention": ["sra", "linear_sra"]})
    args = ["--grid", str(first), "--results-dir", str(results), "--no-report"]
    assert run_cli(*args).returncode == 0
    csv_path = results / "grow" / "cells.csv"
    before = csv_path.read_bytes()
    last_run = json.loads((results / "grow" / "grid.json").read_text())["last_run"]
    plain = run_cli(*args)  # resume: nothing left, the failed FLOP cells are not retried
    assert plain.returncode == 0 and "0 to run" in plain.stderr and csv_path.read_bytes() == before
    assert json.loads((results / "grow" / "grid.json").read_text())["last_run"] == last_run  # the real run's time
    retried = run_cli(*args, "--retry-failed")
    assert retried.returncode == 0 and "2 to run" in retried.stderr
    rows = ResultsFile(results / "grow").by_id()
    assert [r["status"] for r in rows.values()].count("failed") == 2
    assert csv_path.read_bytes() != before  # the failed cells ran again: new times

    old_ids = grid_ids(first)
    changed = write_spec(tmp_path, name="grow", measure=["params"], resolutions=[64, 96], measure_options={},
                         factorial={"attention": ["sra", "linear_sra"]})
    proc = run_cli("--grid", str(changed), "--results-dir", str(results), "--no-report")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("changed since its last run") == 1 and "2 row(s) of the older spec" in proc.stderr
    assert "4 cells, 2 already finished, 2 to run" in proc.stderr  # the 64 px params cells are the same cells
    rows = ResultsFile(results / "grow").by_id()
    new_ids = grid_ids(changed)
    assert set(rows) == old_ids | new_ids
    assert all(rows[cid]["stale_spec"] == ("false" if cid in new_ids else "true") for cid in rows)
    again = run_cli("--grid", str(changed), "--results-dir", str(results), "--no-report")
    assert again.returncode == 0 and "changed since" not in again.stderr and "0 to run" in again.stderr


def test_ctrl_c_stops_cleanly_and_says_how_to_resume(tmp_path):
    slow = {"batch_size": 1, "time_budget_s": 2.0, "warmup": 0, "repeats": 100000}
    spec = write_spec(tmp_path, name="stop", measure=["throughput"], resolutions=[64],
                      only={"throughput": ["non_overlap/sra"]}, measure_options={"throughput": slow})
    args = ["--grid", str(spec), "--results-dir", str(tmp_path / "results"), "--workers", "2", "--no-report"]
    main = subprocess.Popen([sys.executable, str(ROOT / "run_ablation.py"), *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        worker = _owner_of_running(tmp_path / "results", "stop", group="throughput")
        main.send_signal(signal.SIGINT)
        out, err = main.communicate(timeout=60)
    finally:
        if main.poll() is None:
            main.kill()
    assert main.returncode == 130
    assert f"Resume with: python run_ablation.py {' '.join(args)}" in err and "Traceback" not in err
    # nothing had finished: no cells.csv exists, and none is named
    assert "0 of 1 cells finished." in err and "cells.csv" not in err
    assert not (tmp_path / "results" / "stop" / "cells.csv").exists()
    with pytest.raises(ProcessLookupError):
        os.kill(worker, 0)  # the workers stopped with the main process
    queue = queue_of(tmp_path / "results", "stop")
    assert "interrupted" in {t.user_attrs.get("outcome") for t in queue.trials()}
    assert not [t for t in queue.trials() if t.state.name == "RUNNING"]
    assert set(queue.states().values()) == {"waiting"}  # back in the queue at once
    resumed = run_cli(*[a for a in args if a not in ("--workers", "2")])
    assert resumed.returncode == 0, resumed.stderr
    rows = ResultsFile(tmp_path / "results" / "stop").read()
    assert sorted(r["cell_id"] for r in rows) == sorted(row_ids(spec))
    assert all(r["status"] == "ok" for r in rows)
