"""pvtlab.grid: YAML grid specs -> cells with stable ids -> exactly-once runs through Optuna storage.

spec.py reads and checks a spec; variants.py and cells.py expand it into cells; dispatch.py keeps the
queue (and leases) in an Optuna study; worker.py runs cells; results.py writes cells.csv; runner.py and
cli.py are the ``run_ablation.py`` front door.
"""

from .cells import Cell, Grid, expand
from .spec import Spec, parse_spec, read_spec

__all__ = ["Cell", "Grid", "Spec", "expand", "parse_spec", "read_spec"]
