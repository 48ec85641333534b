"""A cell: one measurement of a grid, and its stable id.

The id is a hash of what is measured: the resolved config, group, resolution, seed, resolved settings and data
spec; names (model, variant, task, aliases) are labels. Grid expansion (``cells.py``) and paired timing blocks
(``blocks.py``) both build cells, so the class lives below both.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from pvtlab.models import PVTConfig

# Groups timed on the machine: they run alone on it, on all its cores (see hostlock.py). Memory is not one: its
# peak is the measuring process's own high-water mark, which other processes do not move.
TIMED_GROUPS = ("throughput",)

# Identity-only key of an accuracy cell's settings: the training values run_accuracy resolves (not passed).
RESOLVED_RECIPE = "resolved_recipe"


@dataclass(frozen=True)
class Cell:
    """One measurement to run; ``identity()`` is what the id hashes, the rest are labels."""

    cell_id: str
    group: str
    model: str
    variant: str
    base_model: str
    config: dict[str, Any]
    resolution: int
    seed: int | None
    settings: dict[str, Any]  # resolved: what the id hashes
    data: dict[str, Any] | None
    path_step: int | None
    in_factorial: bool
    aliases: tuple[str, ...] = ()
    passed: dict[str, Any] | None = None  # arguments that reach the function but not the id (timeout_s, ...)
    arms: tuple[dict[str, Any], ...] | None = None  # a paired timing block's members (blocks.py), as cell dicts
    task: str = ""  # the accuracy task's name: a label like the variant's (its resolved settings are identity)

    def identity(self) -> dict[str, Any]:
        return cell_identity(self.config, self.group, self.resolution, self.seed, self.settings, self.data)

    def to_json(self) -> str:
        return canonical_json(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Cell:
        raw = json.loads(text)
        raw["aliases"] = tuple(raw.get("aliases", ()))
        if raw.get("arms") is not None:
            raw["arms"] = tuple(raw["arms"])
        return cls(**raw)

    def arm_cells(self) -> tuple[Cell, ...]:
        """The members of a paired timing block, each with its own row id (empty for any other cell)."""
        return tuple(Cell.from_json(canonical_json(arm)) for arm in self.arms or ())

    def pvt_config(self) -> PVTConfig:
        return PVTConfig(**self.config)

    @property
    def timed(self) -> bool:
        """Timed on this machine, so it runs alone on it."""
        return self.group in TIMED_GROUPS

    @property
    def label(self) -> str:
        seed = f" seed {self.seed}" if self.seed is not None else ""
        task = f" [{self.task}]" if self.task else ""
        return f"{self.group}{task} {self.model}:{self.variant} @{self.resolution}px{seed}"


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def cell_identity(config: dict[str, Any], group: str, resolution: int, seed: int | None,
                  settings: dict[str, Any], data: dict[str, Any] | None) -> dict[str, Any]:
    return {"config": config, "group": group, "resolution": resolution, "seed": seed,
            "settings": _identity_settings(settings), "data": data}


def _identity_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """An accuracy cell's recipe arguments (None = "the recipe's value") count through the resolved recipe only,
    so ``lr: <the recipe's lr>`` spelled out and left out give one id."""
    if RESOLVED_RECIPE not in settings:
        return settings
    from pvtlab.train.recipe import ARGUMENTS

    return {k: v for k, v in settings.items() if k not in (*ARGUMENTS, "recipe_options")}


def cell_id_of(identity: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(identity).encode()).hexdigest()[:16]
