"""Measurements in another process: forks of a warm zygote (or a fresh interpreter) that report values, errors,
deaths and timeouts, and never run the caller's script again."""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pvtlab.measure.child import ChildError, ChildTimeout, run_in_child

REPO = Path(__file__).resolve().parents[1]


def pid_and_parent() -> tuple[int, int]:
    return os.getpid(), os.getppid()


def fail() -> None:
    raise KeyError("no such thing")


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def sleep(seconds: float) -> None:
    import time

    time.sleep(seconds)


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_value_error_and_death_come_back(start):
    pid, parent = run_in_child(pid_and_parent, {}, start=start)
    assert pid != os.getpid()
    assert (parent != os.getpid()) == (start == "fork")  # a fork's parent is the zygote, not this process
    with pytest.raises(ChildError, match="KeyError: 'no such thing'") as err:
        run_in_child(fail, {}, start=start)
    assert not err.value.oom
    with pytest.raises(ChildError, match="killed by SIGKILL") as err:
        run_in_child(die, {}, start=start)
    assert err.value.oom  # what the kernel's OOM killer leaves behind


def test_forks_come_from_one_zygote_and_time_out():
    first, second = run_in_child(pid_and_parent, {}), run_in_child(pid_and_parent, {})
    assert first[1] == second[1] and first[0] != second[0]
    with pytest.raises(ChildTimeout, match="timed out after 0.2 s"):
        run_in_child(sleep, {"seconds": 30}, timeout_s=0.2)
    assert run_in_child(pid_and_parent, {})[1] == first[1]  # the zygote survives a killed job


def test_a_script_without_a_main_guard_runs_once(tmp_path):
    script = tmp_path / "unguarded.py"
    script.write_text(textwrap.dedent("""
        import pvtlab
        from pvtlab.measure import measure
        print("script body ran", flush=True)
        row = measure("memory", pvtlab.get_config("pvt_nano"), 64, batch_size=1, threads=1)
        print("status", row["status"], row["error"], flush=True)
    """))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=600)
    assert out.stdout.count("script body ran") == 1, out.stdout + out.stderr[-2000:]
    assert "status ok" in out.stdout, out.stdout + out.stderr[-2000:]
