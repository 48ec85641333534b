"""A two-task version of ``test_report_load.synthetic_rows``: every accuracy row also on ``digits`` (10 classes),
each with ``task`` and ``top1_by_res`` at three test sizes, as the accuracy helper's columns will carry them."""

from __future__ import annotations

import json
from typing import Any

from test_report_load import ACC_SIZE, synthetic_rows

SIZES = (ACC_SIZE // 2, ACC_SIZE, ACC_SIZE * 2)


def by_res(top1: float, toggles: tuple[str, ...], shift: float) -> str:
    """Top-1 at each test size: equal to ``top1`` at the training size, lower away from it, and lower still
    for a variant with position embeddings (PVTv1's tables are resized)."""
    pos = toggles[1] == "pos_embed"
    values = {str(s): top1 if s == ACC_SIZE else top1 - shift - (4.0 if pos else 0.0) for s in SIZES}
    return json.dumps(values)


def multitask_rows(digits_top1: float = 11.0) -> list[dict[str, Any]]:
    """``synthetic_rows`` with task ``synthetic`` plus a ``digits`` copy of every accuracy row whose top-1 is
    ``digits_top1`` + a small CFFN effect of opposite sign (so the tasks disagree on CFFN)."""
    rows = synthetic_rows()
    extra = []
    for row in rows:
        if row["group"] != "accuracy":
            continue
        toggles = (row["patch_embed"], row["position"], row["attention"])
        row.update(task="synthetic", top1_by_res=by_res(row["top1_acc"], toggles, 3.0))
        digits = dict(row, task="digits", cell_id=row["cell_id"] + "-digits", num_classes=10)
        digits["top1_acc"] = digits_top1 - (0.8 if toggles[1] == "conv_ffn" else 0.0) + 0.05 * row["seed"]
        digits["top1_by_res"] = by_res(digits["top1_acc"], toggles, 1.0)
        extra.append(digits)
    return rows + extra
