"""Run one function in a fresh Python process.

Why: a fresh process is the only clean slate for the kernel's memory high-water mark (one measurement cannot hide
another), and a separate process group can be killed outright when a measurement hangs past its timeout, even
inside a native kernel. Arguments and results travel as pickles through a private temp dir.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

_CHILD_MODULE = "pvtlab.measure._child"
_LOG_TAIL = 800


class ChildError(RuntimeError):
    """The function failed (or its process died) in the child; ``oom`` says whether memory ran out."""

    def __init__(self, message: str, oom: bool = False) -> None:
        super().__init__(message)
        self.oom = oom


class ChildTimeout(TimeoutError):
    """The child ran past its time limit and was killed with its whole process group."""


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the child leads its own session: this reaches only its tree
    except ProcessLookupError:
        pass
    proc.wait()


def run_in_child(func: Callable[..., Any], kwargs: dict[str, Any], *, timeout_s: float | None = None) -> Any:
    """``func(**kwargs)`` in a new interpreter; its return value, or ``ChildError`` / ``ChildTimeout``.

    ``func`` must be importable by module and qualified name; the child gets this process's ``sys.path``.
    """
    with tempfile.TemporaryDirectory(prefix="pvtlab-measure-") as tmp:
        job, result, log = Path(tmp, "job.pkl"), Path(tmp, "result.pkl"), Path(tmp, "child.log")
        job.write_bytes(pickle.dumps((func.__module__, func.__qualname__, kwargs)))
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        with open(log, "wb") as log_file:
            proc = subprocess.Popen([sys.executable, "-m", _CHILD_MODULE, str(job), str(result)], stdin=subprocess.DEVNULL,
                                    stdout=log_file, stderr=log_file, env=env, start_new_session=True)
            try:
                code = proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                raise ChildTimeout(f"timed out after {timeout_s:g} s") from None
            finally:
                if proc.poll() is None:
                    _kill_group(proc)
        if result.exists():
            status, payload = pickle.loads(result.read_bytes())
            if status == "ok":
                return payload
            raise ChildError(payload["message"], oom=payload["oom"])
        tail = log.read_text(errors="replace")[-_LOG_TAIL:].strip()
        if code < 0:
            name = signal.Signals(-code).name
            # SIGKILL with no result is what the kernel's OOM killer leaves behind.
            raise ChildError(f"measurement process killed by {name} (likely out of memory); log: {tail}",
                             oom=code == -signal.SIGKILL)
        raise ChildError(f"measurement process exited with code {code} and no result; log: {tail}")
