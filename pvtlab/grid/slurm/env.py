"""Which SLURM job and node a cell ran on, from the variables SLURM sets in every job (empty outside SLURM)."""

from __future__ import annotations

import os


def slurm_job() -> str | None:
    """``ARRAYJOB_TASK`` for a task of a job array (what ``squeue`` and ``scancel`` take), else the job id."""
    array, task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    if array and task:
        return f"{array}_{task}"
    return os.environ.get("SLURM_JOB_ID") or None


def slurm_columns() -> dict[str, str | None]:
    """The row's ``slurm_job_id`` and ``slurm_node``; both None for a cell not run under SLURM."""
    job = slurm_job()
    return {"slurm_job_id": job, "slurm_node": (os.environ.get("SLURMD_NODENAME") or None) if job else None}
