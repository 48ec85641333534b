"""A rough cost per cell, for ``--dry-run`` and for dispatching the longest cells first.

seconds = fixed + per_gmac * GMACs (the closed-form count at the cell's resolution; times the batch for
throughput, which also spends its time budget; times the training images for accuracy). The coefficients
were fitted on a 2-core CPU with one thread per worker; treat the result as a guide to minutes versus hours,
not a promise (a loaded machine takes longer). Batch sizes, time budgets and training budgets are the cell's
resolved settings (cells.py), so the estimate runs on the values the measurement will use.
"""

from __future__ import annotations

from pvtlab.measure.analytic import analytic_count

from .cells import Cell

# group -> (fixed seconds, seconds per GMAC of one image at the cell's resolution), 1 CPU thread; fitted on
# cells.csv of the default grid run on 2 otherwise idle cores (memory's fixed part is its two fresh processes).
COEFFICIENTS: dict[str, tuple[float, float]] = {
    "params": (0.2, 0.0),
    "flops": (0.4, 0.05),
    "memory": (9.0, 0.36),
    "throughput": (4.5, 0.05),  # plus the time budget of its two step kinds; per image of the batch
    "accuracy": (3.0, 0.0),
}
ACCURACY_S_PER_IMAGE_GMAC = 0.20  # forward + backward + optimizer, per training image
TRAIN_IMAGES = {"cifar10": 50000, "cifar100": 50000}
UNKNOWN_TRAIN_IMAGES = 10000  # an image folder whose size the spec does not say


def gmacs(cell: Cell) -> float:
    return analytic_count(cell.pvt_config(), cell.resolution).macs / 1e9


def train_images(cell: Cell) -> int:
    """Images one accuracy cell trains on: steps x batch, or epochs x the training set."""
    settings = cell.settings
    if settings.get("steps"):
        return int(settings["steps"]) * int(settings["batch_size"])
    data = cell.data or {}
    if data.get("name") == "synthetic":
        from pvtlab.data import SYNTHETIC_DEFAULTS

        size = int(data.get("num_train", SYNTHETIC_DEFAULTS["num_train"]))
    else:
        size = TRAIN_IMAGES.get(str(data.get("name")), UNKNOWN_TRAIN_IMAGES)
    return size * int(settings["epochs"])


def seconds(cell: Cell, threads: int = 1) -> float:
    """Estimated wall seconds of one cell on ``threads`` CPU threads."""
    fixed, per_gmac = COEFFICIENTS[cell.group]
    work = gmacs(cell)
    if cell.group == "accuracy":
        variable = ACCURACY_S_PER_IMAGE_GMAC * work * train_images(cell)
    elif cell.group == "throughput":
        fixed += 2 * float(cell.settings["time_budget_s"])  # spent whatever the threads
        variable = per_gmac * work * int(cell.settings["batch_size"])
    else:
        variable = per_gmac * work
    return fixed + variable / max(1.0, threads ** 0.8)


def makespan(costs: list[float], workers: int) -> float:
    """Wall time of running ``costs`` longest-first on ``workers`` workers (greedy list scheduling)."""
    loads = [0.0] * max(1, workers)
    for cost in sorted(costs, reverse=True):
        loads[loads.index(min(loads))] += cost
    return max(loads)


def ordered(cells: tuple[Cell, ...] | list[Cell], threads: int) -> list[Cell]:
    """Dispatch order: timed cells first (each runs alone on its machine, so they are not left to queue behind
    a stream of others), then longest first, so the last minutes are not one long cell while the others idle."""
    return sorted(cells, key=lambda c: (not c.timed, -seconds(c, threads)))
