"""Hand-made cells.csv files shaped like the grid's, and the tests of ``pvtlab.report.load``.

``synthetic_rows`` builds a small grid (the paper's path, a 2x2x2 factorial on one model, four
resolutions, three seeds) from simple formulas, so every test can derive the answer it expects from the
same formulas instead of hard-coding numbers. The other report tests import it from here.
"""

from __future__ import annotations

import csv
import itertools
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pvtlab import get_config
from pvtlab.columns import COLUMNS
from pvtlab.errors import UserInputError
from pvtlab.models import STYLE_FIELDS
from pvtlab.report import load

RESOLUTIONS = {"params": [224], "flops": [224, 320, 448, 640], "memory": [224, 448], "throughput": [224, 320]}
SEEDS = [0, 1, 2]
FACTORIAL_MODEL = "pvt_v2_b2"
TOGGLE_VALUES = {"patch_embed": ("non_overlap", "overlap"), "position": ("pos_embed", "conv_ffn"),
                 "attention": ("sra", "linear_sra")}
# (step, model, variant name, toggles, in_factorial): step 2 is also the factorial's overlap/conv_ffn/sra.
PATH = [
    (0, "pvt_v1_small", "pvt_v1_small", ("non_overlap", "pos_embed", "sra"), False),
    (1, "pvt_v1_small", "v1_small+ope", ("overlap", "pos_embed", "sra"), False),
    (2, FACTORIAL_MODEL, "pvt_v2_b2", ("overlap", "conv_ffn", "sra"), True),
    (3, "pvt_v2_b2_li", "pvt_v2_b2_li", ("overlap", "conv_ffn", "linear_sra"), False),
]
ACC_MODEL, ACC_SIZE, ACC_CLASSES = "pvt_nano", 64, 16
IDLE_MIB = 250.0


def gmacs(toggles: tuple[str, str, str], resolution: int, v1_style: bool = False) -> float:
    """A cost with a linear part (grows as side^2) and an attention part (side^4 for SRA, side^2 for LSRA)."""
    patch, position, attention = toggles
    scale = resolution / 224
    base = 3.7 + 0.2 * (patch == "overlap") + 0.05 * (position == "conv_ffn") - 0.1 * v1_style
    return base * scale**2 + attn_gmacs(attention, resolution)


def attn_gmacs(attention: str, resolution: int) -> float:
    scale = resolution / 224
    return 0.14 * scale ** (4 if attention == "sra" else 2)


def memory(toggles: tuple[str, str, str], resolution: int) -> float:
    return 300.0 + 40.0 * (resolution / 224) ** 2 + (60.0 * (resolution / 224) ** 4 if toggles[2] == "sra" else 0)


def throughput(toggles: tuple[str, str, str], resolution: int) -> float:
    """1000 / time per image: a linear part plus attention, SRA's quartic in the side, LSRA's quadratic but
    slower at 224 px (its pooling overhead), so LSRA overtakes SRA between 224 and 320 px."""
    scale = resolution / 224
    linear = (8.0 + 0.8 * (toggles[0] == "overlap") + 0.3 * (toggles[1] == "conv_ffn")) * scale**2
    attention = 2.0 * scale**4 if toggles[2] == "sra" else 3.5 * scale**2
    return 1000.0 / (linear + attention)


def train_throughput(toggles: tuple[str, str, str], resolution: int) -> float:
    return throughput(toggles, resolution) / 3.0


