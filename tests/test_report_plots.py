"""The report's plots: what is drawn (through matplotlib's objects), that no text overlaps another, and
``plot_complexity`` on the frame ``pvtlab.measure.sweep`` returns."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.text import Annotation
from test_report_load import (
    ACC_SIZE,
    FACTORIAL_MODEL,
    PATH,
    RESOLUTIONS,
    fail,
    synthetic_rows,
    write_cells,
)

from pvtlab import PVTConfig
from pvtlab.measure import analytic_count
from pvtlab.report import Catalog, build_figures, current, load, plot_complexity
from pvtlab.report.effects import effect_sets
from pvtlab.report.plot_tools import drawn_texts, text_box
from pvtlab.report.plots import (
    COST_FAMILIES,
    _macs_unit,
    accuracy_figure,
    effects_figure,
    learning_curves_figure,
    pareto_front,
    scaling_figure,
    scaling_skip_reason,
    throughput_figure,
    throughput_points,
)

SLOPE = re.compile(r"k = (-?\d+\.\d+)")


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    rows = synthetic_rows()
    fail(rows, "RuntimeError: out of memory", group="memory", variant="pvt_v1_small", resolution=448)
    folder = tmp_path_factory.mktemp("plots")
    write_cells(folder, rows)
    return Catalog(current(load(folder)))


def legend_texts(ax) -> list[str]:
    return [t.get_text().replace("\n", " ") for t in ax.get_legend().get_texts()]


def overlaps(fig: Figure) -> list[tuple[str, str]]:
    """Pairs of visible texts whose boxes overlap once the figure is drawn."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = drawn_texts(fig)
    assert len(texts) > 5
    boxes = [(t.get_text(), text_box(t, renderer)) for t in texts]
    return [(a, b) for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2)
            if box_a.overlaps(box_b) and box_a.intersection(box_a, box_b).width > 1
            and box_a.intersection(box_a, box_b).height > 1]


def test_no_text_overlaps_in_any_report_figure(catalog: Catalog) -> None:
    figures = build_figures(catalog)
    assert {"gmacs_vs_resolution", "attn_gmacs_vs_resolution", "peak_mem_vs_resolution", "throughput_vs_resolution",
            "throughput_vs_gmacs", "accuracy_vs_gmacs", "learning_curves", "main_effects"} == set(figures)
    for name, fig in figures.items():
        assert not overlaps(fig), f"{name}: {overlaps(fig)}"


def test_attention_scaling_plot_merges_identical_lines_and_fits_the_slopes(catalog: Catalog) -> None:
    fig = scaling_figure(catalog, "attn_gmacs")
    path_ax, path_relative, factorial_ax, factorial_relative = fig.axes
    assert [ax.get_title() for ax in (path_ax, factorial_ax)] == ["Paper's path", f"Factorial on {FACTORIAL_MODEL}"]
    for ax in (path_ax, factorial_ax):
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
        assert "(GMACs" in ax.get_ylabel() and "px" in ax.get_xlabel()
    # SRA's attention GMACs are the same for every SRA variant: one line naming all of them, and one for LSRA.
    assert len(factorial_ax.get_lines()) == 2 and len(path_ax.get_lines()) == 2
    # Beside each panel, each line as % of the first, so lines a few % apart come apart.
    assert list(path_relative.get_lines()[0].get_ydata()) == pytest.approx([100.0] * len(RESOLUTIONS["flops"]))
    assert "% of" in factorial_relative.get_ylabel()
    texts = legend_texts(factorial_relative)
    assert sorted(t.split(":")[0].count(" = ") for t in texts) == [3, 3]  # 4 SRA and 4 LSRA combinations merged
    for text in texts:
        assert float(SLOPE.search(text).group(1)) == pytest.approx(2.0 if "LSRA" in text.split(":")[0] else 4.0,
                                                                   abs=0.01)
    assert legend_texts(path_relative)[0].startswith("0 baseline = 1 + OPE = 2 + CFFN + v2 head, norms, init:")


