"""``--slurm N``: submit N grid workers as one SLURM job array (submitit) and follow the grid until it is done.

This process only watches: it shows the usual progress from the storage, fails cells whose heartbeat went stale
(so they run again even if no worker is claiming right then), and stops when no cell is left. Ctrl-C leaves the
jobs running and says how to follow and cancel them. When every job of the array has ended with cells left
(time limits, ``scancel``), it says so and exits 1; re-running the command submits fresh workers for what is left.
Job states come from ``squeue`` (pending or running), never from ``sacct``, which clusters without accounting
lack.
"""

from __future__ import annotations

import shlex
import subprocess
import time
from typing import TextIO

from pvtlab.errors import UserInputError

from ..plan import Options, Plan
from ..progress import Counts, Progress, counts
from ..queue import Queue
from ..results import ResultsFile
from ..storage import retrying
from ..worker import EXIT_INTERRUPTED
from .job import WARNING_S, WARNING_SIGNAL, JobArgs, run_job
from .options import SlurmOptions

ALIVE = {"PENDING", "CONFIGURING", "RUNNING", "SUSPENDED", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESIZING"}
SUBMIT_DIR = "slurm"  # under results/<name>/: submitit's scripts and each job's log
JOBS_CHECK_S = 5.0


def submit(the_plan: Plan, opts: Options, resources: SlurmOptions) -> str:
    """Submit ``opts.slurm`` workers as one job array; returns the array's job id."""
    import submitit  # plan.py checked it is installed
    folder = the_plan.results_dir.resolve() / SUBMIT_DIR
    executor = submitit.SlurmExecutor(folder=folder / "%j")
    # time=None: no --time, the partition's default limit (submitit's own default would be 5 minutes). The warning
    # signal is ours (job.py handles it), whatever SUBMITIT_PREEMPT_SIGNAL says.
    executor.update_parameters(job_name=f"pvtlab-{the_plan.grid.spec.name}", array_parallelism=opts.slurm,
                               additional_parameters={"signal": f"{WARNING_SIGNAL}@{warning_s(resources)}"},
                               **{"time": None, **resources.given()})
    args = JobArgs(storage=the_plan.storage.target, study=the_plan.grid.spec.name,
                   results_dir=str(the_plan.results_dir.resolve()), device=opts.device, threads=opts.threads,
                   grace_s=opts.grace_s)
    try:
        jobs = executor.map_array(run_job, [args] * opts.slurm)
    except (subprocess.CalledProcessError, submitit.core.utils.FailedJobError, RuntimeError) as exc:
        raise UserInputError(f"sbatch refused the job array: {' '.join(str(exc).split())[:300]}") from None
    return str(jobs[0].job_id).split("_")[0]


def warning_s(resources: SlurmOptions) -> int:
    """Seconds before the time limit that SLURM warns: ``WARNING_S``, or half of a shorter limit."""
    return min(WARNING_S, resources.time * 30) if resources.time else WARNING_S


def jobs_alive(array: str) -> bool:
    """Some task of the array is pending or running (squeue); True as well when squeue cannot answer."""
    done = subprocess.run(["squeue", "-h", "-j", array, "-t", "all", "-o", "%T"], capture_output=True, text=True)
    if done.returncode != 0:
        return True
    return any(state.strip() in ALIVE for state in done.stdout.splitlines())


def run_slurm(the_plan: Plan, opts: Options, queue: Queue, results: ResultsFile, start: Counts,
              estimate_s: float, err: TextIO) -> int:
    """Submit the workers, then show progress until no cell is left (0), the jobs all ended (1) or Ctrl-C (130)."""
    resources = the_plan.slurm or SlurmOptions()
    array = submit(the_plan, opts, resources)
    bar = None
    try:  # from here on, Ctrl-C leaves the jobs running
        asked = ", ".join(f"{key}={value}" for key, value in resources.given().items()) or "the cluster's defaults"
        print(f"submitted job array {array}: {opts.slurm} worker(s), each with {asked}; logs: "
              f"{the_plan.results_dir.resolve() / SUBMIT_DIR}", file=err, flush=True)
        bar = Progress(len(the_plan.grid.cells), start, estimate_s=estimate_s, stream=err)
        checked = time.monotonic()
        while True:
            time.sleep(opts.poll_s)
            retrying(queue.requeue_dead)
            bar.update(counts(the_plan.grid, retrying(queue.states), results.by_id()))
            if not retrying(queue.unfinished):
                break
            if time.monotonic() - checked >= JOBS_CHECK_S:
                checked = time.monotonic()
                if not jobs_alive(array):
                    bar.close()
                    print(f"\nevery job of array {array} has ended with cells left; re-run the same command to "
                          f"submit fresh workers for them", file=err, flush=True)
                    return 1
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        _say_left_running(the_plan, opts, array, err)
        return EXIT_INTERRUPTED
    bar.close()
    return 0


def _say_left_running(the_plan: Plan, opts: Options, array: str, err: TextIO) -> None:
    status = shlex.join(["python", "run_ablation.py", "--status", str(opts.spec_path), "--storage",
                         the_plan.storage.description])
    print(f"\ninterrupted; the SLURM jobs of array {array} keep running the grid.\n"
          f"  follow: {status}   (or: squeue -j {array})\n"
          f"  report when done: python run_ablation.py --report {the_plan.results_dir}\n"
          f"  cancel: scancel {array}   (each job hands its cell in flight back to the queue)", file=err,
          flush=True)


