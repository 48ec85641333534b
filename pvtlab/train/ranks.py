"""One accuracy cell as N data-parallel processes: the job goes out as a JSON file, rank 0's row comes back.

Parent side, ``run_in_processes(job, threads, checkpoint_path)``: writes the ``TrainJob`` (job.py) and how to run
it as JSON to a temp folder, runs ``python -m pvtlab.train.ranks FILE`` under torchrun (distributed.py) and
returns the row rank 0 wrote. Rank side (``main``): joins the process group and runs ``accuracy.fit`` on the job
as one rank of N; rank 0 writes the row. A rank that fails writes its error, which the parent raises again (a
user's mistake stays a UserInputError).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import pvtlab

from ..errors import UserInputError
from ..files import write_text_atomic
from .accuracy import fit
from .distributed import process_group, torchrun
from .job import TrainJob

ROW_FILE = "row.json"
ERROR_FILE = "error-{rank}.json"


def run_in_processes(job: TrainJob, *, threads: int | None, checkpoint_path: str | os.PathLike | None) -> dict:
    """The row of ``job`` trained by ``job.recipe.nproc`` processes on this machine (rank 0's row); ``threads``
    is per process."""
    nproc = job.recipe.nproc
    with tempfile.TemporaryDirectory(prefix="pvtlab-ranks-") as tmp:
        file = Path(tmp) / "job.json"
        file.write_text(json.dumps({"job": job.to_dict(), "threads": threads, "checkpoint_path": None if
                                    checkpoint_path is None else os.fspath(checkpoint_path)}), encoding="utf-8")
        package_root = str(Path(pvtlab.__file__).resolve().parents[1])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([package_root, *filter(None, [
            os.environ.get("PYTHONPATH")])])}
        per_process = threads or max(1, (os.cpu_count() or 1) // nproc)
        env.setdefault("OMP_NUM_THREADS", str(per_process))  # torchrun would set 1 otherwise
        if threads is not None:
            env["OMP_NUM_THREADS"] = str(per_process)
        done = torchrun("pvtlab.train.ranks", [str(file)], nproc=nproc, env=env)
        errors = sorted(Path(tmp).glob(ERROR_FILE.format(rank="*")))
        if errors:
            error = json.loads(errors[0].read_text(encoding="utf-8"))
            kind = UserInputError if error["user_input"] else RuntimeError
            raise kind(error["message"])
        row_file = Path(tmp) / ROW_FILE
        if done.returncode != 0 or not row_file.exists():
            raise RuntimeError(f"{nproc}-process training exited with code {done.returncode} and no row "
                               f"(killed, or out of memory?); its output is in the log above")
        return json.loads(row_file.read_text(encoding="utf-8"))


def main(argv: list[str]) -> int:
    """Rank side: ``python -m pvtlab.train.ranks FILE`` under torchrun."""
    file = Path(argv[0])
    rank = int(os.environ["RANK"])
    try:
        plain = json.loads(file.read_text(encoding="utf-8"))
        job = TrainJob.from_dict(plain["job"])
        with process_group(job.device):
            row = fit(job, threads=plain["threads"], checkpoint_path=plain["checkpoint_path"]).row
    except Exception as exc:  # noqa: BLE001  (every failure goes back to the parent, named)
        error = {"message": f"rank {rank}: {type(exc).__name__}: {exc}" if not isinstance(exc, UserInputError)
                 else str(exc), "user_input": isinstance(exc, UserInputError)}
        write_text_atomic(file.parent / ERROR_FILE.format(rank=rank), json.dumps(error))
        raise
    if rank == 0:
        write_text_atomic(file.parent / ROW_FILE, json.dumps(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
