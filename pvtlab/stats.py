"""Seed statistics for accuracy cells: mean, standard deviation and a Student-t 95% confidence interval.

With the 2-5 seeds a CPU study affords, the normal 1.96 would make intervals far too narrow (the t critical
value is 12.71 for two seeds, 2.78 for five), so the interval uses Student's t with n - 1 degrees of freedom.
The t distribution is computed here from its closed form for integer degrees of freedom (Abramowitz & Stegun
26.7.3-4), so pvtlab needs no scipy. ``paired_difference`` compares two variants run on the same seeds: the
per-seed differences cancel what a seed does to both (same training images, same init stream), which is
what makes a small difference detectable with few seeds.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence, Union

Values = Union[Sequence[float], Mapping[object, float]]
CONFIDENCE = 0.95


def t_two_sided_mass(t: float, df: int) -> float:
    """P(|T| < t) for Student's t with integer ``df`` degrees of freedom (A&S 26.7.3 odd, 26.7.4 even)."""
    theta = math.atan(t / math.sqrt(df))
    c2, s = math.cos(theta) ** 2, math.sin(theta)
    if df % 2 == 0:
        term = total = 1.0
        for k in range(1, (df - 2) // 2 + 1):  # 1 + (1/2)c^2 + (1*3)/(2*4)c^4 + ...
            term *= (2 * k - 1) / (2 * k) * c2
            total += term
        return s * total
    if df == 1:
        return 2.0 * theta / math.pi
    term = total = math.cos(theta)
    for k in range(1, (df - 3) // 2 + 1):  # c + (2/3)c^3 + (2*4)/(3*5)c^5 + ...
        term *= (2 * k) / (2 * k + 1) * c2
        total += term
    return 2.0 / math.pi * (theta + s * total)


def t_critical(df: int, confidence: float = CONFIDENCE) -> float:
    """The t with P(|T| < t) = ``confidence`` (12.706 for df = 1 at 95%), by bisection on the closed form."""
    if not isinstance(df, int) or df < 1:
        raise ValueError(f"df={df!r} is not allowed; give an integer >= 1")
    low, high = 0.0, 1.0
    while t_two_sided_mass(high, df) < confidence:
        high *= 2.0
    for _ in range(100):
        mid = 0.5 * (low + high)
        low, high = (mid, high) if t_two_sided_mass(mid, df) < confidence else (low, mid)
    return 0.5 * (low + high)


def _as_floats(values: Sequence[float], what: str) -> list[float]:
    out = [float(v) for v in values]
    if not out:
        raise ValueError(f"{what}: no values; give at least one (one per seed)")
    bad = [v for v in out if not math.isfinite(v)]
    if bad:
        raise ValueError(f"{what}: non-finite value(s) {bad}; drop failed seeds before summarizing")
    return out


def summarize(values: Sequence[float]) -> dict[str, float | int | str]:
    """``mean``, ``std`` (sample, n - 1), ``n``, ``ci95_low``, ``ci95_high``, ``ci95_half`` and a ``note``.

    One value has no spread to estimate: std and the interval are nan and ``note`` says so.
    """
    xs = _as_floats(values, "summarize")
    n = len(xs)
    mean = sum(xs) / n
    if n == 1:
        nan = float("nan")
        return {"mean": mean, "std": nan, "n": 1, "ci95_low": nan, "ci95_high": nan, "ci95_half": nan,
                "note": "n=1: one seed gives no spread, so no confidence interval (nan); run more seeds"}
    std = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
    half = t_critical(n - 1) * std / math.sqrt(n)
    return {"mean": mean, "std": std, "n": n, "ci95_low": mean - half, "ci95_high": mean + half,
            "ci95_half": half, "note": ""}


def paired_difference(a: Values, b: Values) -> dict[str, float | int | str]:
    """``summarize`` of the per-seed differences a - b.

    Give two sequences in the same seed order, or two mappings seed -> value with the same seeds.
    """
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        if set(a) != set(b):
            raise ValueError(f"paired_difference needs the same seeds on both sides; only in a: "
                             f"{sorted(set(a) - set(b), key=str)}, only in b: {sorted(set(b) - set(a), key=str)}")
        keys = sorted(a, key=str)
        a, b = [a[k] for k in keys], [b[k] for k in keys]
    elif isinstance(a, Mapping) or isinstance(b, Mapping):
        raise ValueError("paired_difference: give two sequences or two seed -> value mappings, not one of each")
    xs, ys = _as_floats(a, "paired_difference a"), _as_floats(b, "paired_difference b")
    if len(xs) != len(ys):
        raise ValueError(f"paired_difference needs one value per seed on both sides; got {len(xs)} and {len(ys)}")
    return summarize([x - y for x, y in zip(xs, ys)])


def seeds_to_resolve(std: float, effect: float, confidence: float = CONFIDENCE, max_seeds: int = 10_000) -> int | None:
    """How many seeds make the CI half-width t(n-1) * std / sqrt(n) smaller than ``|effect|``.

    The usual n ≈ (t * std / effect)^2, solved exactly: t depends on n, so the smallest such n >= 2 is found by
    bisection. The half-width falls as n grows, so "n resolves it" is monotone in n; and t(n-1) * std / sqrt(n) <
    |effect| holds exactly when P(|T| < |effect| sqrt(n) / std) > ``confidence``, so each step costs one closed-form
    t probability instead of a quantile (a linear search with a quantile per n took minutes for a tiny effect).
    ``std`` is the standard deviation of the per-seed values (paired differences for an effect). None when the
    effect is 0 (no number of seeds separates it from zero) or needs more than ``max_seeds``.
    """
    if not (math.isfinite(std) and math.isfinite(effect)) or std < 0:
        raise ValueError(f"seeds_to_resolve: std={std!r} and effect={effect!r} must be finite, std >= 0")
    if effect == 0 or max_seeds < 2:
        return None
    if std == 0:
        return 2

    def resolves(n: int) -> bool:
        return t_two_sided_mass(abs(effect) * math.sqrt(n) / std, n - 1) > confidence

    if not resolves(max_seeds):
        return None
    low, high = 1, max_seeds  # resolves(high) holds; low is below the smallest n allowed
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if resolves(mid) else (mid, high)
    return high
