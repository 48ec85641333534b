"""Seed statistics: the t quantile, the interval, n = 1, paired differences."""

import math
import statistics

import pytest

from pvtlab.stats import paired_difference, summarize, t_critical, t_two_sided_mass


@pytest.mark.parametrize("df, table", [(1, 12.706), (2, 4.303), (4, 2.776), (10, 2.228), (30, 2.042)])
def test_t_critical_matches_printed_tables(df, table):
    assert t_critical(df) == pytest.approx(table, abs=5e-4)


@pytest.mark.parametrize("df", [1, 2, 3, 7, 8, 25, 120])
def test_t_critical_matches_scipy(df):
    scipy_stats = pytest.importorskip("scipy.stats")
    assert t_critical(df) == pytest.approx(scipy_stats.t.ppf(0.975, df), rel=1e-9)
    assert t_critical(df, confidence=0.9) == pytest.approx(scipy_stats.t.ppf(0.95, df), rel=1e-9)


def test_t_mass_tends_to_the_normal_for_many_degrees_of_freedom():
    normal = statistics.NormalDist()
    assert t_two_sided_mass(1.96, 100_000) == pytest.approx(normal.cdf(1.96) - normal.cdf(-1.96), abs=1e-5)


def test_summarize_uses_sample_std_and_student_t():
    values = [71.0, 74.5, 73.0]
    s = summarize(values)
    std = statistics.stdev(values)
    half = t_critical(2) * std / math.sqrt(3)
    assert s["n"] == 3 and s["mean"] == pytest.approx(statistics.mean(values)) and s["std"] == pytest.approx(std)
    assert s["ci95_half"] == pytest.approx(half)
    assert (s["ci95_low"], s["ci95_high"]) == pytest.approx((s["mean"] - half, s["mean"] + half))
    assert s["note"] == ""


def test_one_value_has_no_interval_and_says_so():
    s = summarize([80.0])
    assert s["mean"] == 80.0 and s["n"] == 1
    assert all(math.isnan(s[k]) for k in ("std", "ci95_low", "ci95_high", "ci95_half"))
    assert "n=1" in s["note"] and "no confidence interval" in s["note"]


def test_paired_difference_pairs_by_seed():
    a = {0: 80.0, 1: 82.0, 2: 81.0}
    b = {2: 79.5, 0: 79.0, 1: 80.0}  # another order: pairing goes by seed
    d = paired_difference(a, b)
    assert d["mean"] == pytest.approx(statistics.mean([1.0, 2.0, 1.5])) and d["n"] == 3
    assert d == paired_difference([80.0, 82.0, 81.0], [79.0, 80.0, 79.5])


def test_paired_beats_unpaired_when_seeds_move_both_variants():
    a, b = [70.0, 80.0, 90.0], [69.0, 79.2, 88.9]  # large seed effect, steady ~1 point difference
    assert paired_difference(a, b)["ci95_half"] < summarize(a)["ci95_half"] / 10
    assert paired_difference(a, b)["ci95_low"] > 0


@pytest.mark.parametrize("call, message", [
    (lambda: summarize([]), "no values"),
    (lambda: summarize([1.0, float("nan")]), "non-finite"),
    (lambda: paired_difference([1.0, 2.0], [1.0]), "got 2 and 1"),
    (lambda: paired_difference({0: 1.0, 1: 2.0}, {0: 1.0, 2: 2.0}), r"only in a: \[1\], only in b: \[2\]"),
    (lambda: paired_difference({0: 1.0}, [1.0]), "not one of each"),
    (lambda: t_critical(0), "df=0"),
])
def test_bad_input_is_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_seeds_to_resolve_solves_for_the_ci_half_width():
    from pvtlab.stats import seeds_to_resolve
    # std 1, effect 1: t(5)/sqrt(6) = 2.571/2.449 = 1.05 >= 1, t(6)/sqrt(7) = 2.447/2.646 = 0.925 < 1: 7 seeds.
    assert seeds_to_resolve(1.0, 1.0) == 7
    assert seeds_to_resolve(1.0, -1.0) == 7  # the sign of the effect does not matter
    assert seeds_to_resolve(0.0, 0.5) == 2  # no spread: the smallest n that has a CI at all
    assert seeds_to_resolve(2.0, 0.0) is None
    big = seeds_to_resolve(10.0, 1.0)  # roughly (1.96 * 10 / 1)^2 = 384 once t is near the normal
    assert 380 <= big <= 400
    with pytest.raises(ValueError, match="finite"):
        seeds_to_resolve(float("nan"), 1.0)


def test_seeds_to_resolve_gives_up_on_a_tiny_effect_without_searching_every_n():
    """The issue's case: sd 4.83 pp against a 0.01 pp effect needs ~900,000 seeds, past the 10,000 allowed."""
    from pvtlab.stats import seeds_to_resolve

    assert seeds_to_resolve(4.83, 0.01) is None
    assert seeds_to_resolve(4.83, 0.1) == 8965  # the same spread against a 10x larger effect: n near the limit


def test_seeds_to_resolve_returns_the_smallest_n_whose_ci_is_below_the_effect():
    from pvtlab.stats import seeds_to_resolve, t_critical

    for std, effect in ((1.0, 0.02), (4.83, 0.1), (2.5, 0.7)):
        n = seeds_to_resolve(std, effect)
        assert t_critical(n - 1) * std / n ** 0.5 < effect <= t_critical(n - 2) * std / (n - 1) ** 0.5
