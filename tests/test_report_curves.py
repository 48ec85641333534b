"""Learning curves: parsing ``val_curve``, the sample efficiency against hand-made curves, the band over seeds."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pvtlab.report.curves import band, parse_curve, sample_efficiency
from pvtlab.stats import summarize


def test_sample_efficiency_of_hand_made_curves() -> None:
    # A straight rise from 0 % to 80 % over the budget: the mean top-1 over training is 40 %.
    assert sample_efficiency(np.array([[0, 0.0], [1000, 80.0]])) == pytest.approx(40.0)
    # Up to 90 % at half the budget, then flat: (500 * (10 + 90) / 2 + 500 * 90) / 1000 = 70 %.
    assert sample_efficiency(np.array([[0, 10.0], [500, 90.0], [1000, 90.0]])) == pytest.approx(70.0)
    # Same final top-1, learned later: lower efficiency.
    late = np.array([[0, 10.0], [500, 10.0], [1000, 90.0]])
    assert sample_efficiency(late) == pytest.approx(30.0)
    # The span starts at the first evaluation, not at 0 images.
    assert sample_efficiency(np.array([[250, 20.0], [500, 40.0], [750, 60.0]])) == pytest.approx(40.0)


def test_parse_curve_sorts_and_refuses_what_is_not_a_curve() -> None:
    curve = parse_curve(json.dumps([[200, 30.0], [100, 10.0]]))
    assert curve.tolist() == [[100.0, 10.0], [200.0, 30.0]]
    for bad in (None, float("nan"), "", "not json", "[1, 2, 3]", "[[1, 2]]", "[[1, 2, 3], [4, 5, 6]]"):
        assert parse_curve(bad) is None


def test_band_is_the_mean_and_t_interval_over_seeds_at_each_point() -> None:
    curves = [np.array([[100, 10.0], [200, 20.0]]), np.array([[100, 14.0], [200, 26.0]]),
              np.array([[100, 12.0], [150, 20.0], [200, 23.0]])]
    out = band(curves).set_index("images_seen")
    assert out.index.tolist() == [100.0, 150.0, 200.0]
    at_150 = [15.0, 20.0, 20.0]  # the first two seeds interpolated halfway
    assert out.loc[150.0, "mean"] == pytest.approx(np.mean(at_150))
    assert out.loc[150.0, "ci95_half"] == pytest.approx(summarize(at_150)["ci95_half"])
    assert (out["n"] == 3).all()
    assert band([]).empty
