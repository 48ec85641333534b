"""``--status SPEC``: where a running (or finished) grid stands, read from its storage alone, from any machine.

Per group: done / failed / running / waiting; each running cell with the worker (host:pid) and SLURM job that
hold it and for how long; each failed cell with its error. Nothing is planned or written: only the spec's name is
read, so a machine without the grid's data (a laptop) can ask.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import TextIO

from optuna.trial import FrozenTrial

from pvtlab.columns import GROUPS
from pvtlab.errors import UserInputError

from .cell import Cell
from .progress import duration
from .queue import DONE, FAILED_STATE, RUNNING, WAITING, Queue, deciding_trials, state_of
from .spec import read_spec
from .storage import open_storage, parse_storage, retrying

STATES = (DONE, FAILED_STATE, RUNNING, WAITING)


def status(spec_path: Path, storage_url: str | None, results_root: Path, out: TextIO) -> int:
    """Print the grid's state; 0 when it is finished, 1 while cells are running or waiting."""
    name = read_spec(spec_path).name
    where = parse_storage(storage_url, results_root / name)
    if where.kind == "journal" and not Path(where.target).exists():
        raise UserInputError(f"--status: no grid queue at {where.target}; give the --storage the grid runs on")
    queue = retrying(lambda: Queue(open_storage(where), where, name, create=False))
    decided = deciding_trials(retrying(queue.trials))
    by_group: dict[str, Counter] = {}
    running, failed = [], []
    for trial in decided.values():
        state = state_of(trial)
        group = trial.user_attrs.get("group") or Cell.from_json(trial.user_attrs["cell"]).group
        by_group.setdefault(group, Counter())[state] += 1
        running += [trial] if state == RUNNING else []
        failed += [trial] if state == FAILED_STATE else []
    print(f"grid '{name}' in {where.description}: {len(decided)} cells", file=out)
    print(f"{'group':<12}" + "".join(f"{state:>9}" for state in STATES), file=out)
    order = sorted(by_group, key=lambda g: GROUPS.index(g) if g in GROUPS else len(GROUPS))
    for group in order:
        print(f"{group:<12}" + "".join(f"{by_group[group][state]:>9}" for state in STATES), file=out)
    now = dt.datetime.now()
    for trial in sorted(running, key=lambda t: t.number):
        print(f"running: {_label(trial)}  held by {_holder(trial)} for {_age(trial, now)}", file=out)
    for trial in sorted(failed, key=lambda t: t.number):
        error = (trial.user_attrs.get("row") or {}).get("error") or "no error recorded"
        print(f"failed: {_label(trial)}: {error}", file=out)
    unfinished = sum(counter[RUNNING] + counter[WAITING] for counter in by_group.values())
    return 1 if unfinished else 0


def _label(trial: FrozenTrial) -> str:
    return Cell.from_json(trial.user_attrs["cell"]).label + f" [{trial.user_attrs['cell_id']}]"


def _holder(trial: FrozenTrial) -> str:
    worker = trial.user_attrs.get("worker", "a worker that has not signed in yet")
    job = trial.user_attrs.get("slurm_job")
    return f"{worker} (SLURM job {job})" if job else worker


def _age(trial: FrozenTrial, now: dt.datetime) -> str:
    """Since the claim, by Optuna's start stamp (the claiming machine's local clock)."""
    start = trial.datetime_start
    return duration((now - start).total_seconds()) if start is not None else "?"
