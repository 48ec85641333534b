"""The report's plots: what is drawn (through matplotlib's objects) and that the files are real images."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from test_report_load import FACTORIAL_MODEL, PATH, fail, synthetic_rows, write_cells

from pvtlab.report import current, load
from pvtlab.report.effect_tables import effect_sets
from pvtlab.report.plot_effects import effects_figure
from pvtlab.report.plot_scaling import scaling_figure, scaling_skip_reason
from pvtlab.report.plot_tradeoff import tradeoff_figure

SLOPE = re.compile(r"k = (-?\d+\.\d+)")


@pytest.fixture
def cells(tmp_path: Path) -> pd.DataFrame:
    rows = synthetic_rows()
    fail(rows, "RuntimeError: out of memory", group="memory", variant="pvt_v1_small", resolution=448)
    write_cells(tmp_path, rows)
    return current(load(tmp_path))


def legend_texts(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_attention_scaling_plot_is_log_log_with_the_fitted_slopes(cells: pd.DataFrame) -> None:
    fig = scaling_figure(cells, "attn_gmacs")
    path_ax, factorial_ax = fig.axes
    assert [ax.get_title() for ax in fig.axes] == ["Paper's path", f"Factorial on {FACTORIAL_MODEL}"]
    for ax in fig.axes:
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
        assert "(GMACs" in ax.get_ylabel() and "px" in ax.get_xlabel()
    assert len(path_ax.get_lines()) == len(PATH) and len(factorial_ax.get_lines()) == 8
    for text in legend_texts(factorial_ax):
        slope = float(SLOPE.search(text).group(1))
        assert slope == pytest.approx(2.0 if "LSRA" in text else 4.0, abs=0.01)  # side^2 vs side^4
    line = path_ax.get_lines()[0]  # step 0: its points are the file's attention GMACs
    rows = cells[(cells["group"] == "flops") & (cells["variant"] == "pvt_v1_small")].sort_values("resolution")
    assert list(line.get_xdata()) == rows["resolution"].tolist()
    assert list(line.get_ydata()) == pytest.approx(rows["attn_gmacs"].tolist())


def test_a_failed_point_is_named_in_the_legend(cells: pd.DataFrame) -> None:
    fig = scaling_figure(cells, "peak_mem")
    texts = legend_texts(fig.axes[0])
    assert any("failed @448 px" in t for t in texts)
    assert len(fig.axes[0].get_lines()[0].get_xdata()) == 1  # only the point that ran is drawn


def test_tradeoff_plot_shows_mean_accuracy_with_error_bars(cells: pd.DataFrame) -> None:
    fig = tradeoff_figure(cells)
    path_ax = fig.axes[0]
    assert "(GMACs)" in path_ax.get_xlabel() and "(%)" in path_ax.get_ylabel()
    bars = [c for c in path_ax.containers if c.has_yerr]
    assert len(bars) == len(PATH)
    acc = cells[(cells["group"] == "accuracy") & cells["path_step"].notna()]
    means = acc.groupby("path_step")["top1_acc"].mean().sort_index()
    drawn = [c.lines[0].get_ydata()[0] for c in bars]
    assert drawn == pytest.approx(means.tolist())
    assert any("95% CI over seeds" in (t.get_title().get_text()) for t in [path_ax.get_legend()])


def test_effects_plot_has_an_accuracy_and_a_cost_panel(cells: pd.DataFrame) -> None:
    sets = effect_sets(cells)
    fig = effects_figure(sets)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0].startswith("Accuracy") and titles[1].startswith(f"Cost: {FACTORIAL_MODEL}")
    assert "(pp)" in fig.axes[0].get_xlabel() and "(%)" in fig.axes[1].get_xlabel()
    accuracy = next(s for s in sets if s.unit == "pp").main.set_index("improvement")
    [bars] = fig.axes[0].containers
    assert list(bars.lines[0].get_xdata()) == pytest.approx(accuracy.loc[["OPE", "CFFN", "LSRA"], "effect"].tolist())
    cost_series = [s for s in sets if s.unit != "pp" and s.main is not None]
    assert len(fig.axes[1].containers) == len(cost_series)


def test_a_curve_at_one_resolution_has_no_scaling_plot(tmp_path: Path) -> None:
    rows = [r for r in synthetic_rows() if not (r["group"] == "throughput" and r["resolution"] != 224)]
    write_cells(tmp_path, rows)
    cells = current(load(tmp_path))
    assert scaling_figure(cells, "throughput") is None
    assert "224 px only" in scaling_skip_reason(cells, "throughput")
    assert scaling_figure(cells, "gmacs") is not None
