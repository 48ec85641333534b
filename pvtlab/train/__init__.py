"""Seeded training for accuracy cells: a resolved ``TrainJob`` (job.py) run by ``run_job`` or, from keywords,
``run_accuracy`` (run.py) on top of a plain loop (loop.py) with one ``Recipe`` of settings (recipe.py), several
processes (distributed.py, ranks.py) and resumable checkpoints (checkpoint.py, preemption.py)."""

from .checkpoint import CheckpointError
from .job import TrainJob, train_job
from .loop import TrainResult, train
from .evaluate import evaluate, topk_correct
from .recipe import PAPER, QUICK, RECIPES, Recipe, quick_recipe, resolve_recipe
from .run import run_accuracy, run_job

__all__ = ["PAPER", "QUICK", "RECIPES", "CheckpointError", "Recipe", "TrainJob", "TrainResult", "evaluate",
           "quick_recipe", "resolve_recipe", "run_accuracy", "run_job", "topk_correct", "train", "train_job"]
