"""The report's tables from hand-made cells.csv files: order, values, changes, failures, stale rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from test_report_load import ACC_MODEL, PATH, RESOLUTIONS, SEEDS, fail, synthetic_rows, write_cells

from pvtlab.report import current, load
from pvtlab.report.complexity import complexity_tables
from pvtlab.report.effect_tables import effect_sets, effects_tables
from pvtlab.report.factorial import factorial_tables
from pvtlab.report.path import path_tables
from pvtlab.report.render import frame, latex, markdown, number
from pvtlab.stats import paired_difference

HIGH = max(RESOLUTIONS["flops"])


def cells_of(tmp_path: Path, rows: list[dict]) -> pd.DataFrame:
    write_cells(tmp_path, rows)
    return current(load(tmp_path))


def raw(tmp_path: Path) -> pd.DataFrame:
    """cells.csv read plainly, to take expected values from the file rather than from the code under test."""
    return pd.read_csv(tmp_path / "cells.csv")


def value(data: pd.DataFrame, column: str, **match: object) -> float:
    mask = pd.Series(True, index=data.index)
    for key, wanted in match.items():
        mask &= data[key] == wanted
    assert mask.sum() == 1, f"{mask.sum()} rows match {match}"
    return float(data.loc[mask, column].iloc[0])


def test_path_table_has_the_four_steps_in_order_with_the_values_of_cells_csv(tmp_path: Path) -> None:
    cells = cells_of(tmp_path, synthetic_rows())
    [table] = path_tables(cells)
    data = raw(tmp_path)
    assert [e.text for e in table.column("step")] == ["0", "1", "2", "3"]
    assert [e.text for e in table.column("setting")] == ["PVTv1", "+ OPE", "++ CFFN", "+++ LSRA"]
    # Step 2 is also a factorial combination: both names, and its memory rows (path name only) join it.
    assert table.column("variant")[2].text == "overlap/conv_ffn/sra = pvt_v2_b2"
    assert table.column("peak_mem_over_idle_mib_448px")[2].value == pytest.approx(
        value(data, "peak_mem_over_idle_mib", group="memory", variant="pvt_v2_b2", resolution=448))
    previous = None
    for entry_224, entry_high, acc, (step, model, _, _, _) in zip(
            table.column("gmacs_224px"), table.column(f"gmacs_{HIGH}px"), table.column("top1_acc_pct"), PATH):
        expected = value(data, "gmacs", group="flops", model=model, path_step=step, resolution=224)
        assert entry_224.value == pytest.approx(expected)
        assert entry_high.value == pytest.approx(
            value(data, "gmacs", group="flops", model=model, path_step=step, resolution=HIGH))
        seeds = data[(data["group"] == "accuracy") & (data["path_step"] == step)].sort_values("seed")
        assert acc.value == pytest.approx(seeds["top1_acc"].mean()) and acc.n == len(SEEDS)
        if previous is None:
            assert entry_224.delta is None and acc.delta is None
        else:
            assert entry_224.delta == pytest.approx(expected - previous[0])
            paired = paired_difference(seeds["top1_acc"].to_numpy(), previous[1]["top1_acc"].to_numpy())
            assert acc.delta == pytest.approx(paired["mean"]) and acc.delta_ci == pytest.approx(paired["ci95_half"])
        previous = (expected, seeds)


def test_a_failed_cell_shows_as_failed_with_its_reason(tmp_path: Path) -> None:
    rows = synthetic_rows()
    fail(rows, "RuntimeError: out of memory", group="memory", variant="pvt_v1_small", resolution=448)
    [table] = path_tables(cells_of(tmp_path, rows))
    key = "peak_mem_over_idle_mib_448px"
    entry = table.column(key)[0]
    assert not entry.has_value and entry.note == "failed (RuntimeError: out of memory)"
    assert table.column(key)[1].delta is None  # no change against a failed row
    text = markdown(table)
    first_row = [line for line in text.splitlines() if line.startswith("| 0 |")][0]
    assert "failed (RuntimeError: out of memory)" in first_row
    assert frame(table).loc[0, key] == "failed (RuntimeError: out of memory)"
    assert "failed (RuntimeError: out of memory)" in latex(table)


def test_failed_seed_is_counted_and_named(tmp_path: Path) -> None:
    rows = synthetic_rows()
    fail(rows, "ValueError: loss is NaN", group="accuracy", variant="pvt_v2_b2_li", seed=1)
    [table] = path_tables(cells_of(tmp_path, rows))
    acc = table.column("top1_acc_pct")[3]
    assert acc.n == len(SEEDS) - 1
    assert "1 seed(s) failed (ValueError: loss is NaN)" in acc.note


def test_factorial_table_has_all_eight_combinations(tmp_path: Path) -> None:
    cells = cells_of(tmp_path, synthetic_rows())
    [table] = factorial_tables(cells)
    combos = [(r[0].text, r[1].text, r[2].text) for r in table.rows]
    assert len(set(combos)) == 8 and combos[0] == ("non_overlap", "pos_embed", "sra")
    assert combos[-1] == ("overlap", "conv_ffn", "linear_sra")
    data = raw(tmp_path)
    for (patch, position, attention), entry in zip(combos, table.column("gmacs_224px")):
        variant = f"{patch}/{position}/{attention}"
        assert entry.value == pytest.approx(value(data, "gmacs", group="flops", variant=variant, resolution=224))


def test_complexity_exponents_follow_the_cost_formula(tmp_path: Path) -> None:
    tables = {t.name: t for t in complexity_tables(cells_of(tmp_path, synthetic_rows()))}
    attention = tables["complexity_attn_gmacs"]
    data = raw(tmp_path)
    kinds = dict(zip(zip(data["model"], data["variant"]), data["attention"]))
    for model, variant, fit in zip(attention.column("model"), attention.column("variant"),
                                   attention.column("exponent_fit")):
        expected = 2.0 if kinds[model.text, variant.text.split(" = ")[0]] == "linear_sra" else 4.0  # side^2, ^4
        assert fit.value == pytest.approx(expected)
    speed = tables["complexity_throughput"]
    assert [e.value for e in speed.column("exponent_fit")] == pytest.approx([-2.0] * len(PATH))  # (224 / side)^2


def test_one_resolution_has_no_exponent_columns(tmp_path: Path) -> None:
    rows = [r for r in synthetic_rows() if not (r["group"] == "throughput" and r["resolution"] != 224)]
    tables = {t.name: t for t in complexity_tables(cells_of(tmp_path, rows))}
    assert "exponent_fit" not in [c.key for c in tables["complexity_throughput"].columns]
    assert "One resolution only" in tables["complexity_throughput"].notes[0]


def test_stale_rows_are_left_out(tmp_path: Path) -> None:
    rows = synthetic_rows()
    stale = dict(next(r for r in rows if r["group"] == "flops" and r["variant"] == "pvt_v1_small"
                      and r["resolution"] == 224))
    stale.update(cell_id="old-cell", stale_spec="true", gmacs=999.0)
    cells = load(write_cells(tmp_path, rows + [stale]))
    assert cells["stale_spec"].sum() == 1
    [table] = path_tables(current(cells))
    assert table.column("gmacs_224px")[0].value != pytest.approx(999.0)


def test_an_ok_row_replaces_a_failed_row_of_the_same_cell(tmp_path: Path) -> None:
    rows = synthetic_rows()
    ok = next(r for r in rows if r["group"] == "flops" and r["variant"] == "pvt_v1_small" and r["resolution"] == 224)
    failed = {**ok, "status": "failed", "error": "killed", "gmacs": ""}
    cells = current(load(write_cells(tmp_path, [failed] + rows)))
    assert cells["cell_id"].is_unique
    [table] = path_tables(cells)
    assert table.column("gmacs_224px")[0].value == pytest.approx(float(ok["gmacs"]))


def test_effects_need_the_whole_factorial(tmp_path: Path) -> None:
    rows = synthetic_rows()
    rows = [r for r in rows if not (r["group"] == "flops" and r["variant"] == "overlap/pos_embed/sra"
                                    and r["resolution"] == HIGH)]
    sets = effect_sets(cells_of(tmp_path, rows))
    by_metric = {s.metric: s for s in sets}
    high = by_metric[f"Compute @{HIGH} px (GMACs)"]
    assert high.main is None and high.incomplete == "7 of 8 combinations measured"
    assert by_metric["Compute @224 px (GMACs)"].main is not None
    main, _ = effects_tables(sets)
    assert any("7 of 8 combinations measured" in note for note in main.notes)
    accuracy = by_metric["Top-1 (pp)"]
    assert accuracy.model == f"{ACC_MODEL} @64 px, pvt_v2_b2 style"
    assert (accuracy.main["ci_over"] == "seeds").all()


def test_every_numeric_column_names_its_unit(tmp_path: Path) -> None:
    cells = cells_of(tmp_path, synthetic_rows())
    tables = path_tables(cells) + factorial_tables(cells) + effects_tables(effect_sets(cells))
    for table in tables:
        for col in table.columns:
            numeric = all(e.text is None for e in table.column(col.key))
            if numeric:
                assert "(" in col.header, f"{table.name}: column '{col.header}' has no unit"
    for table in complexity_tables(cells):  # resolutions as columns; the unit is in the title
        assert table.title.endswith(")") and "px" in table.columns[2].header


@pytest.mark.parametrize("raw_value, decimals, compact, shown", [
    (0.0177, 2, False, "0.0177"), (3.8166, 2, False, "3.82"), (-0.0028, 2, False, "-0.00280"),
    (1e-15, 2, False, "0.00"), (1420.4, 0, False, "1,420"), (0.745, 2, True, "0.74"), (0.273, 0, True, "0.273"),
])
def test_small_values_never_read_as_zero(raw_value: float, decimals: int, compact: bool, shown: str) -> None:
    assert number(raw_value, decimals, compact=compact) == shown
