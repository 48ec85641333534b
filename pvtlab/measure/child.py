"""Run one measurement in another process: a fork of a clean, warm parent (default) or a fresh interpreter.

Why another process: the kernel's memory high-water mark (VmHWM) is per process, so a measurement can only be
read cleanly in a process that ran nothing else; and a process can be killed outright when a measurement hangs
past its timeout, even inside a native kernel.

Why a fork server: a fresh interpreter per measurement pays for importing torch, timm and pvtlab each time (most
of a CPU memory cell's cost). ``multiprocessing``'s fork server imports them once into a parent that never runs a
measurement; each child is a fork of it, so it starts with exactly what a fresh interpreter has after those imports
(the same modules, an untouched heap) at the cost of a fork. ``start="spawn"`` keeps the fresh interpreter.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import signal
from typing import Any, Callable, Literal

Start = Literal["forkserver", "spawn"]
# Imported once by the fork server, so its children start warm (everything a measurement imports).
PRELOAD = ["torch", "pvtlab.measure.record"]


class ChildError(RuntimeError):
    """The function failed (or its process died) in the child; ``oom`` says whether memory ran out."""

    def __init__(self, message: str, oom: bool = False) -> None:
        super().__init__(message)
        self.oom = oom


class ChildTimeout(TimeoutError):
    """The child ran past its time limit and was killed."""


def _entry(conn: multiprocessing.connection.Connection, func: Callable[..., Any], kwargs: dict[str, Any]) -> None:
    """In the child: run, send ("ok", value) or ("error", details) back."""
    try:
        outcome: tuple = ("ok", func(**kwargs))
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent as text
        from pvtlab.measure.oom import is_oom

        outcome = ("error", {"message": f"{type(exc).__name__}: {exc}", "oom": is_oom(exc)})
    conn.send(outcome)
    conn.close()


def _context(start: Start) -> multiprocessing.context.BaseContext:
    context = multiprocessing.get_context(start)
    if start == "forkserver":
        context.set_forkserver_preload(PRELOAD)
    return context


def run_in_child(func: Callable[..., Any], kwargs: dict[str, Any], *, timeout_s: float | None = None,
                 start: Start = "forkserver") -> Any:
    """``func(**kwargs)`` in a child process; its return value, or ``ChildError`` / ``ChildTimeout``.

    ``func`` must be picklable (a module-level function). ``timeout_s`` counts from the child's start (the fork
    server's own one-time start is not part of it).
    """
    if start not in ("forkserver", "spawn"):
        raise ValueError(f"start={start!r} is not allowed; choose 'forkserver' or 'spawn'")
    context = _context(start)
    receive, send = context.Pipe(duplex=False)
    proc = context.Process(target=_entry, args=(send, func, kwargs), name="pvtlab-measure")
    proc.start()
    send.close()  # the child holds the only sending end now: EOF here means it died
    try:
        if not receive.poll(timeout_s):
            raise ChildTimeout(f"timed out after {timeout_s:g} s")
        try:
            status, payload = receive.recv()
        except EOFError:
            status, payload = "died", None
        proc.join(timeout=10)  # the child exits right after sending
    finally:
        if proc.is_alive():
            proc.kill()  # timed out, or stuck after sending: nothing of it is needed any more
        proc.join()
        receive.close()
    if status == "ok":
        return payload
    if status == "error":
        raise ChildError(payload["message"], oom=payload["oom"])
    code = proc.exitcode
    if code is not None and code < 0:
        name = signal.Signals(-code).name
        # SIGKILL with no result is what the kernel's OOM killer leaves behind.
        raise ChildError(f"measurement process killed by {name} (likely out of memory)", oom=code == -signal.SIGKILL)
    raise ChildError(f"measurement process exited with code {code} and no result")
