"""SLURM for real: a single-node cluster and a PostgreSQL of their own (conftest.py), a grid on ``--slurm 2`` whose
job holding an accuracy cell is scancelled mid-cell; every cell must end ok exactly once, rows naming their job.

Also: what ``--slurm`` refuses (exit 2, one line, nothing written), ``--status`` on a real storage, and the warning
signal's handler in a real worker process (it checkpoints the accuracy cell and hands it back).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
import yaml

from pvtlab.grid.cells import expand
from pvtlab.grid.cli import main
from pvtlab.grid.queue import Queue
from pvtlab.grid.results import ResultsFile
from pvtlab.grid.spec import read_spec
from pvtlab.grid.storage import open_storage, parse_storage

ROOT = Path(__file__).resolve().parents[1]
ACCURACY = {"data": {"name": "synthetic", "num_train": 256, "num_val": 64}, "model": "pvt_nano",
            "image_size": 32, "steps": 60, "seeds": [0, 1], "checkpoint_every_s": 600,
            "options": {"batch_size": 16}}


def _spec(tmp_path: Path, name: str, **extra) -> Path:
    spec = tmp_path / f"{name}.yaml"
    spec.write_text(yaml.safe_dump({"name": name, "models": ["pvt_v2_b0"],
                                    "factorial": {"attention": ["sra", "linear_sra"]}, "measure": ["params", "flops"],
                                    "resolutions": [64], "accuracy": ACCURACY, **extra}))
    return spec


@contextmanager
def _reaped(proc: subprocess.Popen) -> Iterator[subprocess.Popen]:
    """Kill ``proc`` on the way out if it still runs (a failed assertion must not leave it behind)."""
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _cli(*args: str, env: dict[str, str] | None = None, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "run_ablation.py"), *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def _held_accuracy_cell(queue: Queue, timeout: float = 60) -> str:
    """The SLURM job (``ARRAY_TASK``) holding an accuracy cell that has run for a moment."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for trial in queue.trials():
            if (trial.state.name == "RUNNING" and trial.user_attrs.get("group") == "accuracy"
                    and "slurm_job" in trial.user_attrs):
                return trial.user_attrs["slurm_job"]
        time.sleep(0.2)
    raise AssertionError(f"no SLURM job held an accuracy cell within {timeout} s")


def test_slurm_grid_survives_a_scancelled_job_and_runs_each_cell_once(slurm_env, postgres_url, tmp_path):
    spec = _spec(tmp_path, "sl", accuracy={**ACCURACY, "seeds": [0]})
    ids = {cell.cell_id for cell in expand(read_spec(spec), "cpu").cells}
    env = {**slurm_env, "PYTHONPATH": str(ROOT)}
    grid = _cli("--grid", str(spec), "--storage", postgres_url, "--slurm", "2", "--slurm-time", "10",
                "--slurm-mem", "1G", "--threads", "1", "--grace-s", "4", "--results-dir", str(tmp_path / "results"),
                "--no-report", env=env)
    with _reaped(grid):
        where = parse_storage(postgres_url, tmp_path)
        deadline = time.monotonic() + 60
        while True:  # the study exists once the grid has enqueued its cells
            try:
                queue = Queue(open_storage(where), where, "sl", create=False)
                break
            except Exception:  # noqa: BLE001
                assert time.monotonic() < deadline and grid.poll() is None, grid.communicate()
                time.sleep(0.3)
        victim = _held_accuracy_cell(queue)
        subprocess.run(["scancel", victim], env=slurm_env, check=True)
        out, err = grid.communicate(timeout=240)
    assert grid.returncode in (0, 1), err
    complete = Counter(t.user_attrs["cell_id"] for t in queue.trials() if t.state.name == "COMPLETE")
    if grid.returncode == 1:  # both jobs ended early: the other one may have been scheduled after the scancel
        assert "every job of array" in err
    assert set(complete) == ids and set(complete.values()) == {1}, err  # every cell finished exactly once
    # SIGTERM hands the cell back (outcome "interrupted"); a worker too slow to do so within KillWait is killed,
    # and the heartbeat fails its trial (no outcome) and re-queues the cell: either way it ran again elsewhere
    lost = [t for t in queue.trials() if t.user_attrs.get("slurm_job") == victim and t.state.name == "FAIL"]
    assert lost and all(t.user_attrs.get("outcome") in ("interrupted", None) for t in lost)
    assert {t.user_attrs["cell_id"] for t in lost} <= set(complete)
    rows = ResultsFile(tmp_path / "results" / "sl").by_id()
    assert set(rows) == ids and all(row["status"] == "ok" for row in rows.values())
    assert all(re.fullmatch(r"\d+_[01]", row["slurm_job_id"]) and row["slurm_node"] for row in rows.values())
    assert re.search(r"submitted job array \d+: 2 worker\(s\), each with time=10, mem=1G", err)
    script = next((tmp_path / "results" / "sl" / "slurm").glob("*/*_submission.sh")).read_text()
    for line in ("--array=0-1%2", "--time=10", "--mem=1G", "--signal=USR1@90"):
        assert f"#SBATCH {line}\n" in script

    status = _cli("--status", str(spec), "--storage", postgres_url)
    out, _ = status.communicate(timeout=60)
    assert status.returncode == 0
    assert re.search(r"params\s+2\s+0\s+0\s+0", out) and re.search(r"accuracy\s+2\s+0\s+0\s+0", out), out


