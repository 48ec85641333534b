"""Spec checks declared per key (pvtlab/errors.py): first bad key named, None only where optional."""

from __future__ import annotations

import pytest

from pvtlab.errors import (UserInputError, boolean, check, check_scalars, folder_safe, known_keys, mapping, names, non_negative_int, one_of, one_or_per_key,
                           positive_int, scalar_mapping, scalars, seeds, sizes, string)

RULES = {"size": positive_int("give pixels", optional=False), "recipe": one_of(("quick", "paper"))}


def test_the_first_bad_key_is_named_in_the_one_line_shape():
    with pytest.raises(UserInputError, match=r"^s.yaml: acc.size=True is not allowed; give pixels$"):
        check({"size": True, "recipe": "nope"}, RULES, "s.yaml", "acc")
    with pytest.raises(UserInputError, match="acc.recipe='papr' is not allowed; choose from .* did you mean 'paper'"):
        check({"size": 3, "recipe": "papr"}, RULES, "s.yaml", "acc")


def test_none_passes_only_where_the_rule_is_optional():
    check({"size": 1, "recipe": None}, RULES, "s.yaml", "acc")
    with pytest.raises(UserInputError, match="acc.size=None"):
        check({"recipe": "quick"}, RULES, "s.yaml", "acc")


# Each builder: one bad value and its exact one-line message, one good value that passes.
BUILDERS = [
    (boolean(), 1, "k=1 is not allowed; give true or false", False),
    (boolean(), None, "k=None is not allowed; give true or false", True),
    (non_negative_int(), True, "k=True is not allowed; give an integer >= 0", 0),
    (non_negative_int(), -1, "k=-1 is not allowed; give an integer >= 0", 7),
    (names(), ["a", 3], "k=3 is not allowed; every entry must be a name (string)", ["a", "b"]),
    (names(), ["a", "a"], "k=['a', 'a'] is not allowed; list each name once", ["a"]),
    (names(), None, "k=None is not allowed; give a non-empty list", ["a"]),
    (names(entry=one_of(("params", "flops"), optional=False)), ["flop"],
     "k='flop' is not allowed; choose from ['params', 'flops']; did you mean 'flops'?", ["flops"]),
    (sizes(), [64, 0], "k=0 is not allowed; every input size must be a positive integer (pixels)", [64, 96]),
    (sizes(), [64, 64], "k=[64, 64] is not allowed; list each size once", [64]),
    (sizes(), [], "k=[] is not allowed; give a non-empty list of input sizes in pixels", [1]),
    (seeds(), [0, -1], "k=-1 is not allowed; every seed must be an integer >= 0", [0, 1]),
    (seeds(), [True], "k=True is not allowed; every seed must be an integer >= 0", [0]),
    (seeds(), None, "k=None is not allowed; give a non-empty list of integer seeds", [3]),
    (scalars(), ["a", None], "k=None is not allowed; values must be plain scalars (string, number, true/false)",
     ["a", 1, 2.5, True]),
    (scalars(), ["a", "a"], "k=['a', 'a'] is not allowed; list each value once", [True, 1]),
    (mapping("give a mapping", each=positive_int()), {"x": 0}, "k.x=0 is not allowed; give a positive integer",
     {"x": 1, "y": None}),
    (mapping("give a mapping", keys=folder_safe("bad name")), {"a b": 1}, "k='a b' is not allowed; bad name",
     {"a": 1}),
    (mapping("give a mapping", non_empty=True), {}, "k={} is not allowed; give a mapping", {"a": 1}),
    (scalar_mapping("give options"), {"lr": [1]}, "k.lr=[1] is not allowed; values must be plain scalars",
     {"lr": 0.1, "wd": None}),
    (scalar_mapping("give options"), None, "k=None is not allowed; give options", {}),
    (folder_safe(), ".hidden", "k='.hidden' is not allowed; give a folder-safe name: letters, digits, '_', '.', '-'",
     "run-1.b_2"),
    (folder_safe(), "a/b", "k='a/b' is not allowed; give a folder-safe name: letters, digits, '_', '.', '-'", "ab"),
    (string(), 3, "k=3 is not allowed; give a string", ""),
    (string(), None, "k=None is not allowed; give a string", "text"),
    (one_or_per_key(sizes()), {"flops": [0]},
     "k.flops=0 is not allowed; every input size must be a positive integer (pixels)", {"flops": [64], "memory": [1]}),
    (one_or_per_key(sizes()), "64", "k='64' is not allowed; give a non-empty list of input sizes in pixels", [64]),
]


@pytest.mark.parametrize("rule, value, message, good", BUILDERS, ids=[b[2] for b in BUILDERS])
def test_each_builder_rejects_in_the_one_line_shape_and_accepts_a_good_value(rule, value, message, good):
    with pytest.raises(UserInputError) as info:
        check({"k": value}, {"k": rule}, "s.yaml")
    assert str(info.value) == f"s.yaml: {message}"
    check({"k": good}, {"k": rule}, "s.yaml")


def test_absent_passes_where_optional_but_written_none_may_not():
    rules = {"models": names(), "seeds": seeds(), "eval": sizes(nullable=True)}
    check({"seeds": [0]}, rules, "s.yaml")  # models and eval left out
    check({"seeds": [0], "eval": None}, rules, "s.yaml")
    with pytest.raises(UserInputError, match=r"^s.yaml: models=None is not allowed; give a non-empty list$"):
        check({"models": None, "seeds": [0]}, rules, "s.yaml")
    with pytest.raises(UserInputError, match=r"^s.yaml: seeds=None is not allowed"):
        check({}, rules, "s.yaml")


def test_a_missing_required_key_says_so_and_an_unknown_key_names_its_neighbour():
    rule = mapping("give a mapping", optional=False, missing="give e.g. {name: synthetic}")
    with pytest.raises(UserInputError, match=r"^s.yaml: acc.data is missing; give e.g. \{name: synthetic\}$"):
        check({}, {"data": rule}, "s.yaml", "acc")
    with pytest.raises(UserInputError, match=r"^s.yaml: acc.data=None is not allowed; give a mapping$"):
        check({"data": None}, {"data": rule}, "s.yaml", "acc")
    known_keys({"data": 1}, ["data", "seeds"], "s.yaml", "acc key")
    with pytest.raises(UserInputError) as info:
        known_keys({"seed": 1}, ["data", "seeds"], "s.yaml", "acc key")
    assert str(info.value) == "s.yaml: acc key 'seed' is not allowed; allowed: ['data', 'seeds']; did you mean 'seeds'?"


def test_check_scalars_names_the_option():
    check_scalars({"a": 1, "b": None}, "s.yaml", "opts")
    with pytest.raises(UserInputError, match=r"^s.yaml: opts.b=\{\} is not allowed; values must be plain scalars$"):
        check_scalars({"a": 1, "b": {}}, "s.yaml", "opts")
