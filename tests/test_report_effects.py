"""Main effects and interactions against hand-made factorial data whose answer follows from its formula."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from pvtlab.report import interactions, main_effects
from pvtlab.report.effects import OVER_COMBOS, OVER_SEEDS
from pvtlab.stats import summarize

LEVELS = {"patch_embed": ("non_overlap", "overlap"), "position": ("pos_embed", "conv_ffn"),
          "attention": ("sra", "linear_sra")}
# y = 10 + 2 a + 1 b - 3 c + 0.5 a b (+ seed terms), with a, b, c in {0, 1} for OPE, CFFN, LSRA
COEF = {"patch_embed": 2.0, "position": 1.0, "attention": -3.0}
AB = 0.5


def frame(seeds: list[int] | None = None, seed_ope: float = 0.0) -> pd.DataFrame:
    """One row per combination (and seed): a seed adds 0.3 * seed, and seed_ope * seed when OPE is on."""
    rows = []
    for values in itertools.product(*LEVELS.values()):
        on = {t: float(v == LEVELS[t][1]) for t, v in zip(LEVELS, values)}
        y = 10.0 + sum(COEF[t] * on[t] for t in LEVELS) + AB * on["patch_embed"] * on["position"]
        for seed in seeds if seeds is not None else [None]:
            row = dict(zip(LEVELS, values))
            extra = 0.0 if seed is None else 0.3 * seed + seed_ope * seed * on["patch_embed"]
            row["value"] = y + extra
            if seed is not None:
                row["seed"] = seed
            rows.append(row)
    return pd.DataFrame(rows)


def test_cost_main_effects_average_over_the_other_toggles() -> None:
    out = main_effects(frame()).set_index("toggle")
    # Main effect of A = coefficient + half the A x B term (B is on in half of the settings).
    assert out.loc["patch_embed", "effect"] == pytest.approx(COEF["patch_embed"] + AB / 2)
    assert out.loc["position", "effect"] == pytest.approx(COEF["position"] + AB / 2)
    assert out.loc["attention", "effect"] == pytest.approx(COEF["attention"])
    assert (out["n"] == 4).all() and (out["ci_over"] == OVER_COMBOS).all()
    # The OPE effect is 2 with CFFN off and 2.5 with it on (two settings each): the CI is over those 4 values.
    expected = summarize(np.array([2.0, 2.0, 2.5, 2.5]))
    assert out.loc["patch_embed", "ci95_half"] == pytest.approx(expected["ci95_half"])
    assert out.loc["patch_embed", "ci95_low"] == pytest.approx(expected["ci95_low"])
    assert out.loc["attention", "ci95_half"] == pytest.approx(0.0, abs=1e-12)
    baseline = frame().query("attention == 'sra'")["value"].mean()
    assert out.loc["attention", "relative_pct"] == pytest.approx(100 * COEF["attention"] / baseline)


def test_accuracy_main_effects_are_over_seeds() -> None:
    out = main_effects(frame(seeds=[0, 1, 2, 3], seed_ope=0.2)).set_index("toggle")
    # Per seed the OPE effect is 2.25 + 0.2 * seed: mean over seeds 0..3 is 2.25 + 0.3.
    per_seed = np.array([2.25 + 0.2 * s for s in range(4)])
    assert out.loc["patch_embed", "effect"] == pytest.approx(per_seed.mean())
    assert out.loc["patch_embed", "ci95_half"] == pytest.approx(summarize(per_seed)["ci95_half"])
    assert out.loc["position", "effect"] == pytest.approx(1.25)
    assert (out["n"] == 4).all() and (out["ci_over"] == OVER_SEEDS).all()


def test_interactions_recover_the_product_term() -> None:
    out = interactions(frame(seeds=[0, 1, 2])).set_index("toggle")
    # y_AB - y_A - y_B + y_none = AB for patch_embed x position, 0 for the pairs without a product term.
    assert out.loc["patch_embed x position", "effect"] == pytest.approx(AB)
    assert out.loc["patch_embed x attention", "effect"] == pytest.approx(0.0, abs=1e-12)
    assert out.loc["position x attention", "effect"] == pytest.approx(0.0, abs=1e-12)
    costs = interactions(frame()).set_index("toggle")
    assert costs.loc["patch_embed x position", "effect"] == pytest.approx(AB)
    assert (costs["n"] == 2).all()  # over the 2 settings of the third toggle


def test_a_seed_missing_a_combination_is_left_out() -> None:
    data = frame(seeds=[0, 1, 2])
    data.loc[(data["seed"] == 2) & (data["attention"] == "linear_sra"), "value"] = math.nan
    out = main_effects(data).set_index("toggle")
    assert (out["n"] == 2).all()
    assert out.loc["position", "effect"] == pytest.approx(1.25)


def test_a_failed_cost_cell_drops_only_its_pairs() -> None:
    data = frame()
    data.loc[0, "value"] = math.nan  # non_overlap/pos_embed/sra
    out = main_effects(data).set_index("toggle")
    assert (out["n"] == 3).all()
    assert out.loc["attention", "effect"] == pytest.approx(COEF["attention"])


@pytest.mark.parametrize("column, value", [("attention", "flash"), ("position", "other")])
def test_values_outside_the_factorial_are_rejected(column: str, value: str) -> None:
    data = frame()
    data.loc[0, column] = value
    with pytest.raises(ValueError, match=f"column '{column}' has .*{value}"):
        main_effects(data)


def test_duplicate_combinations_are_rejected() -> None:
    data = pd.concat([frame(), frame().iloc[[0]]])
    with pytest.raises(ValueError, match="more than one row"):
        main_effects(data)