def test_a_failed_point_is_named_in_the_legend(catalog: Catalog) -> None:
    fig = scaling_figure(catalog, "peak_mem")
    texts = legend_texts(fig.axes[1])
    assert any(t.startswith("0 baseline") and "failed @448 px" in t for t in texts)


def test_accuracy_is_plotted_against_the_trained_models_gmacs(catalog: Catalog) -> None:
    fig = accuracy_figure(catalog)
    path_ax = fig.axes[0]
    assert "pvt_nano @64 px (MMACs)" in path_ax.get_xlabel() and "(%)" in path_ax.get_ylabel()
    bars = [c for c in path_ax.containers if c.has_yerr]
    assert len(bars) == len(PATH)
    for step, container in zip(catalog.paths[""], bars):
        row = catalog.rows.iloc[step.acc[0]]
        trained = PVTConfig(**json.loads(row["config_json"])).replace(num_classes=int(row["num_classes"]))
        expected = analytic_count(trained, ACC_SIZE).macs / 1e6  # its head has the data's classes, not 1000
        assert container.lines[0].get_xdata()[0] == pytest.approx(expected)
        assert container.lines[0].get_ydata()[0] == pytest.approx(catalog.seed_entry(step).value)
        low, high = path_ax.get_ylim()
        entry = catalog.seed_entry(step)
        assert low <= entry.value - entry.ci and entry.value + entry.ci <= high  # bars shown whole
    labels = [a.get_text() for a in path_ax.texts if isinstance(a, Annotation)]
    assert labels == [m.label for m in catalog.paths[""]]
    low, high = path_ax.get_xlim()
    assert len([t for t in path_ax.get_xticks() if low <= t <= high]) <= 6  # close GMACs: few, readable ticks


def test_a_proxy_models_compute_reads_in_mmacs_a_full_models_in_gmacs() -> None:
    assert _macs_unit(0.0041) == (1e3, "MMACs")  # pvt_nano at 48 px: "4.1", not "0.0041"
    assert _macs_unit(4.05) == (1.0, "GMACs")  # PVTv2-B2 at 224 px


def test_throughput_plot_has_one_labelled_point_per_variant_and_resolution(catalog: Catalog) -> None:
    fig = throughput_figure(catalog)
    [ax] = fig.axes
    points = throughput_points(catalog)
    lines_timed = {line for line in catalog.lines
                   if catalog.measured(line, "throughput", "infer_img_per_s_median", 224).has_value}
    assert len(points) == len(lines_timed) * len(RESOLUTIONS["throughput"])
    labels = [a.get_text() for a in ax.texts if isinstance(a, Annotation)]
    assert sorted(labels) == sorted(points["label"])
    for resolution in RESOLUTIONS["throughput"]:
        assert len(set(points.loc[points["resolution"] == resolution, "label"])) == len(lines_timed)
    markers = [c for c in ax.containers if c.has_yerr]
    assert len(markers) == len(RESOLUTIONS["throughput"])
    assert "GMACs" in ax.get_xlabel() and "img/s" in ax.get_ylabel()


def test_pareto_front_keeps_only_undominated_points() -> None:
    points = pd.DataFrame({"gmacs": [1.0, 2.0, 2.0, 3.0, 4.0], "img_per_s": [10.0, 12.0, 9.0, 11.0, 20.0]})
    assert pareto_front(points).index.tolist() == [0, 1, 4]


def test_learning_curves_have_a_line_and_a_band_per_variant(catalog: Catalog) -> None:
    fig = learning_curves_figure(catalog)
    _, factorial_ax = fig.axes
    variant_lines = [line for line in factorial_ax.get_lines() if not line.get_label().startswith(("chance",
                                                                                                    "ceiling"))]
    assert len(variant_lines) == 8
    assert len([c for c in factorial_ax.collections if isinstance(c, PolyCollection)]) == 8
    assert all("(n=3)" in line.get_label() for line in variant_lines)


