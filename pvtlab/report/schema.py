"""The columns of ``cells.csv``: type, unit and meaning of each, in one place.

The loader types columns from this table, the report takes its units from it, and a test checks that
``results/README.md`` documents every name here, so the three can never drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["str", "bool", "int", "float", "datetime"]


@dataclass(frozen=True)
class Column:
    """One ``cells.csv`` column: how to type it, its unit ("" when it has none) and what it holds."""

    kind: Kind
    unit: str
    meaning: str


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
    "path_step": Column("int", "", "0..3 on the paper's path (PVTv1, +OPE, +CFFN, +LSRA); empty otherwise"),
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
    "aliases": Column("str", "", "other `model:variant` names of the same cell, `;`-separated (a measurement "
                                 "asked for twice runs once)"),
    "settings_json": Column("str", "", "measurement settings of the cell as JSON (device, epochs, options)"),
    "data_json": Column("str", "", "data spec of an accuracy cell as JSON"),
    "workers": Column("int", "", "local worker processes of the run that measured the cell"),
}

MEASUREMENTS: dict[str, Column] = {
    "params_m": Column("float", "M", "parameters, millions"),
    "trainable_params_m": Column("float", "M", "trainable parameters, millions"),
    "gmacs": Column("float", "GMACs", "multiply-accumulates per image (batch 1), attention matmuls included"),
    "attn_gmacs": Column("float", "GMACs", "the part of `gmacs` in the attention matmuls (q k^T and attn v)"),
    "gflops": Column("float", "GFLOPs", "floating-point operations per image: 2 x `gmacs`"),
    "analytic_gmacs": Column("float", "GMACs", "closed-form count from the config, a cross-check of `gmacs`"),
    "flop_counter": Column("str", "", "the counter that produced `gmacs` and its version"),
    "uncounted_ops": Column("str", "", "operators the counter skipped (empty when none)"),
    "peak_mem_mib": Column("float", "MiB", "absolute peak of an inference step at `batch_size` (CPU: the "
                                           "process high-water mark, Python and torch included; CUDA: max allocated)"),
    "peak_mem_over_idle_mib": Column("float", "MiB", "inference peak minus the memory held once model and batch "
                                                     "exist: what the step's activations need"),
    "train_peak_mem_mib": Column("float", "MiB", "absolute peak of a training step (forward, backward, AdamW)"),
    "train_peak_mem_over_idle_mib": Column("float", "MiB", "training peak minus the memory held before the step"),
    "mem_method": Column("str", "", "how memory was read (CPU VmHWM in a fresh process, or the CUDA allocator)"),
    "batch_size": Column("int", "images", "batch size the memory or timing measurement actually ran at"),
    "infer_img_per_s_median": Column("float", "img/s", "inference throughput, median over timed repeats"),
    "infer_img_per_s_iqr": Column("float", "img/s", "inference throughput, interquartile range over repeats"),
    "infer_latency_ms_median": Column("float", "ms", "inference time of one batch, median over repeats"),
    "train_img_per_s_median": Column("float", "img/s", "training throughput, median over timed repeats"),
    "train_img_per_s_iqr": Column("float", "img/s", "training throughput, interquartile range over repeats"),
    "mfu_infer": Column("float", "fraction", "inference model-FLOPs utilisation: achieved FLOP/s over the "
                                             "machine's measured matmul peak (0 to 1)"),
    "mfu_train": Column("float", "fraction", "training model-FLOPs utilisation (a step counts 3 x the forward "
                                             "FLOPs), 0 to 1"),
    "top1_acc": Column("float", "%", "top-1 validation accuracy"),
    "top5_acc": Column("float", "%", "top-5 validation accuracy"),
    "val_loss": Column("float", "nats", "mean validation cross-entropy (natural log)"),
    "train_time_s": Column("float", "s", "training wall time"),
    "images_seen": Column("int", "images", "training images processed"),
    "epochs": Column("float", "", "training epochs completed (fractional for a step budget)"),
    "loss_curve": Column("str", "", "training loss as a JSON list of up to 100 bucket means, in order"),
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

# Which measurement columns each group fills.
GROUPS = ("params", "flops", "memory", "throughput", "accuracy")

# The paper's path, in order (PVTv2 Table 6).
PATH_LABELS = {0: "PVTv1", 1: "+ OPE", 2: "++ CFFN", 3: "+++ LSRA"}

# The factorial toggles: PVTv1 value first, PVTv2 value second, and the improvement's name.
TOGGLES: dict[str, tuple[str, str, str]] = {
    "patch_embed": ("non_overlap", "overlap", "OPE"),
    "position": ("pos_embed", "conv_ffn", "CFFN"),
    "attention": ("sra", "linear_sra", "LSRA"),
}


def unit(name: str) -> str:
    """The unit of a column, or "" when it is unitless or not a known column."""
    column = COLUMNS.get(name)
    return column.unit if column else ""
