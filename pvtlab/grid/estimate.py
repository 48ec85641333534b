"""A rough cost per cell, for ``--dry-run`` and for dispatching the longest cells first.

seconds = fixed + per_gmac * GMACs (the closed-form count at the cell's resolution; times the batch for
throughput, which also spends its time budget; times the training images for accuracy). The coefficients
were fitted on a 2-core CPU with one thread per worker; treat the result as a guide to minutes versus hours,
not a promise (a loaded machine takes longer). Longest-first dispatch keeps every worker busy to the end.
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
DEFAULT_TIME_BUDGET_S = 5.0  # pvtlab.measure.measure's default, per step kind
TRAIN_IMAGES = {"cifar10": 50000, "cifar100": 50000}
UNKNOWN_TRAIN_IMAGES = 10000  # an image folder whose size the spec does not say


def gmacs(cell: Cell) -> float:
    return analytic_count(cell.pvt_config(), cell.resolution).macs / 1e9


def train_images(cell: Cell) -> int:
    """Images one accuracy cell trains on: steps x batch, or epochs x the training set."""
    settings = cell.settings
    if settings.get("steps"):
        return int(settings["steps"]) * int(settings.get("batch_size", 64))
    data = cell.data or {}
    if data.get("name") == "synthetic":
        from pvtlab.data import SYNTHETIC_DEFAULTS

        size = int(data.get("num_train", SYNTHETIC_DEFAULTS["num_train"]))
    else:
        size = TRAIN_IMAGES.get(str(data.get("name")), UNKNOWN_TRAIN_IMAGES)
    return size * int(settings.get("epochs") or 1)


def seconds(cell: Cell, threads: int = 1) -> float:
    """Estimated wall seconds of one cell on ``threads`` CPU threads."""
    fixed, per_gmac = COEFFICIENTS[cell.group]
    work = gmacs(cell)
    if cell.group == "accuracy":
        variable = ACCURACY_S_PER_IMAGE_GMAC * work * train_images(cell)
    elif cell.group == "throughput":
        fixed += 2 * float(cell.settings.get("time_budget_s", DEFAULT_TIME_BUDGET_S))  # spent whatever the threads
        variable = per_gmac * work * int(cell.settings.get("batch_size", 8))
    else:
        variable = per_gmac * work
    return fixed + variable / max(1.0, threads ** 0.8)


def makespan(costs: list[float], workers: int) -> float:
    """Wall time of running ``costs`` longest-first on ``workers`` workers (greedy list scheduling)."""
    loads = [0.0] * max(1, workers)
    for cost in sorted(costs, reverse=True):
        loads[loads.index(min(loads))] += cost
    return max(loads)