def test_status_names_running_and_failed_cells(postgres_url, tmp_path):
    spec = _spec(tmp_path, "st")
    cells = expand(read_spec(spec), "cpu").cells
    where = parse_storage(postgres_url, tmp_path)
    queue = Queue(open_storage(where), where, "st", create=True)
    queue.enqueue(cells, set(), "h")
    held, broken = queue.claim(), queue.claim()
    queue.finish(broken, {"status": "failed", "error": "RuntimeError: boom", "wall_s": 0.1})
    status = _cli("--status", str(spec), "--storage", postgres_url)
    out, err = status.communicate(timeout=60)
    assert status.returncode == 1, err  # cells are still running or waiting
    group = held.cell.group
    assert f"running: {held.cell.label} [{held.cell.cell_id}]  held by {queue.owner} for" in out
    assert f"failed: {broken.cell.label} [{broken.cell.cell_id}]: RuntimeError: boom" in out
    counts = {line.split()[0]: [int(v) for v in line.split()[1:]] for line in out.splitlines()[2:]
              if line.split() and line.split()[0] in ("params", "flops", "accuracy")}
    assert sum(v[2] for v in counts.values()) == 1 and counts[group][2] == 1  # one running
    assert sum(v[1] for v in counts.values()) == 1  # one failed
    assert sum(map(sum, counts.values())) == len(cells)


