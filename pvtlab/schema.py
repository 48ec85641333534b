"""Spec checks declared per key: a ``Rule`` says what a value must be and the one-line message when it is not.

``check`` applies rules in their declared order, so the first bad key is the one named; every message has the
shape of ``bad``: where, which key, which value, what is allowed and, given choices, the one it resembles.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pvtlab.errors import UserInputError, did_you_mean


def bad(where: str, key: str, value: Any, allowed: str, choices: Iterable[Any] = ()) -> UserInputError:
    """The one error shape every check uses: where, which key, which value, what is allowed (and, given the
    ``choices``, the one ``value`` was probably meant to be)."""
    return UserInputError(f"{where}: {key}={value!r} is not allowed; {allowed}{did_you_mean(value, choices)}")


@dataclass(frozen=True)
class Rule:
    """What one key's value must be; ``optional``: None passes (the key takes its default downstream)."""

    test: Callable[[Any], bool]
    allowed: str
    choices: tuple[Any, ...] = ()
    optional: bool = True


def is_int(value: Any) -> bool:
    """An int that is not a bool (YAML's true/false are ints to Python)."""
    return isinstance(value, int) and not isinstance(value, bool)


def positive_int(allowed: str = "give a positive integer", optional: bool = True) -> Rule:
    return Rule(lambda v: is_int(v) and v >= 1, allowed, optional=optional)


def positive_number(allowed: str) -> Rule:
    return Rule(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0, allowed)


def one_of(choices: Iterable[Any]) -> Rule:
    found = tuple(choices)
    return Rule(lambda v: v in found, f"choose from {list(found)}", found)


def of_type(kind: type, allowed: str, optional: bool = True) -> Rule:
    return Rule(lambda v: isinstance(v, kind), allowed, optional=optional)


def check(values: dict[str, Any], rules: dict[str, Rule], where: str, prefix: str) -> None:
    """Raise ``bad`` for the first key of ``rules`` whose value in ``values`` breaks its rule."""
    for key, rule in rules.items():
        value = values.get(key)
        if (value is not None or not rule.optional) and not rule.test(value):
            raise bad(where, f"{prefix}.{key}", value, rule.allowed, rule.choices)


def check_scalars(mapping: dict[str, Any], where: str, prefix: str) -> None:
    """Every value of ``mapping`` is a plain scalar (string, number, true/false) or None."""
    for key, item in mapping.items():
        if not isinstance(item, (str, int, float, bool)) and item is not None:
            raise bad(where, f"{prefix}.{key}", item, "values must be plain scalars")


def number_in(low: float, high: float | None = None, *, open_low: bool = False, optional: bool = False) -> Rule:
    """A real number (not a bool) >= ``low`` (> with ``open_low``) and, given ``high``, < ``high``."""
    def test(v: Any) -> bool:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v:
            return False
        return (v > low if open_low else v >= low) and (high is None or v < high)

    upper = f" and < {high}" if high is not None else ""
    return Rule(test, f"give a number {'>' if open_low else '>='} {low}{upper}", optional=optional)


def check_fields(values: Any, rules: dict[str, Rule]) -> None:
    """``check`` for the fields of an object (a recipe, a job), named bare: ``lr=0 is not allowed; ...``."""
    for key, rule in rules.items():
        value = getattr(values, key)
        if (value is not None or not rule.optional) and not rule.test(value):
            raise UserInputError(f"{key}={value!r} is not allowed; {rule.allowed}"
                                 f"{did_you_mean(value, rule.choices)}")
