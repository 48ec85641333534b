"""The columns of ``cells.csv``: type, unit, meaning and the measurement group that fills each, in one place.

measure (which columns a group returns), the grid (the CSV's column order), the report (types and units) and
``results/README.md`` (a test checks it documents exactly these) all derive their lists from this module.

``python -m pvtlab.columns`` rewrites the column tables between the markers in results/README.md from these
columns (``render_readme``), so the two cannot drift; a test checks the committed file equals what it generates.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pvtlab.toggles import TOGGLES as _TOGGLES

Kind = Literal["str", "bool", "int", "float", "datetime"]


@dataclass(frozen=True)
class Column:
    """One ``cells.csv`` column: how to type it, its unit ("" when it has none) and what it holds."""

    kind: Kind
    unit: str
    meaning: str
    groups: tuple[str, ...] = ()  # measurement groups that fill it; () = every row (identity, provenance)


IDENTITY: dict[str, Column] = {
    "cell_id": Column("str", "", "stable id of the cell: a hash of its resolved config and measurement"),
    "study": Column("str", "", "study name (the spec's `name`)"),
    "spec_hash": Column("str", "", "hash of the spec the row was run under"),
    "stale_spec": Column("bool", "", "true when the row comes from an older version of the spec"),
    "status": Column("str", "", "`ok` or `failed`"),
    "error": Column("str", "", "why a failed cell failed (empty when ok)"),
    "group": Column("str", "", "measurement group: params, flops, memory, throughput or accuracy"),
    "model": Column("str", "", "preset the variant is built on (accuracy rows: the small training model)"),
    "variant": Column("str", "", "variant name (a factorial combination or a named variant of the spec)"),
    "task": Column("str", "", "accuracy task the row trained on (a name in the spec's `accuracy.tasks`, or the data "
                              "name of a single-task spec); empty for non-accuracy rows"),
    "path_step": Column("int", "", "position on the spec's `path` (0 = its first variant, e.g. PVTv1-Small); empty "
                                   "otherwise"),
    "patch_embed": Column("str", "", "non_overlap (PVTv1) or overlap (PVTv2 OPE)"),
    "pos_embed": Column("bool", "", "learned absolute position embedding on (PVTv1) or off"),
    "ffn": Column("str", "", "mlp (PVTv1) or conv_ffn (PVTv2 CFFN)"),
    "attention": Column("str", "", "sra (PVTv1, PVTv2-B2) or linear_sra (PVTv2-B2-Li)"),
    "position": Column("str", "", "pos_embed (pos_embed on, mlp), conv_ffn (pos_embed off, conv_ffn) or other"),
    "resolution": Column("int", "px", "input side length (square input)"),
    "seed": Column("int", "", "training seed (accuracy rows only)"),
    "config_json": Column("str", "", "the full resolved model config as JSON"),
}

GRID: dict[str, Column] = {
    "base_model": Column("str", "", "preset the variant was defined on; for accuracy rows the full-size model "
                                    "whose toggles and style the small training model takes"),
    "in_factorial": Column("bool", "", "true when the cell is (also) a combination of the spec's factorial"),
    "aliases": Column("str", "", "other `model:variant` names of the same cell, `;`-separated: a measurement "
                                 "asked for twice (e.g. the path's PVTv2-B2, also the factorial's "
                                 "overlap/conv_ffn/sra on B2) runs once"),
    "job_json": Column("str", "", "the cell's resolved job as JSON: every setting that shaped the row, defaults "
                                  "written out (a measure, paired-block or training job); `cell_id` hashes it"),
    "workers": Column("int", "", "local worker processes of the run that measured the cell"),
    "slurm_job_id": Column("str", "", "SLURM job that ran the cell, `ARRAYJOB_TASK` for a task of a job array "
                                      "(`--slurm N`); empty outside SLURM"),
    "slurm_node": Column("str", "", "SLURM node the cell ran on; empty outside SLURM"),
}

P, F, M, T, A = ("params",), ("flops",), ("memory",), ("throughput",), ("accuracy",)

MEASUREMENTS: dict[str, Column] = {
    "params_m": Column("float", "M", "parameters, millions", P),
    "trainable_params_m": Column("float", "M", "trainable parameters, millions", P),
    "gmacs": Column("float", "GMACs", "multiply-accumulates per image (batch 1), attention matmuls included", F),
    "attn_gmacs": Column("float", "GMACs", "the part of `gmacs` in the attention matmuls (q k^T and attn v)", F),
    "gflops": Column("float", "GFLOPs", "floating-point operations per image: 2 x `gmacs`", F),
    "analytic_gmacs": Column("float", "GMACs", "closed-form count from the config, a cross-check of `gmacs`", F),
    "flop_counter": Column("str", "", "the counter that produced `gmacs` and its version", F),
    "uncounted_ops": Column("str", "", "operators the counter skipped (empty when none)", F),
    "peak_mem_mib": Column("float", "MiB", "absolute peak of an inference step at `batch_size` (CPU: the "
                                           "process high-water mark, Python and torch included; CUDA: max allocated)",
                           M),
    "peak_mem_over_idle_mib": Column("float", "MiB", "inference peak minus the memory held once model and batch "
                                                     "exist: what the step's activations need", M),
    "train_peak_mem_mib": Column("float", "MiB", "absolute peak of a training step (forward, backward, AdamW)", M),
    "train_peak_mem_over_idle_mib": Column("float", "MiB", "training peak minus the memory held before the step", M),
    "mem_method": Column("str", "", "how memory was read (CPU VmHWM in a fresh process, or the CUDA allocator)", M),
    "batch_size": Column("int", "images", "batch size the memory or timing measurement actually ran at", M + T),
    "infer_img_per_s_median": Column("float", "img/s", "inference throughput at `batch_size`, median over timed "
                                                       "repeats", T),
    "infer_img_per_s_iqr": Column("float", "img/s", "inference throughput, interquartile range over repeats", T),
    "infer_batch_ms_median": Column("float", "ms", "time of one inference step of a whole batch of `batch_size` "
                                                   "images, median over repeats (not per image)", T),
    "latency_b1_ms_p50": Column("float", "ms", "inference latency of one image (batch 1), median", T),
    "latency_b1_ms_p90": Column("float", "ms", "inference latency of one image (batch 1), 90th percentile", T),
    "train_img_per_s_median": Column("float", "img/s", "training throughput, median over timed repeats", T),
    "train_img_per_s_iqr": Column("float", "img/s", "training throughput, interquartile range over repeats", T),
    "infer_gflop_per_s": Column("float", "GFLOP/s", "achieved inference rate: 2 x MACs x median img/s", T),
    "train_gflop_per_s": Column("float", "GFLOP/s", "achieved training rate: 3 x the inference FLOPs per image x "
                                                    "median training img/s", T),
    "mfu_infer": Column("float", "fraction", "inference model-FLOPs utilisation: achieved FLOP/s over the "
                                             "machine's measured matmul peak (0 to 1)", T),
    "mfu_train": Column("float", "fraction", "training model-FLOPs utilisation (a step counts 3 x the forward "
                                             "FLOPs), 0 to 1", T),
    "matmul_peak_gflop_per_s": Column("float", "GFLOP/s", "the machine's dense matmul rate measured in the same "
                                                          "process: the MFU denominator", T),
    "sdpa_backend": Column("str", "", "scaled_dot_product_attention kernel that ran (math, flash, "
                                      "memory-efficient, cudnn; CPU: cpu-flash or math)", T),
    "tf32": Column("bool", "", "TF32 matmuls allowed (CUDA)", T),
    "cudnn_benchmark": Column("bool", "", "torch.backends.cudnn.benchmark during the measurement", T),
    "amp_dtype": Column("str", "", "autocast dtype (bfloat16, float16) or empty for float32", T),
    "channels_last": Column("bool", "", "model and input in channels_last memory format", T),
    "compile_mode": Column("str", "", "torch.compile mode, empty when not compiled", T),
    "timing_block": Column("str", "", "id of the paired timing block the row was timed in: every variant at this "
                                      "resolution, timed in shuffled interleaved rounds (a killed block re-runs "
                                      "whole); ratios pair rows of one block only", T),
    "rounds": Column("int", "", "interleaved rounds timed per step kind (each round times every arm once)", T),
    "ref_variant": Column("str", "", "the block's reference variant the ratios divide by (the path's first step, "
                                     "else the factorial's all-first-levels combination, or the spec's "
                                     "`ref_variant`)", T),
    **{f"{kind}_vs_ref{end}": Column("float", "ratio", f"{what} img/s over the reference's, {part} of the per-round "
                                                       "ratios (paired by round; 1 on the reference's own row)", T)
       for kind, what in (("infer", "inference"), ("train", "training"))
       for end, part in (("", "median"), ("_ci95_lo", "95% CI lower end of the median"),
                         ("_ci95_hi", "95% CI upper end of the median"))},
    **{f"aa_{kind}{end}": Column("float", "ratio", f"A/A noise floor of the block ({what}): the reference timed as "
                                                   f"a second arm over itself, {part} (ideal 1)", T)
       for kind, what in (("infer", "inference"), ("train", "training"))
       for end, part in (("_ratio", "median per-round ratio"), ("_ci95_lo", "95% CI lower end"),
                         ("_ci95_hi", "95% CI upper end"))},
    "infer_rounds_img_per_s": Column("str", "img/s", "inference img/s of each round, JSON list in round order "
                                                     "(the report pairs rows of a block by round)", T),
    "train_rounds_img_per_s": Column("str", "img/s", "training img/s of each round, JSON list in round order", T),
    "latency_rounds_ms": Column("str", "ms", "batch-1 latency of each round, JSON list in round order", T),
    "timed_alone": Column("bool", "", "true when no other cell of the grid ran on this machine while this one "
                                      "was timed", T),
    "concurrent_cells": Column("int", "", "cells of the grid running elsewhere on this machine while this one "
                                          "was timed (0 when alone)", T),
    "top1_acc": Column("float", "%", "top-1 validation accuracy", A),
    "top5_acc": Column("float", "%", "top-5 validation accuracy", A),
    "val_loss": Column("float", "nats", "mean validation cross-entropy (natural log)", A),
    "ema_top1_acc": Column("float", "%", "top-1 validation accuracy of the EMA weights (empty when EMA is off)", A),
    "ema_top5_acc": Column("float", "%", "top-5 validation accuracy of the EMA weights (empty when EMA is off)", A),
    "top1_by_res": Column("str", "", "top-1 % of the trained model at each test size, without retraining: JSON "
                                     "object {\"<px>\": top-1 %} sorted by px; the training size is one, equal to "
                                     "`top1_acc` (other sizes: the same validation images resized bilinearly, "
                                     "antialiased when shrinking; PVTv1's position tables resized bilinearly)", A),
    "ema_top1_by_res": Column("str", "", "`top1_by_res` of the EMA weights (empty when EMA is off)", A),
    "val_curve": Column("str", "", "validation top-1 through training: JSON list of [images_seen, top1_pct], "
                                   "at least 8 points, images_seen increasing", A),
    "train_time_s": Column("float", "s", "training wall time", A),
    "images_seen": Column("int", "images", "training images processed", A),
    "epochs_done": Column("float", "", "training epochs completed (fractional for a step budget; the budget itself "
                                       "is in `job_json`)", A),
    "loss_curve": Column("str", "", "training loss as a JSON list of up to 100 bucket means, in order", A),
    "num_classes": Column("int", "", "classes of the data the cell trained on: chance top-1 is 100 / num_classes %",
                          A),
    "recipe": Column("str", "", "training recipe: quick (the laptop proxy) or paper (the papers' ImageNet "
                                "recipe from timm parts)", A),
    "train_transform": Column("str", "", "the training split's image transforms, as run (fixed rendered images "
                                         "have none)", A),
    "resumed_from_step": Column("int", "", "optimizer step the cell resumed from after an interruption "
                                           "(0: ran uninterrupted)", A),
}

PROVENANCE: dict[str, Column] = {
    "torch_version": Column("str", "", "torch version"),
    "timm_version": Column("str", "", "timm version"),
    "fvcore_version": Column("str", "", "fvcore version"),
    "device": Column("str", "", "cpu or cuda"),
    "device_name": Column("str", "", "accelerator name (GPU model) or cpu"),
    "cpu_model": Column("str", "", "CPU model name"),
    "threads": Column("int", "", "torch threads the cell ran with"),
    "dtype": Column("str", "", "tensor dtype of the measurement"),
    "pvtlab_version": Column("str", "", "pvtlab version"),
    "git_commit": Column("str", "", "git commit of the code that ran the cell"),
    "worker": Column("str", "", "worker that ran the cell (host and process)"),
    "started_at": Column("datetime", "", "when the cell started (ISO 8601, UTC)"),
    "finished_at": Column("datetime", "", "when the cell finished (ISO 8601, UTC)"),
    "wall_s": Column("float", "s", "wall time of the cell"),
}

COLUMNS: dict[str, Column] = {**IDENTITY, **GRID, **MEASUREMENTS, **PROVENANCE}

# The columns a cells.csv must have for the report to make sense of it at all.
REQUIRED = ("status", "group", "model", "variant", "resolution")

# The measurement groups, in report order; the first four are complexity, accuracy trains.
GROUPS = ("params", "flops", "memory", "throughput", "accuracy")
COMPLEXITY_GROUPS = GROUPS[:4]

# The factorial toggles (PVTv1 value, PVTv2 value, improvement name) live in pvtlab.toggles.
TOGGLES = _TOGGLES


def group_columns(group: str) -> tuple[str, ...]:
    """The measurement columns ``group`` fills, in schema order."""
    if group not in GROUPS:
        raise ValueError(f"group {group!r} is not allowed; choose from {list(GROUPS)}")
    return tuple(name for name, column in MEASUREMENTS.items() if group in column.groups)


def unit(name: str) -> str:
    """The unit of a column, or "" when it is unitless or not a known column."""
    column = COLUMNS.get(name)
    return column.unit if column else ""


# --- results/README.md's column tables, generated from the columns above ---------------------------------------

README = Path(__file__).resolve().parents[1] / "results" / "README.md"
START = "<!-- columns: generated by `python -m pvtlab.columns` from pvtlab/columns.py; do not edit -->"
END = "<!-- end of generated columns -->"


def columns_markdown() -> str:
    """The three column tables (identity, measurements with their groups, provenance) as markdown."""
    parts = ["### Identity", "", "| column | unit | meaning |", "|---|---|---|"]
    parts += [_row(name, column) for name, column in {**IDENTITY, **GRID}.items()]
    parts += ["", "### Measurements", "", "| column | unit | group | meaning |", "|---|---|---|---|"]
    parts += [_row(name, column, groups=True) for name, column in MEASUREMENTS.items()]
    parts += ["", "### Provenance (every row)", "", "| column | unit | meaning |", "|---|---|---|"]
    parts += [_row(name, column) for name, column in PROVENANCE.items()]
    return "\n".join(parts) + "\n"


def _row(name: str, column: Column, groups: bool = False) -> str:
    unit = column.unit or ("true/false" if column.kind == "bool" else "")
    cells = [f"`{name}`", unit] + ([", ".join(column.groups)] if groups else []) + [column.meaning]
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def render_readme(text: str) -> str:
    """``text`` with the part between the markers replaced by the generated tables."""
    if START not in text or END not in text:
        raise ValueError(f"README lacks the markers {START!r} and {END!r}")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n\n{columns_markdown()}\n{END}{tail}"


def main(path: Path = README) -> int:
    """Rewrite the README's generated part; prints whether it changed."""
    old = path.read_text(encoding="utf-8")
    new = render_readme(old)
    if new != old:
        from pvtlab.files import write_text_atomic  # here: pvtlab.files loads torch, which the columns do not need

        write_text_atomic(path, new)
    print(f"{path}: {'updated' if new != old else 'already up to date'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
