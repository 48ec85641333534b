"""Short, seeded training for accuracy cells: ``run_accuracy`` (one cell) on top of a plain loop (loop.py)."""

from .accuracy import DEFAULT_EPOCHS, run_accuracy
from .loop import TrainResult, TrainSettings, train
from .metrics import evaluate, topk_correct
from .schedule import lr_factor

__all__ = ["DEFAULT_EPOCHS", "TrainResult", "TrainSettings", "evaluate", "lr_factor", "run_accuracy", "topk_correct",
           "train"]
