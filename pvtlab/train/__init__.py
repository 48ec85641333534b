"""Seeded training for accuracy cells: ``run_accuracy`` (one cell) on top of a plain loop (loop.py), with the
quick or the papers' recipe (recipe.py), several processes (distributed.py) and resumable checkpoints
(checkpoint.py, preemption.py)."""

from .accuracy import DEFAULT_EPOCHS, run_accuracy
from .checkpoint import CheckpointError
from .loop import TrainResult, TrainSettings, train
from .metrics import evaluate, topk_correct
from .recipe import PAPER, QUICK, RECIPES, Recipe, resolve_recipe
from .schedule import lr_factor

__all__ = ["DEFAULT_EPOCHS", "PAPER", "QUICK", "RECIPES", "CheckpointError", "Recipe", "TrainResult", "TrainSettings",
           "evaluate", "lr_factor", "resolve_recipe", "run_accuracy", "topk_correct", "train"]