def val_curve(final: float, points: int = 8, budget: int = 2048) -> str:
    """A curve rising as sqrt(images seen) to ``final`` at the budget."""
    return json.dumps([[budget * (i + 1) // points, final * ((i + 1) / points) ** 0.5] for i in range(points)])


def accuracy(toggles: tuple[str, str, str], seed: int) -> float:
    """Additive effects OPE +3, CFFN +2, LSRA +0.5, an OPE x CFFN interaction of +1, seed noise."""
    ope, cffn, lsra = toggles[0] == "overlap", toggles[1] == "conv_ffn", toggles[2] == "linear_sra"
    return 50.0 + 3.0 * ope + 2.0 * cffn + 0.5 * lsra + 1.0 * (ope and cffn) + 0.3 * seed + 0.1 * seed * ope


def _row(group: str, model: str, variant: str, toggles: tuple[str, str, str], resolution: int,
         **extra: Any) -> dict[str, Any]:
    patch, position, attention = toggles
    cell_id = f"{group}-{model}-{variant}-{resolution}-{extra.get('seed', '')}"
    row = {"cell_id": cell_id, "study": "synthetic", "spec_hash": "abc123", "stale_spec": "false",
           "status": "ok", "error": "", "group": group, "model": model, "variant": variant,
           "patch_embed": patch, "pos_embed": str(position == "pos_embed").lower(),
           "ffn": "mlp" if position == "pos_embed" else "conv_ffn", "attention": attention,
           "position": position, "resolution": resolution, "base_model": model, "device": "cpu",
           "threads": 1, "torch_version": "2.14.1", "started_at": "2025-01-02T10:00:00+00:00",
           "finished_at": "2025-01-02T10:00:01+00:00", "wall_s": 1.0}
    row.update(extra)
    return row


def _fields(toggles: tuple[str, str, str]) -> dict[str, Any]:
    patch, position, attention = toggles
    return {"patch_embed": patch, "pos_embed": position == "pos_embed",
            "ffn": "mlp" if position == "pos_embed" else "conv_ffn", "attention": attention}


def _config(model: str, toggles: tuple[str, str, str]) -> str:
    """The resolved config, as the grid writes it: the preset with the toggles applied."""
    return json.dumps(get_config(model, **_fields(toggles)).to_dict(), sort_keys=True)


def _accuracy_config(base_model: str, toggles: tuple[str, str, str]) -> str:
    """The small training model with the full-size variant's toggles and style, as the grid writes it (the preset's
    1000 classes: the classes it trained on are the row's num_classes)."""
    style = get_config(base_model, **_fields(toggles)).to_dict()
    return json.dumps(get_config(ACC_MODEL, **{f: style[f] for f in STYLE_FIELDS})
                      .to_dict(), sort_keys=True)


def _cost_rows(model: str, variant: str, toggles: tuple[str, str, str], groups: tuple[str, ...],
               **extra: Any) -> list[dict[str, Any]]:
    rows = []
    v1_style = model.startswith("pvt_v1")
    extra = {"config_json": _config(model, toggles), **extra}
    for r in RESOLUTIONS["params"] if "params" in groups else []:
        rows.append(_row("params", model, variant, toggles, r, params_m=25.0 - 2.8 * (toggles[2] != "sra"), **extra))
    for r in RESOLUTIONS["flops"] if "flops" in groups else []:
        rows.append(_row("flops", model, variant, toggles, r, gmacs=gmacs(toggles, r, v1_style),
                         attn_gmacs=attn_gmacs(toggles[2], r), **extra))
    for r in RESOLUTIONS["memory"] if "memory" in groups else []:
        rows.append(_row("memory", model, variant, toggles, r, peak_mem_mib=memory(toggles, r),
                         peak_mem_over_idle_mib=memory(toggles, r) - IDLE_MIB,
                         train_peak_mem_over_idle_mib=3 * (memory(toggles, r) - IDLE_MIB), batch_size=8, **extra))
    for r in RESOLUTIONS["throughput"] if "throughput" in groups else []:
        speed = throughput(toggles, r)
        rows.append(_row("throughput", model, variant, toggles, r, infer_img_per_s_median=speed,
                         infer_img_per_s_iqr=0.02 * speed, train_img_per_s_median=train_throughput(toggles, r),
                         train_img_per_s_iqr=0.01 * speed, infer_gflop_per_s=2 * gmacs(toggles, r) * speed,
                         mfu_infer=0.3, mfu_train=0.4, latency_b1_ms_p50=1000.0 / speed,
                         latency_b1_ms_p90=1100.0 / speed, matmul_peak_gflop_per_s=2560.0, sdpa_backend="math",
                         batch_size=8, timed_alone="true", **extra))
    return rows


def _accuracy_rows(base_model: str, variant: str, toggles: tuple[str, str, str], **extra: Any) -> list[dict]:
    extra = {"config_json": _accuracy_config(base_model, toggles), "num_classes": ACC_CLASSES, **extra}
    return [_row("accuracy", ACC_MODEL, variant, toggles, ACC_SIZE, seed=s, top1_acc=accuracy(toggles, s),
                 val_curve=val_curve(accuracy(toggles, s)), base_model=base_model, **extra) for s in SEEDS]


def synthetic_rows(factorial_costs: bool = True) -> list[dict[str, Any]]:
    """The whole synthetic grid, rows in the order a grid would write them.

    Params and FLOPs for every architecture; memory and throughput for the path, and with ``factorial_costs``
    for all 8 combinations too. Step 2 is also a factorial combination, so (as the grid does) the rows both ask
    for carry the factorial name with the path's name as an alias; the rows only the path asks for (memory and
    throughput without ``factorial_costs``) carry the path's name.
    """
    both = ("params", "flops", "memory", "throughput") if factorial_costs else ("params", "flops")
    rows = []
    path_by_combo = {t: (s, name) for s, m, name, t, fact in PATH if fact}
    for toggles in itertools.product(*TOGGLE_VALUES.values()):
        step, alias = path_by_combo.get(toggles, (None, None))
        extra = {"in_factorial": "true", "path_step": "" if step is None else step,
                 "aliases": f"{FACTORIAL_MODEL}:{alias}" if alias else ""}
        rows += _cost_rows(FACTORIAL_MODEL, "/".join(toggles), toggles, both, **extra)
        rows += _accuracy_rows(FACTORIAL_MODEL, "/".join(toggles), toggles, **extra)
    for step, model, name, toggles, in_factorial in PATH:
        extra = {"in_factorial": "false", "path_step": step}
        if not in_factorial:
            rows += _cost_rows(model, name, toggles, ("params", "flops"), **extra)
            rows += _accuracy_rows(model, name, toggles, **extra)
        rows += _cost_rows(model, name, toggles, tuple(g for g in ("memory", "throughput")
                                                      if not (in_factorial and g in both)), **extra)
    return rows


def write_cells(folder: Path, rows: list[dict[str, Any]]) -> Path:
    """Write rows as a grid would: every known column in order, extra keys last, empty for missing."""
    folder.mkdir(parents=True, exist_ok=True)
    names = list(COLUMNS) + sorted({k for r in rows for k in r} - set(COLUMNS))
    path = folder / "cells.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=names, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path


def fail(rows: list[dict[str, Any]], reason: str, **match: Any) -> dict[str, Any]:
    """Turn the one row matching ``match`` into a failed cell (measurements cleared); returns it."""
    hits = [r for r in rows if all(r.get(k) == v for k, v in match.items())]
    assert len(hits) == 1, f"{len(hits)} rows match {match}"
    row = hits[0]
    for key in ("gmacs", "attn_gmacs", "peak_mem_mib", "peak_mem_over_idle_mib", "infer_img_per_s_median",
                "top1_acc", "params_m", "val_curve", "train_peak_mem_over_idle_mib", "infer_img_per_s_iqr",
                "train_img_per_s_median", "train_img_per_s_iqr", "infer_gflop_per_s", "mfu_infer", "mfu_train",
                "latency_b1_ms_p50", "latency_b1_ms_p90", "matmul_peak_gflop_per_s"):
        row.pop(key, None)
    row.update(status="failed", error=reason)
    return row


# ----------------------------------------------------------------------------------------------- tests


def test_load_types_columns_and_keeps_failed_rows(tmp_path: Path) -> None:
    rows = synthetic_rows()
    fail(rows, "RuntimeError: out of memory", group="memory", variant="pvt_v1_small", resolution=448)
    write_cells(tmp_path, rows)
    frame = load(tmp_path)
    assert len(frame) == len(rows)
    assert frame["status"].eq("failed").sum() == 1
    assert str(frame["resolution"].dtype) == "Int64" and str(frame["path_step"].dtype) == "Int64"
    assert frame["gmacs"].dtype == "float64"
    assert str(frame["stale_spec"].dtype) == "boolean" and not frame["stale_spec"].any()
    assert frame["seed"].isna().sum() == sum(r["group"] != "accuracy" for r in rows)
    assert isinstance(frame["started_at"].dtype, pd.DatetimeTZDtype)
    failed = frame[frame["status"].eq("failed")].iloc[0]
    assert pd.isna(failed["peak_mem_mib"]) and failed["error"] == "RuntimeError: out of memory"


def test_load_accepts_the_csv_path_and_adds_missing_known_columns(tmp_path: Path) -> None:
    path = tmp_path / "cells.csv"
    path.write_text("status,group,model,variant,resolution,gmacs,my_extra\nok,flops,m,v,224,1.5,7\n")
    frame = load(path)
    assert frame.loc[0, "gmacs"] == 1.5
    assert set(COLUMNS) <= set(frame.columns)
    assert frame["peak_mem_mib"].isna().all()
    assert frame.loc[0, "my_extra"] == 7.0  # an unknown numeric column is kept as a number


@pytest.mark.parametrize("content, needle", [
    ("status,group,model,variant\nok,flops,m,v\n", "resolution"),
    ("status,group,model,variant,resolution\nok,flops,m,v,big\n", "'big'"),
    ("status,group,model,variant,resolution\nok,flops,m,v,224.5\n", "whole number"),
    ("status,group,model,variant,resolution,stale_spec\nok,flops,m,v,224,maybe\n", "true or false"),
    ("", "empty"),
])
def test_load_names_the_bad_value(tmp_path: Path, content: str, needle: str) -> None:
    (tmp_path / "cells.csv").write_text(content)
    with pytest.raises(UserInputError, match=needle):
        load(tmp_path)


def test_load_rejects_missing_paths(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="does not exist"):
        load(tmp_path / "nope")
    with pytest.raises(UserInputError, match="has no cells.csv"):
        load(tmp_path)


def test_synthetic_grid_is_consistent() -> None:
    rows = synthetic_rows()
    ids = [r["cell_id"] for r in rows]
    assert len(ids) == len(set(ids))
    assert sorted({r["path_step"] for r in rows if r.get("path_step") not in ("", None)}) == [0, 1, 2, 3]
    json.dumps(rows)  # plain values only, as a CSV holds
