"""Run one measurement in another process: a fork of a clean, warm zygote (default) or a fresh interpreter.

Why another process: the kernel's memory high-water mark (VmHWM) is per process, so a measurement can only be
read cleanly in a process that ran nothing else; and a process can be killed outright when a measurement hangs
past its timeout, even inside a native kernel.

Why a zygote: a fresh interpreter per measurement pays for importing torch, timm and pvtlab each time (most of a
CPU memory cell's cost). The zygote (``serve`` in its own interpreter, started once per calling process)
imports them once (torch and the module of the first job's function) and never runs a measurement; each job is a
fork of it, so it starts with what a fresh interpreter has after those imports, at the cost of a fork. Unlike ``multiprocessing``'s fork server, it never
re-imports the caller's main script in the child (an unguarded script would run again there). Jobs and results
travel as pickles in a private temp dir; ``func`` is found by module and qualified name.
"""

from __future__ import annotations

import importlib
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Literal

Start = Literal["fork", "spawn"]
_POLL_S = 0.01


class ChildError(RuntimeError):
    """The function failed (or its process died) in the child; ``oom`` says whether memory ran out."""

    def __init__(self, message: str, oom: bool = False) -> None:
        super().__init__(message)
        self.oom = oom


class ChildTimeout(TimeoutError):
    """The child ran past its time limit and was killed."""


# --- in the measuring process ---------------------------------------------------------------------------------

def run_job(job: Path) -> None:
    """Load ``job/job.pkl``, run it, store ("ok", value) or ("error", details) in ``job/result.pkl`` atomically."""
    path, module_name, qualname, raw_kwargs = pickle.loads((job / "job.pkl").read_bytes())
    sys.path[:] = path  # the caller's import path now, not the one the zygote started with
    try:
        kwargs = pickle.loads(raw_kwargs)  # after the path: unpickling may import the caller's modules
        func: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            func = getattr(func, part)
        outcome: tuple = ("ok", func(**kwargs))
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent as text
        from pvtlab.measure.steps import is_oom

        outcome = ("error", {"message": f"{type(exc).__name__}: {exc}", "oom": is_oom(exc)})
    (job / "result.tmp").write_bytes(pickle.dumps(outcome))
    (job / "result.tmp").rename(job / "result.pkl")


# --- the zygote ------------------------------------------------------------------------------------------------

_JOBS: dict[int, Path] = {}


