"""The report's tables from hand-made cells.csv files: order, values, changes, failures, stale rows."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pandas as pd
import pytest
from test_report_load import (
    ACC_MODEL,
    FACTORIAL_MODEL,
    PATH,
    RESOLUTIONS,
    SEEDS,
    TOGGLE_VALUES,
    _accuracy_rows,
    _cost_rows,
    fail,
    synthetic_rows,
    throughput,
    val_curve,
    write_cells,
)

from pvtlab import get_config
from pvtlab.models import STYLE_FIELDS
from pvtlab.report import Catalog, current, load
from pvtlab.report.complexity import (
    complexity_tables,
    crossover_tables,
    fit_exponent,
    measured_crossover,
    sra_pairs,
)
from pvtlab.report.effects import effect_sets, effects_tables
from pvtlab.report.table import frame, latex, markdown, number
from pvtlab.report.variant_tables import factorial_tables, path_tables
from pvtlab.stats import paired_difference, seeds_to_resolve

HIGH = max(RESOLUTIONS["flops"])
TOGGLES_OF = {"/".join(t): t for t in itertools.product(*TOGGLE_VALUES.values())} | {n: t for _, _, n, t, _ in PATH}


def cells_of(tmp_path: Path, rows: list[dict]) -> Catalog:
    write_cells(tmp_path, rows)
    return Catalog(current(load(tmp_path)))


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
    cells = cells_of(tmp_path, synthetic_rows(factorial_costs=False))
    [table] = path_tables(cells)
    data = raw(tmp_path)
    assert [e.text for e in table.column("step")] == ["0", "1", "2", "3"]
    assert [e.text for e in table.column("setting")] == ["baseline", "+ OPE", "+ CFFN + v2 head, norms, init",
                                                         "+ LSRA + FFN ReLU"]
    assert [e.text for e in table.column("paper_model")] == ["PVTv1-Small", "-", "PVTv2-B2", "PVTv2-B2-Li"]
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
    first_row = next(line for line in text.splitlines() if line.startswith("| 0 |"))
    assert "failed (RuntimeError: out of memory)" in first_row
    csv = frame(table)
    assert pd.isna(csv.loc[0, key]) and csv.loc[0, f"{key}_note"] == "failed (RuntimeError: out of memory)"
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
    for variant, fit in zip(speed.column("variant"), speed.column("exponent_fit")):
        toggles = TOGGLES_OF[variant.text.split(" = ")[0]]
        expected = fit_exponent(RESOLUTIONS["throughput"], [throughput(toggles, r) for r in RESOLUTIONS["throughput"]])
        assert fit.value == pytest.approx(expected)
    assert all(e.spread[0] == "IQR" for e in speed.column("throughput_224px"))


def test_throughput_columns_carry_their_spread_mfu_and_batch_1_latency(tmp_path: Path) -> None:
    [table] = path_tables(cells_of(tmp_path, synthetic_rows()))
    for r in RESOLUTIONS["throughput"]:
        latency = table.column(f"latency_b1_ms_p50_{r}px")
        speeds = [throughput(t, r) for _, _, _, t, _ in PATH]
        assert [e.value for e in latency] == pytest.approx([1000.0 / v for v in speeds])
        assert [e.spread for e in latency] == [("p90", pytest.approx(1100.0 / v)) for v in speeds]
        assert [e.value for e in table.column(f"mfu_infer_pct_{r}px")] == pytest.approx([30.0] * len(PATH))
        assert [e.spread[0] for e in table.column(f"train_img_per_s_{r}px")] == ["IQR"] * len(PATH)
    csv = frame(table)
    assert {"latency_b1_ms_p50_224px_p90", "infer_img_per_s_224px_iqr"} <= set(csv.columns)


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
    [table] = path_tables(Catalog(current(cells)))
    assert table.column("gmacs_224px")[0].value != pytest.approx(999.0)


def test_an_ok_row_replaces_a_failed_row_of_the_same_cell(tmp_path: Path) -> None:
    rows = synthetic_rows()
    ok = next(r for r in rows if r["group"] == "flops" and r["variant"] == "pvt_v1_small" and r["resolution"] == 224)
    failed = {**ok, "status": "failed", "error": "killed", "gmacs": ""}
    cells = current(load(write_cells(tmp_path, [failed] + rows)))
    assert cells["cell_id"].is_unique
    [table] = path_tables(Catalog(cells))
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
    assert by_metric["Sample efficiency (pp)"].main is not None


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


@pytest.mark.parametrize("raw_value, decimals, shown", [
    (0.0177, None, "0.0177"), (3.8166, None, "3.82"), (-0.0028, None, "-0.00280"), (45.23, None, "45.2"),
    (1e-15, None, "0"), (1420.4, None, "1,420"), (0.745, 2, "0.74"), (0.00273, 1, "0.00273"),
])
def test_three_significant_digits_and_small_values_never_read_as_zero(raw_value: float, decimals: int | None,
                                                                      shown: str) -> None:
    assert number(raw_value, decimals) == shown


V2_STYLE = {"head_pool": "mean", "stage_norm": True, "conv_init": "fan_out_normal"}


def path_with_a_style_step() -> list[dict]:
    """The synthetic path with a step between +OPE and +CFFN that switches only the v2 head, norms and init."""
    rows = synthetic_rows(factorial_costs=False)
    for row in rows:
        if row.get("path_step") not in ("", None) and int(row["path_step"]) >= 2:
            row["path_step"] = int(row["path_step"]) + 1
    toggles = ("overlap", "pos_embed", "sra")
    config = json.dumps(get_config("pvt_v1_small", patch_embed="overlap", **V2_STYLE).to_dict(), sort_keys=True)
    style = get_config("pvt_v1_small", patch_embed="overlap", **V2_STYLE).to_dict()
    nano = json.dumps(get_config(ACC_MODEL, **{f: style[f] for f in STYLE_FIELDS}).to_dict(),
                      sort_keys=True)
    extra = {"in_factorial": "false", "path_step": 2}
    new = _cost_rows("pvt_v1_small", "v1_small+ope+v2style", toggles, ("params", "flops", "memory", "throughput"),
                     **extra)
    new += _accuracy_rows("pvt_v1_small", "v1_small+ope+v2style", toggles, **extra)
    for row in new:
        row["config_json"] = nano if row["group"] == "accuracy" else config
    return rows + new


def test_the_path_follows_the_spec_with_a_step_for_the_v2_head_norms_and_init(tmp_path: Path) -> None:
    [table] = path_tables(cells_of(tmp_path, path_with_a_style_step()))
    assert [e.text for e in table.column("step")] == ["0", "1", "2", "3", "4"]
    assert [e.text for e in table.column("setting")] == ["baseline", "+ OPE", "+ v2 head, norms, init", "+ CFFN",
                                                         "+ LSRA + FFN ReLU"]
    # The new step's architecture is also the factorial's overlap/pos_embed/sra on B2 (equal configs): one
    # architecture, both names.
    assert [e.text for e in table.column("variant")] == [
        "pvt_v1_small", "v1_small+ope", "overlap/pos_embed/sra = v1_small+ope+v2style",
        "overlap/conv_ffn/sra = pvt_v2_b2", "pvt_v2_b2_li"]
    assert [e.text for e in table.column("paper_model")] == ["PVTv1-Small", "-", "-", "PVTv2-B2", "PVTv2-B2-Li"]
    assert "step 0 = PVTv1-Small; step 3 = PVTv2-B2; step 4 = PVTv2-B2-Li" in table.notes[0]
    # Each delta belongs to one change: the CFFN row's change is against the v2-style row, not against +OPE.
    gmacs = table.column("gmacs_224px")
    assert gmacs[3].delta == pytest.approx(gmacs[3].value - gmacs[2].value)


def test_warnings_name_few_seeds_chance_and_ceiling(tmp_path: Path) -> None:
    rows = synthetic_rows(factorial_costs=False)
    for row in rows:
        if row["group"] == "accuracy" and row["variant"] == "pvt_v1_small":
            row["top1_acc"] = 7.0 + 0.1 * row["seed"]  # 16 classes: chance is 6.25 %
        if row["group"] == "accuracy" and row["variant"] == "pvt_v2_b2_li":
            row["top1_acc"] = 98.0 + 0.1 * row["seed"]
    rows = [r for r in rows if not (r["group"] == "accuracy" and r["variant"] == "v1_small+ope" and r["seed"] == 2)]
    [table] = path_tables(cells_of(tmp_path, rows))
    warnings = [n for n in table.notes if n.startswith("Warning:")]
    assert any("step 0 (pvt_v1_small) sits at chance" in w and "6.25 %" in w for w in warnings)
    assert any("step 1 (v1_small+ope) top-1 rests on 2 seed(s)" in w for w in warnings)
    assert any("step 3 (pvt_v2_b2_li) sits at the ceiling" in w for w in warnings)
    assert len(warnings) == 3  # the path's changes are steady over seeds: no CI includes 0
    per_seed = table.column("top1_acc_pct_per_seed")[0].text
    assert per_seed == "7.0 (s0) / 7.1 (s1) / 7.2 (s2)"


def test_effect_tables_pair_by_seed_and_say_how_many_seeds_a_wide_ci_needs(tmp_path: Path) -> None:
    rows = synthetic_rows()
    noise = {0: 0.0, 1: 3.0, 2: -2.5}  # the LSRA effect swings by seed: its paired CI includes 0
    for row in rows:
        if row["group"] == "accuracy" and row["attention"] == "linear_sra":
            row["top1_acc"] += noise[row["seed"]]
    catalog = cells_of(tmp_path, rows)
    main, inter = effects_tables(effect_sets(catalog))
    top1 = [r for r in main.rows if r[0].text == "Top-1 (pp)"]
    lsra = next(r for r in top1 if r[2].text.startswith("LSRA"))
    per_seed = [0.5 + noise[s] for s in SEEDS]
    paired = paired_difference(per_seed, [0.0] * len(SEEDS))
    assert lsra[3].value == pytest.approx(paired["mean"]) and lsra[3].ci == pytest.approx(paired["ci95_half"])
    assert lsra[4].text == " / ".join(f"{v:+.2f}" for v in per_seed)
    need = seeds_to_resolve(paired["std"], paired["mean"])
    assert any(f"LSRA on top-1 ({ACC_MODEL}" in n and f"about {need} seeds" in n for n in main.notes)
    # Costs are deterministic: no CI; params do not depend on the other toggles. Speed effects are not here: they
    # come from rounds paired in time (pvtlab/report/speed.py), never from differences of separate medians.
    params = next(r for r in main.rows if r[0].text == "Params (M)" and r[2].text.startswith("LSRA"))
    assert params[3].ci is None and params[4].text == "same for all"
    assert not any("img/s" in r[0].text or "latency" in r[0].text for r in main.rows)
    csv = frame(main)
    assert pd.to_numeric(csv["relative_pct"], errors="coerce").notna().sum() == csv["relative_pct"].notna().sum()
    assert "Params (M)" in set(frame(inter)["metric"])


def test_memory_effects_per_resolution_and_no_speed_effects_from_separate_medians(tmp_path: Path) -> None:
    metrics = {s.metric for s in effect_sets(cells_of(tmp_path, synthetic_rows())) if s.main is not None}
    for r in RESOLUTIONS["memory"]:
        assert f"Inference memory over idle @{r} px, batch 8 (MiB)" in metrics
        assert f"Training memory over idle @{r} px, batch 8 (MiB)" in metrics
    for r in RESOLUTIONS["throughput"]:  # speed effects are paired by round (pvtlab/report/speed.py)
        assert f"Inference @{r} px, batch 8 (img/s, median)" not in metrics
        assert f"Training @{r} px, batch 8 (img/s, median)" not in metrics


def fake_closed_form(config) -> list[dict]:
    """Stands in for pvtlab.measure.crossover.lsra_crossover: the same keys, values from the config."""
    return [{"stage": i + 1, "stride": 4 * 2**i, "sr_ratio": r, "pool_size": config.pool_size,
             "matmul_side_px": 4 * 2**i * r * config.pool_size if r > 1 else None,
             "layer_side_px": 2 * 4 * 2**i * r * config.pool_size if r > 1 else None}
            for i, r in enumerate(config.sr_ratios)]


def test_lsra_crossover_table_has_the_closed_form_per_stage_and_the_measured_side(tmp_path: Path) -> None:
    catalog = cells_of(tmp_path, synthetic_rows())
    closed, measured = crossover_tables(catalog, closed_form=fake_closed_form)
    assert closed.name == "lsra_crossover" and measured.name == "lsra_crossover_measured"
    b2 = [r for r in closed.rows if r[0].text == FACTORIAL_MODEL]
    assert [r[1].text for r in b2] == ["1", "2", "3", "4"]
    assert [r[5].value for r in b2[:3]] == [4 * 8 * 7, 8 * 4 * 7, 16 * 2 * 7]
    assert b2[3][5].note == "never"  # R = 1: no crossover
    # Synthetic throughput: LSRA is slower at 224 px and faster at 320 px, for every pair.
    assert all(r[7].value == 320 for r in b2)
    assert len(measured.rows) == 5  # 4 factorial pairs + the path's B2-Li against B2
    for row in measured.rows:
        ratio_224, ratio_320 = row[3].value, row[4].value
        assert ratio_224 < 1 < ratio_320 and row[5].value == 320
    csv = frame(closed)
    assert pd.api.types.is_numeric_dtype(csv["matmul_side_px"]) and pd.api.types.is_numeric_dtype(
        csv["measured_side_px"])
    assert any("Why the measured crossover differs" in n for n in measured.notes)


def test_measured_crossover_outside_the_range(tmp_path: Path) -> None:
    rows = [r for r in synthetic_rows() if not (r["group"] == "throughput" and r["resolution"] != 224)]
    catalog = cells_of(tmp_path, rows)
    sra, lsra = sra_pairs(catalog)[0]
    assert measured_crossover(catalog, sra, lsra) == (None, "not within the range measured (224 px)")


def test_other_variants_and_cells_under_two_names_are_shown_once(tmp_path: Path) -> None:
    rows = synthetic_rows()
    extra = {"in_factorial": "false", "path_step": ""}
    b0 = _cost_rows("pvt_v2_b0", "b0", ("overlap", "conv_ffn", "sra"), ("params", "flops"), **extra)
    trained_only = _accuracy_rows("pvt_v2_b0", "b0_trained", ("overlap", "conv_ffn", "sra"), **extra)
    catalog = cells_of(tmp_path, rows + b0 + trained_only)
    assert [(m.variant, m.line is not None, len(m.acc)) for m in catalog.others] == [
        ("b0", True, 0), ("b0_trained", False, len(SEEDS))]
    assert catalog.panels()[-1][0] == "Other variants"
    gmacs = {t.name: t for t in complexity_tables(catalog)}["complexity_gmacs"]
    names = [e.text for e in gmacs.column("variant")]
    assert len(names) == len(set(names)) == len(catalog.lines)  # B2 is on the path and in the factorial: one row
    assert "overlap/conv_ffn/sra = pvt_v2_b2" in names and "b0" in names


def test_a_path_change_with_a_ci_including_zero_says_how_many_seeds_would_resolve_it(tmp_path: Path) -> None:
    rows = synthetic_rows(factorial_costs=False)
    swing = {0: -1.5, 1: 2.0, 2: 0.5}
    for row in rows:
        if row["group"] == "accuracy" and row["variant"] == "pvt_v2_b2_li":
            row["top1_acc"] += swing[row["seed"]]
    [table] = path_tables(cells_of(tmp_path, rows))
    diff = paired_difference([0.5 + swing[s] for s in SEEDS], [0.0] * len(SEEDS))
    [warning] = [n for n in table.notes if n.startswith("Warning: step 3")]
    assert f"about {seeds_to_resolve(diff['std'], diff['mean'])} seeds" in warning


def test_a_path_change_of_sample_efficiency_with_a_ci_including_zero_is_warned_too(tmp_path: Path) -> None:
    rows = synthetic_rows(factorial_costs=False)
    swing = {0: -6.0, 1: 8.0, 2: 2.0}  # B2-Li's curves swing by seed; its final top-1 does not
    for row in rows:
        if row["group"] == "accuracy" and row["variant"] == "pvt_v2_b2_li":
            row["val_curve"] = val_curve(row["top1_acc"] + swing[row["seed"]])
    [table] = path_tables(cells_of(tmp_path, rows))
    warnings = [n for n in table.notes if n.startswith("Warning: step 3")]
    assert len(warnings) == 1 and "changes sample efficiency by" in warnings[0]
    assert "seeds would give a CI half-width below the change's size" in warnings[0]
