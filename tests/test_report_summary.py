"""The report's answer-first summary, its verdict rules, accuracy by test size and across tasks, on a two-task
grid that carries ``task`` and ``top1_by_res`` (``multitask_rows``) and on an old single-task file without them."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from multitask_rows import SIZES, multitask_rows
from test_report_load import ACC_SIZE, synthetic_rows, write_cells

from pvtlab.report import Catalog, current, load, write_report
from pvtlab.report import verdict
from pvtlab.report.changes import step_changes, toggle_changes
from pvtlab.report.summary import agreement, cross_task_table
from pvtlab.report.effects import effect_sets
from pvtlab.report.resolution import accuracy_vs_resolution_figure, resolution_tables
from pvtlab.report.summary import summary_section
from pvtlab.report.tasks import by_resolution, task_names


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    folder = tmp_path_factory.mktemp("multitask")
    write_cells(folder, multitask_rows())
    return Catalog(current(load(folder)))


def test_verdicts_follow_the_ci_and_the_sign() -> None:
    assert verdict.seeded(2.0, 1.0) == "helps" and verdict.seeded(-2.0, 1.0) == "hurts"
    assert verdict.seeded(0.5, 1.0) == "cannot tell" and verdict.seeded(2.0, float("nan")) == "cannot tell"
    assert verdict.counted(5.0, better=-1) == "hurts" and verdict.counted(-0.01, better=-1) == "no change"
    assert verdict.cost("gmacs", [-20.0, -1.0]) == "helps"  # counted: the mean's sign is exact
    assert verdict.cost("infer_img_per_s_median", [-12.0, -3.0]) == "cannot tell"  # one setting within the noise
    assert verdict.cost("infer_img_per_s_median", [-12.0, -8.0]) == "hurts"
    assert verdict.qualified("helps", 11.0, 60.0, chance_pct=10.0).startswith("cannot tell (baseline near chance")
    assert verdict.qualified("helps", 50.0, 98.0, chance_pct=10.0) == "helps (at the ceiling: size capped)"


def test_old_rows_form_one_task_named_after_their_data() -> None:
    rows = pd.DataFrame({"task": [None, "", "digits"],
                         "data_json": [json.dumps({"name": "synthetic"}), None, json.dumps({"name": "x"})]})
    assert task_names(rows).tolist() == ["synthetic", "unnamed task", "digits"]
    assert task_names(rows.drop(columns="task")).tolist() == ["synthetic", "unnamed task", "x"]
    sizes = by_resolution(pd.DataFrame({"top1_by_res": ['{"32": 40.5, "64": 50}', "", "not json"]}))
    assert list(sizes) == ["top1_acc_at_32px", "top1_acc_at_64px"]
    assert sizes["top1_acc_at_32px"].iloc[0] == 40.5 and sizes["top1_acc_at_64px"].isna().tolist()[1:] == [True] * 2


def test_each_task_keeps_its_own_seeds(catalog: Catalog) -> None:
    assert catalog.tasks == ["synthetic", "digits"]
    step0 = catalog.paths[""][0]
    synthetic, _ = catalog.seed_values(step0, task="synthetic")
    digits, _ = catalog.seed_values(step0, task="digits")
    assert synthetic.mean() == pytest.approx(50.3) and digits.mean() == pytest.approx(11.05)
    assert catalog.seed_values(step0)[0].equals(synthetic)  # no task named: the first, never a mix
    assert catalog.test_sizes("synthetic") == list(SIZES) and catalog.chance_of("digits") == 10.0


def test_toggle_effects_are_paired_by_seed_at_every_test_size(catalog: Catalog) -> None:
    found = {(c.change, c.size): c for c in toggle_changes(catalog, "synthetic")}
    # The fixture's OPE: +3, +1 with CFFN (half the settings), +0.1 per seed (mean seed 1): 3.6 at every size.
    assert [found["OPE", s].effect for s in SIZES] == pytest.approx([3.6] * 3)
    # CFFN: +2 and +0.5 from the interaction; away from 64 px the position-embedding variants lose 4 pp more.
    assert [found["CFFN", s].effect for s in SIZES] == pytest.approx([6.5, 2.5, 6.5])
    assert found["OPE", ACC_SIZE].trained and not found["OPE", SIZES[0]].trained
    assert found["OPE", ACC_SIZE].verdict == "helps"


def test_a_change_from_chance_is_no_improvement_claim(catalog: Catalog) -> None:
    digits = [c for c in step_changes(catalog, "digits") if c.size == ACC_SIZE]
    assert digits and all(c.verdict.startswith("cannot tell (baseline near chance") for c in digits)


def test_summary_opens_with_one_verdict_line_per_change_and_the_paper_beside_the_path(catalog: Catalog) -> None:
    text = summary_section(catalog, effect_sets(catalog))
    lines = text.splitlines()
    assert lines[0] == "## The answer: what each change buys"
    assert [line.split("**")[1] for line in lines[2:5]] == ["OPE", "CFFN", "LSRA"]
    assert "top-1 on synthetic: **helps** (+3.6 ± 0.25 pp, n=3, @64 px)" in lines[2]
    assert "compute: **hurts**" in lines[2] and "parameters: **helps**" in lines[4]
    assert "position and cross-patch structure" in text.lower()  # what the synthetic task can and cannot show
    path = [line for line in lines if line.startswith("| ") and line[2].isdigit()]
    assert [row.split(" | ")[2] for row in path] == ["79.8", "81.1", "82.0", "82.1"]


def test_cross_task_table_says_whether_the_signs_agree(catalog: Catalog) -> None:
    table = cross_task_table(catalog)
    rows = {row[0].text: row for row in table.rows}
    assert rows["CFFN"][-1].text.startswith("no: opposite signs")
    assert rows["OPE"][1].value == pytest.approx(3.6) and rows["OPE"][1].ci is not None
    assert agreement([]) == "one task only"


def test_accuracy_by_test_size_has_a_table_per_task_and_a_panel_per_task(catalog: Catalog) -> None:
    tables = {t.name: t for t in resolution_tables(catalog)}
    assert set(tables) == {f"{kind}_{task}" for kind in ("accuracy_by_resolution", "effects_by_resolution")
                           for task in ("synthetic", "digits")}
    assert any("bilinearly" in note for note in tables["accuracy_by_resolution_synthetic"].notes)
    fig = accuracy_vs_resolution_figure(catalog)
    assert len(fig.axes) == 4 and "bilinearly" in fig.get_suptitle()
    assert [int(t) for t in fig.axes[0].get_xticks()] == list(SIZES)


def test_written_report_puts_the_answer_before_the_setup(tmp_path: Path) -> None:
    write_cells(tmp_path, multitask_rows())
    text = write_report(tmp_path).read_text()
    assert text.index("## The answer") < text.index("## Across tasks") < text.index("## Accuracy by test size") \
        < text.index("## What was run")
    assert (tmp_path / "plot_accuracy_vs_resolution.png").is_file()
    assert (tmp_path / "table_cross_task.csv").is_file()


def test_a_grid_without_the_new_columns_reports_as_before(tmp_path: Path) -> None:
    write_cells(tmp_path, synthetic_rows())
    catalog = Catalog(current(load(tmp_path)))
    assert len(catalog.tasks) == 1 and catalog.test_sizes(catalog.tasks[0]) == []
    assert resolution_tables(catalog) == [] and accuracy_vs_resolution_figure(catalog) is None
    assert cross_task_table(catalog) is None
    assert [c.size for c in toggle_changes(catalog, catalog.tasks[0])] == [ACC_SIZE] * 3


def test_each_task_gets_its_own_accuracy_effect_sets(catalog: Catalog) -> None:
    top1 = [s for s in effect_sets(catalog) if s.seeded and s.column == "top1_acc"]
    assert len(top1) == len(catalog.tasks) == 2
    for task, effect_set in zip(catalog.tasks, top1):
        assert f" on {task}," in effect_set.model  # the plot's and table's label names the task
        mine = toggle_changes(catalog, task)
        trained = {c.change: c for c in mine if c.trained}
        main = effect_set.main.set_index("improvement")["effect"]
        assert main["LSRA"] == pytest.approx(trained["LSRA"].effect)  # the same paired numbers as the summary
