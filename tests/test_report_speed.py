"""The report's speed section: effects from per-round pairs cancel drift; an unresolved effect is marked."""

from __future__ import annotations

import itertools
import json

import pandas as pd
import pytest

from pvtlab.report.speed import UNRESOLVED, factorial_effects, noise_floor, pair_ratio, path_deltas, speed_tables
from pvtlab.report.summary import speed_items
from pvtlab.report.table import markdown
from pvtlab.toggles import TOGGLES

DRIFT = [10.0, 7.0, 13.0, 8.0, 12.0, 6.0, 11.0, 9.0]  # the machine's speed, round by round
# Multiplicative speed factors of the PVTv2 values: OPE 0.9x, CFFN 1.0x, LSRA 1.2x (so no interactions).
FACTOR = {"patch_embed": 0.9, "position": 1.0, "attention": 1.2}


def _row(variant, combo, factor, path_step=None, in_factorial=True):
    rounds = [factor * x for x in DRIFT]
    return {"group": "throughput", "status": "ok", "timing_block": "b1", "resolution": 224, "model": "m",
            "variant": variant, "config_json": json.dumps({"name": variant}), "aliases": None, "in_factorial": in_factorial, "path_step": path_step,
            **dict(zip(TOGGLES, combo)), "infer_rounds_img_per_s": json.dumps(rounds),
            "train_rounds_img_per_s": json.dumps([x / 3 for x in rounds]),
            "latency_rounds_ms": json.dumps([1000 / x for x in rounds]), "ref_variant": "v1", "rounds": 8,
            "aa_infer_ratio": 1.01, "aa_infer_ci95_lo": 0.98, "aa_infer_ci95_hi": 1.03,
            "aa_train_ratio": 1.0, "aa_train_ci95_lo": 0.97, "aa_train_ci95_hi": 1.02}


def rows() -> pd.DataFrame:
    out = []
    for combo in itertools.product(*((old, new) for old, new, _ in TOGGLES.values())):
        factor = 1.0
        for (toggle, (old, new, _)), value in zip(TOGGLES.items(), combo):
            factor *= FACTOR[toggle] if value == new else 1.0
        out.append(_row("/".join(combo), combo, factor))
    out.append(_row("v1", ("non_overlap", "pos_embed", "sra"), 0.5, path_step=0, in_factorial=False))
    out.append(_row("v2", ("overlap", "conv_ffn", "sra"), 0.75, path_step=1, in_factorial=False))
    return pd.DataFrame(out)


def test_main_effects_are_exact_under_drift_and_interactions_vanish():
    effects = factorial_effects(rows()).set_index(["kind", "term"])
    lsra = effects.loc[("infer", "LSRA: attention sra → linear_sra")]
    assert lsra["change_pct"] == pytest.approx(20.0) and lsra["ci95_lo_pct"] == pytest.approx(20.0)
    assert lsra["resolved"] and lsra["rounds"] == 8
    assert effects.loc[("latency", "OPE: patch_embed non_overlap → overlap"), "change_pct"] == pytest.approx(100 / 0.9 - 100)
    inter = effects[effects.index.get_level_values("term").str.contains(" x ")]
    assert len(inter) == 9 and inter["change_pct"].abs().max() < 1e-9 and not inter["resolved"].any()


def test_path_deltas_pair_each_step_with_the_previous_one():
    deltas = path_deltas(rows()).set_index("kind")
    assert deltas.loc["train", "change_pct"] == pytest.approx(50.0) and deltas.loc["train", "term"] == "v1 → v2"


def test_the_noise_floor_comes_first_and_unresolved_effects_are_marked():
    tables = speed_tables(rows())
    assert [t.name for t in tables] == ["speed_noise_floor", "speed_ratios", "speed_effects", "speed_path"]
    assert noise_floor(rows())["aa_infer_ci95_lo"].tolist() == [0.98]
    text = markdown(tables[2])
    assert f"+0 [{UNRESOLVED}]" in text or f"0 [{UNRESOLVED}]" in text
    assert "+20.0 |" in text  # resolved: no mark


def test_rows_without_paired_timing_give_no_speed_section():
    old = rows().drop(columns=["timing_block"])
    assert speed_tables(old) == []


def test_a_pair_timed_in_one_block_gives_its_paired_ratio_and_none_elsewhere():
    sra, lsra = {"name": "overlap/conv_ffn/sra"}, {"name": "overlap/conv_ffn/linear_sra"}
    est = pair_ratio(rows(), sra, lsra, 224)
    assert est.ratio == pytest.approx(1.2) and est.log_lo > 0
    assert pair_ratio(rows(), sra, lsra, 384) is None and pair_ratio(rows(), sra, {"name": "x"}, 224) is None


def test_the_summary_judges_speed_by_the_paired_ci():
    items = {name: {what: (change, verdict) for what, change, verdict in entries}
             for name, entries in speed_items(rows()).items()}
    assert set(items) == {"OPE", "CFFN", "LSRA"}  # interactions stay in the speed section's table
    assert items["LSRA"]["inference speed @224 px"] == ("+20.0 %, CI +20.0 to +20.0 %", "helps")
    assert items["OPE"]["training speed @224 px"][1] == "hurts"
    assert items["CFFN"]["inference speed @224 px"][1] == "cannot tell"  # CI [0, 0] holds no difference
    assert speed_items(rows().drop(columns=["timing_block"])) == {}
