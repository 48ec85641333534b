"""What a worker passes to run_accuracy: checkpointing and recipe arguments only where the function takes them,
so the grid runs against run_accuracy before and after it gains those arguments."""

from __future__ import annotations

from pvtlab.grid.worker import _accepted


def _old(config, data, *, image_size, epochs=None, steps=None, seed=0, lr=2e-3):
    """run_accuracy as it was: no recipe, no data parallelism, no checkpoints."""


def _new(config, data, *, image_size, epochs=None, steps=None, seed=0, lr=2e-3, recipe="quick", nproc_per_node=1,
         checkpoint_path=None, checkpoint_every_s=600.0):
    """run_accuracy with the recipe, data-parallel and checkpoint arguments."""


GIVEN = {"epochs": 6, "steps": None, "lr": 2e-3, "recipe": "quick", "nproc_per_node": 1,
         "checkpoint_path": "results/x/checkpoints/abc.pt", "checkpoint_every_s": 30.0}


def test_a_function_with_the_arguments_gets_them_all():
    assert _accepted(_new, GIVEN) == GIVEN


def test_a_function_without_them_gets_only_what_changes_nothing_left_out():
    assert _accepted(_old, GIVEN) == {"epochs": 6, "steps": None, "lr": 2e-3}


def test_a_setting_the_function_cannot_honour_is_passed_so_the_cell_fails_visibly():
    assert _accepted(_old, {**GIVEN, "recipe": "paper"})["recipe"] == "paper"
