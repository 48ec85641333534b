"""``write_report`` end to end on a hand-made results folder: report.md, table files, plot files, README."""

from __future__ import annotations

import json
import re
from pathlib import Path

import matplotlib.image
import pandas as pd
import pytest
from test_report_load import fail, synthetic_rows, write_cells

from pvtlab.columns import COLUMNS, render_readme
from pvtlab.errors import UserInputError
from pvtlab.report import write_report

REPO = Path(__file__).resolve().parents[1]
SPEC = "name: synthetic\nmodels: [pvt_v2_b2]\nmeasure: [params, flops, memory, throughput]\n"
GRID_JSON = {"study": "synthetic", "spec_hash": "abc123", "spec_path": "ablations/synthetic.yaml", "cells": 100,
             "device": "cpu", "storage": "journal file results/synthetic/optuna.journal",
             "last_run": {"started_at": "2025-01-02T10:00:00+00:00", "finished_at": "2025-01-02T10:04:10+00:00",
                          "wall_s": 250.0, "workers": 2, "threads_per_worker": 1, "device": "cpu"}}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One written report shared by the tests below (writing the plots is the slow part)."""
    folder = tmp_path_factory.mktemp("results") / "synthetic"
    rows = synthetic_rows()
    fail(rows, "RuntimeError: out of memory", group="memory", variant="pvt_v1_small", resolution=448)
    write_cells(folder, rows)
    (folder / "spec.yaml").write_text(SPEC)
    (folder / "grid.json").write_text(json.dumps(GRID_JSON))
    (folder / "plot_from_an_older_report.png").write_bytes(b"old")
    (folder / "notes.txt").write_text("mine")
    assert write_report(folder / "cells.csv") == folder / "report.md"
    return folder


def test_report_opens_with_the_answer_then_says_what_was_run(folder: Path) -> None:
    text = (folder / "report.md").read_text()
    lines = text.splitlines()
    assert lines[0] == "# Ablation report: synthetic" and lines[2] == "## The answer: what each change buys"
    assert lines[4].startswith("- **OPE** (patch_embed non_overlap → overlap): top-1 on unnamed task: **helps** (+3.6")
    assert text.index("## The answer") < text.index("## Warnings") < text.index("## What was run") \
        < text.index("## The paper's path")
    intro = text.split("## What was run")[1].split("## The paper's path")[0]
    assert f"`{folder / 'spec.yaml'}` (spec hash `abc123`)" in intro
    assert "`python run_ablation.py --grid ablations/synthetic.yaml`" in intro
    assert "**Wall time (last run)**: 250.0 s (4 min 10 s)" in intro
    assert "2 worker(s) x 1 thread(s) on cpu" in intro
    assert "**Machine**: " in intro and "torch_version: `2.14.1`" in intro
    assert "sdpa_backend: `math`" in intro and "timed_alone: `True`" in intro
    assert "**Matmul peak** (the MFU denominator, measured in each timed cell): median 2,560 GFLOP/s" in intro
    total = len(synthetic_rows())
    assert f"**Cells**: {total} ({total - 1} ok, 1 failed)" in intro


def test_every_table_has_csv_and_tex_files(folder: Path) -> None:
    text = (folder / "report.md").read_text()
    names = re.findall(r"Files: `(table_\w+)\.csv`, `\1\.tex`", text)
    assert {"table_path", "table_factorial", "table_main_effects", "table_interactions",
            "table_lsra_crossover_measured", "table_complexity_gmacs", "table_complexity_attn_gmacs", "table_complexity_train_throughput",
            "table_complexity_train_peak_mem"} <= set(names)
    assert sorted(p.stem for p in folder.glob("table_*.csv")) == sorted(names)
    assert "table_lsra_crossover" in names
    for name in names:
        assert len(pd.read_csv(folder / f"{name}.csv")) > 0
        tex = (folder / f"{name}.tex").read_text()
        assert "\\begin{tabular}" in tex and "\\toprule" in tex and "\\bottomrule" in tex
        for part in tex.split("\\label")[1:]:
            assert re.search(r"(?<!\\)_", part.split("}", 1)[1].split("\\begin{table}")[0]) is None  # escaped
        for tabular in re.findall(r"\\begin\{tabular\}\{(\w+)\}", tex):
            assert len(tabular.lstrip("l")) <= 6, f"{name}: a LaTeX part with more than 6 value columns"


def test_path_csv_keeps_numbers_and_the_failure(folder: Path) -> None:
    path = pd.read_csv(folder / "table_path.csv")
    assert path["step"].tolist() == [0, 1, 2, 3]
    assert pd.isna(path.loc[0, "peak_mem_over_idle_mib_448px"])
    assert path.loc[0, "peak_mem_over_idle_mib_448px_note"] == "failed (RuntimeError: out of memory)"
    assert pd.to_numeric(path["gmacs_224px"]).notna().all()
    assert pd.isna(path.loc[0, "gmacs_224px_delta"]) and pd.notna(path.loc[1, "gmacs_224px_delta"])
    assert path["paper_model"].tolist() == ["PVTv1-Small", "-", "PVTv2-B2", "PVTv2-B2-Li"]


def test_numeric_csv_columns_hold_numbers_only(folder: Path) -> None:
    text_columns = {"step", "setting", "paper_model", "model", "variant", "metric", "term", "per_estimate",
                    "ci_over", "patch_embed", "position", "attention", "stage", "sra", "lsra", "top1_acc_pct_per_seed"}
    for csv in folder.glob("table_*.csv"):
        table = pd.read_csv(csv)
        for column in table.columns:
            if column in text_columns or column.endswith("_note"):
                continue
            values = table[column].dropna()
            assert pd.to_numeric(values, errors="coerce").notna().all(), f"{csv.name}: {column} holds text"


def test_the_report_says_what_the_numbers_rest_on(folder: Path) -> None:
    text = (folder / "report.md").read_text()
    warnings = text.split("## Warnings")[1].split("## ")[0]
    assert warnings.strip() == "None."  # 3 seeds, narrow CIs, 50-57 % top-1 with 16 classes
    assert "Top-1 (%), pvt_nano @64 px, mean ± 95% CI (n = seeds)" in text
    assert "50.0 (s0) / 50.3 (s1) / 50.6 (s2)" in text
    assert "## Where linear SRA starts to pay" in text and "Why the measured crossover differs" in text


def test_failed_cells_are_listed_with_their_reason(folder: Path) -> None:
    failed = (folder / "report.md").read_text().split("## Failed cells")[1]
    assert "| memory | pvt_v1_small | pvt_v1_small | 448 | - | failed (RuntimeError: out of memory) |" in failed


def test_every_plot_is_a_real_image_and_embedded(folder: Path) -> None:
    text = (folder / "report.md").read_text()
    pngs = sorted(folder.glob("plot_*.png"))
    assert {p.stem for p in pngs} == {"plot_gmacs_vs_resolution", "plot_attn_gmacs_vs_resolution",
                                      "plot_peak_mem_vs_resolution", "plot_throughput_vs_resolution",
                                      "plot_throughput_vs_gmacs", "plot_accuracy_vs_gmacs", "plot_learning_curves",
                                      "plot_main_effects"}
    for png in pngs:
        assert f"]({png.name})" in text
        image = matplotlib.image.imread(png)
        height, width = image.shape[:2]
        assert height >= 300 and width >= 600, f"{png.name} is {width}x{height}"
        assert image[..., :3].std() > 0.05, f"{png.name} is blank"
        pdf = png.with_suffix(".pdf")
        assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 5000


def test_no_temporary_or_stale_outputs_are_left(folder: Path) -> None:
    assert not list(folder.glob(".*.tmp")) and not list(folder.glob("*.tmp"))
    assert not (folder / "plot_from_an_older_report.png").exists()  # the report's own old output goes
    assert (folder / "notes.txt").read_text() == "mine"  # anything else stays


def test_a_missing_folder_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="does not exist"):
        write_report(tmp_path / "nothing-here")


def test_results_readme_column_tables_are_generated_from_the_schema() -> None:
    readme = (REPO / "results" / "README.md").read_text()
    assert readme == render_readme(readme), "results/README.md is stale: run python -m pvtlab.columns"
    missing = sorted(n for n in COLUMNS if f"`{n}`" not in readme)
    assert not missing
    assert "also a factorial combination" not in readme  # the default factorial sits on B2, not PVTv1-Small


def test_an_empty_grid_still_gets_a_report(tmp_path: Path) -> None:
    (tmp_path / "cells.csv").write_text("cell_id,status,group,model,variant,resolution\n")
    text = write_report(tmp_path).read_text()
    assert text.startswith("# Ablation report: ") and "**Cells**: 0 (0 ok, 0 failed)" in text
    assert text.count("Not in this grid.") == 6 and "None: no cell of this grid has a value to plot." in text


def test_an_accuracy_only_grid_has_the_factorial_and_its_effects(tmp_path: Path) -> None:
    write_cells(tmp_path, [r for r in synthetic_rows() if r["group"] == "accuracy"])
    write_report(tmp_path)
    factorial = pd.read_csv(tmp_path / "table_factorial.csv")
    assert len(factorial) == 8 and pd.to_numeric(factorial["top1_acc_pct"]).notna().all()
    effects = pd.read_csv(tmp_path / "table_main_effects.csv")
    assert set(effects["metric"]) == {"Top-1 (pp)", "Sample efficiency (pp)"} and len(effects) == 6
    assert sorted(p.name for p in tmp_path.glob("plot_*.png")) == ["plot_accuracy_vs_gmacs.png",
                                                                  "plot_learning_curves.png", "plot_main_effects.png"]
    path = pd.read_csv(tmp_path / "table_path.csv")
    assert path["step"].tolist() == [0, 1, 2, 3] and pd.to_numeric(path["top1_acc_pct"]).notna().all()