def test_effects_plot_has_accuracy_and_cost_panels(catalog: Catalog) -> None:
    sets = effect_sets(catalog)
    fig = effects_figure(sets)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0].startswith("Top-1") and titles[1].startswith("Sample efficiency")
    assert [t.split(":")[0] for t in titles[2:]] == list(COST_FAMILIES)  # one readable panel per cost family
    accuracy = next(s for s in sets if s.metric == "Top-1 (pp)").main.set_index("improvement")
    [bars] = fig.axes[0].containers
    assert list(bars.lines[0].get_xdata()) == pytest.approx(accuracy.loc[["OPE", "CFFN", "LSRA"], "effect"].tolist())
    plotted = [c for ax in fig.axes[2:] for c in ax.containers if isinstance(c, BarContainer)]
    assert len(plotted) == len([s for s in sets if not s.seeded and s.main is not None
                                and any(s.column in cols for cols in COST_FAMILIES.values())])
    for ax in fig.axes[2:]:
        colours = [c.patches[0].get_facecolor() for c in ax.containers if isinstance(c, BarContainer)]
        assert len(colours) <= 10 and len(set(colours)) == len(colours)  # no colour used twice in a panel
        assert "_" not in " ".join(legend_texts(ax))  # metrics in words, not column names


def test_a_curve_at_one_resolution_has_no_scaling_plot(tmp_path: Path) -> None:
    rows = [r for r in synthetic_rows() if not (r["group"] == "throughput" and r["resolution"] != 224)]
    write_cells(tmp_path, rows)
    catalog = Catalog(current(load(tmp_path)))
    assert scaling_figure(catalog, "throughput") is None
    assert "224 px only" in scaling_skip_reason(catalog, "throughput")
    assert scaling_figure(catalog, "gmacs") is not None


def test_plot_complexity_takes_the_sweep_frame() -> None:
    # The shape of pvtlab.measure.sweep(configs, sizes, groups): one row per config x size x group.
    rows = []
    for model, k in (("pvt_v2_b2", 2.0), ("pvt_v1_small", 4.0)):
        for size in (224, 448, 896):
            rows.append({"model": model, "variant": None, "group": "flops", "resolution": size,
                         "gmacs": (size / 224) ** k})
            rows.append({"model": model, "variant": None, "group": "params", "resolution": size, "gmacs": None})
    fig = plot_complexity(pd.DataFrame(rows), "gmacs")
    [ax] = fig.axes
    assert ax.get_ylabel() == "Compute (GMACs, log scale)" and fig.get_suptitle().startswith("Compute vs")
    low, high = ax.get_ylim()
    assert len([t for t in ax.get_yticks() if low <= t <= high]) >= 4  # enough ticks to read a value off
    fig = plot_complexity(pd.DataFrame(rows), "gmacs", title="GMACs by side")
    [ax] = fig.axes
    texts = legend_texts(ax)
    assert texts == ["pvt_v2_b2: k = 2.00", "pvt_v1_small: k = 4.00"]
    assert [list(line.get_xdata()) for line in ax.get_lines()] == [[224, 448, 896]] * 2
    assert fig.get_suptitle() == "GMACs by side"
    with pytest.raises(ValueError, match="no column 'peak_mem_mib'"):
        plot_complexity(pd.DataFrame(rows), "peak_mem_mib")


def test_effects_plot_has_a_paired_speed_panel_with_ci_whiskers(catalog: Catalog) -> None:
    from test_report_speed import rows as timed_rows  # 8 factorial arms timed in one block, drift cancelled

    from pvtlab.report.speed import factorial_effects

    fig = effects_figure(effect_sets(catalog), factorial_effects(timed_rows()))
    speed_ax = fig.axes[-1]
    assert speed_ax.get_title().startswith("Speed, paired by round")
    bars = [c for c in speed_ax.containers if isinstance(c, BarContainer)]
    assert [b.get_label() for b in bars] == ["inference @224 px", "training @224 px"]
    widths = [patch.get_width() for patch in bars[0].patches]  # OPE 0.9x, CFFN 1.0x, LSRA 1.2x
    assert widths == pytest.approx([-10.0, 0.0, 20.0], abs=1e-6)
