"""A cell: one job of a grid under the names a spec gives it, and its stable id.

The job (``pvtlab.measure.job``: a measure or paired-block job; ``pvtlab.train.job``: a training job) is built
once at grid expansion with every setting resolved; the cell's id is the hash of the job's identity (its
canonical JSON without how-it-runs fields such as ``timeout_s``), the worker runs the job as it is, and the row
records it once (``job_json``). Names (model, variant, task, aliases) are labels. Grid expansion (``cells.py``)
and paired timing blocks (``blocks.py``) both build cells, so the class lives below both.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any, Mapping

from pvtlab.measure.job import BlockJob, MeasureJob
from pvtlab.models import PVTConfig
from pvtlab.train.job import TrainJob

# Groups timed on the machine: they run alone on it, on all its cores (see hostlock.py). Memory is not one: its
# peak is the measuring process's own high-water mark, which other processes do not move.
TIMED_GROUPS = ("throughput",)
JOB_KINDS = {"measure": MeasureJob, "block": BlockJob, "train": TrainJob}

Job = MeasureJob | BlockJob | TrainJob


def job_from_dict(raw: Mapping[str, Any]) -> Job:
    """The job a ``to_dict()`` came from (cells travel through the queue as JSON)."""
    return JOB_KINDS[raw["kind"]].from_dict(raw)


@dataclass(frozen=True)
class Cell:
    """One job to run and the names it answers to; ``cell_id`` hashes the job's identity, the rest are labels."""

    cell_id: str
    group: str
    model: str
    variant: str
    base_model: str
    job: dict[str, Any]  # the job's to_dict()
    path_step: int | None
    in_factorial: bool
    aliases: tuple[str, ...] = ()
    arms: tuple[dict[str, Any], ...] | None = None  # a paired timing block's members (blocks.py), as cell dicts
    task: str = ""  # the accuracy task's name: a label like the variant's (its resolved job is identity)

    def to_json(self) -> str:
        return canonical_json(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Cell:
        raw = json.loads(text)
        raw["aliases"] = tuple(raw.get("aliases", ()))
        if raw.get("arms") is not None:
            raw["arms"] = tuple(raw["arms"])
        return cls(**raw)

    def built_job(self) -> Job:
        return job_from_dict(self.job)

    def arm_cells(self) -> tuple[Cell, ...]:
        """The members of a paired timing block, each with its own row id (empty for any other cell)."""
        return tuple(Cell.from_json(canonical_json(arm)) for arm in self.arms or ())

    @property
    def config(self) -> dict[str, Any]:
        """The model's config (a block's: its reference arm's)."""
        if self.job["kind"] == "block":
            return dict(self.job["arms"])[self.job["ref"]]
        return self.job["config"]

    def pvt_config(self) -> PVTConfig:
        return PVTConfig(**self.config)

    @property
    def resolution(self) -> int:
        return self.job["image_size"] if self.job["kind"] == "train" else self.job["resolution"]

    @property
    def seed(self) -> int | None:
        return self.job.get("seed")

    @property
    def data(self) -> dict[str, Any] | None:
        return self.job.get("data")

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


def cell_id_of(identity: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(identity).encode()).hexdigest()[:16]


def job_id(job: Job) -> str:
    """A job's cell id: the hash of its identity."""
    return cell_id_of(job.identity())
