"""A small real grid through ``run_ablation.py`` (real processes, real files), its report, and the notebook on it.

One grid run is shared by the tests here: starting the grid's processes is most of the cost.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "analysis.ipynb"
PATH_STEPS = ["non_overlap/pos_embed/sra", "overlap/pos_embed/sra", "overlap/conv_ffn/sra",
              "overlap/conv_ffn/linear_sra"]
SPEC = f"""# A tiny grid for the notebook test: the factorial on pvt_nano, its path, FLOPs at two sizes (16 cells).
name: nbtest
models: [pvt_nano]
factorial:
  patch_embed: [non_overlap, overlap]
  position: [pos_embed, conv_ffn]
  attention: [sra, linear_sra]
path: [{", ".join(PATH_STEPS)}]
measure: [flops]
resolutions: [64, 96]
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run the grid once with the real CLI; it writes cells.csv and, at the end, the report."""
    root = tmp_path_factory.mktemp("grid")
    spec = root / "nbtest.yaml"
    spec.write_text(SPEC)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "run_ablation.py", "--grid", str(spec), "--results-dir",
                           str(root / "results"), "--threads", "1"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    folder = root / "results" / "nbtest"
    assert "report: " in done.stdout and (folder / "report.md").is_file()
    return folder


def test_the_grid_report_has_the_path_in_order_with_the_values_of_cells_csv(results: Path) -> None:
    cells = pd.read_csv(results / "cells.csv")
    path = pd.read_csv(results / "table_path.csv")
    assert path["step"].tolist() == [0, 1, 2, 3]
    assert path["variant"].tolist() == PATH_STEPS
    flops = cells[(cells["group"] == "flops") & (cells["status"] == "ok")]
    for resolution in (64, 96):
        expected = [flops.loc[(flops["variant"] == v) & (flops["resolution"] == resolution), "gmacs"].item()
                    for v in PATH_STEPS]
        assert pd.to_numeric(path[f"gmacs_{resolution}px"]).tolist() == pytest.approx(expected)
    report = (results / "report.md").read_text()
    assert report.startswith("# Ablation report: nbtest") and "python run_ablation.py --grid" in report
    assert (results / "plot_gmacs_vs_resolution.png").stat().st_size > 10_000


def test_the_notebook_runs_on_the_grid(results: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code"), "strip the outputs"
    monkeypatch.setenv("PVTLAB_RESULTS", str(results))
    NotebookClient(notebook, timeout=180, kernel_name="python3",
                   resources={"metadata": {"path": str(REPO / "notebooks")}}).execute()
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/markdown", "")) +
                     str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert f"{results}: " in text  # the folder came from PVTLAB_RESULTS
    assert "The paper's path (PVTv2 Table 6 format)" in text
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 4  # compute, attention compute, the attention-share plot_complexity, ...
    assert "96 px (%)" in text  # the attention-share slice
