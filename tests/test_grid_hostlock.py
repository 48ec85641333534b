"""Timed cells run alone on their machine: they wait for cells in flight and keep new ones off while timing."""

from __future__ import annotations

import multiprocessing as mp
import time
from pathlib import Path

from pvtlab.grid.hostlock import cell_slot

CTX = mp.get_context("fork")


def _note(log: str, line: str) -> None:
    with open(log, "a") as handle:
        handle.write(line)


def _untimed(study: str, log: str, hold_s: float, started: mp.Event) -> None:
    with cell_slot(study, timed=False):
        _note(log, "untimed-start\n")
        started.set()
        time.sleep(hold_s)
        _note(log, "untimed-end\n")


def _timed(study: str, log: str, entered: mp.Event, release: mp.Event) -> None:
    with cell_slot(study, timed=True) as seen:
        _note(log, "timed-start\n")
        entered.set()
        release.wait(30)
        _note(log, f"timed-end {seen.concurrent_cells}\n")
    _note(log, f"alone {seen.timed_alone} {seen.concurrent_cells}\n")


def test_a_timed_cell_waits_for_the_cell_in_flight_and_is_alone(tmp_path):
    study, log = f"t-{tmp_path.name}", str(tmp_path / "log")
    started = CTX.Event()
    other = CTX.Process(target=_untimed, args=(study, log, 1.0, started))
    other.start()
    assert started.wait(30)
    entered, release = CTX.Event(), CTX.Event()
    timed = CTX.Process(target=_timed, args=(study, log, entered, release))
    timed.start()
    assert entered.wait(60)
    release.set()
    for proc in (other, timed):
        proc.join(60)
        assert proc.exitcode == 0
    lines = Path(log).read_text().split("\n")
    assert lines[:4] == ["untimed-start", "untimed-end", "timed-start", "timed-end 0"]
    assert lines[4] == "alone True 0"


def test_an_untimed_cell_waits_while_a_timed_cell_times(tmp_path):
    study, log = f"t-{tmp_path.name}", str(tmp_path / "log")
    entered, release = CTX.Event(), CTX.Event()
    timed = CTX.Process(target=_timed, args=(study, log, entered, release))
    timed.start()
    assert entered.wait(60)
    started = CTX.Event()
    other = CTX.Process(target=_untimed, args=(study, log, 0.0, started))
    other.start()
    assert not started.wait(0.5)  # held off while the timed cell holds the machine
    release.set()
    for proc in (timed, other):
        proc.join(60)
        assert proc.exitcode == 0
    lines = Path(log).read_text().split("\n")
    assert lines.index("untimed-start") > lines.index("timed-end 0")