def test_status_of_a_grid_that_never_ran_is_one_line_and_writes_nothing(tmp_path, capsys):
    spec = _spec(tmp_path, "none")
    code = main(["--status", str(spec), "--results-dir", str(tmp_path / "results")])
    err = capsys.readouterr().err
    assert code == 2 and "--status: no grid queue at" in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("args, message", [
    (["--slurm", "2"], "--slurm needs --storage postgresql://"),  # the default journal file
    (["--slurm", "2", "--storage", "sqlite:///{tmp}/q.db"], "SQLite serializes claims with a lock file"),
    (["--slurm", "0", "--storage", "postgresql://u@h/db"], "--slurm=0 is not allowed"),
    (["--slurm", "2", "--workers", "2", "--storage", "postgresql://u@h/db"], "--workers is not allowed with --slurm"),
    (["--slurm-time", "5"], "--slurm-time is not allowed without --slurm N"),
    (["--slurm", "1", "--slurm-time", "0", "--storage", "postgresql://u@h/db"], "--slurm-time=0 is not allowed"),
    (["--slurm", "1", "--slurm-mem", "lots", "--storage", "postgresql://u@h/db"], "--slurm-mem='lots' is not allowed"),
])
def test_bad_slurm_input_is_one_line_and_exit_2(args, message, tmp_path, capsys):
    spec = _spec(tmp_path, "bad")
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in args]
    code = main(["--grid", str(spec), "--results-dir", str(tmp_path / "results"), *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "results").exists()


def test_slurm_without_sbatch_is_one_line_and_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # a machine that is not a SLURM login node
    code = main(["--grid", str(_spec(tmp_path, "nosb")), "--results-dir", str(tmp_path / "results"), "--slurm", "2",
                 "--storage", "postgresql://u@h/db"])
    err = capsys.readouterr().err
    assert code == 2 and "--slurm needs sbatch, which is not on PATH" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("block, message", [
    ({"time": "1h"}, "slurm.time='1h' is not allowed; give an integer >= 1 (minutes)"),
    ({"gpus_per_task": -1}, "slurm.gpus_per_task=-1 is not allowed"),
    ({"nodes": 2}, "slurm key 'nodes' is not allowed"),
])
def test_spec_slurm_block_is_checked(block, message, tmp_path):
    from pvtlab.errors import UserInputError

    with pytest.raises(UserInputError, match=re.escape(message)):
        read_spec(_spec(tmp_path, "blk", slurm=block))


def test_flags_win_over_the_spec_block_and_cuda_asks_a_gpu(tmp_path):
    from pvtlab.grid.slurm.options import resolve

    block = read_spec(_spec(tmp_path, "blk", slurm={"time": 30, "partition": "gpu", "mem": "8G"})).slurm
    chosen = resolve({"time": 90, "partition": None}, block, "cuda")
    assert chosen.given() == {"time": 90, "partition": "gpu", "mem": "8G", "gpus_per_task": 1}


def test_warning_signal_checkpoints_the_accuracy_cell_and_hands_it_back(postgres_url, tmp_path):
    """A real worker process (the SLURM job's entry point) gets SIGUSR1 mid-training."""
    spec = _spec(tmp_path, "sig", accuracy={**ACCURACY, "steps": 400, "seeds": [0]}, measure=["params"],
                 only={"params": ["sra"], "accuracy": ["sra"]})
    cells = expand(read_spec(spec), "cpu").cells
    where = parse_storage(postgres_url, tmp_path)
    queue = Queue(open_storage(where), where, "sig", create=True)
    queue.enqueue([c for c in cells if c.group == "accuracy"], set(), "h")
    results = tmp_path / "results" / "sig"
    code = ("import sys; from pvtlab.grid.slurm.job import JobArgs, run_job; "
            f"sys.exit(run_job(JobArgs({postgres_url!r}, 'sig', {str(results)!r}, 'cpu', 1, 30)))")
    worker = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with _reaped(worker):
        accuracy_id = next(c.cell_id for c in cells if c.group == "accuracy")
        checkpoint = results / "checkpoints" / f"{accuracy_id}.pt"
        deadline = time.monotonic() + 90
        while not checkpoint.exists():  # training is under way: it saved at its first epoch's end
            assert time.monotonic() < deadline and worker.poll() is None, worker.communicate()
            time.sleep(0.1)
        worker.send_signal(signal.SIGUSR1)
        out, err = worker.communicate(timeout=60)
    assert worker.returncode == 130, err
    stopped = re.search(r"interrupted \(checkpointed at step (\d+) of 400 and stopped on request\); the cell in "
                        r"flight went back to the queue", err)
    assert stopped, err
    state = torch.load(checkpoint, weights_only=True)
    assert state["steps"] == int(stopped.group(1))  # the checkpoint is the one taken on the signal
    states = [(t.state.name, t.user_attrs.get("outcome")) for t in queue.trials()]
    assert ("FAIL", "interrupted") in states and ("WAITING", None) in states  # handed back, waiting again


def _submitted(grid: subprocess.Popen) -> str:
    """Read the grid's stderr up to its "submitted job array N" line; returns N."""
    lines: list[str] = []
    while not (lines and lines[-1].startswith("submitted job array")):
        lines.append(grid.stderr.readline())
        assert lines[-1] or grid.poll() is None, "".join(lines)
    return lines[-1].split()[3].rstrip(":")


def _long_grid(tmp_path: Path, name: str, slurm_env: dict[str, str], postgres_url: str) -> subprocess.Popen:
    """A one-job grid whose accuracy cell trains far longer than the test waits."""
    spec = _spec(tmp_path, name, accuracy={**ACCURACY, "steps": 2000, "seeds": [0]}, measure=["params"],
                 only={"params": ["sra"], "accuracy": ["sra"]})
    return _cli("--grid", str(spec), "--storage", postgres_url, "--slurm", "1", "--threads", "1",
                "--results-dir", str(tmp_path / "results"), env={**slurm_env, "PYTHONPATH": str(ROOT)})


def test_when_every_job_ended_with_cells_left_it_says_so_and_exits_1(slurm_env, postgres_url, tmp_path):
    grid = _long_grid(tmp_path, "gone", slurm_env, postgres_url)
    with _reaped(grid):
        array = _submitted(grid)
        subprocess.run(["scancel", array], env=slurm_env, check=True)
        _, err = grid.communicate(timeout=60)
    assert grid.returncode == 1, err
    assert f"every job of array {array} has ended with cells left; re-run the same command" in err
    assert "not finished (re-run the same command to resume)" in err


def test_ctrl_c_leaves_the_jobs_running_and_says_how_to_follow_and_cancel(slurm_env, postgres_url, tmp_path):
    spec = tmp_path / "ci.yaml"
    grid = _long_grid(tmp_path, "ci", slurm_env, postgres_url)
    with _reaped(grid):
        array = _submitted(grid)
        grid.send_signal(signal.SIGINT)
        _, err = grid.communicate(timeout=60)
    assert grid.returncode == 130, err
    assert f"the SLURM jobs of array {array} keep running" in err and f"cancel: scancel {array}" in err
    assert f"--status {spec} --storage postgresql://postgres@127.0.0.1" in err
    alive = subprocess.run(["squeue", "-h", "-j", array, "-o", "%T"], env=slurm_env, capture_output=True, text=True)
    assert alive.stdout.split() and set(alive.stdout.split()) <= {"PENDING", "RUNNING", "CONFIGURING"}
    subprocess.run(["scancel", array], env=slurm_env, check=True)
