"""User input and its errors: ``UserInputError`` (the CLI prints its one line and exits 2), did-you-mean, and the
checks declared per key that raise it.

A ``Rule`` says what a value must be and the one-line message when it is not; spec keys (grid/spec.py), recipe
fields (train/recipe.py) and job options (measure/job.py, train/job.py) each declare a table of them. ``check``
applies rules in their declared order, so the first bad key is the one named; every message has the shape of
``bad``: where, which key, which value, what is allowed and, given choices, the one it resembles. A rule may say
what each entry of a list (or each value of a mapping) must be, so the message names the one bad entry rather than
the whole list; the builders below are the shapes specs use.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any


class UserInputError(ValueError):
    """A bad spec, flag, path or file given by the user: the CLI prints its one-line message and exits 2."""


def did_you_mean(word: object, allowed: Iterable[object]) -> str:
    """``"; did you mean 'X'?"`` for the allowed value closest to ``word`` (difflib), or ``""`` if none is close."""
    names = {str(a): a for a in allowed}
    close = difflib.get_close_matches(str(word), list(names), n=1)
    return f"; did you mean {names[close[0]]!r}?" if close else ""


SCALARS = (str, int, float, bool)  # what YAML gives for a plain value (None aside)
_FOLDER_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def bad(where: str, key: str, value: Any, allowed: str, choices: Iterable[Any] = ()) -> UserInputError:
    """The one error shape every check uses: where, which key, which value, what is allowed (and, given the
    ``choices``, the one ``value`` was probably meant to be)."""
    return UserInputError(f"{where}: {key}={value!r} is not allowed; {allowed}{did_you_mean(value, choices)}")


@dataclass(frozen=True)
class Rule:
    """What one key's value must be.

    ``optional``: the key may be left out (then it takes its default downstream); ``nullable``: an explicit
    None passes too (default: as ``optional``; False for keys that may be absent but not written empty).
    ``missing``: the message when a required key is absent, instead of naming ``key=None``. ``each`` checks
    every list entry (named as the key) or every mapping value (named ``key.sub``); ``keys`` every mapping key
    (named as the key); ``once``: the message when list entries repeat; ``per_key``: a mapping is checked value
    by value with this rule instead (one list for all, or one per group).
    """

    test: Callable[[Any], bool]
    allowed: str
    choices: tuple[Any, ...] = ()
    optional: bool = True
    nullable: bool | None = None
    missing: str = ""
    each: Rule | None = None
    keys: Rule | None = None
    once: str = ""
    per_key: Rule | None = None


def is_int(value: Any) -> bool:
    """An int that is not a bool (YAML's true/false are ints to Python)."""
    return isinstance(value, int) and not isinstance(value, bool)


def positive_int(allowed: str = "give a positive integer", optional: bool = True) -> Rule:
    return Rule(lambda v: is_int(v) and v >= 1, allowed, optional=optional)


def non_negative_int(allowed: str = "give an integer >= 0", optional: bool = True) -> Rule:
    return Rule(lambda v: is_int(v) and v >= 0, allowed, optional=optional)


def boolean(allowed: str = "give true or false") -> Rule:
    """true or false, never a 0/1 or a string by mistake; a required key (None is not a bool)."""
    return Rule(lambda v: isinstance(v, bool), allowed, optional=False)


def positive_number(allowed: str) -> Rule:
    return Rule(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0, allowed)


def one_of(choices: Iterable[Any], optional: bool = True) -> Rule:
    found = tuple(choices)
    return Rule(lambda v: v in found, f"choose from {list(found)}", found, optional=optional)


def of_type(kind: type, allowed: str, optional: bool = True, nullable: bool | None = None) -> Rule:
    return Rule(lambda v: isinstance(v, kind), allowed, optional=optional, nullable=nullable)


def string(allowed: str = "give a string", optional: bool = True) -> Rule:
    """Free text (a description): any string, but not a number or a list by mistake."""
    return of_type(str, allowed, optional=optional, nullable=False)


def folder_safe(allowed: str = "give a folder-safe name: letters, digits, '_', '.', '-'") -> Rule:
    """A name that becomes a folder or study name, so it cannot hold '/', spaces or start with a dot."""
    return Rule(lambda v: isinstance(v, str) and bool(_FOLDER_SAFE.match(v)), allowed, optional=False)


def _listed(entry: Rule, allowed: str, once: str, optional: bool, nullable: bool = False) -> Rule:
    """A non-empty list whose entries pass ``entry``; unless ``nullable``, written empty (None) is an error even
    where the key may be left out (``models:`` with nothing after it is a slip, not a default)."""
    return Rule(lambda v: isinstance(v, list) and bool(v), allowed, optional=optional, nullable=nullable,
                each=entry, once=once)


def names(allowed: str = "give a non-empty list", entry: Rule | None = None, once: str = "list each name once",
          optional: bool = True) -> Rule:
    """A non-empty list of distinct names (models, path steps); ``entry`` narrows which names (e.g. ``one_of``)."""
    return _listed(entry or Rule(lambda v: isinstance(v, str), "every entry must be a name (string)",
                                 optional=False), allowed, once, optional)


def sizes(allowed: str = "give a non-empty list of input sizes in pixels", optional: bool = True,
          nullable: bool = False) -> Rule:
    """A non-empty list of distinct input sizes: each a positive integer (pixels)."""
    return _listed(Rule(lambda v: is_int(v) and v >= 1, "every input size must be a positive integer (pixels)",
                        optional=False), allowed, "list each size once", optional, nullable)


def seeds(allowed: str = "give a non-empty list of integer seeds") -> Rule:
    """A non-empty list of distinct seeds, each an integer >= 0; an explicit None is an error."""
    return _listed(Rule(lambda v: is_int(v) and v >= 0, "every seed must be an integer >= 0", optional=False),
                   allowed, "list each seed once", optional=False)


def scalars(allowed: str = "give a non-empty list of values") -> Rule:
    """A non-empty list of distinct plain scalars (a factorial axis); True and 1 differ, as in the config."""
    return _listed(Rule(lambda v: isinstance(v, SCALARS), "values must be plain scalars (string, number, true/false)",
                        optional=False), allowed, "list each value once", optional=False)


def mapping(allowed: str, each: Rule | None = None, keys: Rule | None = None, optional: bool = True,
            nullable: bool | None = None, non_empty: bool = False, missing: str = "") -> Rule:
    """A mapping whose keys pass ``keys`` and values pass ``each`` (named ``key.sub`` in messages)."""
    return Rule(lambda v: isinstance(v, dict) and (bool(v) or not non_empty), allowed, optional=optional,
                nullable=nullable, missing=missing, each=each, keys=keys)


def scalar_mapping(allowed: str, optional: bool = True) -> Rule:
    """A mapping of option -> plain scalar (or None: the option's default); an explicit None mapping is an error."""
    return mapping(allowed, Rule(lambda v: isinstance(v, SCALARS), "values must be plain scalars"),
                   optional=optional, nullable=False)


def one_or_per_key(rule: Rule) -> Rule:
    """``rule``'s value for every key at once, or a mapping key -> such a value (e.g. sizes per group)."""
    return replace(rule, test=lambda v: isinstance(v, dict) or rule.test(v), per_key=rule)


def check_value(value: Any, rule: Rule, where: str, key: str) -> None:
    """Raise ``bad`` for the first part of ``value`` (itself, then its keys, values or entries) ``rule`` rejects."""
    if value is None and (rule.optional if rule.nullable is None else rule.nullable):
        return
    if isinstance(value, dict) and rule.per_key is not None:
        for sub, item in value.items():
            check_value(item, rule.per_key, where, f"{key}.{sub}")
        return
    if not rule.test(value):
        raise bad(where, key, value, rule.allowed, rule.choices)
    if isinstance(value, dict):
        for sub, item in value.items():
            if rule.keys is not None:
                check_value(sub, rule.keys, where, key)
            if rule.each is not None:
                check_value(item, rule.each, where, f"{key}.{sub}")
    elif isinstance(value, list):
        for item in value if rule.each is not None else ():
            check_value(item, rule.each, where, key)
        if rule.once and len({repr(v) for v in value}) != len(value):
            raise bad(where, key, value, rule.once)


def check(values: dict[str, Any], rules: dict[str, Rule], where: str, prefix: str = "") -> None:
    """Raise for the first key of ``rules`` whose value in ``values`` breaks its rule (``prefix.key`` names it).

    An absent key passes where its rule is optional; a required one is named as ``key=None``, or with the rule's
    ``missing`` message."""
    for key, rule in rules.items():
        name = f"{prefix}.{key}" if prefix else key
        if key not in values and rule.missing:
            raise UserInputError(f"{where}: {name} is missing; {rule.missing}")
        if key in values or not rule.optional:
            check_value(values.get(key), rule, where, name)


def known_keys(mapping: dict[str, Any], allowed: Iterable[str], where: str, what: str) -> None:
    """Every key of ``mapping`` is one of ``allowed``; a typo names the key it resembles."""
    allowed = list(allowed)
    for key in mapping:
        if key not in allowed:
            raise UserInputError(f"{where}: {what} {key!r} is not allowed; allowed: {allowed}"
                                 f"{did_you_mean(key, allowed)}")


def check_scalars(mapping: dict[str, Any], where: str, prefix: str) -> None:
    """Every value of ``mapping`` is a plain scalar (string, number, true/false) or None."""
    check_value(mapping, scalar_mapping("give a mapping of option -> value"), where, prefix)


def number_in(low: float, high: float | None = None, *, open_low: bool = False, optional: bool = False) -> Rule:
    """A real number (not a bool) >= ``low`` (> with ``open_low``) and, given ``high``, < ``high``."""
    def test(v: Any) -> bool:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v:
            return False
        return (v > low if open_low else v >= low) and (high is None or v < high)

    upper = f" and < {high}" if high is not None else ""
    return Rule(test, f"give a number {'>' if open_low else '>='} {low}{upper}", optional=optional)


def check_fields(values: Any, rules: dict[str, Rule]) -> None:
    """``check`` for the fields of an object (a recipe, a job) or a function's arguments (a mapping), named bare:
    ``lr=0 is not allowed; ...``."""
    for key, rule in rules.items():
        value = values[key] if isinstance(values, Mapping) else getattr(values, key)
        if (value is not None or not rule.optional) and not rule.test(value):
            raise UserInputError(f"{key}={value!r} is not allowed; {rule.allowed}"
                                 f"{did_you_mean(value, rule.choices)}")
