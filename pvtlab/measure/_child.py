"""Entry point of a child process started by ``isolate.run_in_child``: load the job, run it, store the outcome."""

from __future__ import annotations

import importlib
import pickle
import sys
from pathlib import Path


def main(job: str, result: str) -> None:
    module_name, qualname, kwargs = pickle.loads(Path(job).read_bytes())
    func = importlib.import_module(module_name)
    for part in qualname.split("."):
        func = getattr(func, part)
    try:
        outcome = ("ok", func(**kwargs))
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent as text
        from pvtlab.measure.oom import is_oom

        outcome = ("error", {"message": f"{type(exc).__name__}: {exc}", "oom": is_oom(exc)})
    Path(result).write_bytes(pickle.dumps(outcome))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
