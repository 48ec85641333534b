"""Transitional: the column schema moved to ``pvtlab.columns`` (one schema for measure, grid and report)."""

from pvtlab.columns import *  # noqa: F401,F403
from pvtlab.columns import COLUMNS, GROUPS, PATH_LABELS, REQUIRED, TOGGLES, Column, unit  # noqa: F401
