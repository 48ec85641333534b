"""pvtlab.grid: YAML grid specs -> cells with stable ids -> exactly-once runs through Optuna storage.

spec.py reads and checks a spec; variants.py and cells.py expand it into cells with ids over resolved
settings; estimate.py prices them (and prints --dry-run); storage.py opens the Optuna storage and queue.py
keeps the queue and the results in it (Optuna's ask/tell and heartbeat); hostlock.py lets timed cells run
alone on a machine; worker.py runs cells from the queue; local.py starts and supervises a run's worker
processes; results.py keeps cells.csv in step with the storage; plan.py, run.py, progress.py and cli.py are
the ``run_ablation.py`` front door.
"""

from .cell import Cell
from .cells import Grid, expand
from .spec import Spec, parse_spec, read_spec

__all__ = ["Cell", "Grid", "Spec", "expand", "parse_spec", "read_spec"]
