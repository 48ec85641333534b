"""One accuracy cell as N data-parallel processes: the job goes out as a JSON file, rank 0's row comes back.

Parent side, ``run_in_processes(fit, kwargs, nproc, device)``: writes ``fit``'s module and name and the cell's
arguments as JSON to a temp folder, runs ``python -m pvtlab.train.ranks JOB`` under torchrun (distributed.py) and
returns the row rank 0 wrote. Rank side (``main``): joins the process group, imports ``fit`` by name and runs it as
one rank of N (it returns an object with a ``row``), rank 0 writes the row.
A rank that fails writes its error, which the parent raises again (a user's mistake stays a UserInputError).
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

import pvtlab

from ..errors import UserInputError
from ..files import write_text_atomic
from ..models.config import PVTConfig
from .distributed import process_group, torchrun
from .scale import Scaling

ROW_FILE = "row.json"
ERROR_FILE = "error-{rank}.json"


def _encode(fit: Callable[..., Any], kwargs: dict[str, Any]) -> str:
    plain = {"fit": [fit.__module__, fit.__qualname__], **kwargs, "config": kwargs["config"].to_dict(), "scaling": dataclasses.asdict(kwargs["scaling"])}
    scaling = plain["scaling"]
    if scaling["checkpoint_path"] is not None:
        scaling["checkpoint_path"] = os.fspath(scaling["checkpoint_path"])
    plain["data"] = dict(kwargs["data"])
    return json.dumps(plain)


def _decode(text: str) -> tuple[Callable[..., Any], dict[str, Any]]:
    kwargs = json.loads(text)
    module, name = kwargs.pop("fit")
    fit = getattr(importlib.import_module(module), name)
    kwargs["config"] = PVTConfig(**kwargs["config"])
    kwargs["scaling"] = Scaling(**kwargs["scaling"])
    return fit, kwargs


def run_in_processes(fit: Callable[..., Any], kwargs: dict[str, Any], *, nproc: int, device: str) -> dict[str, Any]:
    """``fit(**kwargs).row`` trained by ``nproc`` processes on this machine (rank 0's row); ``fit`` must be
    importable by module and name."""
    with tempfile.TemporaryDirectory(prefix="pvtlab-ranks-") as tmp:
        job = Path(tmp) / "job.json"
        job.write_text(_encode(fit, kwargs), encoding="utf-8")
        package_root = str(Path(pvtlab.__file__).resolve().parents[1])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([package_root, *filter(None, [
            os.environ.get("PYTHONPATH")])])}
        threads = kwargs.get("threads") or max(1, (os.cpu_count() or 1) // nproc)
        env.setdefault("OMP_NUM_THREADS", str(threads))  # torchrun would set 1 otherwise
        if kwargs.get("threads") is not None:
            env["OMP_NUM_THREADS"] = str(threads)
        done = torchrun("pvtlab.train.ranks", [str(job), device], nproc=nproc, env=env)
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
    """Rank side: ``python -m pvtlab.train.ranks JOB DEVICE`` under torchrun."""
    job, device = Path(argv[0]), argv[1]
    rank = int(os.environ["RANK"])
    try:
        with process_group(device):
            fit, kwargs = _decode(job.read_text(encoding="utf-8"))
            row = fit(**kwargs).row
    except Exception as exc:  # noqa: BLE001  (every failure goes back to the parent, named)
        error = {"message": f"rank {rank}: {type(exc).__name__}: {exc}" if not isinstance(exc, UserInputError)
                 else str(exc), "user_input": isinstance(exc, UserInputError)}
        write_text_atomic(job.parent / ERROR_FILE.format(rank=rank), json.dumps(error))
        raise
    if rank == 0:
        write_text_atomic(job.parent / ROW_FILE, json.dumps(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
