"""PostgreSQL for real: a throwaway cluster, two runners as two machines sharing it, one killed with -9 mid-cell.

The cluster is the machine's own PostgreSQL (``initdb``, ``pg_ctl``) in a temp folder on a free localhost port,
stopped at the end (conftest.py's ``postgres_url``). The test skips only where no PostgreSQL binaries exist (or the
postgres extra is not installed). Each runner has its own results folder, as two machines would; both enqueue the same grid at once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import yaml

from pvtlab.grid.cells import expand
from pvtlab.grid.queue import Queue
from pvtlab.grid.results import ResultsFile
from pvtlab.grid.spec import read_spec
from pvtlab.grid.storage import open_storage, parse_storage

ROOT = Path(__file__).resolve().parents[1]


def _running_timed_worker(where, name: str, timeout: float = 120) -> int:
    """The pid of the process running the grid's throughput cell, from its trial in PostgreSQL."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            queue = Queue(open_storage(where), where, name, create=False)
        except Exception:  # noqa: BLE001  (the study is being created right now)
            queue = None
        for trial in queue.trials() if queue else []:
            if (trial.state.name == "RUNNING" and '"group":"throughput"' in trial.user_attrs.get("cell", "")
                    and "worker" in trial.user_attrs):
                return int(trial.user_attrs["worker"].rsplit(":", 1)[1])
        time.sleep(0.2)
    raise AssertionError(f"no throughput cell started within {timeout} s")


def test_two_machines_share_postgresql_and_a_killed_ones_cell_runs_once(postgres_url, tmp_path):
    slow = {"batch_size": 1, "time_budget_s": 2.0, "warmup": 0, "repeats": 100000}
    spec = tmp_path / "pg.yaml"
    spec.write_text(yaml.safe_dump({
        "name": "pg", "models": ["pvt_v2_b0"], "factorial": {"attention": ["sra", "linear_sra"]},
        "measure": ["params", "flops", "throughput"], "resolutions": {"params": [64, 96], "flops": [64],
                                                                      "throughput": [64]},
        "only": {"throughput": ["sra"]}, "measure_options": {"throughput": slow}}))
    cells = expand(read_spec(spec), "cpu").cells
    ids = {c.cell_id for c in cells}
    arm_ids = {arm.cell_id for c in cells for arm in c.arm_cells()}  # a timing block writes a row per arm

    def machine(name: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, str(ROOT / "run_ablation.py"), "--grid", str(spec), "--storage",
                                 postgres_url, "--results-dir", str(tmp_path / name), "--workers", "1",
                                 "--threads", "1", "--grace-s", "2", "--no-report"],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    machines = {"a": machine("a"), "b": machine("b")}
    try:
        where = parse_storage(postgres_url, tmp_path)
        victim = _running_timed_worker(where, "pg")
        time.sleep(0.5)  # inside the ~4 s cell
        os.kill(victim, signal.SIGKILL)
        survivors = {name: proc for name, proc in machines.items() if proc.pid != victim}
        assert len(survivors) == 1
        (name, survivor), = survivors.items()
        out, err = survivor.communicate(timeout=240)
    finally:
        for proc in machines.values():
            if proc.poll() is None:
                proc.kill()
    assert survivor.returncode == 0, err
    queue = Queue(open_storage(where), where, "pg", create=False)
    complete = Counter(t.user_attrs["cell_id"] for t in queue.trials() if t.state.name == "COMPLETE")
    assert set(complete) == ids and set(complete.values()) == {1}  # every cell finished exactly once
    dead = [t for t in queue.trials() if t.state.name == "FAIL" and "outcome" not in t.user_attrs]
    assert len(dead) == 1 and dead[0].user_attrs["worker"].endswith(f":{victim}")  # failed by the heartbeat
    rows = ResultsFile(tmp_path / name / "pg").by_id()
    assert set(rows) == ids | arm_ids and all(row["status"] == "ok" for row in rows.values())
    assert "secret" not in err and "storage: postgresql://postgres@127.0.0.1" in err