def _reap(*_: Any) -> None:
    """SIGCHLD in the zygote: record each finished child's exit code (negative: killed by that signal)."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        job = _JOBS.pop(pid, None)
        try:
            if job is not None:
                (job / "exit").write_text(str(os.waitstatus_to_exitcode(status)))
        except OSError:
            pass  # the caller already has its result and removed the job directory


def serve(preload: str) -> None:
    """Import module ``preload`` (the first job's; with it torch and what it imports), then fork one child per job
    directory read from stdin (EOF: stop)."""
    import torch  # noqa: F401

    importlib.import_module(preload)

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the caller's to handle
    signal.signal(signal.SIGCHLD, _reap)
    while line := sys.stdin.readline():
        job = Path(line.strip())
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})  # register the pid before it can be reaped
        pid = os.fork()
        if pid == 0:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.setsid()  # its own process group: a timeout kills it and nothing else
            os.dup2(2, 1)  # the job's prints go to stderr, not into the pid channel
            code = 1
            try:
                run_job(job)
                code = 0
            finally:
                os._exit(code)
        _JOBS[pid] = job
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
        sys.stdout.write(f"{pid}\n")
        sys.stdout.flush()


# --- in the caller ----------------------------------------------------------------------------------------------

_LOCK = threading.Lock()
_ZYGOTE: dict[int, subprocess.Popen] = {}  # by the pid of the process that started it


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))


def _zygote(preload: str) -> subprocess.Popen:
    proc = _ZYGOTE.get(os.getpid())
    if proc is None or proc.poll() is not None:
        proc = subprocess.Popen([sys.executable, "-c", f"from {__name__} import serve; serve({preload!r})"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=_env(), text=True, bufsize=1)
        _ZYGOTE[os.getpid()] = proc
    return proc


def _kill(pid: int) -> None:
    for kill in (os.killpg, os.kill):  # its group once it has one (setsid), else the process itself
        try:
            kill(pid, signal.SIGKILL)
            return
        except (ProcessLookupError, PermissionError):
            continue


def _await_exit(job: Path, limit_s: float = 10.0) -> None:
    """Wait until the zygote has reaped a killed child and written its ``exit`` file into ``job``, so the job
    folder is not removed while that write is under way."""
    until = time.monotonic() + limit_s
    while not (job / "exit").exists() and time.monotonic() < until:
        time.sleep(_POLL_S)


def _fork_job(job: Path, timeout_s: float | None, module: str) -> int | None:
    """Run ``job`` in a fork of the zygote (started with ``module`` imported); the exit code, or None when it left
    a result."""
    with _LOCK:
        zygote = _zygote(module)
        zygote.stdin.write(f"{job}\n")
        zygote.stdin.flush()
        pid = int(zygote.stdout.readline())
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while not (job / "result.pkl").exists():
        if (job / "exit").exists():
            return None if (job / "result.pkl").exists() else int((job / "exit").read_text())
        if deadline is not None and time.monotonic() > deadline:
            _kill(pid)
            _await_exit(job)
            raise ChildTimeout(f"timed out after {timeout_s:g} s")
        time.sleep(_POLL_S)
    return None


def _spawn_job(job: Path, timeout_s: float | None) -> int | None:
    """Run ``job`` in a fresh interpreter; the exit code, or None when it left a result."""
    proc = subprocess.Popen([sys.executable, "-c", f"from {__name__} import run_job; import sys, pathlib; "
                             "run_job(pathlib.Path(sys.argv[1]))", str(job)], stdin=subprocess.DEVNULL,
                            env=_env(), start_new_session=True)
    try:
        code = proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise ChildTimeout(f"timed out after {timeout_s:g} s") from None
    finally:
        if proc.poll() is None:
            _kill(proc.pid)
            proc.wait()
    return None if (job / "result.pkl").exists() else code


def run_in_child(func: Callable[..., Any], kwargs: dict[str, Any], *, timeout_s: float | None = None,
                 start: Start = "fork") -> Any:
    """``func(**kwargs)`` in a child process; its return value, or ``ChildError`` / ``ChildTimeout``.

    ``func`` must be importable by module and qualified name. ``start``: "fork" of the warm zygote, or "spawn" a
    fresh interpreter. ``timeout_s`` counts from the job's start (not the zygote's one-time start).
    """
    if start not in ("fork", "spawn"):
        raise ValueError(f"start={start!r} is not allowed; choose 'fork' or 'spawn'")
    with tempfile.TemporaryDirectory(prefix="pvtlab-measure-") as tmp:
        job = Path(tmp)
        job_data = (list(sys.path), func.__module__, func.__qualname__, pickle.dumps(kwargs))
        (job / "job.pkl").write_bytes(pickle.dumps(job_data))
        code = _fork_job(job, timeout_s, func.__module__) if start == "fork" else _spawn_job(job, timeout_s)
        if code is None:
            status, payload = pickle.loads((job / "result.pkl").read_bytes())
            if status == "ok":
                return payload
            raise ChildError(payload["message"], oom=payload["oom"])
    if code < 0:
        name = signal.Signals(-code).name
        # SIGKILL with no result is what the kernel's OOM killer leaves behind.
        raise ChildError(f"measurement process killed by {name} (likely out of memory)", oom=code == -signal.SIGKILL)
    raise ChildError(f"measurement process exited with code {code} and no result")

