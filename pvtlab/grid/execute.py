"""Run one cell and build its ``cells.csv`` row.

A measurement that fails becomes a row with ``status=failed`` and the reason in ``error``; the grid
goes on. ``pvtlab.measure.measure`` and ``pvtlab.train.run_accuracy`` already report their own failures
that way; anything they raise anyway (a bug) is caught here and recorded the same way.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import time
from typing import Any

from .cells import Cell, canonical_json
from .variants import position_of


def worker_name() -> str:
    """Host and process id: enough to find the process that ran a cell, on any machine."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


def measure_cell(cell: Cell, *, device: str, threads: int) -> dict[str, Any]:
    """The measurement's own result dict (its columns, status, error, provenance)."""
    config = cell.pvt_config()
    if cell.group == "accuracy":
        from pvtlab.train import run_accuracy

        options = {k: v for k, v in cell.settings.items() if k not in ("device", "epochs", "steps")}
        return run_accuracy(config, cell.data, image_size=cell.resolution, epochs=cell.settings["epochs"],
                            steps=cell.settings["steps"], seed=cell.seed, threads=threads, progress=False,
                            device=device, **options)
    from pvtlab.measure import measure

    options = {k: v for k, v in cell.settings.items() if k != "device"}
    return measure(cell.group, config, cell.resolution, device=device, threads=threads, **options)


def labels(cell: Cell) -> dict[str, Any]:
    """The columns that name a cell in its spec; they follow the spec (``ResultsFile.refresh``)."""
    return {"model": cell.model, "variant": cell.variant, "path_step": cell.path_step,
            "base_model": cell.base_model, "in_factorial": cell.in_factorial, "aliases": ";".join(cell.aliases)}


def identity(cell: Cell, *, study: str, spec_hash: str) -> dict[str, Any]:
    """The columns that say which cell a row is, from the cell alone."""
    config = cell.pvt_config()
    return {
        "cell_id": cell.cell_id, "study": study, "spec_hash": spec_hash, "stale_spec": False,
        "group": cell.group, **labels(cell), "patch_embed": config.patch_embed, "pos_embed": config.pos_embed,
        "ffn": config.ffn, "attention": config.attention, "position": position_of(config),
        "resolution": cell.resolution, "seed": cell.seed, "config_json": canonical_json(cell.config),
        "settings_json": canonical_json(cell.settings),
        "data_json": canonical_json(cell.data) if cell.data is not None else None,
    }


def run_cell(cell: Cell, *, study: str, spec_hash: str, device: str, threads: int,
             workers: int | None) -> dict[str, Any]:
    """Measure ``cell`` and return its full row; never raises for a failed measurement."""
    started = _now()
    clock = time.perf_counter()
    try:
        result = dict(measure_cell(cell, device=device, threads=threads))
    except Exception as exc:  # noqa: BLE001  (any failure of one cell is recorded, the grid goes on)
        result = {"status": "failed", "error": f"{type(exc).__name__}: {exc}".strip()}
    wall = time.perf_counter() - clock
    result.setdefault("status", "ok" if not result.get("error") else "failed")
    if result["status"] != "ok" and not result.get("error"):
        result["error"] = "the measurement reported a failure without a reason"
    row = {**_provenance(device, threads), **result, **identity(cell, study=study, spec_hash=spec_hash)}
    row["error"] = _one_line(result.get("error"))
    row.update(worker=worker_name(), workers=workers, started_at=started, finished_at=_now())
    row.setdefault("wall_s", round(wall, 4))
    if row.get("wall_s") is None:
        row["wall_s"] = round(wall, 4)
    return {k: (json.dumps(v, default=str) if isinstance(v, (dict, list, tuple)) else v) for k, v in row.items()}


def _provenance(device: str, threads: int) -> dict[str, Any]:
    """pvtlab.measure's provenance columns, for rows whose runner did not fill them (accuracy, a crash)."""
    try:
        from pvtlab.measure import provenance

        return dict(provenance(device, threads=threads, dtype="float32"))
    except Exception:  # noqa: BLE001  (provenance must never cost a result)
        return {"device": device, "threads": threads}


def _one_line(error: Any) -> str | None:
    if not error:
        return None
    return " ".join(str(error).split())[:2000]
