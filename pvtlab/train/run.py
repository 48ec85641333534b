"""Running a training job: ``run_accuracy`` (from Python, by keywords) and ``run_job`` (a resolved job, as a grid
worker runs it), in this process or as data-parallel processes (ranks.py)."""

from __future__ import annotations

import os
from typing import Any, Mapping

from ..models.config import PVTConfig
from .accuracy import fit
from .checkpoint import remove_checkpoint
from .job import TrainJob, train_job
from .ranks import run_in_processes


def run_accuracy(config: PVTConfig, data: Mapping[str, Any], *, image_size: int, seed: int = 0,
                 threads: int | None = None, progress: bool = True, checkpoint_path: str | os.PathLike | None = None,
                 device: str = "cpu", **options: Any) -> dict[str, Any]:
    """Train ``config`` from scratch on ``data`` at ``image_size`` px and score it: ``run_job(train_job(...))``.

    Args:
        config: the architecture; ``num_classes`` comes from the data and ``img_size`` is set to
            ``image_size`` (position tables, if any, are learned at the training grid, as PVTv1 does).
        data: a data spec (see ``pvtlab.data``).
        seed: seeds the model init, the data order, the augmentations, drop-path and (synthetic) the images.
        threads: torch intra-op threads for this run (restored afterwards; split among the processes);
            None leaves them alone. ``progress``: a tqdm bar.
        checkpoint_path: where the training state is saved every ``checkpoint_every_s`` seconds and at each
            epoch's end; an existing file there is resumed from; it is deleted when the row is returned.
        options: ``pvtlab.train.job.train_job``'s keywords (defaults in ``pvtlab.defaults`` and the recipe):
            ``epochs`` / ``steps`` (the budget, one of them; neither: the recipe's), ``batch_size`` (per process),
            ``lr`` (for ``lr_batch`` images, scaled linearly to the global batch), ``warmup`` (in the recipe's
            ``warmup_unit``: quick, a fraction of all steps; paper, epochs), ``label_smoothing``, ``clip_grad``
            (0: off), ``drop_path`` (None: the size rule or the config's), ``recipe`` (``quick`` or ``paper``),
            ``recipe_options`` (any other recipe field, e.g. ``{ema: true, mixup: 0.0}``), ``amp_dtype``
            (``auto``: bfloat16 on CUDA, float32 on CPU), ``channels_last``, ``compile``, ``num_workers``,
            ``nproc_per_node`` (data-parallel processes on this machine; rank 0's row comes back),
            ``checkpoint_every_s`` and ``eval_sizes`` (test sizes scored on the same validation images resized;
            None: ``resolution.default_eval_sizes``).

    Returns:
        ``top1_acc``, ``top5_acc`` (percent), ``val_loss`` (cross-entropy without smoothing), with EMA on also
        ``ema_top1_acc`` / ``ema_top5_acc``; ``top1_by_res`` (and ``ema_top1_by_res``, None without EMA): JSON
        ``{"<px>": top-1 %}`` at every test size; ``train_time_s`` (the optimization loop only), ``images_seen``,
        ``epochs_done`` (fractional for a step budget), ``loss_curve`` (training loss of rank 0, at most
        100 bucket means), ``val_curve`` (``[images_seen, top1 %]`` at ``CURVE_POINTS`` even steps: the
        intermediate points score the first ``CURVE_SUBSET`` val images, the last is ``top1_acc`` on the full
        split), ``recipe`` (its name), ``train_transform``, ``job_json`` (the resolved job: every value the run
        used), ``resumed_from_step`` and ``status`` "ok". Same seed, threads and torch build on CPU give
        identical values except ``train_time_s``, resumed or not.
    """
    job = train_job(config, data, image_size=image_size, seed=seed, device=device, **options)
    return run_job(job, threads=threads, progress=progress, checkpoint_path=checkpoint_path)


def run_job(job: TrainJob, *, threads: int | None = None, progress: bool = False,
            checkpoint_path: str | os.PathLike | None = None) -> dict[str, Any]:
    """The row of ``job``, trained by ``job.recipe.nproc`` processes; its checkpoint is removed once done."""
    nproc = job.recipe.nproc
    if nproc == 1:
        row = fit(job, threads=threads, progress=progress, checkpoint_path=checkpoint_path).row
    else:
        row = run_in_processes(job, threads=max(1, threads // nproc) if threads is not None else None,
                               checkpoint_path=checkpoint_path)
    remove_checkpoint(checkpoint_path)
    return row


